/**
 * MPI_Allreduce: on the board (or its stage), by host (hierarchical; a non-commutative op only
 * where hosts hold consecutive ranks, so that operands still combine in rank order), or by
 * recursive doubling or the ring (network/reductions.ts).
 */
import type { Channel } from "./collective-protocol.js";
import { reductionOp } from "./complex.js";
import { hierarchicalAllreduce } from "./hierarchical/symmetric.js";
import { boardAllreduce } from "./host/slots.js";
import { choose, refused } from "./locality.js";
import { messageAllreduce } from "./network/reductions.js";
import { SUM, type Op, type OpLike } from "./ops.js";

export function allreduce<T>(ch: Channel, value: T, opLike: OpLike<T> = SUM as Op, into?: T, complex?: boolean): Promise<T> {
  let op!: Op;
  const messages = () => messageAllreduce(ch, value, op, into);
  return (
    refused(() => (op = reductionOp(ch, opLike, complex))) ??
    choose(ch, {
      board: (board) => boardAllreduce(board, ch, value, op, into),
      tiers: (t) => (op.commutative || t.contiguous ? hierarchicalAllreduce(ch, t, value, op, into) : messages()),
      messages,
    })
  );
}
