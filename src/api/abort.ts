/**
 * `{ signal }` on the calls that wait for a message (recv, irecv, probe, incoming): an aborted
 * signal withdraws the receive while it is still unmatched, and the call rejects with an
 * AbortError (the signal's reason as its `cause`). A receive whose message has already matched
 * completes as usual: nothing is lost, as with MPI_Cancel.
 */
import type { Hurry } from "../comm/engine/request.js";
import type { Where } from "../comm/wire/validate.js";
import { AbortError, callError } from "../errors.js";

/** An `AbortSignal` (Node's or the DOM's): what tsmpi uses of it, so its types need neither lib. */
export interface AbortSignalLike {
  readonly aborted: boolean;
  readonly reason?: unknown;
  addEventListener(type: "abort", listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: "abort", listener: () => void): void;
}

/** The option of calls that may be withdrawn. */
export interface SignalOptions {
  /** Withdraw the call when this signal aborts (if its message has not matched yet): it rejects with an AbortError. */
  signal?: AbortSignalLike;
}

/** The AbortError of `where`'s call, withdrawn because `signal` aborted. */
export function abortedError(where: Where, signal: AbortSignalLike): AbortError {
  return callError(AbortError, where.call, where.rank, "its signal aborted, so the receive was withdrawn (no message was taken)", signal.reason);
}

/**
 * @internal Start a receive or probe (`start`, given the hurry that carries its withdrawal)
 * that `signal` withdraws: rejected at once if it has aborted already. `lazy`: an irecv's own
 * hurry. (Internal, as `Hurry` is: a published declaration naming it would not compile.)
 */
export function abortable<T>(where: Where, signal: AbortSignalLike | undefined, start: (hurry?: Hurry) => Promise<T>, lazy?: Hurry): Promise<T> {
  if (signal === undefined) return start(lazy);
  if (signal.aborted) return Promise.reject(abortedError(where, signal));
  const hurry: Hurry = lazy ?? { eager: true };
  const promise = start(hurry);
  const onAbort = (): void => void hurry.withdraw?.(abortedError(where, signal));
  signal.addEventListener("abort", onAbort, { once: true });
  const done = (): void => signal.removeEventListener("abort", onAbort);
  promise.then(done, done);
  return promise;
}
