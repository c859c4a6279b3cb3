/**
 * Barrier, allreduce and allgather(v) on a communicator spread over hosts (see tiers.ts): the
 * ranks of each host meet at their leader through shared memory, the leaders meet over the
 * network (dissemination, recursive doubling or the ring, Bruck), and each leader hands the
 * result back to its host. Each byte crosses the network once per host instead of once per
 * rank. Every rank gets the leaders' result, so all get the same bits; a non-commutative op is
 * kept in rank order only where hosts hold consecutive ranks (the dispatcher checks).
 */
import type { TypedArray } from "../../comm/wire/values.js";
import { settle, type Lane } from "../collective-protocol.js";
import { concat } from "../counts.js";
import { binomialBcast, binomialGather } from "../network/binomial.js";
import { bruck } from "../network/bruck.js";
import { disseminationBarrier } from "../network/dissemination.js";
import { accumulator, allreduceAcc, intoResult, operand, reduceAcc, splitAllreduce, splits } from "../network/reductions.js";
import type { Op } from "../ops.js";
import { columnLane, hostLane, inRankOrder, representatives, type Tiers } from "./tiers.js";

/** Every rank of each host at its leader, the leaders in a dissemination barrier, then each leader lets its host go. */
export async function hierarchicalBarrier(ch: Lane, t: Tiers): Promise<void> {
  const local = hostLane(ch, t);
  const { leaders } = representatives(ch, t);
  await binomialGather(local, null, 0);
  if (leaders) await disseminationBarrier(leaders);
  await binomialBcast(local, null, 0);
}

/**
 * Allreduce (op resolved). Large typed arrays with a commutative op, where every host holds as
 * many ranks: a reduce-scatter on each host, each block's allreduce among the ranks of its index
 * on every host (its column), an allgather on each host (each byte crosses the network once per
 * host, and every rank sends). Otherwise: reduced on each host (in rank order) to its leader,
 * over the leaders, handed back. (Small data by columns, an allreduce on each host then one per
 * column, ran 1.1-2.4x slower than this at most sizes on 2 namespace hosts x 2 ranks: 4 ranks
 * waking for the network on 2 cores instead of 2.)
 */
export async function hierarchicalAllreduce<T>(ch: Lane, t: Tiers, value: T, op: Op, into?: T): Promise<T> {
  const local = hostLane(ch, t);
  const acc = (into === undefined ? undefined : accumulator(ch, op, value, into)) ?? operand(ch, op, value);
  const column = splits(op, acc, local.size) ? columnLane(ch, t) : undefined;
  let reduced: unknown;
  if (column !== undefined) reduced = await splitAllreduce(local, column, op, acc);
  else {
    const { leaders } = representatives(ch, t);
    const partial = await reduceAcc(local, op, acc, 0);
    reduced = await binomialBcast(local, leaders ? await allreduceAcc(leaders, op, partial) : undefined, 0);
  }
  const result = settle(ch, reduced);
  return into === undefined ? (result as T) : intoResult(ch, value, into, result);
}

/** Allgather: each host's values at its leader, the leaders' by Bruck's algorithm, handed back and put in rank order. */
export async function hierarchicalAllgather<T>(ch: Lane, t: Tiers, value: T): Promise<T[]> {
  const local = hostLane(ch, t);
  const { leaders } = representatives(ch, t);
  const host = await binomialGather(local, value, 0);
  const all = leaders ? await bruck(leaders, host!) : undefined;
  const values = inRankOrder(t, (await binomialBcast(local, all, 0))!);
  values[ch.rank] = value;
  return values;
}

export async function hierarchicalAllgatherv<T extends TypedArray>(ch: Lane, t: Tiers, array: T, into?: T): Promise<T> {
  return concat(ch, array, await hierarchicalAllgather<TypedArray>(ch, t, array), into);
}
