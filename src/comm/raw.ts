/**
 * The binary header of a message whose value is one typed array (see wire.ts): no msgpack on
 * the most common path.
 */
import { SerializationError } from "../errors.js";
import { arrayFrames, isCount, readArray, wireBytes } from "./arrays.js";
import type { Envelope } from "./envelope.js";
import type { TypedArray } from "./values.js";
import { RAW_HEADER_BYTES, RAW_MARKER } from "./wire.js";

/** A message whose value is one typed array: a fixed binary header, no msgpack (see wire.ts). */
export function encodeRaw(context: string, source: number, tag: number, array: TypedArray, kind: number, maxFrameBytes: number, from: number, view: boolean) {
  const head = Buffer.allocUnsafe(RAW_HEADER_BYTES + context.length * 3);
  const contextBytes = writeContext(head, context);
  head[0] = RAW_MARKER;
  head[1] = kind;
  head.writeUInt16LE(contextBytes, 2);
  head.writeInt32LE(source, 4);
  head.writeInt32LE(tag, 8);
  head.writeInt32LE(from, 12);
  head.writeDoubleLE(array.byteLength, 16);
  const frames = [head.subarray(0, RAW_HEADER_BYTES + contextBytes)];
  arrayFrames(array, maxFrameBytes, frames, view);
  return { frames, bytes: frames[0]!.byteLength + array.byteLength };
}

/** Write `context` after the fixed header; @returns its byte length (ASCII ids byte by byte: cheaper than a UTF-8 encoder call for a few bytes). */
function writeContext(head: Buffer, context: string): number {
  for (let i = 0; i < context.length; i++) {
    const code = context.charCodeAt(i);
    if (code >= 0x80) return head.write(context, RAW_HEADER_BYTES, "utf8");
    head[RAW_HEADER_BYTES + i] = code;
  }
  return context.length;
}

/** Decode a message with a raw header (see wire.ts). */
export function decodeRaw(frames: Buffer[]): Envelope {
  const head = frames[0]!;
  if (head.byteLength < RAW_HEADER_BYTES) throw new SerializationError("malformed raw message header: too short");
  const contextBytes = head.readUInt16LE(2);
  if (head.byteLength !== RAW_HEADER_BYTES + contextBytes) throw new SerializationError("malformed raw message header: wrong length");
  const byteLength = head.readDoubleLE(16);
  if (!isCount(byteLength)) throw new SerializationError("malformed raw message: bad array length");
  if (frames.length === 1 && byteLength > 0) throw new SerializationError("message is missing typed array frames");
  const value = readArray([head[1]!, byteLength, frames.length - 1, 1], frames);
  const wire = wireBytes(frames);
  const context = head.toString("utf8", RAW_HEADER_BYTES);
  return { context, source: head.readInt32LE(4), tag: head.readInt32LE(8), value, bytes: byteLength, from: head.readInt32LE(12), wire };
}
