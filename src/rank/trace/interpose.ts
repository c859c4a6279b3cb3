/**
 * PMPI-style interposition through one explicit seam (comm/engine/seam.ts): when a job runs
 * with --trace or --stats, each rank installs a {@link Tracer} before the user's script runs,
 * and the calls that name the seam hand themselves to it: the communicator's calls, every
 * message sent and received, probes, `Request.wait`, init and pool tasks. A job without these
 * options runs them as they are, one check of an undefined field each; no prototype is patched.
 *
 * Two levels are recorded. Calls the user makes (send, recv, isend, irecv, probe, sendrecv,
 * every collective, wait, init) are spans; the messages a collective or sendrecv sends and
 * receives are child spans of kind "message". Every message's send and receive carry the same
 * flow key, so the merged trace draws an arrow from one to the other.
 */
import type { Envelope } from "../../comm/wire/codec.js";
import { seam, type SentMessage, type TracedWait, type Tracer } from "../../comm/engine/seam.js";
import { SENT } from "../../comm/transport/port.js";
import type { Recorder, SpanId } from "./recorder.js";

/** Calls of Comm that are point-to-point (the rest of Tracer.call's are collectives, dup and split). */
const POINT_TO_POINT = new Set(["sendrecv", "sendrecvReplace", "ssend"]);

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

/** Install the tracer; called once per rank, before the user's script is imported. */
export function interpose(recorder: Recorder): void {
  const receives = new Receives(recorder);
  const init = recorder.label("init", "init");
  const wait = recorder.label("wait", "wait");
  const probe = recorder.label("probe", "p2p");
  const calls = callLabels(recorder);
  seam.tracer = {
    call: (call, comm, run, value, root) => {
      const span = recorder.begin(calls(call));
      recorder.comm(span, comm);
      if (root !== undefined) recorder.root(span, root);
      const bytes = viewBytes(value);
      if (bytes !== undefined) recorder.bytes(span, bytes);
      return endWith(recorder, span, run());
    },
    // Begun before the call: wait() may poll for the message first.
    wait: (run) => endWith(recorder, recorder.begin(wait), run()),
    init: (join) => endWith(recorder, recorder.begin(init), join()),
    sent: sends(recorder),
    ...receiving(recorder, receives),
    probe: (context, run) => {
      const span = recorder.begin(probe);
      recorder.comm(span, context);
      return endWith(recorder, span, run(), (envelope) => recorder.message(span, envelope.from, envelope.tag, envelope.bytes));
    },
    posted: (found, token) => receives.posted(found, token),
    delivered: (envelope) => receives.delivered(envelope),
    cancelled: (token) => receives.cancelled(token),
    ...pool(recorder),
  };
}

/** The label of each of Comm's calls, made on first use. */
function callLabels(recorder: Recorder): (call: string) => number {
  const labels = new Map<string, number>();
  return (call) => {
    let label = labels.get(call);
    if (label === undefined) labels.set(call, (label = recorder.label(call, POINT_TO_POINT.has(call) ? "p2p" : "collective")));
    return label;
  };
}

/** Pool tasks as spans (named `pool <task>`, one label each) and the pool's numbers for --stats. */
function pool(recorder: Recorder): Pick<Tracer, "task" | "pool"> {
  const labels = new Map<string, number>();
  const totals = () => (recorder.pool ??= { ran: 0, seconds: 0 });
  return {
    task: (fn, start, error) => {
      let label = labels.get(fn);
      if (label === undefined) labels.set(fn, (label = recorder.label(`pool ${fn}`, "task")));
      const now = performance.now();
      recorder.endAt(recorder.beginAt(label, start), now, error);
      const pool = totals();
      pool.ran++;
      pool.seconds += (now - start) / 1000;
    },
    pool: (counters) => void Object.assign(totals(), counters),
  };
}

/** Every message sent, user's or a collective's: recorded after it left (only the clock is read before), while it travels. */
function sends(recorder: Recorder): Tracer["sent"] {
  const [user, request, message] = [recorder.label("send", "p2p"), recorder.label("isend", "request"), recorder.label("send", "message")];
  return (start: number, sent: Promise<void>, call: string, dest: number, { context, tag, bytes }: SentMessage) => {
    // Done at once (most sends): no promise reaction needed to end the span.
    const end = sent === SENT ? performance.now() : undefined;
    const label = call === "send" ? user : call === "isend" ? request : message;
    const span = recorder.beginAt(label, start);
    if (label === message) recorder.call(span, call);
    recorder.messageSent(span, dest, context, tag, bytes);
    if (end !== undefined) recorder.endAt(span, end);
    else endWith(recorder, span, sent);
  };
}

/** Every receive, with how long it waited for its message (see {@link Receives}). */
function receiving(recorder: Recorder, receives: Receives): Pick<Tracer, "receiving" | "received"> {
  const [user, request, message] = [recorder.label("recv", "p2p"), recorder.label("irecv", "request"), recorder.label("recv", "message")];
  return {
    receiving: (wait: TracedWait) => {
      const { call } = wait;
      const label = call === "recv" ? user : call === "irecv" ? request : message;
      const span = recorder.begin(label);
      recorder.comm(span, wait.context);
      if (label === message) recorder.call(span, call);
      receives.start(span);
      return span;
    },
    received: (span, promise) => receives.returned(span, promise),
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
  private readonly tokens: TracedWait[] = [];
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
  posted(found: Envelope | undefined, token: TracedWait): void {
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

  cancelled(token: object): void {
    const i = this.tokens.indexOf(token as TracedWait);
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
