/** MPI_Barrier: on the board, by host (hierarchical), or by dissemination. */
import type { Channel } from "./collective-protocol.js";
import { hierarchicalBarrier } from "./hierarchical/symmetric.js";
import { choose } from "./locality.js";
import { disseminationBarrier } from "./network/dissemination.js";

export function barrier(ch: Channel): Promise<void> {
  return choose(ch, {
    board: (board) => board.barrier(ch.call),
    tiers: (t) => hierarchicalBarrier(ch, t),
    messages: () => disseminationBarrier(ch),
  });
}
