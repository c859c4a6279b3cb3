/**
 * The rank-side recorder behind --trace and --stats: spans of calls kept in a bounded
 * buffer, and running totals that stay exact when the buffer is full. One per rank, made
 * only when an option is on (a job without them never calls into this file).
 */
import { SpanStore, type Flow } from "./store.js";
import type { CallTotals, RankStats, Span, SpanArgs, SpanKind } from "./types.js";

/** A span in progress: what {@link Recorder.begin} returns and {@link Recorder.end} takes. */
export interface OpenSpan {
  name: string;
  kind: SpanKind;
  start: number;
  args: SpanArgs;
  flow?: Flow;
  /** When a receive's message (or its announcement) was matched; undefined until then. */
  matched?: number;
}

/** Kinds the rank waits in: their union is the communication time. */
const BLOCKING: ReadonlySet<SpanKind> = new Set(["p2p", "collective", "wait"]);

export class Recorder {
  private readonly store = new SpanStore();
  dropped = 0;
  private readonly open = new Set<OpenSpan>();
  private readonly calls = new Map<string, CallTotals>();
  private readonly sent = { messages: 0, bytes: 0 };
  private readonly received = { messages: 0, bytes: 0 };
  /**
   * Message counts per communicator, (sender, receiver) pair and tag: the n-th send matches the
   * n-th receive. Numbers as keys below the communicator: a string key per message cost more
   * than the rest of the recording.
   */
  private readonly sequence = new Map<string, Map<number, Map<number, number>>>();
  /** Blocking calls running now, and since when the count has been above zero. */
  private blocked = 0;
  private blockedSince = 0;
  private commMs = 0;
  private initStart: number | undefined;
  private initEnd: number | undefined;

  /**
   * @param keep keep spans for a trace (false with --stats alone)
   * @param limit spans kept at most; later ones are counted in {@link dropped}
   */
  constructor(
    readonly keep: boolean,
    readonly limit: number,
  ) {}

  /** Start a span now. */
  begin(name: string, kind: SpanKind, args: SpanArgs): OpenSpan {
    const span: OpenSpan = { name, kind, start: performance.now(), args };
    this.open.add(span);
    if (BLOCKING.has(kind) && this.blocked++ === 0) this.blockedSince = span.start;
    return span;
  }

  /** End a span now, with more args (what a receive learned, an error). */
  end(span: OpenSpan, extra?: SpanArgs): void {
    if (!this.open.delete(span)) return;
    const now = performance.now();
    if (extra !== undefined && extra !== span.args) Object.assign(span.args, extra);
    const ms = now - span.start;
    if (BLOCKING.has(span.kind) && --this.blocked === 0) this.commMs += now - this.blockedSince;
    if (span.kind === "init") [this.initStart, this.initEnd] = [span.start, now];
    if (span.kind !== "message") this.count(span.name, span.kind === "request" ? 0 : ms, span.args.bytes ?? 0);
    this.keepSpan(span, ms);
  }

  /** A message left: number it so the merge can draw an arrow to its receive. */
  messageSent(span: OpenSpan, from: number, to: number, context: string, tag: number, bytes: number): void {
    this.sent.messages++;
    this.sent.bytes += bytes;
    if (this.keep) span.flow = { out: true, context, from, to, tag, n: this.next(context, from, to, tag) };
  }

  /** A message was received (its sender and tag are known only now). */
  messageReceived(span: OpenSpan, from: number, to: number, context: string, tag: number, bytes: number): void {
    this.received.messages++;
    this.received.bytes += bytes;
    if (this.keep) span.flow = { out: false, context, from, to, tag, n: this.next(context, from, to, tag) };
  }

  /** The number of this message among those of its communicator, pair and tag. */
  private next(context: string, from: number, to: number, tag: number): number {
    let pairs = this.sequence.get(context);
    if (pairs === undefined) this.sequence.set(context, (pairs = new Map()));
    const pair = from * 2 ** 22 + to;
    let tags = pairs.get(pair);
    if (tags === undefined) pairs.set(pair, (tags = new Map()));
    const n = (tags.get(tag) ?? 0) + 1;
    tags.set(tag, n);
    return n;
  }

  private count(name: string, ms: number, bytes: number): void {
    let totals = this.calls.get(name);
    if (totals === undefined) this.calls.set(name, (totals = { count: 0, seconds: 0, bytes: 0 }));
    totals.count++;
    totals.seconds += ms / 1000;
    totals.bytes += bytes;
  }

  private keepSpan(span: OpenSpan, ms: number): void {
    if (!this.keep) return;
    if (this.store.length >= this.limit) {
      this.dropped++;
      return;
    }
    this.store.add(span.name, span.kind, span.start, ms, span.args, span.flow);
  }

  /** The spans kept, as the report carries them (built once, when the rank exits). */
  get spans(): Span[] {
    return this.store.spans();
  }

  /**
   * The rank is ending: close what is still running (it was blocked in it; the trace shows
   * it as unfinished) and return the totals.
   */
  finish(): RankStats {
    for (const span of [...this.open]) this.end(span, { unfinished: true });
    const now = performance.now();
    const init = this.initEnd === undefined ? 0 : (this.initEnd - this.initStart!) / 1000;
    // Communication time counts from the end of init(), like the wall time.
    return {
      wall: (now - (this.initEnd ?? 0)) / 1000,
      init,
      comm: this.commMs / 1000,
      sent: { ...this.sent },
      received: { ...this.received },
      calls: Object.fromEntries(this.calls),
    };
  }
}
