/** Options objects of `Comm` calls. */
import type { Status } from "../comm/engine/request.js";
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

/**
 * Options of the reductions (`reduce`, `allreduce`, `scan`, `exscan`, `reduceScatter`):
 * `into` (see {@link IntoOptions}; `into: value` works in place, as MPI_IN_PLACE) and `complex`.
 */
export interface ReduceOptions<T> extends IntoOptions<T> {
  /**
   * The typed arrays hold complex numbers as interleaved (re, im) pairs (a Float64Array or
   * Float32Array of even length, as C and numpy lay them out); SUM and PROD only, as in MPI.
   * @default false
   */
  complex?: boolean;
}

/** Options of `scatterv`: `into`, and where each rank's block starts in the root's array. */
export interface ScattervOptions<T> extends IntoOptions<T> {
  /** Read at the root: block r is `counts[r]` elements from element `displs[r]` (gaps, any order). @default packed: the prefix sums of `counts` */
  displs?: readonly number[];
}

/** Options of `gatherv` and `allgatherv` (read at the root in `gatherv`): `into`, and where each rank's block goes in the result. */
export interface GathervOptions<T> extends IntoOptions<T> {
  /** Elements each rank sends (checked; MPI's recvcounts); needed with `displs`. */
  counts?: readonly number[];
  /** Block r goes at element `displs[r]` of the result (gaps keep what `into` held; zeros in a new array). @default packed: the prefix sums of `counts` */
  displs?: readonly number[];
}

/** Options of `alltoallv`: `into`, and the layout of the send (`displs`) and receive (`recvCounts`, `recvDispls`) sides. */
export interface AlltoallvOptions<T> extends IntoOptions<T> {
  /** The block for rank j is `counts[j]` elements from element `displs[j]` of the array. @default packed */
  displs?: readonly number[];
  /** Elements each rank sends here (checked); needed with `recvDispls`. */
  recvCounts?: readonly number[];
  /** Rank j's block goes at element `recvDispls[j]` of the result. @default packed */
  recvDispls?: readonly number[];
}

/** Options of `recv`: `into` (see {@link IntoOptions}) and `status` (filled with source, tag and size). */
export interface RecvOptions<T> extends IntoOptions<T>, SignalOptions {
  status?: Status;
}

/** Options of `irecv`: `into` (see {@link IntoOptions}) and `signal` (see {@link SignalOptions}). */
export interface IrecvOptions<T> extends IntoOptions<T>, SignalOptions {}
