/**
 * Where a rank keeps its finished spans until it exits: columns of numbers (typed arrays, in
 * blocks of {@link BLOCK} spans, never copied: doubling one array copied it and made the
 * external memory that triggers full collections) and a table of the few distinct strings,
 * instead of an object per span.
 * A trace keeps up to 262 144 spans; as objects they made V8's garbage collector the largest
 * cost of a traced ping-pong (43 % of the time the rank was not waiting), since every
 * collection walked them all.
 */
import type { Span, SpanArgs, SpanKind } from "./types.js";

/** Numeric args kept in columns (NaN: absent). */
const NUMBERS = ["peer", "tag", "bytes", "root", "waitedMs"] as const;
/** String args kept as string-table indices (-1: absent). */
const STRINGS = ["comm", "call"] as const;

/** A message's flow key, in parts (see Recorder): direction, then what names the message. */
export interface Flow {
  out: boolean;
  context: string;
  from: number;
  to: number;
  tag: number;
  n: number;
}

/** Spans per block of columns. */
const BLOCK = 16_384;

export class SpanStore {
  private count = 0;
  private readonly strings: string[] = [];
  private readonly ids = new Map<string, number>();
  private readonly numberBlocks: Float64Array[] = [];
  private readonly refBlocks: Int32Array[] = [];
  /** Args outside the columns (errors, unfinished): rare, kept by span index. */
  private readonly extra = new Map<number, SpanArgs>();

  get length(): number {
    return this.count;
  }

  /** Columns per span: start, ms, the numeric args, flow from/to/tag/n; and name, kind, the string args, flow direction and context. */
  private static readonly NUMS = 2 + NUMBERS.length + 4;
  private static readonly REFS = 2 + STRINGS.length + 2;

  add(name: string, kind: SpanKind, start: number, ms: number, args: SpanArgs, flow: Flow | undefined): void {
    const slot = this.count % BLOCK;
    if (slot === 0) {
      this.numberBlocks.push(new Float64Array(BLOCK * SpanStore.NUMS));
      this.refBlocks.push(new Int32Array(BLOCK * SpanStore.REFS));
    }
    const numbers = this.numberBlocks[this.numberBlocks.length - 1]!;
    const refs = this.refBlocks[this.refBlocks.length - 1]!;
    const n = slot * SpanStore.NUMS;
    const r = slot * SpanStore.REFS;
    numbers[n] = start;
    numbers[n + 1] = ms;
    // Property by property (in NUMBERS' order): a keyed read per column cost more than the rest.
    numbers[n + 2] = args.peer ?? NaN;
    numbers[n + 3] = args.tag ?? NaN;
    numbers[n + 4] = args.bytes ?? NaN;
    numbers[n + 5] = args.root ?? NaN;
    numbers[n + 6] = args.waitedMs ?? NaN;
    refs[r] = this.id(name);
    refs[r + 1] = this.id(kind);
    refs[r + 2] = args.comm === undefined ? -1 : this.id(args.comm);
    refs[r + 3] = args.call === undefined ? -1 : this.id(args.call);
    refs[r + 2 + STRINGS.length] = flow === undefined ? 0 : flow.out ? 1 : 2;
    if (flow !== undefined) {
      refs[r + 3 + STRINGS.length] = this.id(flow.context);
      const f = n + 2 + NUMBERS.length;
      [numbers[f], numbers[f + 1], numbers[f + 2], numbers[f + 3]] = [flow.from, flow.to, flow.tag, flow.n];
    }
    if (args.error !== undefined || args.unfinished !== undefined) this.extra.set(this.count, { error: args.error, unfinished: args.unfinished });
    this.count++;
  }

  /** Every span as the report carries it. */
  spans(): Span[] {
    const out: Span[] = [];
    for (let i = 0; i < this.count; i++) {
      const numbers = this.numberBlocks[Math.floor(i / BLOCK)]!;
      const refs = this.refBlocks[Math.floor(i / BLOCK)]!;
      const n = (i % BLOCK) * SpanStore.NUMS;
      const r = (i % BLOCK) * SpanStore.REFS;
      const args: SpanArgs = {};
      NUMBERS.forEach((key, k) => {
        const value = numbers[n + 2 + k]!;
        if (!Number.isNaN(value)) args[key] = value;
      });
      STRINGS.forEach((key, k) => {
        const ref = refs[r + 2 + k]!;
        if (ref >= 0) args[key] = this.strings[ref];
      });
      const extra = this.extra.get(i);
      if (extra?.error !== undefined) args.error = extra.error;
      if (extra?.unfinished !== undefined) args.unfinished = extra.unfinished;
      const span: Span = {
        name: this.strings[refs[r]!]!,
        kind: this.strings[refs[r + 1]!] as SpanKind,
        start: numbers[n]!,
        ms: numbers[n + 1]!,
        args,
      };
      const direction = refs[r + 2 + STRINGS.length]!;
      if (direction !== 0) {
        const f = n + 2 + NUMBERS.length;
        const [from, to, tag, count] = [numbers[f], numbers[f + 1], numbers[f + 2], numbers[f + 3]];
        span.flow = `${direction === 1 ? "out" : "in"}:${this.strings[refs[r + 3 + STRINGS.length]!]}/${from}>${to}/${tag}#${count}`;
      }
      out.push(span);
    }
    return out;
  }

  private id(text: string): number {
    let id = this.ids.get(text);
    if (id === undefined) this.ids.set(text, (id = this.strings.push(text) - 1));
    return id;
  }
}
