/**
 * MPI_Reduce (by host, hierarchical, or on a binomial tree), MPI_Scan and MPI_Exscan (recursive
 * doubling on prefixes) and MPI_Reduce_scatter (the ring, or allreduce and keep one's block).
 */
import type { TypedArray } from "../comm/wire/values.js";
import { checkRoot } from "../comm/wire/validate.js";
import type { Channel } from "./collective-protocol.js";
import { reductionOp } from "./complex.js";
import { hierarchicalReduce } from "./hierarchical/rooted.js";
import { choose, refused } from "./locality.js";
import { binomialReduce, doublingExscan, doublingScan, messageReduceScatter } from "./network/reductions.js";
import { SUM, type Op, type OpLike } from "./ops.js";

/** Reduce; with `into` (root only), the result lands there and `into` is returned. `complex`: the data are interleaved complex numbers. */
export function reduce<T>(ch: Channel, value: T, opLike: OpLike<T> = SUM, root = 0, into?: T, complex?: boolean): Promise<T | undefined> {
  let op!: Op;
  const messages = () => binomialReduce(ch, value, op, root, into);
  return (
    refused(() => {
      op = reductionOp(ch, opLike, complex);
      checkRoot(ch, root);
    }) ??
    choose(ch, {
      tiers: (t) => (op.commutative || t.contiguous ? hierarchicalReduce(ch, t, value, op, root, into) : messages()),
      messages,
    })
  );
}

export function scan<T>(ch: Channel, value: T, op: OpLike<T> = SUM, into?: T, complex?: boolean): Promise<T> {
  return choose(ch, { messages: () => doublingScan(ch, value, op, into, complex) });
}

export function exscan<T>(ch: Channel, value: T, op: OpLike<T> = SUM, into?: T, complex?: boolean): Promise<T | undefined> {
  return choose(ch, { messages: () => doublingExscan(ch, value, op, into, complex) });
}

export function reduceScatter<T extends TypedArray | readonly unknown[]>(
  ch: Channel,
  value: T,
  op: OpLike<T> = SUM,
  counts?: readonly number[],
  into?: T,
  complex?: boolean,
): Promise<T> {
  return choose(ch, { messages: () => messageReduceScatter(ch, value, op, counts, into, complex) });
}
