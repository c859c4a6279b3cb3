/**
 * Scatterv and gatherv of typed arrays with per-rank counts. Like MPICH, these are linear
 * (the root talks to each rank directly): blocks have arbitrary sizes, so a tree would
 * forward uneven data through intermediate ranks, and every block is sent exactly once.
 */
import type { Channel } from "../comm/group.js";
import { copyArray, type TypedArray } from "../comm/codec.js";
import { checkRoot } from "../comm/validate.js";
import { collectiveGuard, sendAll, settle, type CollectiveFailure } from "./protocol.js";
import { checkArray, concat, displacements } from "./arrays.js";

export async function scatterv<T extends TypedArray>(ch: Channel, array: T | undefined, counts: readonly number[], root = 0): Promise<T> {
  checkRoot(ch, root);
  if (ch.rank !== root) return settle(ch, await ch.recv<T | CollectiveFailure>(root));
  const blocks = collectiveGuard(ch, () => {
    const whole = checkArray(ch, "array", array) as T;
    const offsets = displacements(ch, counts, whole.length);
    return offsets.map((offset, r) => whole.subarray(offset, offset + counts[r]!) as T);
  });
  const pick = (r: number) => (Array.isArray(blocks) ? blocks[r]! : blocks);
  await sendAll(
    ch,
    Array.from({ length: ch.size }, (_, r) => r)
      .filter((r) => r !== root)
      .map((r) => [r, pick(r)]),
  );
  return copyArray(settle(ch, pick(root)) as T);
}

export async function gatherv<T extends TypedArray>(ch: Channel, array: T, root = 0): Promise<T | undefined> {
  checkRoot(ch, root);
  if (ch.rank !== root) {
    await ch.send(root, array);
    return undefined;
  }
  checkArray(ch, "array", array);
  const blocks = await Promise.all(Array.from({ length: ch.size }, (_, r) => (r === root ? array : ch.recv<T>(r))));
  return concat(ch, array, blocks);
}
