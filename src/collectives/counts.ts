/** Typed-array helpers shared by the v-collectives: counts, displacements, concatenation. */
import { isTypedArray } from "../comm/wire/arrays.js";
import type { TypedArray } from "../comm/wire/values.js";
import { ArgumentError, callError } from "../errors.js";
import { checkInto, put } from "../comm/engine/into.js";
import type { Lane } from "./collective-protocol.js";
import type { Where } from "../comm/wire/validate.js";

/** Is `into` an array of class `Ctor` with room for `length` elements (a result may land there)? */
export function holds(into: unknown, Ctor: unknown, length: number): into is TypedArray {
  return isTypedArray(into) && into.constructor === Ctor && into.length >= length;
}

/** Where a result of `length` elements of class `Ctor` goes: `into` if it {@link holds} them, else a new array. */
export function resultArray<T extends TypedArray>(into: unknown, Ctor: unknown, length: number): T {
  return (holds(into, Ctor, length) ? into : new (Ctor as new (n: number) => TypedArray)(length)) as T;
}

/** Check a typed array argument. */
export function checkArray(ch: Lane, name: string, value: unknown): TypedArray {
  if (isTypedArray(value)) return value;
  throw callError(ArgumentError, ch.call, ch.rank, `${name} must be a typed array or Buffer, got ${value === null ? "null" : typeof value}`);
}

/** Check per-rank counts against a length; returns the displacements (offsets). */
export function displacements(ch: Lane, counts: readonly number[], total: number): number[] {
  if (!Array.isArray(counts) || counts.length !== ch.size || !counts.every((c) => Number.isInteger(c) && c >= 0)) {
    throw callError(ArgumentError, ch.call, ch.rank, `counts must be ${ch.size} non-negative integers (one per rank), got ${JSON.stringify(counts)}`);
  }
  const offsets: number[] = [];
  let sum = 0;
  for (const c of counts) {
    offsets.push(sum);
    sum += c;
  }
  if (sum !== total) {
    throw callError(ArgumentError, ch.call, ch.rank, `counts add up to ${sum} elements but the array has ${total}; make them sum to the array length`);
  }
  return offsets;
}

/**
 * An even split of `length` elements over `parts` ranks (the first ones get one more), in
 * items of `grain` elements that stay whole (pairs of MINLOC or complex data; a remainder
 * shorter than an item goes to the last part).
 */
export function evenCounts(length: number, parts: number, grain = 1): number[] {
  const items = Math.floor(length / grain),
    base = Math.floor(items / parts),
    extra = items % parts;
  const counts = Array.from({ length: parts }, (_, i) => (base + (i < extra ? 1 : 0)) * grain);
  counts[parts - 1]! += length - items * grain;
  return counts;
}

/** Throw unless a received block has the type of this rank's array. */
export function sameType(ch: Where, like: TypedArray, block: unknown): asserts block is TypedArray {
  if (!isTypedArray(block) || block.constructor !== like.constructor) {
    const got = isTypedArray(block) ? block.constructor.name : typeof block;
    throw callError(ArgumentError, ch.call, ch.rank, `every rank must pass the same typed array type: got ${got} and ${like.constructor.name}`);
  }
}

/** Concatenate blocks into a new array of the same type as `like`, or into `into` (checked: same type, room enough). */
export function concat<T extends TypedArray>(ch: Where, like: T, blocks: readonly TypedArray[], into?: T): T {
  let length = 0;
  for (const block of blocks) {
    sameType(ch, like, block);
    length += block.length;
  }
  if (into !== undefined) checkInto(ch, into, like, length);
  const out = into ?? new (like.constructor as new (n: number) => T)(length);
  let offset = 0;
  for (const block of blocks) {
    put(out, block, offset);
    offset += block.length;
  }
  return out;
}
