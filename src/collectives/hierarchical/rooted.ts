/**
 * Rooted collectives on a communicator spread over hosts (see tiers.ts): the root's host
 * is represented by the root, every other host by its leader. Data meet or leave the root
 * through one representative per host, so each byte crosses the network once per host; on
 * each host the ranks reach their representative through shared memory (binomial trees on
 * both tiers). Failures found at the root travel as values down both tiers, so that every rank
 * rejects with the reason and none waits.
 */
import { copyArray } from "../../comm/wire/arrays.js";
import type { TypedArray } from "../../comm/wire/values.js";
import { land } from "../../comm/engine/into.js";
import { CollectiveFailure, collectiveGuard, settle, type Lane } from "../collective-protocol.js";
import { checkArray, concat } from "../counts.js";
import { binomialBcast, binomialGather, binomialScatter, scatterValues } from "../network/binomial.js";
import { scattervBlocks } from "../network/linear.js";
import { accumulator, intoResult, operand, reduceAcc } from "../network/reductions.js";
import type { Op } from "../ops.js";
import { hostLane, inRankOrder, representatives, type Tiers } from "./tiers.js";

/** This rank's host lane, its lane over the representatives (if it is one), and where each tier is rooted. */
function tiersFor(ch: Lane, t: Tiers, root: number) {
  const { reps, leaders } = representatives(ch, t, root);
  const host = t.hostOf[ch.rank]!;
  return { local: hostLane(ch, t), leaders, localRoot: t.indexOf[reps[host]!]!, hostRoot: t.hostOf[root]! };
}

/** Bcast (root checked): the root to the other representatives and to its host at once; each representative to its host. */
export async function hierarchicalBcast<T>(ch: Lane, t: Tiers, value: T, root: number, into?: T): Promise<T> {
  const { local, leaders, localRoot, hostRoot } = tiersFor(ch, t, root);
  if (ch.rank === root) {
    await Promise.all([binomialBcast(leaders!, value, hostRoot), binomialBcast(local, value, localRoot)]);
    return into === undefined ? value : land(ch, into, value);
  }
  const data = leaders ? await binomialBcast(leaders, value, hostRoot, into) : value;
  return binomialBcast(local, data, localRoot, leaders ? undefined : into);
}

/** Reduce (op resolved, root checked; a non-commutative op only where hosts hold consecutive ranks): on each host, then over the representatives. */
export async function hierarchicalReduce<T>(ch: Lane, t: Tiers, value: T, op: Op, root: number, into?: T): Promise<T | undefined> {
  const { local, leaders, localRoot, hostRoot } = tiersFor(ch, t, root);
  const mine = into !== undefined && ch.rank === root ? accumulator(ch, op, value, into) : undefined;
  const acc = mine ?? operand(ch, op, value);
  const partial = await reduceAcc(local, op, acc, localRoot);
  const result = leaders ? await reduceAcc(leaders, op, partial, hostRoot) : undefined;
  // A rank whose own operand did not fit the op rejects too (a failure found elsewhere only reaches the root).
  if (ch.rank !== root) return void settle(ch, acc);
  const reduced = settle(ch, result);
  return into === undefined ? (reduced as T) : intoResult(ch, value, into, reduced);
}

/** Every rank's value at the root, in rank order (undefined elsewhere). */
export async function hierarchicalGather<T>(ch: Lane, t: Tiers, value: T, root: number): Promise<T[] | undefined> {
  const { local, leaders, localRoot, hostRoot } = tiersFor(ch, t, root);
  const host = await binomialGather(local, value, localRoot);
  const all = leaders ? await binomialGather(leaders, host!, hostRoot) : undefined;
  if (ch.rank !== root) return undefined;
  const values = inRankOrder(t, all!);
  values[root] = value;
  return values;
}

/** Gatherv: the blocks gathered as values, then joined at the root (into `into` when given: checked after, so no rank waits). */
export async function hierarchicalGatherv<T extends TypedArray>(ch: Lane, t: Tiers, array: T, root: number, into?: T): Promise<T | undefined> {
  const blocks = await hierarchicalGather(ch, t, array, root);
  if (blocks === undefined) return undefined;
  checkArray(ch, "array", array);
  return concat(ch, array, blocks, into);
}

/** Rank r gets `values[r]` from the root (`values`: one per rank, or the failure the root found), unsettled. */
async function scatterRaw(ch: Lane, t: Tiers, values: readonly unknown[] | CollectiveFailure | undefined, root: number): Promise<unknown> {
  const { local, leaders, localRoot, hostRoot } = tiersFor(ch, t, root);
  const bundles =
    ch.rank !== root ? undefined : t.hosts.map((ranks) => (values instanceof CollectiveFailure ? values : ranks.map((r) => (values as unknown[])[r])));
  const bundle = leaders ? await binomialScatter<unknown>(leaders, bundles, hostRoot) : undefined;
  const mine = bundle instanceof CollectiveFailure ? new Array<unknown>(local.size).fill(bundle) : (bundle as unknown[] | undefined);
  return binomialScatter(local, mine, localRoot);
}

export async function hierarchicalScatter<T>(ch: Lane, t: Tiers, values: readonly T[] | undefined, root: number): Promise<T> {
  const checked = ch.rank === root ? collectiveGuard(ch, () => scatterValues(ch, values)) : undefined;
  return settle(ch, await scatterRaw(ch, t, checked, root)) as T;
}

/** Scatterv (root checked): the root's blocks (`displs`: where each starts, else packed) scattered as values. */
export async function hierarchicalScatterv<T extends TypedArray>(
  ch: Lane,
  t: Tiers,
  args: { array: T | undefined; counts: readonly number[]; root: number; into?: T; displs?: readonly number[] },
): Promise<T> {
  const { array, counts, root, into, displs } = args;
  const blocks = ch.rank === root ? collectiveGuard(ch, () => scattervBlocks(ch, array, counts, displs)) : undefined;
  const block = settle(ch, await scatterRaw(ch, t, blocks, root)) as T;
  if (into !== undefined) return land(ch, into, block);
  return ch.rank === root ? copyArray(block) : block;
}
