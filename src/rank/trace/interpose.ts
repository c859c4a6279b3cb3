/**
 * PMPI-style interposition: when a job runs with --trace or --stats, each rank wraps the
 * communicator's calls, the runtime's send and receive, and `Request.wait` with versions
 * that record spans, before the user's script runs. A job without these options runs the
 * unwrapped methods: it pays nothing, not even a branch.
 *
 * Two levels are recorded. Calls the user makes (send, recv, isend, irecv, probe, sendrecv,
 * every collective, wait, init) are spans; the messages a collective or sendrecv sends and
 * receives are child spans of kind "message". Every message's send and receive carry the same
 * flow key, so the merged trace draws an arrow from one to the other.
 */
import { performance } from "node:perf_hooks";
import { Comm } from "../../api/communicator.js";
import { CommEngine } from "../../comm/engine/engine.js";
import { Matcher, type Token } from "../../comm/engine/matching.js";
import { Request, type Hurry, type Status } from "../../comm/engine/request.js";
import type { Site } from "../../comm/engine/into.js";
import { Runtime, type Outgoing } from "../../comm/engine/runtime.js";
import type { Peers } from "../../comm/engine/waits.js";
import { SENT } from "../../comm/transport/port.js";
import type { Envelope, TypedArray } from "../../comm/wire/codec.js";
import { probes } from "./probes.js";
import type { Recorder, SpanId } from "./recorder.js";

/** Collectives (and sendrecv, sendrecvReplace, ssend) on Comm, with the position of their `root` argument if any. */
const COMM_CALLS: Record<string, number | undefined> = {
  sendrecv: undefined,
  sendrecvReplace: undefined,
  ssend: undefined,
  barrier: undefined,
  bcast: 1,
  scatter: 1,
  gather: 1,
  allgather: undefined,
  alltoall: undefined,
  reduce: 2,
  allreduce: undefined,
  scan: undefined,
  exscan: undefined,
  reduceScatter: undefined,
  scatterv: 2,
  gatherv: 1,
  allgatherv: undefined,
  alltoallv: undefined,
  dup: undefined,
  split: undefined,
};

/** Which of them are point-to-point calls. */
const POINT_TO_POINT = new Set(["sendrecv", "sendrecvReplace", "ssend"]);

type Method = (this: Comm, ...args: unknown[]) => unknown;

/** Payload bytes of a value when they are known without encoding it (typed arrays). */
function viewBytes(value: unknown): number | undefined {
  return ArrayBuffer.isView(value) ? value.byteLength : undefined;
}

/** End `span` when `promise` settles (after `settled`, given the value); the promise itself goes back to the caller untouched. */
function endWith<T>(recorder: Recorder, span: SpanId, promise: Promise<T>, settled?: (value: T) => void): Promise<T> {
  promise.then(
    (value) => {
      settled?.(value);
      recorder.end(span);
    },
    (error: unknown) => recorder.end(span, error instanceof Error ? error.message : String(error)),
  );
  return promise;
}

/** Install the wrappers; called once per rank, before the user's script is imported. */
export function interpose(recorder: Recorder): void {
  interposeComm(recorder);
  interposeRequests(recorder);
  interposeSends(recorder);
  interposeReceives(recorder);
  interposeProbes(recorder);
  const init = recorder.label("init", "init");
  probes.init = (join) => endWith(recorder, recorder.begin(init), join());
  interposePool(recorder);
}

/** Pool tasks as spans (named `pool <task>`, one label each) and the pool's numbers for --stats. */
function interposePool(recorder: Recorder): void {
  const labels = new Map<string, number>();
  const totals = () => (recorder.pool ??= { ran: 0, seconds: 0 });
  probes.task = (fn, start, error) => {
    let label = labels.get(fn);
    if (label === undefined) labels.set(fn, (label = recorder.label(`pool ${fn}`, "task")));
    const now = performance.now();
    recorder.endAt(recorder.beginAt(label, start), now, error);
    const pool = totals();
    pool.ran++;
    pool.seconds += (now - start) / 1000;
  };
  probes.pool = (counters) => Object.assign(totals(), counters);
}

/** Every public call of Comm, as one span (a collective learns its communicator from the channel it opens). */
function interposeComm(recorder: Recorder): void {
  // A collective opens its channel synchronously when called: that names its communicator.
  let starting = -1;
  const channel = CommEngine.prototype.channel;
  CommEngine.prototype.channel = function (this: CommEngine, call: string) {
    if (starting >= 0) recorder.comm(starting, this.id);
    starting = -1;
    return channel.call(this, call);
  };
  const comm = Comm.prototype as unknown as Record<string, Method>;
  for (const [name, rootAt] of Object.entries(COMM_CALLS)) {
    const original = comm[name]!;
    const label = recorder.label(name, POINT_TO_POINT.has(name) ? "p2p" : "collective");
    comm[name] = function (this: Comm, ...args: unknown[]) {
      const span = recorder.begin(label);
      if (rootAt !== undefined) recorder.root(span, (args[rootAt] as number | undefined) ?? 0);
      const bytes = viewBytes(args[0]);
      if (bytes !== undefined) recorder.bytes(span, bytes);
      starting = span;
      try {
        return endWith(recorder, span, original.apply(this, args) as Promise<unknown>);
      } finally {
        starting = -1;
      }
    };
  }
}

/** The user's waits on requests. */
function interposeRequests(recorder: Recorder): void {
  const wait = Request.prototype.wait;
  const label = recorder.label("wait", "wait");
  Request.prototype.wait = function (this: Request) {
    // Begun before the call: wait() may poll for the message first.
    return endWith(recorder, recorder.begin(label), wait.call(this));
  };
}

/** Every message sent, user's or a collective's. */
function interposeSends(recorder: Recorder): void {
  const runtime = Runtime.prototype;
  const send = runtime.send;
  const [user, request, message] = [recorder.label("send", "p2p"), recorder.label("isend", "request"), recorder.label("send", "message")];
  /** Record a send that began at `start` (only the clock is read before the message leaves; the span is recorded after, while it travels). */
  const record = (start: number, sent: Promise<void>, call: string, worldDest: number, context: string, tag: number, bytes: number) => {
    // Done at once (most sends): no promise reaction needed to end the span.
    const end = sent === SENT ? performance.now() : undefined;
    const label = call === "send" ? user : call === "isend" ? request : message;
    const span = recorder.beginAt(label, start);
    if (label === message) recorder.call(span, call);
    recorder.messageSent(span, worldDest, context, tag, bytes);
    if (end !== undefined) recorder.endAt(span, end);
    else endWith(recorder, span, sent);
  };
  runtime.send = function (this: Runtime, worldDest: number, outgoing: Outgoing, call = "send", handover?: { peer: number }) {
    const start = performance.now();
    const sent = send.call(this, worldDest, outgoing, call, handover);
    record(start, sent, call, worldDest, outgoing.context, outgoing.tag, outgoing.bytes);
    return sent;
  };
  const sendArray = runtime.sendArray;
  runtime.sendArray = function (
    this: Runtime,
    worldDest: number,
    context: string,
    source: number,
    tag: number,
    array: TypedArray,
    kind: number,
    call = "send",
  ) {
    const start = performance.now();
    const sent = sendArray.call(this, worldDest, context, source, tag, array, kind, call);
    // Not sent this way: it goes through runtime.send, recorded there.
    if (sent !== undefined) record(start, sent, call, worldDest, context, tag, array.byteLength);
    return sent;
  };
}

/** Messages up to this size end their receive's span when matched (the rest when the receive settles). */
const SMALL_BYTES = 64 * 1024;

/**
 * The receives being traced. A receive's span ends when the matcher hands it its message,
 * watched synchronously (the matcher's token turns done), not through a promise reaction per
 * message: tracing a ping-pong cost 1.45x without this. Large or announced messages, and
 * failures, end when the runtime's promise settles.
 */
class Receives {
  /** Receives posted to the matcher and not matched yet: their wait tokens and spans, side by side. */
  private readonly tokens: Token[] = [];
  private readonly spans: SpanId[] = [];
  /** The runtime's promise of each receive span in progress, by span (known once Runtime.receive returns). */
  private readonly promises: (Promise<unknown> | undefined)[] = [];
  /** The message (or announcement) each followed receive span was matched with: its promise may resolve with the value alone. */
  private readonly envelopes: (Envelope | undefined)[] = [];
  /** The receive whose Runtime.receive is running and has not reached the matcher yet. */
  private posting = -1;
  /** The running receive was matched or cancelled before its promise was known: follow the promise. */
  private followPosting = false;

  constructor(private readonly recorder: Recorder) {}

  /** Runtime.receive of `span` is about to run. */
  start(span: SpanId): void {
    this.posting = span;
    this.followPosting = false;
  }

  /** Runtime.receive of `span` returned `received`. */
  returned<T>(span: SpanId, received: Promise<T>): Promise<T> {
    // Not posted to the matcher (it failed first), or matched or cancelled before the promise was known.
    const follows = this.followPosting || this.posting === span;
    this.posting = -1;
    this.followPosting = false;
    if (follows) this.followPromise(span, received);
    else if (this.recorder.isOpen(span)) this.promises[span] = received;
    return received;
  }

  /** The running receive reached the matcher, which returned `found`. */
  posted(found: Envelope | undefined, token: Token): void {
    const span = this.posting;
    this.posting = -1;
    if (span < 0 || !this.recorder.isOpen(span)) return;
    if (found !== undefined) return this.matched(span, found);
    this.tokens.push(token);
    this.spans.push(span);
  }

  /** The matcher delivered `envelope`: it completed at most one receive, the one whose token it turned done. */
  delivered(envelope: Envelope): void {
    for (let i = 0; i < this.tokens.length; i++) if (this.tokens[i]!.done) return this.matched(this.take(i), envelope, performance.now());
  }

  cancelled(token: Token): void {
    const i = this.tokens.indexOf(token);
    if (i >= 0) this.follow(this.take(i));
  }

  /** Remove entry `i` (order does not matter) and return its span. */
  private take(i: number): SpanId {
    const span = this.spans[i]!;
    this.tokens[i] = this.tokens[this.tokens.length - 1]!;
    this.spans[i] = this.spans[this.spans.length - 1]!;
    this.tokens.pop();
    this.spans.pop();
    return span;
  }

  /** The receive's message was matched `at` (undefined: when the receive began, the message was there). */
  private matched(span: SpanId, envelope: Envelope, at?: number): void {
    if (envelope.rendezvous === undefined && envelope.bytes <= SMALL_BYTES) {
      this.promises[span] = undefined;
      this.recorder.arrived(span, envelope.from, envelope.tag, envelope.bytes, at);
    } else {
      this.recorder.matched(span, at);
      this.envelopes[span] = envelope;
      this.follow(span);
    }
  }

  private follow(span: SpanId): void {
    const promise = this.promises[span];
    this.promises[span] = undefined;
    if (promise === undefined) this.followPosting = true;
    else this.followPromise(span, promise);
  }

  private followPromise(span: SpanId, promise: Promise<unknown>): void {
    const envelope = this.envelopes[span];
    this.envelopes[span] = undefined;
    endWith(this.recorder, span, promise, () => envelope && this.arrived(span, envelope));
  }

  private arrived(span: SpanId, envelope: Envelope): void {
    this.recorder.messageReceived(span, envelope.from, envelope.tag, envelope.bytes);
  }
}

/** Every receive, with how long it waited for its message (see {@link Receives}). */
function interposeReceives(recorder: Recorder): void {
  const receives = new Receives(recorder);
  const matcher = Matcher.prototype;
  const receive = matcher.receive;
  matcher.receive = function (this: Matcher, context: string, source: number, tag: number, token: Token, into?: TypedArray) {
    const found = receive.call(this, context, source, tag, token, into);
    receives.posted(found, token);
    return found;
  };
  const deliver = matcher.deliver;
  matcher.deliver = function (this: Matcher, envelope: Envelope) {
    deliver.call(this, envelope);
    receives.delivered(envelope);
  };
  const cancel = matcher.cancel;
  matcher.cancel = function (this: Matcher, token: Token, error: Error) {
    receives.cancelled(token);
    return cancel.call(this, token, error);
  };

  const runtime = Runtime.prototype;
  const [user, request, message] = [recorder.label("recv", "p2p"), recorder.label("irecv", "request"), recorder.label("recv", "message")];
  const receiveCall = runtime.receive;
  runtime.receive = function (
    this: Runtime,
    context: string,
    source: number,
    tag: number,
    call = "recv",
    peers?: Peers,
    into?: TypedArray,
    hurry?: Hurry,
    site?: Site,
    status?: Status,
  ) {
    const label = call === "recv" ? user : call === "irecv" ? request : message;
    const span = recorder.begin(label);
    recorder.comm(span, context);
    if (label === message) recorder.call(span, call);
    receives.start(span);
    return receives.returned(span, receiveCall.call(this, context, source, tag, call, peers!, into, hurry, site!, status));
  };
}

/** Every probe, with what it found. */
function interposeProbes(recorder: Recorder): void {
  const runtime = Runtime.prototype;
  const probe = runtime.probe;
  const label = recorder.label("probe", "p2p");
  runtime.probe = function (this: Runtime, context: string, source: number, tag: number, peers?: Peers) {
    const span = recorder.begin(label);
    recorder.comm(span, context);
    return endWith(recorder, span, probe.call(this, context, source, tag, peers), (envelope) =>
      recorder.message(span, envelope.from, envelope.tag, envelope.bytes),
    );
  };
}
