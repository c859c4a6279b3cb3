/**
 * Nonblocking operations: {@link Request} (MPI_Request), {@link Status}, waitAll, waitAny.
 */

/** What a receive or probe learned about a message (MPI_Status). */
export class Status {
  /** Rank of the sender within the communicator. */
  source = -1;
  /** Tag the message was sent with. */
  tag = -1;
  /** Payload size in bytes: a typed array's `byteLength`, otherwise the encoded size. */
  bytes = 0;
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
   * (its `AbortSignal` aborted): set by the engine when it is posted. @returns false once matched.
   */
  withdraw?: (error: Error) => boolean;
  /** Poll at once, as a receive without a hurry does: this one only carries {@link withdraw}. */
  eager?: boolean;
}

/** Result of {@link Request.test}: like an iterator result. */
export type TestResult<T> = { done: true; value: T } | { done: false };

/**
 * A nonblocking operation in progress, returned by `isend`/`irecv`.
 * Progress happens in the background; `wait()` resolves when the operation is complete.
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
  private outcome: TestResult<T> = { done: false };
  private readonly promise: Promise<T>;
  /** Filled in when a receive completes. */
  status: Status | undefined;

  readonly #hurry: Hurry | undefined;

  /** @internal */
  constructor(promise: Promise<T>, hurry?: Hurry) {
    this.#hurry = hurry;
    this.promise = promise.then((value) => {
      this.outcome = { done: true, value };
      return value;
    });
    // A lazily polled receive's failure surfaces in wait(), never as an unhandled rejection.
    if (hurry !== undefined) this.promise.catch(() => undefined);
  }

  /** Wait for completion (MPI_Wait). @returns the received value, or `undefined` for a send. */
  wait(): Promise<T> {
    this.#hurry?.poll?.();
    return this.promise;
  }

  /**
   * Check for completion without waiting (MPI_Test). Never throws; a failure surfaces in `wait()`.
   * A receive that has just arrived reports done from the next call on (after the caller yields once).
   */
  test(): TestResult<T> {
    if (!this.outcome.done) this.#hurry?.test?.();
    return this.outcome;
  }
}

/**
 * Wait for every request (MPI_Waitall).
 * @returns their values, in the order of `requests`.
 */
export function waitAll<T>(requests: readonly Request<T>[]): Promise<T[]> {
  return Promise.all(requests.map((request) => request.wait()));
}

/**
 * Wait for the first request to complete (MPI_Waitany).
 * @returns its index in `requests` and its value.
 */
export function waitAny<T>(requests: readonly Request<T>[]): Promise<{ index: number; value: T }> {
  return Promise.race(requests.map((request, index) => request.wait().then((value) => ({ index, value }))));
}
