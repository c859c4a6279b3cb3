/**
 * Typed arrays carried as raw bytes: their kinds, their frames out, and their rebuilding in.
 */
import { Buffer } from "node:buffer";
import { SerializationError } from "../../errors.js";
import type { TypedArray } from "./values.js";
import { ARRAY_KINDS, type ArrayRef } from "./wire.js";

export type ArrayCtor = {
  new (length: number): TypedArray;
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): TypedArray;
  BYTES_PER_ELEMENT: number;
};

export const CTORS: readonly ArrayCtor[] = ARRAY_KINDS.map((name) => (name === "Buffer" ? Uint8Array : globalThis[name]) as ArrayCtor);

export const isCount = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;

/** Kind code of a value if it is a typed array or Buffer carried as raw bytes, else -1. */
export function arrayKind(value: unknown): number {
  if (!ArrayBuffer.isView(value) || value instanceof DataView) return -1;
  if (Buffer.isBuffer(value)) return 0;
  // Compared with each constructor in turn: a Map lookup on every message cost more.
  const ctor = value.constructor;
  for (let kind = 1; kind < CTORS.length; kind++) if (CTORS[kind] === ctor) return kind;
  return ARRAY_KINDS.indexOf(ctor.name as (typeof ARRAY_KINDS)[number]);
}

/** Is `value` a typed array (not a DataView, not a Buffer)? */
export function isTypedArray(value: unknown): value is TypedArray {
  return ArrayBuffer.isView(value) && !(value instanceof DataView);
}

/**
 * The bytes of the array it was last asked for, and its kind, kept: a loop that sends from or
 * receives into one array makes no view per message (a view costs an object and a call into
 * the engine for the array's `.buffer`, a tenth of a small message's time).
 */
export class LastBytes {
  private array: TypedArray | undefined;
  private view: Uint8Array = new Uint8Array(0);
  /** The kind of the array {@link of} was last asked about (see {@link arrayKind}). */
  kind = -1;

  /** A Uint8Array over `array`'s bytes (`array` itself if it is one); {@link kind} is then its kind. */
  of(array: TypedArray): Uint8Array {
    if (array !== this.array || this.view.byteLength !== array.byteLength) {
      this.array = array;
      this.kind = arrayKind(array);
      this.view = array instanceof Uint8Array ? array : new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
    }
    return this.view;
  }
}

/** A copy of a typed array of the same type (Buffer#slice would share memory, so Buffers are copied with Buffer.from). */
export function copyArray<T extends TypedArray>(array: T): T {
  return (Buffer.isBuffer(array) ? Buffer.from(array) : array.slice()) as T;
}

/**
 * Raw bytes of an array: copied unless `view` (a transport that sends zero-copy after
 * `send` returns must not have the user's memory in flight; one that copies at once may view it).
 */
export function arrayFrames(array: TypedArray, frameBytes: number, frames: Buffer[], view: boolean): void {
  for (let offset = 0; offset < array.byteLength; offset += frameBytes) {
    const bytes = Buffer.from(array.buffer, array.byteOffset + offset, Math.min(frameBytes, array.byteLength - offset));
    frames.push(view ? bytes : Buffer.from(bytes));
  }
}

/** Rebuild one out-of-band array from its frames, viewing a single frame in place when aligned. */
export function readArray([kind, byteLength, nFrames, first]: ArrayRef, frames: Buffer[]): TypedArray | Buffer {
  const Ctor = CTORS[kind];
  if (Ctor === undefined) throw new SerializationError(`unknown typed array kind ${kind} in message`);
  if ((nFrames === 0) !== (byteLength === 0) || first < 1) throw new SerializationError("malformed typed array reference");
  if (first + nFrames > frames.length) throw new SerializationError("message is missing typed array frames");
  const width = Ctor.BYTES_PER_ELEMENT;
  if (byteLength % width !== 0) throw new SerializationError(`typed array of ${byteLength} bytes is not a whole number of ${width}-byte elements`);
  if (nFrames === 1) {
    const frame = frames[first]!;
    if (frame.byteLength !== byteLength) throw new SerializationError("typed array frame has the wrong length");
    if (kind === 0) return frame;
    if (frame.byteOffset % width === 0) return new Ctor(frame.buffer, frame.byteOffset, byteLength / width);
    // Frames arrive at any alignment; a misaligned one must be copied.
    const copy = new Ctor(byteLength / width);
    new Uint8Array(copy.buffer).set(frame);
    return copy;
  }
  const out = kind === 0 ? Buffer.allocUnsafe(byteLength) : new Ctor(byteLength / width);
  const target = new Uint8Array(out.buffer, out.byteOffset, byteLength);
  let offset = 0;
  for (let i = first; i < first + nFrames; i++) {
    const frame = frames[i]!;
    if (offset + frame.byteLength > byteLength) throw new SerializationError("typed array frames have the wrong total length");
    target.set(frame, offset);
    offset += frame.byteLength;
  }
  if (offset !== byteLength) throw new SerializationError("typed array frames have the wrong total length");
  return out;
}

/** Total size of a message's frames. */
export function wireBytes(frames: Buffer[]): number {
  let bytes = 0;
  for (const frame of frames) bytes += frame.byteLength;
  return bytes;
}
