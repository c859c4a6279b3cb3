/**
 * Small typed arrays (up to 64 bytes) in and out of the transport without asking for their
 * `.buffer`. V8 keeps a typed array that small on its heap until its `.buffer` is asked for;
 * then it moves the bytes into an ArrayBuffer of their own, a runtime call and an allocation
 * outside the heap (about 0.5 µs, more than the rest of an 8 B message's path; an array made
 * over a fresh ArrayBuffer costs as much). So a value received (`recv` without `into`) is made
 * by `slice` of an aligned scratch area viewed as its kind: a fresh array of its own, its bytes
 * copied exactly (same kind: no conversion, NaN payloads kept), on the heap; and a fresh array
 * sent (a value just received, echoed) is copied into the scratch area with `set`, whose bytes
 * the transport then copies.
 */
import { CTORS } from "../wire/arrays.js";
import type { TypedArray } from "../wire/values.js";

/** The largest typed array V8 makes on its heap (its `typed_array_max_size_in_heap`, 64 on Node 20 and 24). */
export const ON_HEAP_BYTES = 64;

export class OnHeapArrays {
  private readonly scratch = new ArrayBuffer(ON_HEAP_BYTES);
  /** The scratch area's first n bytes, for each n. */
  private readonly prefixes = Array.from({ length: ON_HEAP_BYTES + 1 }, (_, n) => new Uint8Array(this.scratch, 0, n));
  private readonly bytes = this.prefixes[ON_HEAP_BYTES]!;
  /** A view of the scratch area per kind code (Buffer's, kind 0, is a Uint8Array). */
  private readonly views: TypedArray[] = CTORS.map((Ctor) => new Ctor(this.scratch, 0, ON_HEAP_BYTES / Ctor.BYTES_PER_ELEMENT));

  /** A fresh array of kind code `kind` (not 0: a Buffer is made elsewhere) of the `length` (≤ {@link ON_HEAP_BYTES}) bytes at `at` of `from`. */
  received(kind: number, from: Uint8Array, at: number, length: number): TypedArray {
    const bytes = this.bytes;
    for (let i = 0; i < length; i++) bytes[i] = from[at + i]!;
    return this.views[kind]!.slice(0, length / CTORS[kind]!.BYTES_PER_ELEMENT) as TypedArray;
  }

  /** The bytes of `array` (kind code `kind`, at most {@link ON_HEAP_BYTES}), copied to the scratch area: valid until the next call. */
  sent(array: TypedArray, kind: number): Uint8Array {
    (this.views[kind] as Uint8Array).set(array as Uint8Array);
    return this.prefixes[array.byteLength]!;
  }
}
