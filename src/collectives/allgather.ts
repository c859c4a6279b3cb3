/** MPI_Allgather and MPI_Allgatherv: on the board (or its stage), by host (hierarchical), or by Bruck's algorithm. */
import type { TypedArray } from "../comm/wire/values.js";
import type { Channel } from "./collective-protocol.js";
import { apart } from "../comm/engine/into.js";
import { hierarchicalAllgather, hierarchicalAllgatherv } from "./hierarchical/symmetric.js";
import { boardAllgather, boardAllgatherv } from "./host/slots.js";
import { choose } from "./locality.js";
import { bruck, bruckAllgatherv } from "./network/bruck.js";

export function allgather<T>(ch: Channel, value: T): Promise<T[]> {
  return choose(ch, {
    board: (board) => boardAllgather(board, ch, value),
    tiers: (t) => hierarchicalAllgather(ch, t, value),
    messages: () => bruck(ch, value),
  });
}

/** Allgatherv; `array` may overlap `into` (the board works around it; the others get a copy, see apart). */
export function allgatherv<T extends TypedArray>(ch: Channel, array: T, into?: T): Promise<T> {
  return choose(ch, {
    board: (board) => boardAllgatherv(board, ch, array, into),
    tiers: (t) => hierarchicalAllgatherv(ch, t, apart(array, into), into),
    messages: () => bruckAllgatherv(ch, apart(array, into), into),
  });
}
