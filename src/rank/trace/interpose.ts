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
import { Comm } from "../../api/communicator.js";
import { Group } from "../../comm/group.js";
import { Matcher, type Token } from "../../comm/matching.js";
import { Request } from "../../comm/request.js";
import { Runtime, type Outgoing } from "../../comm/runtime.js";
import type { Peers } from "../../comm/waits.js";
import { SENT } from "../../comm/transport.js";
import type { Envelope, TypedArray } from "../../comm/codec.js";
import { probes } from "./probes.js";
import type { OpenSpan, Recorder } from "./recorder.js";
import type { SpanArgs } from "./types.js";

/** Collectives (and sendrecv) on Comm, with the position of their `root` argument if any. */
const COMM_CALLS: Record<string, number | undefined> = {
  sendrecv: undefined,
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

/** Point-to-point calls whose runtime send/receive is the user's call itself. */
const USER_SENDS = new Set(["send", "isend"]);
const USER_RECEIVES = new Set(["recv", "irecv"]);

type Method = (this: Comm, ...args: unknown[]) => unknown;
/** Runtime.receive's arguments after `call` (peers, into, hurry), passed through as they are. */
type AfterCall = Parameters<Runtime["receive"]> extends [string, number, number, string?, ...infer Rest] ? Rest : never;

/** Payload bytes of a value when they are known without encoding it (typed arrays). */
function viewBytes(value: unknown): number | undefined {
  return ArrayBuffer.isView(value) ? value.byteLength : undefined;
}

/** End `span` when `promise` settles; the promise itself goes back to the caller untouched. */
function endWith<T>(recorder: Recorder, span: OpenSpan, promise: Promise<T>, extra?: (value: T) => SpanArgs): Promise<T> {
  promise.then(
    (value) => recorder.end(span, extra?.(value)),
    (error: unknown) => recorder.end(span, { error: error instanceof Error ? error.message : String(error) }),
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
  probes.init = (join) => {
    const span = recorder.begin("init", "init", {});
    return endWith(recorder, span, join());
  };
}

/** Every public call of Comm, as one span (a collective learns its communicator from the channel it opens). */
function interposeComm(recorder: Recorder): void {
  // A collective opens its channel synchronously when called: that names its communicator.
  let starting: OpenSpan | undefined;
  const channel = Group.prototype.channel;
  Group.prototype.channel = function (this: Group, call: string) {
    if (starting !== undefined) starting.args.comm = this.id;
    starting = undefined;
    return channel.call(this, call);
  };
  const comm = Comm.prototype as unknown as Record<string, Method>;
  for (const [name, rootAt] of Object.entries(COMM_CALLS)) {
    const original = comm[name]!;
    comm[name] = function (this: Comm, ...args: unknown[]) {
      const spanArgs: SpanArgs = {};
      if (rootAt !== undefined) spanArgs.root = (args[rootAt] as number | undefined) ?? 0;
      const bytes = viewBytes(args[0]);
      if (bytes !== undefined) spanArgs.bytes = bytes;
      const span = recorder.begin(name, name === "sendrecv" ? "p2p" : "collective", spanArgs);
      starting = span;
      try {
        return endWith(recorder, span, original.apply(this, args) as Promise<unknown>);
      } finally {
        starting = undefined;
      }
    };
  }
}

/** The user's waits on requests. */
function interposeRequests(recorder: Recorder): void {
  const wait = Request.prototype.wait;
  Request.prototype.wait = function (this: Request) {
    // Begun before the call: wait() may poll for the message first.
    const span = recorder.begin("wait", "wait", {});
    return endWith(recorder, span, wait.call(this));
  };
}

/** Every message sent, user's or a collective's. */
function interposeSends(recorder: Recorder): void {
  const runtime = Runtime.prototype;
  const send = runtime.send;
  runtime.send = function (this: Runtime, worldDest: number, message: Outgoing, call = "send", handover?: { peer: number }) {
    const user = USER_SENDS.has(call);
    const args: SpanArgs = { peer: worldDest, tag: message.tag, bytes: message.bytes, comm: message.context };
    if (!user) args.call = call;
    const span = recorder.begin(user ? call : "send", user ? (call === "isend" ? "request" : "p2p") : "message", args);
    recorder.messageSent(span, this.rank, worldDest, message.context, message.tag, message.bytes);
    const sent = send.call(this, worldDest, message, call, handover);
    // Done at once (most sends): no promise reaction needed to end the span.
    if (sent === SENT) recorder.end(span);
    else endWith(recorder, span, sent);
    return sent;
  };
}

/** Messages up to this size end their receive's span when matched (the rest when the receive settles). */
const SMALL_BYTES = 64 * 1024;

/** A receive being traced: its span, and the promise the runtime returned for it (once it has). */
interface Receiving {
  span: OpenSpan;
  rank: number;
  context: string;
  promise?: Promise<Envelope>;
  /** Matched or cancelled before the runtime returned: follow the promise once it is known. */
  follow?: boolean;
}

/**
 * Every receive, with how long it waited for its message. A receive's span ends when
 * the matcher hands it its message, watched synchronously (the matcher's token turns done), not
 * through a promise reaction per message: tracing a ping-pong cost 1.45x without this. Large or
 * announced messages, and failures, end when the runtime's promise settles.
 */
function interposeReceives(recorder: Recorder): void {
  const runtime = Runtime.prototype;
  const matcher = Matcher.prototype;
  /** Receives posted to the matcher and not matched yet, by their wait token. */
  const waiting = new Map<Token, Receiving>();
  let posting: Receiving | undefined;

  const follow = (r: Receiving) => {
    if (r.promise === undefined) r.follow = true;
    else endWith(recorder, r.span, r.promise, (envelope) => arrived(r, envelope));
  };
  const arrived = (r: Receiving, envelope: Envelope): SpanArgs => {
    recorder.messageReceived(r.span, envelope.from, r.rank, r.context, envelope.tag, envelope.bytes);
    const args = r.span.args;
    args.peer = envelope.from;
    args.tag = envelope.tag;
    args.bytes = envelope.bytes;
    if (r.span.matched !== undefined) args.waitedMs = Math.round((r.span.matched - r.span.start) * 1000) / 1000;
    return args;
  };
  const matched = (r: Receiving, envelope: Envelope, at: number) => {
    r.span.matched = at;
    if (envelope.rendezvous === undefined && envelope.bytes <= SMALL_BYTES) {
      arrived(r, envelope);
      recorder.end(r.span);
    } else follow(r);
  };

  const receive = matcher.receive;
  matcher.receive = function (this: Matcher, context: string, source: number, tag: number, token?: Token, into?: TypedArray) {
    const r = posting;
    posting = undefined;
    const found = receive.call(this, context, source, tag, token, into);
    if (r !== undefined) {
      if (!(found instanceof Promise)) matched(r, found, r.span.start);
      else if (token !== undefined) waiting.set(token, r);
      else follow(r);
    }
    return found;
  };
  const deliver = matcher.deliver;
  matcher.deliver = function (this: Matcher, envelope: Envelope) {
    deliver.call(this, envelope);
    // A delivery completes at most one receive: the one whose token it turned done.
    if (waiting.size > 0)
      for (const [token, r] of waiting)
        if (token.done) {
          waiting.delete(token);
          matched(r, envelope, performance.now());
          break;
        }
  };
  const cancel = matcher.cancel;
  matcher.cancel = function (this: Matcher, token: Token, error: Error) {
    const r = waiting.get(token);
    if (r !== undefined) {
      waiting.delete(token);
      follow(r);
    }
    return cancel.call(this, token, error);
  };

  const receiveCall = runtime.receive;
  runtime.receive = function (this: Runtime, context: string, source: number, tag: number, call = "recv", ...rest: AfterCall) {
    const user = USER_RECEIVES.has(call);
    const args: SpanArgs = { comm: context };
    if (!user) args.call = call;
    const span = recorder.begin(user ? call : "recv", user ? (call === "irecv" ? "request" : "p2p") : "message", args);
    const r: Receiving = { span, rank: this.rank, context };
    posting = r;
    const received = receiveCall.call(this, context, source, tag, call, ...rest);
    posting = undefined;
    r.promise = received;
    if (r.follow) follow(r);
    return received;
  };
}

/** Every probe, with what it found. */
function interposeProbes(recorder: Recorder): void {
  const runtime = Runtime.prototype;
  const probe = runtime.probe;
  runtime.probe = function (this: Runtime, context: string, source: number, tag: number, peers?: Peers) {
    const span = recorder.begin("probe", "p2p", { comm: context });
    return endWith(recorder, span, probe.call(this, context, source, tag, peers), (envelope) => ({
      peer: envelope.from,
      tag: envelope.tag,
      bytes: envelope.bytes,
    }));
  };
}
