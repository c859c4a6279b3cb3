/** MPI_Bcast: on the board (or its stage, or single copy), by host (hierarchical), or on a binomial tree. */
import { checkRoot } from "../comm/wire/validate.js";
import type { Channel } from "./collective-protocol.js";
import { hierarchicalBcast } from "./hierarchical/rooted.js";
import { boardBcast } from "./host/slots.js";
import { choose, refused } from "./locality.js";
import { binomialBcast } from "./network/binomial.js";

export function bcast<T>(ch: Channel, value: T, root = 0, into?: T): Promise<T> {
  return (
    refused(() => checkRoot(ch, root)) ??
    choose(ch, {
      board: (board) => boardBcast(board, ch, value, root, into),
      tiers: (t) => hierarchicalBcast(ch, t, value, root, into),
      messages: () => binomialBcast(ch, value, root, into),
    })
  );
}
