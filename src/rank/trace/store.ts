/**
 * Where a rank keeps its finished spans until it exits: columns of numbers (typed arrays,
 * grown by doubling) and a table of the few distinct strings, instead of an object per span.
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

export class SpanStore {
  private count = 0;
  private readonly strings: string[] = [];
  private readonly ids = new Map<string, number>();
  private numbers = new Float64Array(0);
  private refs = new Int32Array(0);
  /** Args outside the columns (errors, unfinished): rare, kept by span index. */
  private readonly extra = new Map<number, SpanArgs>();
  private capacity = 0;

  get length(): number {
    return this.count;
  }

  /** Columns per span: start, ms, the numeric args, flow from/to/tag/n; and name, kind, the string args, flow direction and context. */
  private static readonly NUMS = 2 + NUMBERS.length + 4;
  private static readonly REFS = 2 + STRINGS.length + 2;

  add(name: string, kind: SpanKind, start: number, ms: number, args: SpanArgs, flow: Flow | undefined): void {
    if (this.count === this.capacity) this.grow();
    const n = this.count * SpanStore.NUMS;
    const r = this.count * SpanStore.REFS;
    this.numbers[n] = start;
    this.numbers[n + 1] = ms;
    for (let i = 0; i < NUMBERS.length; i++) this.numbers[n + 2 + i] = args[NUMBERS[i]!] ?? NaN;
    this.refs[r] = this.id(name);
    this.refs[r + 1] = this.id(kind);
    for (let i = 0; i < STRINGS.length; i++) {
      const value = args[STRINGS[i]!];
      this.refs[r + 2 + i] = value === undefined ? -1 : this.id(value);
    }
    this.refs[r + 2 + STRINGS.length] = flow === undefined ? 0 : flow.out ? 1 : 2;
    if (flow !== undefined) {
      this.refs[r + 3 + STRINGS.length] = this.id(flow.context);
      const f = n + 2 + NUMBERS.length;
      [this.numbers[f], this.numbers[f + 1], this.numbers[f + 2], this.numbers[f + 3]] = [flow.from, flow.to, flow.tag, flow.n];
    }
    if (args.error !== undefined || args.unfinished !== undefined) this.extra.set(this.count, { error: args.error, unfinished: args.unfinished });
    this.count++;
  }

  /** Every span as the report carries it. */
  spans(): Span[] {
    const out: Span[] = [];
    for (let i = 0; i < this.count; i++) {
      const n = i * SpanStore.NUMS;
      const r = i * SpanStore.REFS;
      const args: SpanArgs = {};
      NUMBERS.forEach((key, k) => {
        const value = this.numbers[n + 2 + k]!;
        if (!Number.isNaN(value)) args[key] = value;
      });
      STRINGS.forEach((key, k) => {
        const ref = this.refs[r + 2 + k]!;
        if (ref >= 0) args[key] = this.strings[ref];
      });
      const extra = this.extra.get(i);
      if (extra?.error !== undefined) args.error = extra.error;
      if (extra?.unfinished !== undefined) args.unfinished = extra.unfinished;
      const span: Span = {
        name: this.strings[this.refs[r]!]!,
        kind: this.strings[this.refs[r + 1]!] as SpanKind,
        start: this.numbers[n]!,
        ms: this.numbers[n + 1]!,
        args,
      };
      const direction = this.refs[r + 2 + STRINGS.length]!;
      if (direction !== 0) {
        const f = n + 2 + NUMBERS.length;
        const [from, to, tag, count] = [this.numbers[f], this.numbers[f + 1], this.numbers[f + 2], this.numbers[f + 3]];
        span.flow = `${direction === 1 ? "out" : "in"}:${this.strings[this.refs[r + 3 + STRINGS.length]!]}/${from}>${to}/${tag}#${count}`;
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

  private grow(): void {
    this.capacity = Math.max(1024, this.capacity * 2);
    const numbers = new Float64Array(this.capacity * SpanStore.NUMS);
    numbers.set(this.numbers);
    const refs = new Int32Array(this.capacity * SpanStore.REFS);
    refs.set(this.refs);
    [this.numbers, this.refs] = [numbers, refs];
  }
}
