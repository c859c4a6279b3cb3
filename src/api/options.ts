/** Options objects of `Comm` calls. */
import type { Status } from "../comm/request.js";
import type { SignalOptions } from "./abort.js";

/**
 * The last argument of calls that can write their result into an array the caller owns
 * (`Recv(buf)` in mpi4py). Without `into` a call returns fresh memory, as before.
 */
export interface IntoOptions<T> {
  /**
   * A typed array of the data's type with room for it: the result is written there and the
   * call resolves to `into` itself. A wrong type or too short an array rejects with an
   * ArgumentError naming the call, the rank, the expected type and length.
   */
  into?: T;
}

/** Options of `recv`: `into` (see {@link IntoOptions}) and `status` (filled with source, tag and size). */
export interface RecvOptions<T> extends IntoOptions<T>, SignalOptions {
  status?: Status;
}

/** Options of `irecv`: `into` (see {@link IntoOptions}) and `signal` (see {@link SignalOptions}). */
export interface IrecvOptions<T> extends IntoOptions<T>, SignalOptions {}
