/**
 * The binary header of a message whose value is one typed array (see wire.ts): no msgpack on
 * the most common path.
 */
import { Buffer } from "node:buffer";
import { SerializationError } from "../../errors.js";
import { arrayFrames, CTORS, isCount, readArray, wireBytes } from "./arrays.js";
import type { Envelope, Sender } from "./envelope.js";
import type { TypedArray } from "./values.js";
import { RAW_HEADER_BYTES, RAW_MARKER, RAW_SYNC_MARKER } from "./wire.js";

/** A message whose value is one typed array: a fixed binary header, no msgpack (see wire.ts). */
export function encodeRaw(sender: Sender, tag: number, array: TypedArray, kind: number, maxFrameBytes: number, view: boolean) {
  const { context, source, from } = sender;
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

/**
 * The raw header of one message at a time, written in place into a transport's memory (see
 * FrameWriter in shm/stream.ts): the small-array fast path makes no frame and no Buffer. One
 * object, refilled per message.
 */
export class RawHead {
  length = 0;
  private context = "";
  private source = 0;
  private tag = 0;
  private from = 0;
  private kind = 0;
  private byteLength = 0;
  /** A synchronous send's id (see RAW_SYNC_MARKER), or -1. */
  private sync = -1;

  /** Describe the next message (`sync`: a synchronous send's id); @returns false if its context is not ASCII (encode it the usual way). */
  set(sender: Sender, tag: number, kind: number, byteLength: number, sync = -1): boolean {
    const context = sender.context;
    if (context !== this.context) {
      for (let i = 0; i < context.length; i++) if (context.charCodeAt(i) >= 0x80) return false;
      this.context = context;
    }
    this.source = sender.source;
    this.tag = tag;
    this.from = sender.from;
    this.kind = kind;
    this.byteLength = byteLength;
    this.sync = sync;
    this.length = RAW_HEADER_BYTES + (sync < 0 ? 0 : 4) + context.length;
    return true;
  }

  write(bytes: Uint8Array, view: DataView, at: number): void {
    const context = this.context;
    let from = at + RAW_HEADER_BYTES;
    if (this.sync < 0) bytes[at] = RAW_MARKER;
    else {
      bytes[at] = RAW_SYNC_MARKER;
      view.setUint32(from, this.sync, true);
      from += 4;
    }
    bytes[at + 1] = this.kind;
    view.setUint16(at + 2, context.length, true);
    view.setInt32(at + 4, this.source, true);
    view.setInt32(at + 8, this.tag, true);
    view.setInt32(at + 12, this.from, true);
    view.setFloat64(at + 16, this.byteLength, true);
    for (let i = 0; i < context.length; i++) bytes[from + i] = context.charCodeAt(i);
  }
}

/**
 * Reads raw headers where they lie (a transport's memory), into its own fields: no Buffer, and
 * no new string while messages keep coming on the same communicator.
 */
export class RawHeadReader {
  context = "";
  source = 0;
  tag = 0;
  from = 0;
  kind = 0;
  byteLength = 0;
  /** A synchronous send's id (see RAW_SYNC_MARKER), or undefined. */
  sync: number | undefined = undefined;

  /** Read the header of `length` bytes at `at`; @returns false if it is not a well-formed raw header (decode the message the usual way). */
  read(bytes: Uint8Array, view: DataView, at: number, length: number): boolean {
    const sync = bytes[at] === RAW_SYNC_MARKER;
    if (length < RAW_HEADER_BYTES || (bytes[at] !== RAW_MARKER && !sync)) return false;
    const contextBytes = view.getUint16(at + 2, true);
    const byteLength = view.getFloat64(at + 16, true);
    const context = at + RAW_HEADER_BYTES + (sync ? 4 : 0);
    if (length !== context - at + contextBytes || !isCount(byteLength) || bytes[at + 1]! >= CTORS.length) return false;
    if (byteLength % CTORS[bytes[at + 1]!]!.BYTES_PER_ELEMENT !== 0) return false;
    if (!this.sameContext(bytes, context, contextBytes)) this.context = Buffer.from(bytes.buffer, bytes.byteOffset + context, contextBytes).toString("utf8");
    this.sync = sync ? view.getUint32(at + RAW_HEADER_BYTES, true) : undefined;
    this.kind = bytes[at + 1]!;
    this.source = view.getInt32(at + 4, true);
    this.tag = view.getInt32(at + 8, true);
    this.from = view.getInt32(at + 12, true);
    this.byteLength = byteLength;
    return true;
  }

  private sameContext(bytes: Uint8Array, at: number, length: number): boolean {
    const context = this.context;
    if (context.length !== length) return false;
    for (let i = 0; i < length; i++) if (bytes[at + i] !== context.charCodeAt(i)) return false;
    return true;
  }
}

/** Decode a message with a raw header (see wire.ts). */
export function decodeRaw(frames: Buffer[]): Envelope {
  const head = frames[0]!;
  if (head.byteLength < RAW_HEADER_BYTES) throw new SerializationError("malformed raw message header: too short");
  const contextBytes = head.readUInt16LE(2);
  const sync = head[0] === RAW_SYNC_MARKER;
  const context = RAW_HEADER_BYTES + (sync ? 4 : 0);
  if (head.byteLength !== context + contextBytes) throw new SerializationError("malformed raw message header: wrong length");
  const byteLength = head.readDoubleLE(16);
  if (!isCount(byteLength)) throw new SerializationError("malformed raw message: bad array length");
  if (frames.length === 1 && byteLength > 0) throw new SerializationError("message is missing typed array frames");
  // The fast path's empty array comes as an empty second frame (see small-arrays.ts), the frame encoding's as none.
  const value = readArray([head[1]!, byteLength, byteLength === 0 ? 0 : frames.length - 1, 1], frames);
  const wire = wireBytes(frames);
  const envelope: Envelope = {
    context: head.toString("utf8", context),
    source: head.readInt32LE(4),
    tag: head.readInt32LE(8),
    value,
    bytes: byteLength,
    from: head.readInt32LE(12),
    wire,
  };
  if (sync) envelope.sync = head.readUInt32LE(RAW_HEADER_BYTES);
  return envelope;
}
