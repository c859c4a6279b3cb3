/**
 * Results written into arrays the caller owns (the `{ into }` option of receives and
 * collectives): the checks, and the copy that is skipped when the transport already wrote
 * the data there (see Runtime.place).
 */
import { arrayKind, copyArray, isTypedArray } from "../wire/arrays.js";
import type { TypedArray } from "../wire/values.js";
import type { Envelope } from "../wire/envelope.js";
import type { Status } from "./request.js";
import { describe } from "../wire/validate.js";
import { ArgumentError, callError } from "../../errors.js";

/** Where a call on a rank stands, for error messages. */
export interface Site {
  call: string;
  rank: number;
}

/** `into` if it is a typed array the engine may write to, else undefined (checked later, with a clear error). */
export function target(into: unknown): TypedArray | undefined {
  return isTypedArray(into) ? into : undefined;
}

/** The ArgumentError for an `into` that cannot hold `length` elements like `like`. */
function badInto(site: Site, into: unknown, like: string, length: number): ArgumentError {
  return callError(ArgumentError, site.call, site.rank, `into must be a ${like} of at least ${length} elements, got ${describe(into)}`);
}

/** Throw unless `into` is a typed array of `like`'s type with room for `length` elements. */
export function checkInto(site: Site, into: unknown, like: TypedArray, length: number): asserts into is TypedArray {
  if (!isTypedArray(into) || arrayKind(into) !== arrayKind(like) || into.length < length) throw badInto(site, into, like.constructor.name, length);
}

/** Do the bytes of `a` and `b` intersect (typed arrays over one buffer, e.g. an `into` over its own input)? */
export function overlaps(a: unknown, b: unknown): boolean {
  if (!isTypedArray(a) || !isTypedArray(b) || a.buffer !== b.buffer) return false;
  return a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength && a.byteLength > 0 && b.byteLength > 0;
}

/**
 * `input`, or a copy of it where `into` overlaps it: a collective whose peers read the input
 * (from a ring, a stage, or straight from this process's memory) while this rank writes the
 * result can then work in place, as with MPI_IN_PLACE. One copy, only for the overlapping call.
 */
export function apart<T>(input: T, into: unknown): T {
  return overlaps(input, into) ? (copyArray(input as TypedArray) as T) : input;
}

/** Copy `block` to `into` at element `offset`, unless it is there already. */
export function put(into: TypedArray, block: TypedArray, offset = 0): void {
  if (block.buffer === into.buffer && block.byteOffset === into.byteOffset + offset * into.BYTES_PER_ELEMENT) return;
  (into.subarray(offset, offset + block.length) as Uint8Array).set(block as Uint8Array);
}

/**
 * A received value, landed in `into`: checked (a typed array of `into`'s type that fits) and
 * copied unless the transport wrote it there already. @returns `into`.
 */
export function land<T>(site: Site, into: T, value: unknown): T {
  // Placed there by the transport (see Placement): nothing to check or copy.
  if (value === into) return into;
  if (!isTypedArray(value)) {
    throw callError(ArgumentError, site.call, site.rank, `into was given but the message holds ${describe(value)}, not a typed array; receive it without into`);
  }
  checkInto(site, into, value, value.length);
  put(into, value);
  return into;
}

/** A point-to-point receive's value: `status` filled from its envelope, its array landed in `into` if given (see {@link land}). */
export function landValue(envelope: Envelope, site: Site, into: TypedArray | undefined, status: Status | undefined): unknown {
  if (status !== undefined) {
    status.source = envelope.source;
    status.tag = envelope.tag;
    status.bytes = envelope.bytes;
  }
  return into === undefined ? envelope.value : land(site, into, envelope.value);
}
