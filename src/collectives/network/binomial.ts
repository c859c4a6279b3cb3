/**
 * Rooted collectives on a binomial tree (as in MPICH): bcast, scatter and gather take
 * ceil(log2 n) rounds. Ranks are renumbered relative to the root (vr = rank - root mod n),
 * so the subtree under vr is the contiguous range [vr, vr + lowbit(vr)).
 *
 * Bcast stays binomial for every size: on this transport a scatter+allgather bcast would
 * copy each block twice more, which costs more than the extra tree rounds at n <= 8.
 */
import { checkRoot } from "../../comm/wire/validate.js";
import { ArgumentError, callError } from "../../errors.js";
import { land, target } from "../../comm/engine/into.js";
import { collectiveGuard, settle, type Lane, type CollectiveFailure } from "../collective-protocol.js";

/** Round up to the next power of two (1 for n <= 1). */
function ceilPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** Receive from the binomial parent; returns the mask one below the parent's bit. */
async function fromParent<T>(ch: Lane, vr: number, root: number, into?: unknown): Promise<{ value: T; mask: number }> {
  let mask = 1;
  while (mask < ch.size) {
    if (vr & mask) {
      const value = await ch.recv<T>((vr - mask + root) % ch.size, target(into));
      return { value, mask: mask >> 1 };
    }
    mask *= 2;
  }
  throw new Error("unreachable: only the root has no parent");
}

/** Bcast; with `into`, a typed array lands there (written as it arrives where it can) and `into` is returned. */
export async function binomialBcast<T>(ch: Lane, value: T, root = 0, into?: T): Promise<T> {
  checkRoot(ch, root);
  const vr = (ch.rank - root + ch.size) % ch.size;
  let data = value;
  let mask = ceilPow2(ch.size) >> 1;
  if (vr !== 0) ({ value: data, mask } = await fromParent<T>(ch, vr, root, into));
  const sends: Promise<void>[] = [];
  for (; mask > 0; mask >>= 1) {
    if (vr + mask < ch.size) sends.push(ch.send((vr + mask + root) % ch.size, data));
  }
  await Promise.all(sends);
  return into === undefined ? data : land(ch, into, data);
}

/** The root's `values` of a scatter, once known to be one per rank. */
export function scatterValues<T>(ch: Lane, values: readonly T[] | undefined): readonly T[] {
  if (Array.isArray(values) && values.length === ch.size) return values;
  const got = Array.isArray(values) ? `${values.length} values` : typeof values;
  throw callError(ArgumentError, "scatter", ch.rank, `the root must pass an array of ${ch.size} values (one per rank), got ${got}`);
}

export async function binomialScatter<T>(ch: Lane, values: readonly T[] | undefined, root = 0): Promise<T> {
  const { rank, size } = ch;
  checkRoot(ch, root);
  const vr = (rank - root + size) % size;
  // `block[i]` is the value for relative rank vr + i; the root rotates its array into that order.
  let block: T[] | CollectiveFailure;
  let mask = ceilPow2(size) >> 1;
  if (vr === 0) {
    block = collectiveGuard(ch, () => {
      const checked = scatterValues(ch, values);
      return Array.from({ length: size }, (_, i) => checked[(i + root) % size]!);
    });
  } else {
    ({ value: block, mask } = await fromParent<T[] | CollectiveFailure>(ch, vr, root));
  }
  const sends: Promise<void>[] = [];
  for (; mask > 0; mask >>= 1) {
    const child = vr + mask;
    if (child >= size) continue;
    const part = Array.isArray(block) ? block.slice(mask, mask + Math.min(mask, size - child)) : block;
    sends.push(ch.send((child + root) % size, part));
  }
  await Promise.all(sends);
  return settle(ch, block)[0]!;
}

export async function binomialGather<T>(ch: Lane, value: T, root = 0): Promise<T[] | undefined> {
  const { rank, size } = ch;
  checkRoot(ch, root);
  const vr = (rank - root + size) % size;
  const block: T[] = [value];
  for (let mask = 1; mask < size; mask *= 2) {
    if (vr & mask) {
      await ch.send((vr - mask + root) % size, block);
      return undefined;
    }
    if (vr + mask < size) block.push(...(await ch.recv<T[]>((vr + mask + root) % size)));
  }
  return Array.from({ length: size }, (_, r) => block[(r - root + size) % size]!);
}
