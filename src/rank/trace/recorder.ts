/**
 * The rank-side recorder behind --trace and --stats: spans of calls kept in a bounded
 * buffer, and running totals that stay exact when the buffer is full. One per rank, made
 * only when an option is on (a job without them never calls into this file).
 *
 * Recording a span allocates nothing: a span in progress is a slot (a number) in columns of
 * typed arrays, its name and kind are a label resolved once when the wrappers are installed,
 * and a finished span is copied into the store's columns. An object per span, a Set of open
 * spans and a flow object per message made a traced 8 B ping-pong 1.8x slower.
 */
import { FlowNumbers } from "./flows.js";
import { FLOW_IN, FLOW_NONE, FLOW_OUT, SpanStore, type Row } from "./store.js";
import type { CallTotals, PoolTotals, RankStats, Span, SpanArgs, SpanKind } from "./types.js";

/** A span in progress: its slot in the recorder's columns, valid until {@link Recorder.end}. */
export type SpanId = number;

/** A name and kind of span, resolved once (see {@link Recorder.label}). */
interface Label {
  name: number;
  kind: number;
  /** A call the rank waits in: the union of their intervals is the communication time. */
  blocking: boolean;
  /** Index of the call's totals; -1 for messages (counted as messages, not calls). */
  totals: number;
  /** Requests count their calls but not time (isend/irecv return at once). */
  timed: boolean;
  init: boolean;
}

/** Number columns of a span in progress. */
const START = 0;
const MATCHED = 1;
const PEER = 2;
const TAG = 3;
const BYTES = 4;
const ROOT = 5;
const FLOW_N = 6;
const NUMS = 7;
/** Reference columns of a span in progress. */
const LABEL = 0;
const COMM = 1;
const CALL = 2;
const FLOW = 3;
const OPEN = 4;
const REFS = 5;
/** States of a slot (its OPEN column): free, a span running, a receive whose end is being settled. */
const FREE = 0;
const RUNNING = 1;
const ENDING = 2;

const BLOCKING: ReadonlySet<SpanKind> = new Set(["p2p", "collective", "wait"]);

export class Recorder {
  private readonly store = new SpanStore();
  dropped = 0;
  private readonly labels: Label[] = [];
  private readonly calls: { name: string; totals: CallTotals }[] = [];
  private nums = new Float64Array(0);
  private refs = new Int32Array(0);
  /** Receives that {@link arrived} and are not settled yet, in order. */
  private readonly ending: SpanId[] = [];
  /** Free slots, as a stack. */
  private readonly free: number[] = [];
  /** The row handed to the store (one object, refilled for every span). */
  private readonly row: Row = { name: 0, kind: 0, start: 0, ms: 0, peer: 0, tag: 0, bytes: 0, root: 0, waitedMs: 0, comm: -1, call: -1, flow: 0, n: 0 };
  private readonly sent = { messages: 0, bytes: 0 };
  private readonly received = { messages: 0, bytes: 0 };
  /** Message numbers for the trace's arrows. */
  private readonly flows = new FlowNumbers();
  /** The last string interned, and its reference (a job mostly uses one communicator). */
  private lastText = "";
  private lastRef = -1;
  /** Blocking calls running now, and since when the count has been above zero. */
  private blocked = 0;
  private blockedSince = 0;
  private commMs = 0;
  private initStart: number | undefined;
  private initEnd: number | undefined;
  /** Pool tasks run here and the root's counters (see probes.ts), if this rank was in a pool. */
  pool: PoolTotals | undefined;

  /**
   * @param rank the world rank recording
   * @param keep keep spans for a trace (false with --stats alone)
   * @param limit spans kept at most; later ones are counted in {@link dropped}
   */
  constructor(
    readonly rank: number,
    readonly keep: boolean,
    readonly limit: number,
  ) {
    this.free.push(this.grow(64));
  }

  /** A label for spans named `name` of `kind`; made once per wrapper, when it is installed. */
  label(name: string, kind: SpanKind): number {
    let totals = -1;
    if (kind !== "message" && kind !== "task") {
      totals = this.calls.findIndex((c) => c.name === name);
      if (totals < 0) totals = this.calls.push({ name, totals: { count: 0, seconds: 0, bytes: 0 } }) - 1;
    }
    const label = {
      name: this.store.intern(name),
      kind: this.store.intern(kind),
      blocking: BLOCKING.has(kind),
      totals,
      timed: kind !== "request",
      init: kind === "init",
    };
    return this.labels.push(label) - 1;
  }

  /** Start a span of `label` now. */
  begin(label: number): SpanId {
    this.settle();
    return this.open(label, performance.now());
  }

  /** Start a span of `label` that began at `start` (a time read before the call it records). */
  beginAt(label: number, start: number): SpanId {
    this.settle();
    return this.open(label, start);
  }

  private open(label: number, start: number): SpanId {
    const slot = this.free.pop() ?? this.grow(this.refs.length / REFS);
    const n = slot * NUMS;
    this.nums[n + START] = start;
    this.nums[n + MATCHED] = NaN;
    this.nums[n + PEER] = NaN;
    this.nums[n + TAG] = NaN;
    this.nums[n + BYTES] = NaN;
    this.nums[n + ROOT] = NaN;
    this.nums[n + FLOW_N] = NaN;
    const r = slot * REFS;
    this.refs[r + LABEL] = label;
    this.refs[r + COMM] = -1;
    this.refs[r + CALL] = -1;
    this.refs[r + FLOW] = FLOW_NONE;
    this.refs[r + OPEN] = RUNNING;
    if (this.labels[label]!.blocking && this.blocked++ === 0) this.blockedSince = start;
    return slot;
  }

  /**
   * A receive's message was matched `at` (undefined: when the receive began, its message was
   * already there) and ends its span. Only the facts are written now: this runs between the
   * message's arrival and the code that answers it, so the bookkeeping (totals, flow number,
   * the store) waits for the rank's next call into the recorder, after its answer has left.
   */
  arrived(span: SpanId, from: number, tag: number, bytes: number, at?: number): void {
    this.message(span, from, tag, bytes);
    this.matched(span, at);
    this.refs[span * REFS + OPEN] = ENDING;
    this.ending.push(span);
  }

  /** Finish the receives that {@link arrived}, in the order they were matched. */
  private settle(): void {
    const ending = this.ending;
    if (ending.length === 0) return;
    for (let i = 0; i < ending.length; i++) {
      const span = ending[i]!;
      this.countReceived(span);
      this.close(span, this.nums[span * NUMS + MATCHED]!);
    }
    ending.length = 0;
  }

  /** Whether `span` is still running. */
  isOpen(span: SpanId): boolean {
    return this.refs[span * REFS + OPEN] === RUNNING;
  }

  comm(span: SpanId, context: string): void {
    this.refs[span * REFS + COMM] = this.intern(context);
  }

  /** The collective or sendrecv a message belongs to. */
  call(span: SpanId, call: string): void {
    this.refs[span * REFS + CALL] = this.intern(call);
  }

  root(span: SpanId, root: number): void {
    this.nums[span * NUMS + ROOT] = root;
  }

  /** Payload bytes, peer and tag of what the span moved or found. */
  message(span: SpanId, peer: number, tag: number, bytes: number): void {
    const n = span * NUMS;
    this.nums[n + PEER] = peer;
    this.nums[n + TAG] = tag;
    this.nums[n + BYTES] = bytes;
  }

  bytes(span: SpanId, bytes: number): void {
    this.nums[span * NUMS + BYTES] = bytes;
  }

  /** A receive's message (or its announcement) was matched `at` (undefined: at once): the trace shows how long it waited. */
  matched(span: SpanId, at?: number): void {
    const n = span * NUMS;
    this.nums[n + MATCHED] = at ?? this.nums[n + START]!;
  }

  /** A message left on communicator `context`: number it so the merge can draw an arrow to its receive. */
  messageSent(span: SpanId, to: number, context: string, tag: number, bytes: number): void {
    this.sent.messages++;
    this.sent.bytes += bytes;
    this.message(span, to, tag, bytes);
    this.comm(span, context);
    if (this.keep) this.flow(span, FLOW_OUT, to, tag);
  }

  /** A message was received (its sender and tag are known only now); its communicator was given at begin. */
  messageReceived(span: SpanId, from: number, tag: number, bytes: number): void {
    this.message(span, from, tag, bytes);
    this.countReceived(span);
  }

  /** Count the message a receive span holds (see {@link message}) and number it for the trace. */
  private countReceived(span: SpanId): void {
    const n = span * NUMS;
    this.received.messages++;
    this.received.bytes += this.nums[n + BYTES]!;
    if (this.keep) this.flow(span, FLOW_IN, this.nums[n + PEER]!, this.nums[n + TAG]!);
  }

  private flow(span: SpanId, direction: number, peer: number, tag: number): void {
    this.refs[span * REFS + FLOW] = direction;
    this.nums[span * NUMS + FLOW_N] = this.flows.next(peer, direction === FLOW_OUT, this.refs[span * REFS + COMM]!, tag);
  }

  /** End a span now; `error` if its call failed, `unfinished` if the rank ended during it. */
  end(span: SpanId, error?: string, unfinished?: boolean): void {
    this.endAt(span, performance.now(), error, unfinished);
  }

  /** End a span at `now` (a time just read). */
  endAt(span: SpanId, now: number, error?: string, unfinished?: boolean): void {
    this.settle();
    if (this.isOpen(span)) this.close(span, now, error, unfinished);
  }

  private close(span: SpanId, now: number, error?: string, unfinished?: boolean): void {
    const r = span * REFS;
    this.refs[r + OPEN] = FREE;
    this.free.push(span);
    const n = span * NUMS;
    const start = this.nums[n + START]!;
    const ms = now - start;
    const label = this.labels[this.refs[r + LABEL]!]!;
    if (label.blocking && --this.blocked === 0) this.commMs += now - this.blockedSince;
    if (label.init) [this.initStart, this.initEnd] = [start, now];
    if (label.totals >= 0) {
      const totals = this.calls[label.totals]!.totals;
      totals.count++;
      if (label.timed) totals.seconds += ms / 1000;
      const bytes = this.nums[n + BYTES]!;
      if (bytes === bytes) totals.bytes += bytes;
    }
    if (!this.keep) return;
    if (this.store.length >= this.limit) {
      this.dropped++;
      return;
    }
    this.keepSpan(span, label, ms, error, unfinished);
  }

  private keepSpan(span: SpanId, label: Label, ms: number, error: string | undefined, unfinished: boolean | undefined): void {
    const n = span * NUMS;
    const r = span * REFS;
    const row = this.row;
    row.name = label.name;
    row.kind = label.kind;
    row.start = this.nums[n + START]!;
    row.ms = ms;
    row.peer = this.nums[n + PEER]!;
    row.tag = this.nums[n + TAG]!;
    row.bytes = this.nums[n + BYTES]!;
    row.root = this.nums[n + ROOT]!;
    const matched = this.nums[n + MATCHED]!;
    // Whole microseconds, rounded down: never more than the span lasted.
    row.waitedMs = matched === matched ? Math.floor((matched - row.start) * 1000) / 1000 : NaN;
    row.comm = this.refs[r + COMM]!;
    row.call = this.refs[r + CALL]!;
    row.flow = this.refs[r + FLOW]!;
    row.n = this.nums[n + FLOW_N]!;
    // The rare args outside the columns, only those that are set.
    const extra: SpanArgs | undefined =
      error === undefined && unfinished === undefined ? undefined : { ...(error !== undefined && { error }), ...(unfinished !== undefined && { unfinished }) };
    this.store.add(row, extra);
  }

  /** Make room for `more` spans in progress; returns a free slot. */
  private grow(more: number): SpanId {
    const had = this.refs.length / REFS;
    const nums = new Float64Array((had + more) * NUMS);
    const refs = new Int32Array((had + more) * REFS);
    nums.set(this.nums);
    refs.set(this.refs);
    [this.nums, this.refs] = [nums, refs];
    for (let slot = had + more - 1; slot > had; slot--) this.free.push(slot);
    return had;
  }

  private intern(text: string): number {
    if (text !== this.lastText) [this.lastText, this.lastRef] = [text, this.store.intern(text)];
    return this.lastRef;
  }

  /** The spans kept, as the report carries them (built once, when the rank exits). */
  get spans(): Span[] {
    return this.store.spans(this.rank);
  }

  /**
   * The rank is ending: close what is still running (it was blocked in it; the trace shows
   * it as unfinished) and return the totals.
   */
  finish(): RankStats {
    this.settle();
    for (let slot = 0; slot < this.refs.length / REFS; slot++) if (this.isOpen(slot)) this.end(slot, undefined, true);
    const now = performance.now();
    const init = this.initEnd === undefined ? 0 : (this.initEnd - this.initStart!) / 1000;
    // Communication time counts from the end of init(), like the wall time.
    return {
      wall: (now - (this.initEnd ?? 0)) / 1000,
      init,
      comm: this.commMs / 1000,
      sent: { ...this.sent },
      received: { ...this.received },
      calls: Object.fromEntries(this.calls.filter((c) => c.totals.count > 0).map((c) => [c.name, c.totals])),
      ...(this.pool && { pool: this.pool }),
    };
  }
}
