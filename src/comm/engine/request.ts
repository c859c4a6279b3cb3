/**
 * Nonblocking operations: {@link Request} (MPI_Request), {@link Status}, and the calls that
 * complete several requests at once (MPI_Waitall, _Waitany, _Waitsome, _Testall, _Testany,
 * _Testsome). As in MPI, a request whose completion has been returned (by `wait`, `test` or
 * one of these calls) is inactive from then on: the "any" and "some" calls skip it, and once
 * every request of a list is inactive they say so (`UNDEFINED`, `undefined`) instead of waiting.
 */
import { SENT } from "../transport/port.js";
import { UNDEFINED } from "../wire/validate.js";
import { seam } from "./seam.js";

/** What a receive or probe learned about a message (MPI_Status). */
export class Status {
  /** Rank of the sender within the communicator. */
  source = -1;
  /** Tag the message was sent with. */
  tag = -1;
  /** Payload size in bytes: a typed array's `byteLength`, otherwise the encoded size. */
  bytes = 0;
  /** The operation was cancelled by {@link Request.cancel} (MPI_Test_cancelled; mpi4py `Status.Is_cancelled()`). */
  cancelled = false;
}

/**
 * @internal A receive that does not poll until it is waited for (irecv): `wait()` runs `poll`
 * first, which the engine sets while the receive is pending.
 */
export interface Hurry {
  poll?: () => void;
  /** Deliver what has arrived, without waiting (MPI_Test's progress). */
  test?: () => void;
  /**
   * Withdraw the receive or probe, failing it with `error`, while it is posted and unmatched
   * (its `AbortSignal` aborted, or {@link Request.cancel}): set by the engine when it is posted. @returns false once matched.
   */
  withdraw?: (error: Error) => boolean;
  /** Poll at once, as a receive without a hurry does: this one only carries {@link withdraw}. */
  eager?: boolean;
  /**
   * The request's own promise and its settlers (a persistent receive's, made anew at each start):
   * a receive that waits settles them itself instead of making a promise (see Posting.promise).
   */
  own?: { promise: Promise<unknown>; resolve: (value: unknown) => void; reject: (error: Error) => void };
  /**
   * The engine's token of the receive or probe posted for it (set as it is posted; a persistent
   * request clears it at each start): {@link poll}, {@link test} and {@link withdraw} act on it,
   * so that they are made once per request, not once per start.
   */
  posted?: object;
}

/** Result of {@link Request.test}: like an iterator result. */
export type TestResult<T> = { done: true; value: T } | { done: false };

const PENDING: TestResult<never> = { done: false };
const DONE: TestResult<undefined> = { done: true, value: undefined };

/** What a receive withdrawn by {@link Request.cancel} rejects with: its request completes, cancelled, instead. */
const CANCELLED = new Error("cancelled");
/** Is `error` what a receive withdrawn by {@link Request.cancel} rejects with? */
export const isCancelled = (error: unknown): boolean => error === CANCELLED;

/** A request's completion, polled for but not claimed (the "any"/"some" calls race these). */
let settled: <T>(request: Request<T>) => Promise<T>;
/** A request's outcome after a test's progress, not claimed. */
let peek: <T>(request: Request<T>) => TestResult<T>;
/** A request's outcome as it stands. */
let outcome: <T>(request: Request<T>) => TestResult<T>;
/** Its completion is returned: inactive from now on. */
let retire: (request: Request) => void;

/**
 * A nonblocking operation in progress, returned by `isend`/`irecv`/`issend` (and, started, by
 * `sendInit`/`recvInit`). Progress happens in the background; `wait()` resolves when the
 * operation is complete.
 *
 * @example
 * ```ts
 * const req = comm.irecv(0, 7);
 * await doOtherWork();
 * const value = await req.wait();
 * console.log(req.status?.bytes);
 * ```
 */
export class Request<T = unknown> {
  #outcome: TestResult<T> = PENDING;
  #promise: Promise<T> = SENT as Promise<T>;
  #hurry: Hurry | undefined;
  /** wait() was called: the request goes inactive as it completes. */
  #waited = false;
  /** Its completion has been returned (MPI's REQUEST_NULL), or a persistent request is not started. */
  #inactive = false;
  /** Filled in when a receive completes, or when a request is cancelled. */
  status: Status | undefined;

  static {
    settled = (request) => {
      if (!request.#outcome.done) request.#hurry?.poll?.();
      return request.#promise;
    };
    peek = (request) => {
      if (!request.#outcome.done) request.#hurry?.test?.();
      return request.#outcome;
    };
    outcome = (request) => request.#outcome;
    retire = (request) => void (request.#inactive = true);
  }

  /** @internal Without a promise: an inactive request (a persistent one, not started). */
  constructor(promise?: Promise<T>, hurry?: Hurry) {
    if (promise === undefined) {
      this.#outcome = DONE as TestResult<T>;
      this.#inactive = true;
    } else this.begin(promise, hurry);
  }

  /**
   * @internal The operation this request stands for from now on (a persistent request's start).
   * `promise` is the request's own (see Hurry.own) if `settled` by its maker, who calls {@link completed}.
   */
  protected begin(promise: Promise<T>, hurry?: Hurry, settled = false): void {
    this.#hurry = hurry;
    this.#waited = this.#inactive = false;
    this.status = undefined;
    if (promise === SENT) {
      // A send that completed at once (most do): done now, no promise reaction.
      this.#outcome = DONE as TestResult<T>;
      this.#promise = promise as Promise<T>;
      return;
    }
    this.#outcome = PENDING;
    if (settled) {
      this.#promise = promise;
      return;
    }
    const complete = (value: T): T => {
      this.#outcome = { done: true, value };
      if (this.#waited) this.#inactive = true;
      return value;
    };
    // Only a posted receive (it has a hurry) can be cancelled: it completes with undefined.
    this.#promise =
      hurry === undefined
        ? promise.then(complete)
        : promise.then(complete, (error: unknown) => (error === CANCELLED ? (this.#outcome as { value: T }).value : Promise.reject(error)));
    // A lazily polled receive's failure surfaces in wait(), never as an unhandled rejection.
    if (hurry !== undefined) this.#promise.catch(() => undefined);
  }

  /** @internal A request begun `settled` has completed with `value` (its promise resolves next). */
  protected completed(value: T): void {
    this.#outcome = { done: true, value };
    if (this.#waited) this.#inactive = true;
  }

  /** Wait for completion (MPI_Wait). @returns the received value, or `undefined` for a send or a cancelled receive. */
  wait(): Promise<T> {
    const tracer = seam.tracer;
    return tracer === undefined ? this.#wait() : tracer.wait(() => this.#wait());
  }

  #wait(): Promise<T> {
    if (this.#outcome.done) this.#inactive = true;
    else {
      this.#waited = true;
      this.#hurry?.poll?.();
    }
    return this.#promise;
  }

  /**
   * Check for completion without waiting (MPI_Test). Never throws; a failure surfaces in `wait()`.
   * A receive that has just arrived reports done from the next call on (after the caller yields once).
   */
  test(): TestResult<T> {
    const outcome = peek(this);
    if (outcome.done) this.#inactive = true;
    return outcome;
  }

  /**
   * Cancel the operation (MPI_Cancel), if it can still be: a receive that no message has
   * matched yet is withdrawn, and completes at once: `wait()` resolves with `undefined` and
   * `status.cancelled` is true (mpi4py `Status.Is_cancelled()`). A receive already matched, a
   * completed request, and any send (as with Open MPI, a send is never cancelled) are left to
   * complete as usual: `cancel()` then returns false and `status.cancelled` stays false.
   * @example
   * ```ts
   * const req = comm.irecv(ANY_SOURCE, 99);
   * if (req.cancel()) console.log(req.status?.cancelled); // true
   * ```
   * @returns whether it was cancelled
   */
  cancel(): boolean {
    if (this.#outcome.done || this.#hurry?.withdraw?.(CANCELLED) !== true) return false;
    this.status = Object.assign(new Status(), { cancelled: true });
    this.#outcome = DONE as TestResult<T>;
    return true;
  }

  /** @internal Started and not complete yet (a persistent request may not start again until it completes). */
  protected get pending(): boolean {
    return !this.#inactive && !this.#outcome.done;
  }

  /**
   * False once its completion has been returned by `wait`, `test` or a call such as
   * {@link waitAny} (MPI then sets the request to REQUEST_NULL), and for a persistent request not
   * started; mpi4py's `bool(request)`. `wait()` on an inactive request resolves at once, with its last value.
   */
  get active(): boolean {
    return !this.#inactive;
  }
}

/**
 * Wait for every request (MPI_Waitall).
 * @returns their values, in the order of `requests`.
 */
export function waitAll<T>(requests: readonly Request<T>[]): Promise<T[]> {
  const waited = requests.map((request) => request.wait());
  // Each wait polled for its receive (the first usually delivers the whole window): if every
  // request is complete now, their values, without a reaction per request (see receive-request.ts).
  if (seam.tracer !== undefined || !requests.every((request) => outcome(request).done)) return Promise.all(waited);
  return Promise.resolve(requests.map((request) => (outcome(request) as { value: T }).value));
}

/** The active requests' indices, and those of them that are done (`progress`: after a test's progress on each pending one). */
function survey(requests: readonly Request[], progress: boolean): { active: number[]; done: number[] } {
  const active: number[] = [];
  const done: number[] = [];
  requests.forEach((request, index) => {
    if (!request.active) return;
    active.push(index);
    if ((progress ? peek(request) : outcome(request)).done) done.push(index);
  });
  return { active, done };
}

/** Retire the requests at `indices` (their completion is returned now): their values. */
function collect<T>(requests: readonly Request<T>[], indices: number[]): T[] {
  return indices.map((index) => {
    retire(requests[index]!);
    return (outcome(requests[index]!) as { value: T }).value;
  });
}

/** Resolve once one of the requests at `indices` completes (rejects if one fails first). */
function first(requests: readonly Request[], indices: number[]): Promise<unknown> {
  return Promise.race(indices.map((index) => settled(requests[index]!)));
}

/**
 * Wait for one request to complete (MPI_Waitany): the first active one that is done (the lowest
 * index if several are), then inactive. Once no request is active (an empty list, or all
 * returned already), `{ index: UNDEFINED, value: undefined }` at once, as MPI does.
 * @example
 * ```ts
 * const requests = sources.map((source) => comm.irecv(source, 7));
 * for (let got = await waitAny(requests); got.index !== UNDEFINED; got = await waitAny(requests)) use(got.value);
 * ```
 * @returns its index in `requests` and its value
 */
export async function waitAny<T>(requests: readonly Request<T>[]): Promise<{ index: number; value: T }> {
  const { active, done: already } = survey(requests, false);
  let done = already;
  if (active.length === 0) return { index: UNDEFINED, value: undefined as T };
  if (done.length === 0) {
    await first(requests, active);
    done = survey(requests, false).done;
  }
  return { index: done[0]!, value: collect(requests, done.slice(0, 1))[0]! };
}

/**
 * Wait until at least one request completes (MPI_Waitsome): every active request that is done
 * then, in index order, each inactive from then on. `undefined` once no request is active.
 * @example
 * ```ts
 * for (let some = await waitSome(requests); some; some = await waitSome(requests)) some.values.forEach(use);
 * ```
 */
export async function waitSome<T>(requests: readonly Request<T>[]): Promise<{ indices: number[]; values: T[] } | undefined> {
  const { active, done: already } = survey(requests, false);
  let done = already;
  if (active.length === 0) return undefined;
  if (done.length === 0) {
    await first(requests, active);
    done = survey(requests, false).done;
  }
  return { indices: done, values: collect(requests, done) };
}

/**
 * Are all requests complete (MPI_Testall)? Makes progress on each pending one first. If so,
 * `{ done: true, value }` with every request's value in order (each inactive from then on);
 * otherwise `{ done: false }` and no request changes. Never throws, as {@link Request.test}.
 */
export function testAll<T>(requests: readonly Request<T>[]): TestResult<T[]> {
  const outcomes = requests.map((request) => peek(request));
  if (!outcomes.every((outcome) => outcome.done)) return PENDING;
  for (const request of requests) retire(request);
  return { done: true, value: outcomes.map((outcome) => (outcome as { value: T }).value) };
}

/**
 * Has any active request completed (MPI_Testany)? Makes progress first. `{ index, done: true,
 * value }` for the lowest such index (inactive from then on); `{ index: UNDEFINED, done: false }`
 * if none has; `{ index: UNDEFINED, done: true }` if no request is active.
 */
export function testAny<T>(requests: readonly Request<T>[]): { index: number; done: boolean; value?: T } {
  const { active, done } = survey(requests, true);
  if (active.length === 0) return { index: UNDEFINED, done: true, value: undefined };
  if (done.length === 0) return { index: UNDEFINED, done: false };
  return { index: done[0]!, done: true, value: collect(requests, done.slice(0, 1))[0] };
}

/**
 * The active requests that have completed (MPI_Testsome), in index order, each inactive from
 * then on; empty lists if none has, `undefined` if no request is active. Makes progress first.
 */
export function testSome<T>(requests: readonly Request<T>[]): { indices: number[]; values: T[] } | undefined {
  const { active, done } = survey(requests, true);
  if (active.length === 0) return undefined;
  return { indices: done, values: collect(requests, done) };
}
