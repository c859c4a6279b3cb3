/**
 * Encoding of values to frames and back (see wire.ts for the frame layout).
 *
 * Plain values go through msgpackr (records + structured clone: Map, Set, Date, bigint,
 * undefined, cycles). Every typed array or Buffer, at the top level or nested, is pulled
 * out into frames of its own and travels as raw bytes; the header keeps a reference to the
 * frames that hold it.
 */
import { Buffer } from "node:buffer";
import { Packr, addExtension } from "msgpackr";
import { SerializationError } from "../../errors.js";
import { arrayFrames, arrayKind, CTORS, isCount, readArray, wireBytes } from "./arrays.js";
import { payloadBytes, type Envelope, type Sender } from "./envelope.js";
import { decodeRaw, encodeRaw } from "./raw.js";
import type { TypedArray } from "./values.js";
import {
  ACK_BYTES,
  ACK_MARKER,
  ARRAY_KINDS,
  MAX_FRAME_BYTES,
  MessageKind,
  RAW_MARKER,
  RAW_SYNC_MARKER,
  type ArrayRef,
  type DataHeader,
  type FlowHeader,
} from "./wire.js";

export type { TypedArray, Envelope, Sender };
export { arrayKind, copyArray, isTypedArray } from "./arrays.js";
export { payloadBytes };

/** Type code of the msgpack extension that stands for a typed array moved out of band. */
const ARRAY_EXT = 0x40;

/** A packer that collects the typed arrays it meets, so that they can travel out of band. */
class FramePackr extends Packr {
  /** Arrays met by the current `pack` call, in order. */
  arrays: TypedArray[] = [];
  /** Largest frame the current call cuts arrays into. */
  frameBytes = MAX_FRAME_BYTES;
  /** Index of the next out-of-band frame (frame 0 is the header). */
  nextFrame = 1;
}

/** Where a typed array's bytes are, as read from a header; replaced by the array itself once decoded. */
export class ArrayPlaceholder {
  constructor(readonly ref: ArrayRef) {}
}

/** Typed array classes in registration order: msgpackr checks the last one first, so Buffer goes last. */
type ArrayClass = abstract new (...args: never[]) => unknown;
const EXT_CLASSES: Array<[ArrayClass, number]> = ARRAY_KINDS.map((name, kind) => [kind === 0 ? Buffer : (globalThis[name] as ArrayClass), kind]);
for (const [Class, kind] of [...EXT_CLASSES.slice(1), EXT_CLASSES[0]!]) {
  addExtension({
    Class,
    type: ARRAY_EXT,
    // msgpackr calls write with the packer as `this`: the arrays are collected there.
    write(this: FramePackr, array: TypedArray): ArrayRef {
      const frames = array.byteLength === 0 ? 0 : Math.ceil(array.byteLength / this.frameBytes);
      const ref: ArrayRef = [kind, array.byteLength, frames, this.nextFrame];
      this.arrays.push(array);
      this.nextFrame += frames;
      return ref;
    },
    read(ref: ArrayRef): ArrayPlaceholder | TypedArray {
      if (!Array.isArray(ref) || ref.length !== 4 || !ref.every(isCount)) throw new SerializationError("malformed typed array reference");
      if (ref[1] !== 0) return new ArrayPlaceholder(ref);
      // An empty array has no frames: it is whole already.
      const Ctor = CTORS[ref[0]];
      if (Ctor === undefined || ref[2] !== 0) throw new SerializationError("malformed typed array reference");
      return ref[0] === 0 ? Buffer.alloc(0) : new Ctor(0);
    },
  });
}

const packr = new FramePackr({
  structuredClone: true,
  useRecords: true,
  mapsAsObjects: false,
  moreTypes: true,
  useBigIntExtension: true,
  int64AsType: "bigint",
  writeFunction(): never {
    throw new SerializationError("a function cannot be sent between ranks");
  },
});

/**
 * Encode one message from `sender`: header tuple + out-of-band arrays (viewed in place with `view`, else copied).
 * @returns the frames and their total size in bytes (what flow control counts).
 */
export function encode(sender: Sender, tag: number, value: unknown, maxFrameBytes = MAX_FRAME_BYTES, view = false): { frames: Buffer[]; bytes: number } {
  const kind = arrayKind(value);
  if (kind >= 0) return encodeRaw(sender, tag, value as TypedArray, kind, maxFrameBytes, view);
  const { context, source, from } = sender;
  packr.arrays = [];
  packr.frameBytes = maxFrameBytes;
  packr.nextFrame = 1;
  let head: Buffer;
  try {
    head = packr.pack([0, context, source, tag, value, from] satisfies DataHeader);
  } catch (error) {
    packr.arrays = [];
    if (error instanceof SerializationError) throw error;
    throw new SerializationError(`value cannot be serialized: ${(error as Error).message}`, { cause: error });
  }
  // msgpackr reuses its output buffer between calls; the frame must own its bytes.
  const frames: Buffer[] = [Buffer.from(head)];
  let bytes = head.byteLength;
  for (const array of packr.arrays) {
    arrayFrames(array, maxFrameBytes, frames, view);
    bytes += array.byteLength;
  }
  packr.arrays = [];
  return { frames, bytes };
}

/** What resolving placeholders has met so far: objects (cycles), arrays read (shared references), frames used. */
interface Resolving {
  frames: Buffer[];
  seen: Set<object>;
  arrays: Map<ArrayPlaceholder, TypedArray | Buffer>;
  used: number;
}

/** Replace every placeholder inside a decoded value by its array. */
function resolve(value: unknown, r: Resolving): unknown {
  if (value instanceof ArrayPlaceholder) {
    let array = r.arrays.get(value);
    if (array === undefined) {
      r.arrays.set(value, (array = readArray(value.ref, r.frames)));
      r.used += value.ref[2];
    }
    return array;
  }
  if (typeof value !== "object" || value === null || r.seen.has(value) || ArrayBuffer.isView(value)) return value;
  r.seen.add(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = resolve(value[i], r);
  } else if (value instanceof Map) {
    const entries = [...value];
    value.clear();
    for (const [key, item] of entries) value.set(resolve(key, r), resolve(item, r));
  } else if (value instanceof Set) {
    const items = [...value];
    value.clear();
    for (const item of items) value.add(resolve(item, r));
  } else if (Object.getPrototypeOf(value) === Object.prototype || Object.getPrototypeOf(value) === null) {
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) record[key] = resolve(record[key], r);
  }
  return value;
}

/** A decoded data-plane message: data (or its announcement), or a flow-control message. */
export type Incoming =
  | { kind: MessageKind.Data | MessageKind.Rts; envelope: Envelope }
  | { kind: MessageKind.Cts; from: number; id: number }
  | { kind: MessageKind.Payload; from: number; id: number; envelope: Envelope }
  | { kind: MessageKind.Credit; from: number; bytes: number }
  | { kind: MessageKind.Ack; from: number; id: number };

/** One frame of flow control (see wire.ts). */
export function encodeFlow(header: FlowHeader): Buffer {
  return Buffer.from(packr.pack(header));
}

/** Decode any data-plane message; throws SerializationError on a malformed one. */
export function decodeMessage(frames: Buffer[]): Incoming {
  if (frames.length === 0) throw new SerializationError("empty message");
  const first = frames[0]!;
  if (first[0] === ACK_MARKER && first.length === ACK_BYTES) return { kind: MessageKind.Ack, from: first.readInt32LE(4), id: first.readUInt32LE(8) };
  // Flow-control headers are short arrays whose second byte is a kind other than Data.
  const kind = frames[0]!.length > 1 && frames[0]![0]! >= 0x93 && frames[0]![0]! <= 0x97 ? frames[0]![1]! : MessageKind.Data;
  if (kind === MessageKind.Data) return { kind, envelope: decode(frames) };
  let header: unknown[];
  try {
    header = packr.unpack(frames[0]!) as unknown[];
  } catch (error) {
    throw new SerializationError(`malformed message: ${(error as Error).message}`, { cause: error });
  }
  if (!Array.isArray(header) || !header.slice(1).every((x, i) => (kind === MessageKind.Rts && i === 0 ? typeof x === "string" : isCount(x))))
    throw new SerializationError("malformed flow-control header");
  if (kind === MessageKind.Rts && header.length === 7 && frames.length === 1) {
    const [, context, source, tag, bytes, from, id] = header as [number, string, number, number, number, number, number];
    return { kind, envelope: { context, source, tag, value: undefined, bytes, from, wire: 0, rendezvous: { id } } };
  }
  if (header.length === 3) {
    const [, from, n] = header as [number, number, number];
    if (kind === MessageKind.Cts && frames.length === 1) return { kind, from, id: n };
    if (kind === MessageKind.Credit && frames.length === 1) return { kind, from, bytes: n };
    if (kind === MessageKind.Payload && frames.length > 1) return { kind, from, id: n, envelope: decode(frames.slice(1)) };
    if (kind === MessageKind.Ack && frames.length === 1) return { kind, from, id: n };
    // A synchronous send's message: data like any other, that its receive acknowledges.
    if (kind === MessageKind.Sync && frames.length > 1) return { kind: MessageKind.Data, envelope: { ...decode(frames.slice(1)), sync: n } };
  }
  throw new SerializationError(`malformed flow-control message of kind ${kind}`);
}

/** Decode one multipart data message; throws SerializationError on a malformed one. */
export function decode(frames: Buffer[]): Envelope {
  if (frames.length > 0 && frames[0]!.length > 0 && (frames[0]![0] === RAW_MARKER || frames[0]![0] === RAW_SYNC_MARKER)) return decodeRaw(frames);
  try {
    const header = packr.unpack(frames[0]!) as DataHeader;
    if (
      !Array.isArray(header) ||
      header.length !== 6 ||
      header[0] !== 0 ||
      typeof header[1] !== "string" ||
      !Number.isInteger(header[2]) ||
      !Number.isInteger(header[3]) ||
      !Number.isInteger(header[5])
    ) {
      throw new SerializationError("malformed message header");
    }
    const r: Resolving = { frames, seen: new Set(), arrays: new Map(), used: 0 };
    const value = resolve(header[4], r);
    if (1 + r.used !== frames.length) throw new SerializationError(`message has ${frames.length - 1 - r.used} unexpected extra frames`);
    const wire = wireBytes(frames);
    return { context: header[1], source: header[2], tag: header[3], value, bytes: payloadBytes(value, wire), from: header[5], wire };
  } catch (error) {
    if (error instanceof SerializationError) throw error;
    throw new SerializationError(`malformed message: ${(error as Error).message}`, { cause: error });
  }
}

/** Unpack one header frame with the codec's packer (for peek.ts, which reads headers before a message is whole). */
export function unpackHeader(head: Uint8Array): unknown {
  return packr.unpack(head);
}
