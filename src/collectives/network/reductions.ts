/**
 * Reductions: reduce, allreduce, scan, exscan, reduceScatter.
 *
 * - reduce: binomial tree toward the root, ceil(log2 n) rounds. A non-commutative op is
 *   reduced on the tree rooted at 0, whose subtrees are contiguous rank ranges, so operands
 *   combine in rank order; the result then moves to the root.
 * - allreduce, small data or any non-commutative op: recursive doubling (MPICH), log2(n)
 *   exchanges; a non-power-of-two size first folds pairs (2i, 2i+1) for the first n - 2^k ranks.
 * - allreduce of a typed array of at least RING_BYTES with a commutative op: ring
 *   reduce-scatter + ring allgather (Patarasuk & Yuan 2009). Each rank sends 2(n-1)/n of the
 *   data, the bandwidth optimum, against log2(n) whole copies for recursive doubling.
 * - scan/exscan: recursive doubling on prefixes (log2 n rounds).
 * - reduceScatter: the ring reduce-scatter for typed arrays and commutative ops, else
 *   allreduce and keep one's block.
 *
 * Misuse (an op that does not fit the data, shapes that differ) becomes a failure value that
 * flows through the algorithm, so every rank rejects with the same reason and none hangs.
 */
import { isTypedArray } from "../../comm/wire/arrays.js";
import type { TypedArray } from "../../comm/wire/values.js";
import { checkRoot, describe } from "../../comm/wire/validate.js";
import { CollectiveFailure, exchange, fold, collectiveGuard, settle, type Lane } from "../collective-protocol.js";
import { checkOperand, grain, own, SUM, type Op, type OpLike } from "../ops.js";
import { reductionOp } from "../complex.js";
import { displacements, evenCounts } from "../counts.js";
import { checkInto, land, put, target } from "../../comm/engine/into.js";
import { borrowScratch, returnScratch } from "../scratch.js";
import { ArgumentError, callError } from "../../errors.js";

/** Typed arrays at least this large use the ring allreduce. */
export const RING_BYTES = 64 * 1024;

/** This rank's operand, owned (copied if a typed array) and checked against the op. */
export function operand(ch: Lane, op: Op, value: unknown): unknown {
  return collectiveGuard(ch, () => {
    checkOperand(op, value);
    return own(value);
  });
}

/**
 * With `into`: this rank's operand copied there (nothing to copy when `into` is the value:
 * MPI_IN_PLACE), so the reduction accumulates in the caller's array. Undefined if `into`
 * cannot serve (not a typed array like the value, too short): the call then reduces as
 * without it and rejects at the end (see {@link intoResult}), so no other rank waits for it.
 */
export function accumulator(ch: Lane, op: Op, value: unknown, into: unknown): unknown {
  if (!isTypedArray(value) || !isTypedArray(into) || into.constructor !== value.constructor || into.length < value.length) return undefined;
  return collectiveGuard(ch, () => {
    checkOperand(op, value);
    put(into, value);
    return into.length === value.length ? into : into.subarray(0, value.length);
  });
}

/** The reduction's result in `into` (copied unless it accumulated there), or the ArgumentError saying why `into` did not fit. */
export function intoResult<T>(ch: Lane, value: unknown, into: T, result: unknown): T {
  checkResultInto(ch, value, into);
  return land(ch, into, result);
}

/** Throw unless `into` can take a result like `value` (a typed array of its type and length). */
function checkResultInto(ch: Lane, value: unknown, into: unknown): void {
  if (!isTypedArray(value)) throw callError(ArgumentError, ch.call, ch.rank, `into needs a typed array value, got ${describe(value)}`);
  checkInto(ch, into, value, value.length);
}

/** Binomial-tree reduction of `acc` toward relative root 0; resolves at the root only (a failure travels as a value). */
async function treeReduce(ch: Lane, op: Op, acc: unknown, root: number): Promise<unknown> {
  const { rank, size } = ch;
  const vr = (rank - root + size) % size;
  for (let mask = 1; mask < size; mask *= 2) {
    if (vr & mask) {
      await ch.send((vr - mask + root) % size, acc);
      return undefined;
    }
    if (vr + mask < size) acc = fold(ch, op, acc, await ch.recv((vr + mask + root) % size), true);
  }
  return acc;
}

/**
 * Reduction of owned operands (see {@link operand}) to `root`, a failure kept as a value: on
 * the binomial tree toward the root, or, for a non-commutative op, toward rank 0 (whose
 * subtrees are contiguous rank ranges, so operands combine in rank order) and then to the root
 * (`into`: where it may land there). Resolves at the root only.
 */
export async function reduceAcc(ch: Lane, op: Op, acc: unknown, root: number, into?: TypedArray): Promise<unknown> {
  if (op.commutative || root === 0) return treeReduce(ch, op, acc, root);
  const result = await treeReduce(ch, op, acc, 0);
  if (ch.rank === 0) await ch.send(root, result);
  return ch.rank === root ? ch.recv(0, into) : undefined;
}

/** Reduce; with `into` (root only), the result lands there and `into` is returned. `complex`: the data are interleaved complex numbers. */
export async function binomialReduce<T>(ch: Lane, value: T, opLike: OpLike<T> = SUM, root = 0, into?: T, complex?: boolean): Promise<T | undefined> {
  const op = reductionOp(ch, opLike, complex);
  checkRoot(ch, root);
  const mine = into !== undefined && ch.rank === root ? accumulator(ch, op, value, into) : undefined;
  const acc = mine ?? operand(ch, op, value);
  let result = await reduceAcc(ch, op, acc, root, mine === undefined ? undefined : target(into));
  // A rank whose own operand did not fit the op rejects too (a failure found elsewhere only reaches the root).
  if (ch.rank !== root) return void settle(ch, acc);
  result = settle(ch, result);
  return into === undefined ? (result as T) : intoResult(ch, value, into, result);
}

/** Recursive doubling with the MPICH fold for non-power-of-two sizes; rank order is kept. */
async function recursiveDoubling(ch: Lane, op: Op, acc: unknown): Promise<unknown> {
  const { rank, size } = ch;
  let pof2 = 1;
  while (pof2 * 2 <= size) pof2 *= 2;
  const rem = size - pof2;
  let newRank: number;
  if (rank < 2 * rem) {
    if (rank % 2 === 0) {
      await ch.send(rank + 1, acc);
      newRank = -1;
    } else {
      acc = fold(ch, op, acc, await ch.recv(rank - 1), false);
      newRank = rank >> 1;
    }
  } else {
    newRank = rank - rem;
  }
  if (newRank >= 0) {
    for (let mask = 1; mask < pof2; mask *= 2) {
      const partnerNew = newRank ^ mask;
      const partner = partnerNew < rem ? partnerNew * 2 + 1 : partnerNew + rem;
      // Our copy of acc may be updated in place by the fold, so send a snapshot of it.
      const theirs = await exchange(ch, partner, acc, partner);
      acc = fold(ch, op, acc, theirs, partner > rank);
    }
  }
  if (rank < 2 * rem) {
    if (rank % 2 === 1) await ch.send(rank - 1, acc);
    else acc = await ch.recv(rank + 1);
  }
  return acc;
}

/**
 * Ring reduce-scatter over blocks given by `counts`: afterwards block `rank` of `acc` holds
 * the full reduction. Returns false if a shape mismatch was seen (the ring still completes).
 */
async function ringReduceScatter(ch: Lane, op: Op, acc: TypedArray, counts: readonly number[], offsets: readonly number[]): Promise<string | undefined> {
  const { rank, size } = ch;
  const right = (rank + 1) % size,
    left = (rank - 1 + size) % size;
  const block = (i: number) => acc.subarray(offsets[i]!, offsets[i]! + counts[i]!);
  // Incoming blocks land here (written as they arrive where the transport can), then fold in.
  const scratch = borrowScratch(acc, Math.max(...counts));
  let problem: string | undefined;
  for (let s = 0; s < size - 1; s++) {
    const sendIdx = (rank - s - 1 + 2 * size) % size,
      recvIdx = (rank - s - 2 + 2 * size) % size;
    const incoming = await exchange<TypedArray>(ch, right, block(sendIdx), left, scratch.subarray(0, counts[recvIdx]));
    const mine = block(recvIdx);
    const merged = fold(ch, op, mine, incoming, true);
    if (merged instanceof CollectiveFailure) problem ??= merged.reason;
    // Built-ins combine in place; a user op returns a new block, which goes back in place.
    else if (merged !== mine) problem ??= writeBack(ch, op, mine, merged);
  }
  returnScratch(scratch);
  return problem;
}

/** Copy a user op's result for one ring block into the block; a failure reason if it does not fit. */
function writeBack(ch: Lane, op: Op, block: TypedArray, merged: unknown): string | undefined {
  if (isTypedArray(merged) && merged.constructor === block.constructor && merged.length === block.length) {
    (block as Uint8Array).set(merged as Uint8Array);
    return undefined;
  }
  return `rank ${ch.rank} found: ${op.name} returned ${describe(merged)} for blocks of ${describe(block)}; a commutative op on a typed array must return an array of the same type and length`;
}

/** Ring allgather of the blocks of `acc`, starting from block `rank`. */
async function ringAllgather(ch: Lane, acc: TypedArray, counts: readonly number[], offsets: readonly number[]): Promise<void> {
  const { rank, size } = ch;
  const right = (rank + 1) % size,
    left = (rank - 1 + size) % size;
  for (let s = 0; s < size - 1; s++) {
    const sendIdx = (rank - s + size) % size,
      recvIdx = (rank - s - 1 + size) % size;
    const slot = acc.subarray(offsets[recvIdx]!, offsets[recvIdx]! + counts[recvIdx]!);
    const incoming = await exchange<TypedArray>(ch, right, acc.subarray(offsets[sendIdx]!, offsets[sendIdx]! + counts[sendIdx]!), left, slot);
    if (isTypedArray(incoming) && incoming.length === counts[recvIdx] && incoming.constructor === acc.constructor) put(slot, incoming);
  }
}

function useRing(op: Op, value: unknown, size: number): value is TypedArray {
  return op.commutative && isTypedArray(value) && value.byteLength >= RING_BYTES && value.length >= size && size > 1;
}

/** Allreduce; with `into`, the result lands there (`into` = the value: in place) and `into` is returned. */
export async function messageAllreduce<T>(ch: Lane, value: T, opLike: OpLike<T> = SUM, into?: T, complex?: boolean): Promise<T> {
  const op = reductionOp(ch, opLike, complex);
  const acc = (into === undefined ? undefined : accumulator(ch, op, value, into)) ?? operand(ch, op, value);
  const result = settle(ch, await allreduceAcc(ch, op, acc));
  return into === undefined ? (result as T) : intoResult(ch, value, into, result);
}

/**
 * Allreduce of an operand already owned (see {@link operand}): ring for large typed arrays and
 * commutative ops, else recursive doubling. A failure comes back as a value, not thrown, so
 * that callers with more steps to go (hierarchical/) pass it on before rejecting.
 */
export async function allreduceAcc(ch: Lane, op: Op, acc: unknown): Promise<unknown> {
  if (!useRing(op, acc, ch.size)) return recursiveDoubling(ch, op, acc);
  const counts = evenCounts(acc.length, ch.size, grain(op));
  const offsets = displacements(ch, counts, acc.length);
  const problem = await ringReduceScatter(ch, op, acc, counts, offsets);
  await ringAllgather(ch, acc, counts, offsets);
  return problem === undefined ? acc : new CollectiveFailure(problem);
}

/**
 * Allreduce over two lanes (hierarchical/): `ch`'s ring reduce-scatter leaves each rank one
 * block reduced over `ch`, `across` (one rank per group, each with the same block) reduces it
 * further, and `ch`'s ring allgather hands the blocks round, so each element crosses `across`
 * once per group. Where {@link splits} says so, else undefined (the caller picks another way).
 */
export async function splitAllreduce(ch: Lane, across: Lane, op: Op, acc: unknown): Promise<unknown> {
  if (!useRing(op, acc, ch.size)) return undefined;
  const counts = evenCounts(acc.length, ch.size, grain(op));
  const offsets = displacements(ch, counts, acc.length);
  let problem = await ringReduceScatter(ch, op, acc, counts, offsets);
  const mine = acc.subarray(offsets[ch.rank]!, offsets[ch.rank]! + counts[ch.rank]!);
  const reduced = await allreduceAcc(across, op, mine);
  if (reduced instanceof CollectiveFailure) problem ??= reduced.reason;
  else if (reduced !== mine) problem ??= writeBack(ch, op, mine, reduced);
  await ringAllgather(ch, acc, counts, offsets);
  return problem === undefined ? acc : new CollectiveFailure(problem);
}

/** Does {@link splitAllreduce} serve `acc` on a lane of `size` ranks? */
export function splits(op: Op, acc: unknown, size: number): boolean {
  return useRing(op, acc, size);
}

/** Hillis-Steele style prefix by recursive doubling; `inclusive` decides whether our own value counts. */
async function prefix(ch: Lane, opLike: unknown, value: unknown, inclusive: boolean, complex?: boolean): Promise<unknown> {
  const { rank, size } = ch;
  const op = reductionOp(ch, opLike, complex);
  let partial = operand(ch, op, value);
  let result: unknown = inclusive ? own(partial) : undefined;
  let seen = inclusive;
  for (let mask = 1; mask < size; mask *= 2) {
    const partner = rank ^ mask;
    if (partner >= size) continue;
    const theirs = await exchange(ch, partner, partial, partner);
    if (partner < rank) {
      partial = fold(ch, op, partial, theirs, false);
      result = seen ? fold(ch, op, result, own(theirs), false) : own(theirs);
      seen = true;
    } else {
      partial = fold(ch, op, partial, theirs, true);
    }
  }
  if (partial instanceof CollectiveFailure) settle(ch, partial);
  return seen ? settle(ch, result) : undefined;
}

/** Inclusive prefix; with `into`, the result lands there (`into` = the value: in place, MPI_IN_PLACE). */
export async function doublingScan<T>(ch: Lane, value: T, op: OpLike<T> = SUM, into?: T, complex?: boolean): Promise<T> {
  const result = await prefix(ch, op, value, true, complex);
  return into === undefined ? (result as T) : intoResult(ch, value, into, result);
}

/** Exclusive prefix; `undefined` on rank 0, whose `into` is left as it is (MPI leaves it undefined). */
export async function doublingExscan<T>(ch: Lane, value: T, op: OpLike<T> = SUM, into?: T, complex?: boolean): Promise<T | undefined> {
  const result = await prefix(ch, op, value, false, complex);
  if (into === undefined) return result as T | undefined;
  if (result === undefined) return void checkResultInto(ch, value, into);
  return intoResult(ch, value, into, result);
}

/**
 * Reduce, then keep this rank's block; with `into`, the block lands at its start (`into` = the
 * value: in place, MPI_IN_PLACE, the input read from `into` and the block written at its start).
 */
export async function messageReduceScatter<T extends TypedArray | readonly unknown[]>(
  ch: Lane,
  value: T,
  opLike: OpLike<T> = SUM,
  counts?: readonly number[],
  into?: T,
  complex?: boolean,
): Promise<T> {
  const op = reductionOp(ch, opLike, complex);
  const length = (value as { length: number }).length;
  const blocks = counts ?? evenCounts(length, ch.size, grain(op));
  const offsets = displacements(ch, blocks, length);
  if (blocks.some((count) => count % grain(op) !== 0)) {
    throw callError(
      ArgumentError,
      ch.call,
      ch.rank,
      `${op.name} takes pairs, so every count must be even (counts are in array elements), got ${JSON.stringify(blocks)}`,
    );
  }
  const mine = (whole: T) => whole.slice(offsets[ch.rank]!, offsets[ch.rank]! + blocks[ch.rank]!) as T;
  const acc = operand(ch, op, value);
  let result: T;
  if (op.commutative && isTypedArray(acc) && ch.size > 1) {
    const problem = await ringReduceScatter(ch, op, acc, blocks, offsets);
    result = settle(ch, problem === undefined ? mine(acc as T) : new CollectiveFailure(problem));
  } else {
    result = mine(settle(ch, await recursiveDoubling(ch, op, acc)) as T);
  }
  return into === undefined ? result : intoResult(ch, result, into, result);
}
