/** MPI_Alltoall, MPI_Alltoallv and MPI_Alltoallw: on the board (or single copy), or by pairwise exchange. */
import type { TypedArray } from "../comm/wire/values.js";
import type { Channel, CollectiveFailure } from "./collective-protocol.js";
import { boardAlltoall, boardAlltoallv } from "./host/slots.js";
import { choose } from "./locality.js";
import { pairwiseAlltoall, pairwiseAlltoallv } from "./network/pairwise.js";
import { pairwiseAlltoallw } from "./network/pairwise-mixed.js";

export function alltoall<T>(ch: Channel, values: readonly T[]): Promise<T[]> {
  return choose(ch, {
    board: (board) => boardAlltoall(board, ch, values),
    messages: () => pairwiseAlltoall(ch, values),
  });
}

/** Alltoallv; `failed`: a misuse this rank found before (see displs.ts), which makes every rank reject. */
export function alltoallv<T extends TypedArray>(ch: Channel, array: T, counts: readonly number[], into?: T, failed?: CollectiveFailure): Promise<T> {
  return choose(ch, {
    board: (board) => boardAlltoallv(board, ch, array, counts, into, failed),
    messages: () => pairwiseAlltoallv(ch, array, counts, into, failed),
  });
}

export function alltoallw(ch: Channel, blocks: readonly TypedArray[], into?: readonly TypedArray[]): Promise<TypedArray[]> {
  return choose(ch, { messages: () => pairwiseAlltoallw(ch, blocks, into) });
}
