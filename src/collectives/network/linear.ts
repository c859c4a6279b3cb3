/**
 * Scatterv and gatherv of typed arrays with per-rank counts. Like MPICH, these are linear
 * (the root talks to each rank directly): blocks have arbitrary sizes, so a tree would
 * forward uneven data through intermediate ranks, and every block is sent exactly once.
 */
import type { Lane } from "../collective-protocol.js";
import { copyArray } from "../../comm/wire/arrays.js";
import type { TypedArray } from "../../comm/wire/values.js";
import { checkRoot } from "../../comm/wire/validate.js";
import { collectiveGuard, sendAll, settle, type CollectiveFailure } from "../collective-protocol.js";
import { checkArray, concat, displacements, sameType } from "../counts.js";
import { checkInto, land, put, target } from "../../comm/engine/into.js";
import { inside, layoutOf } from "../displs.js";

/** The root's blocks of a scatterv, once its arguments are checked: `counts[r]` elements from `displs[r]` (else packed). */
export function scattervBlocks<T extends TypedArray>(ch: Lane, array: T | undefined, counts: readonly number[], displs?: readonly number[]): T[] {
  const whole = checkArray(ch, "array", array) as T;
  const offsets = displs === undefined ? displacements(ch, counts, whole.length) : inside(ch, layoutOf(ch, counts, displs), whole, "array").displs;
  return offsets.map((offset, r) => whole.subarray(offset, offset + counts[r]!) as T);
}

/** Scatterv; `displs` (read at the root): where each rank's block starts in the root's array, else packed. */
export async function linearScatterv<T extends TypedArray>(
  ch: Lane,
  array: T | undefined,
  counts: readonly number[],
  root = 0,
  into?: T,
  displs?: readonly number[],
): Promise<T> {
  checkRoot(ch, root);
  if (ch.rank !== root) {
    const block = settle(ch, await ch.recv<T | CollectiveFailure>(root, target(into)));
    return into === undefined ? block : land(ch, into, block);
  }
  const blocks = collectiveGuard(ch, () => scattervBlocks(ch, array, counts, displs));
  const pick = (r: number) => (Array.isArray(blocks) ? blocks[r]! : blocks);
  await sendAll(
    ch,
    Array.from({ length: ch.size }, (_, r) => r)
      .filter((r) => r !== root)
      .map((r) => [r, pick(r)]),
  );
  const mine = settle(ch, pick(root)) as T;
  return into === undefined ? copyArray(mine) : land(ch, into, mine);
}

export async function linearGatherv<T extends TypedArray>(ch: Lane, array: T, root = 0, into?: T): Promise<T | undefined> {
  checkRoot(ch, root);
  if (ch.rank !== root) {
    await ch.send(root, array);
    return undefined;
  }
  checkArray(ch, "array", array);
  if (into !== undefined) return gatherInto(ch, array, root, into);
  const blocks = await Promise.all(Array.from({ length: ch.size }, (_, r) => (r === root ? array : ch.recv<T>(r))));
  return concat(ch, array, blocks);
}

/**
 * Gatherv at the root into `into`: blocks are received in rank order, each written where it
 * belongs as it arrives (the root does not know the lengths before). Every block is received
 * even when `into` turns out too small, so that no sender waits for a root that gave up.
 */
async function gatherInto<T extends TypedArray>(ch: Lane, array: T, root: number, into: T): Promise<T> {
  const room = target(into);
  let offset = 0;
  let problem: Error | undefined;
  for (let r = 0; r < ch.size; r++) {
    const space = room !== undefined && offset <= room.length ? room.subarray(offset) : undefined;
    const block = r === root ? array : await ch.recv<TypedArray>(r, space);
    try {
      sameType(ch, array, block);
      if (problem === undefined && space !== undefined && block.length <= space.length) put(space, block);
    } catch (error) {
      problem ??= error as Error;
    }
    offset += block.length;
  }
  if (problem) throw problem;
  checkInto(ch, into, array, offset);
  return into;
}
