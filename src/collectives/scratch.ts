/**
 * Scratch arrays for the blocks a reduction receives before folding them in: reused from one
 * call to the next, so that a loop of large reductions allocates nothing once warm. Each call
 * takes its own (collectives may run concurrently) and gives it back when done; only modest
 * sizes are kept, so a one-off huge reduction does not pin its memory.
 */
import type { TypedArray } from "../comm/wire/values.js";

/** Largest scratch array kept for reuse. */
const KEEP_BYTES = 16 * 2 ** 20;
/** Scratch arrays kept per type and length. */
const KEEP_EACH = 4;

const spare = new Map<string, TypedArray[]>();

const key = (like: TypedArray, length: number) => `${like.constructor.name}:${length}`;

/** A scratch array of `like`'s type and `length` elements (contents undefined). */
export function borrowScratch<T extends TypedArray>(like: T, length: number): T {
  const kept = spare.get(key(like, length))?.pop();
  return (kept as T | undefined) ?? new (like.constructor as new (n: number) => T)(length);
}

/** Give a scratch array back for the next call. */
export function returnScratch(array: TypedArray): void {
  if (array.byteLength > KEEP_BYTES) return;
  const k = key(array, array.length);
  let list = spare.get(k);
  if (list === undefined) spare.set(k, (list = []));
  if (list.length < KEEP_EACH) list.push(array);
}
