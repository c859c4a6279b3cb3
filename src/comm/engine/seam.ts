/**
 * The one seam through which --trace and --stats watch a rank: MPI's profiling interface
 * (PMPI), made explicit. Each traced call hands itself to `seam.tracer` when one is installed
 * and runs as it is otherwise (one check of an undefined field); rank/trace/interpose.ts
 * installs one, once per rank, before the user's script is imported. Nothing else is wrapped:
 * no class's prototype is patched, and the calls that are traced are the ones that name the
 * seam (grep `seam.tracer`).
 *
 * Two levels are recorded: calls the user makes (point-to-point, collectives, waits, init,
 * pool tasks) and the messages each sends and receives.
 */
import type { Envelope } from "../wire/envelope.js";

/** What a message's send span records of it. */
export interface SentMessage {
  context: string;
  tag: number;
  /** Payload size as the receiver's status reports it. */
  bytes: number;
}

/** What the tracer reads of a receive's wait (see Wait in waits.ts: the object is the receive's token in the matcher). */
export interface TracedWait {
  readonly call: string;
  readonly context: string;
  /** Set once its message is matched. */
  readonly done?: boolean;
}

/** The counters a pool's root reports as it shuts down (see CommExecutor.stats). */
export interface PoolCounters {
  submitted?: number;
  done?: number;
  failed?: number;
  cancelled?: number;
  rerun?: number;
  chunks?: number;
  lostRanks?: number[];
}

/** What the tracer hears; every hook returns what the call it wraps returns. */
export interface Tracer {
  /**
   * A user's call on a communicator (a collective, sendrecv, sendrecvReplace, ssend, dup,
   * split): `run` makes it. `comm`: the communicator's context id; `value`: its first
   * argument (a typed array's bytes are recorded); `root`: a rooted collective's root.
   */
  call<T>(call: string, comm: string, run: () => Promise<T>, value?: unknown, root?: number): Promise<T>;
  /** A user's `Request.wait()`: `run` waits. */
  wait<T>(run: () => Promise<T>): Promise<T>;
  /** Joining the job (`init`): `join` joins. */
  init<T>(join: () => Promise<T>): Promise<T>;
  /**
   * A message to world rank `dest` went out through `call` (send, isend, or the collective's
   * name); the clock read `start` before it did; `sent` is its promise (SENT once it has left).
   */
  sent(start: number, sent: Promise<void>, call: string, dest: number, message: SentMessage): void;
  /**
   * A receive is about to be posted as `wait` says (see Runtime.receive). @returns the span to
   * hand {@link received} with the receive's promise (a pair, not a closure: it runs per message).
   */
  receiving(wait: TracedWait): number;
  /** The receive begun as `span` was posted; `promise` is what it resolves with. @returns `promise`. */
  received(span: number, promise: Promise<unknown>): Promise<unknown>;
  /** A probe on context `context`: `run` waits for its message. */
  probe(context: string, run: () => Promise<Envelope>): Promise<Envelope>;
  /** A receive reached the matcher and found `found` (undefined: it waits, as `wait`; see Runtime.receive). */
  posted(found: Envelope | undefined, wait: TracedWait): void;
  /** The matcher: `envelope` was delivered (matching at most one waiting receive, whose token turned done). */
  delivered(envelope: Envelope): void;
  /** The matcher: the receive or probe waiting as `token` is being cancelled. */
  cancelled(token: object): void;
  /** A pool task `fn` ran from `start` (performance.now()) until now; `error` if it threw. */
  task(fn: string, start: number, error?: string): void;
  /** The pool root's counters as it shuts down. */
  pool(counters: PoolCounters): void;
}

/** The seam: `tracer` is undefined unless --trace or --stats is on. */
export const seam: { tracer?: Tracer } = {};

/** Run `run`, through the tracer if there is one, as user call `call` on context `comm` (see Tracer.call). */
export function traced<T>(call: string, comm: string, run: () => Promise<T>, value?: unknown, root?: number): Promise<T> {
  const tracer = seam.tracer;
  return tracer === undefined ? run() : tracer.call(call, comm, run, value, root);
}
