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

/** Numeric args kept in columns (NaN: absent), in this order after start and ms. */
const NUMBERS = ["peer", "tag", "bytes", "root", "waitedMs"] as const;
/** Number columns per span: start, ms, {@link NUMBERS}, the flow's message number. */
const NUMS = 2 + NUMBERS.length + 1;
/** Reference columns per span: name, kind, comm, call (string-table indices, -1: absent), flow direction. */
const REFS = 5;

/** A message's direction: none (not a message), sent, received. */
export const FLOW_NONE = 0;
export const FLOW_OUT = 1;
export const FLOW_IN = 2;

/** Spans per block of columns. */
const BLOCK = 16_384;

/** One finished span, in the form the recorder hands over (numbers NaN and references -1 when absent). */
export interface Row {
  name: number;
  kind: number;
  start: number;
  ms: number;
  peer: number;
  tag: number;
  bytes: number;
  root: number;
  waitedMs: number;
  comm: number;
  call: number;
  flow: number;
  /** The message's number among this rank's messages to (or from) its peer on its communicator and tag. */
  n: number;
}

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

  /** The string's index in the table (added if new). */
  intern(text: string): number {
    let id = this.ids.get(text);
    if (id === undefined) this.ids.set(text, (id = this.strings.push(text) - 1));
    return id;
  }

  /** Keep a finished span; `extra` holds its rare args (error, unfinished). */
  add(row: Row, extra?: SpanArgs): void {
    const slot = this.count % BLOCK;
    if (slot === 0) {
      this.numberBlocks.push(new Float64Array(BLOCK * NUMS));
      this.refBlocks.push(new Int32Array(BLOCK * REFS));
    }
    const numbers = this.numberBlocks[this.numberBlocks.length - 1]!;
    const refs = this.refBlocks[this.refBlocks.length - 1]!;
    const n = slot * NUMS;
    const r = slot * REFS;
    // Property by property (in NUMBERS' order): a keyed read per column cost more than the rest.
    numbers[n] = row.start;
    numbers[n + 1] = row.ms;
    numbers[n + 2] = row.peer;
    numbers[n + 3] = row.tag;
    numbers[n + 4] = row.bytes;
    numbers[n + 5] = row.root;
    numbers[n + 6] = row.waitedMs;
    numbers[n + 7] = row.n;
    refs[r] = row.name;
    refs[r + 1] = row.kind;
    refs[r + 2] = row.comm;
    refs[r + 3] = row.call;
    refs[r + 4] = row.flow;
    if (extra !== undefined) this.extra.set(this.count, extra);
    this.count++;
  }

  /** Every span as the report carries it; `rank` is the rank that kept them (one end of each message). */
  spans(rank: number): Span[] {
    const out: Span[] = [];
    for (let i = 0; i < this.count; i++) {
      const numbers = this.numberBlocks[Math.floor(i / BLOCK)]!;
      const refs = this.refBlocks[Math.floor(i / BLOCK)]!;
      const n = (i % BLOCK) * NUMS;
      const r = (i % BLOCK) * REFS;
      const args: SpanArgs = {};
      NUMBERS.forEach((key, k) => {
        const value = numbers[n + 2 + k]!;
        if (!Number.isNaN(value)) args[key] = value;
      });
      if (refs[r + 2]! >= 0) args.comm = this.strings[refs[r + 2]!];
      if (refs[r + 3]! >= 0) args.call = this.strings[refs[r + 3]!];
      Object.assign(args, this.extra.get(i));
      const span: Span = {
        name: this.strings[refs[r]!]!,
        kind: this.strings[refs[r + 1]!] as SpanKind,
        start: numbers[n]!,
        ms: numbers[n + 1]!,
        args,
      };
      const flow = refs[r + 4]!;
      if (flow !== FLOW_NONE) {
        const [from, to] = flow === FLOW_OUT ? [rank, args.peer] : [args.peer, rank];
        span.flow = `${flow === FLOW_OUT ? "out" : "in"}:${args.comm}/${from}>${to}/${args.tag}#${numbers[n + 7]}`;
      }
      out.push(span);
    }
    return out;
  }
}
