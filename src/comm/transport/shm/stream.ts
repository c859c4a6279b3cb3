/**
 * A multipart message as one byte stream through a ring: a frame table (frame count, then
 * each frame's length, as u32) followed by the frames' bytes. The writer cuts the stream into
 * records as room appears; the reader rebuilds the frames as records arrive, copying each
 * byte once, straight into the frame it belongs to.
 */
import { Buffer } from "node:buffer";
import { SerializationError } from "../../../errors.js";
import type { FrameWriter } from "../port.js";
import { CHUNK_BYTES, RecordKind, type Ring } from "./ring.js";

const u32 = (bytes: Uint8Array, at: number): number => (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0;
const align8 = (n: number): number => (n + 7) & ~7;
/** Little-endian u32 at `at` (byte by byte: no DataView to allocate per message). */
function putU32(bytes: Uint8Array, at: number, value: number): void {
  bytes[at] = value & 0xff;
  bytes[at + 1] = (value >>> 8) & 0xff;
  bytes[at + 2] = (value >>> 16) & 0xff;
  bytes[at + 3] = value >>> 24;
}

/**
 * Write a small message as one START record if the ring has room for it now (the common case,
 * without the bookkeeping of {@link OutStream}). @returns false if it did not fit.
 */
export function writeWhole(ring: Ring, frames: Buffer[]): boolean {
  let total = 4 * (frames.length + 1);
  for (const frame of frames) total += frame.byteLength;
  if (total + 8 > CHUNK_BYTES || ring.reserve(total + 8, total + 8) < total + 8) return false;
  const payload = ring.payload(total + 8);
  putU32(payload, 0, total);
  putU32(payload, 4, 0);
  putU32(payload, 8, frames.length);
  let at = 12 + 4 * frames.length;
  for (let i = 0; i < frames.length; i++) {
    const frame = frames[i]!;
    putU32(payload, 12 + 4 * i, frame.byteLength);
    payload.set(frame, at);
    at += frame.byteLength;
  }
  ring.commit(RecordKind.Start, total + 8);
  return true;
}

/**
 * Write a message of two frames, `head` (written in place) and `array`'s bytes, as one START
 * record, byte for byte what {@link writeWhole} writes for `[head, array]`: no frame is made.
 * @returns false if it does not fit in the ring now.
 */
export function writePair(ring: Ring, head: FrameWriter, array: Uint8Array): boolean {
  const total = 12 + head.length + array.byteLength;
  if (total + 8 > CHUNK_BYTES || ring.reserve(total + 8, total + 8) < total + 8) return false;
  const { bytes, view } = ring;
  const at = ring.payloadAt();
  view.setUint32(at, total, true);
  view.setUint32(at + 4, 0, true);
  view.setUint32(at + 8, 2, true);
  view.setUint32(at + 12, head.length, true);
  view.setUint32(at + 16, array.byteLength, true);
  head.write(bytes, view, at + 20);
  bytes.set(array, at + 20 + head.length);
  ring.commit(RecordKind.Start, total + 8);
  return true;
}

/**
 * Where the two frames of a message that came whole in one record sit (see {@link writePair}),
 * relative to the record's payload at `at` in `bytes`: @returns the first frame's offset, or
 * -1 if the record is not a whole two-frame message (its second frame follows the first).
 */
export function pairAt(view: DataView, at: number, length: number): number {
  if (length < 20 || view.getUint32(at, true) + 8 !== length || view.getUint32(at + 4, true) !== 0 || view.getUint32(at + 8, true) !== 2) return -1;
  return view.getUint32(at + 12, true) + view.getUint32(at + 16, true) + 20 === length ? at + 20 : -1;
}

/**
 * The first record of a message that streams (more than one record): small, so that its
 * reader starts copying out while its writer copies in the rest; each next record is twice as
 * large, up to CHUNK_BYTES. A message of 128 KiB then takes about one copy's time plus a
 * sixteenth, not two copies' (a 128 KiB record first, then a small one).
 */
export const FIRST_RECORD_BYTES = 16 * 1024;

/** The writer's position in one outgoing message. */
export class OutStream {
  private readonly parts: Uint8Array[];
  private part = 0;
  private offset = 0;
  private started = false;
  /** The next record's largest payload: {@link FIRST_RECORD_BYTES}, doubling up to CHUNK_BYTES. */
  private record = FIRST_RECORD_BYTES;
  /** Stream bytes not yet written. */
  remaining: number;

  constructor(frames: Buffer[]) {
    const table = new Uint32Array(frames.length + 1);
    table[0] = frames.length;
    let total = table.byteLength;
    frames.forEach((frame, i) => {
      table[i + 1] = frame.byteLength;
      total += frame.byteLength;
    });
    this.parts = [new Uint8Array(table.buffer), ...frames];
    this.remaining = total;
  }

  /** Write as much as the ring takes now. @returns true once the whole message is in. */
  pump(ring: Ring): boolean {
    while (this.remaining > 0) {
      const head = this.started ? 0 : 8;
      const length = ring.reserve(Math.min(head + this.remaining, this.record), head || 1);
      if (length === 0) return false;
      this.record = Math.min(2 * this.record, CHUNK_BYTES);
      const payload = ring.payload(length);
      if (!this.started) {
        // START: the stream's length (u64 as two words), then the stream.
        const words = new Uint32Array(payload.buffer, payload.byteOffset, 2);
        words[0] = this.remaining % 2 ** 32;
        words[1] = Math.floor(this.remaining / 2 ** 32);
      }
      this.copyTo(payload.subarray(head));
      ring.commit(this.started ? RecordKind.Cont : RecordKind.Start, length);
      this.started = true;
    }
    return true;
  }

  private copyTo(target: Uint8Array): void {
    let filled = 0;
    while (filled < target.byteLength) {
      const part = this.parts[this.part]!;
      const n = Math.min(part.byteLength - this.offset, target.byteLength - filled);
      target.set(part.subarray(this.offset, this.offset + n), filled);
      filled += n;
      this.offset += n;
      if (this.offset === part.byteLength) {
        this.part++;
        this.offset = 0;
      }
    }
    this.remaining -= filled;
  }

  /** Copy what is still to be written out of the caller's memory, which may change once send returns. */
  own(): void {
    for (let i = this.part; i < this.parts.length; i++) {
      const part = this.parts[i]!;
      const from = i === this.part ? this.offset : 0;
      this.parts[i] = new Uint8Array(part.subarray(from));
      if (i === this.part) this.offset = 0;
    }
  }
}

/** The reader's rebuilding of one incoming message from one sender. */
export class InStream {
  /** @param place asked where the array frame that ends a two- or three-frame message should go (see Delivery.place) */
  constructor(private readonly place?: (prior: Buffer[], length: number) => Uint8Array | undefined) {}

  private total = 0;
  private got = 0;
  /** Stream bytes before the frames, gathered until the whole table is here. */
  private head = new Uint8Array(0);
  private frames: Buffer[] | undefined;
  private frame = 0;
  private offset = 0;

  /** Part of a message has arrived, not all of it. */
  get busy(): boolean {
    return this.total !== 0;
  }

  /** Take one record; @returns the frames once the message is whole. */
  take(kind: number, payload: Uint8Array): Buffer[] | undefined {
    if (kind === RecordKind.Start && this.total === 0 && payload.byteLength >= 12 && u32(payload, 0) + 8 === payload.byteLength && u32(payload, 4) === 0) {
      const whole = this.whole(payload);
      if (whole !== undefined) return whole;
    }
    if (kind === RecordKind.Start) {
      if (this.total !== 0) throw new SerializationError("shared-memory message started before the previous one ended");
      if (payload.byteLength < 8) throw new SerializationError("shared-memory START record is too short");
      const words = new Uint32Array(payload.slice(0, 8).buffer);
      this.total = words[0]! + words[1]! * 2 ** 32;
      if (this.total < 4) throw new SerializationError("shared-memory message is too short for its frame table");
      this.got = 0;
      payload = payload.subarray(8);
    } else if (kind !== RecordKind.Cont || this.total === 0) {
      throw new SerializationError(`unexpected shared-memory record of kind ${kind}`);
    }
    this.got += payload.byteLength;
    if (this.got > this.total) throw new SerializationError("shared-memory message is longer than announced");
    if (this.frames === undefined) payload = this.gatherTable(payload);
    if (this.frames !== undefined) this.fill(payload);
    if (this.got < this.total) return undefined;
    const frames = this.frames;
    if (frames === undefined || this.frame !== frames.length) throw new SerializationError("shared-memory message is shorter than its frame table");
    this.total = 0;
    this.frames = undefined;
    this.head = new Uint8Array(0);
    return frames;
  }

  /**
   * A message that came in one record: its frames in one fresh buffer (each at an 8-byte
   * boundary, so typed arrays can view it in place). @returns undefined if the table does not add up.
   */
  private whole(payload: Uint8Array): Buffer[] | undefined {
    const n = u32(payload, 8);
    const data = 12 + 4 * n;
    if (n > (payload.byteLength - 12) / 4) return undefined;
    let bytes = 0;
    let room = 0;
    for (let i = 0; i < n; i++) {
      const length = u32(payload, 12 + 4 * i);
      bytes += length;
      room += align8(length);
    }
    if (data + bytes !== payload.byteLength) return undefined;
    const block = Buffer.allocUnsafe(room);
    const frames: Buffer[] = new Array<Buffer>(n);
    for (let i = 0, from = data, to = 0; i < n; i++) {
      const length = u32(payload, 12 + 4 * i);
      block.set(payload.subarray(from, from + length), to);
      frames[i] = block.subarray(to, to + length);
      from += length;
      to += align8(length);
    }
    return frames;
  }

  /** Gather table bytes; once whole, allocate the frames. @returns the payload bytes past the table. */
  private gatherTable(payload: Uint8Array): Uint8Array {
    const need = (n: number) => (n < 4 ? 4 : 4 * (1 + new Uint32Array(this.head.slice(0, 4).buffer)[0]!));
    let want = need(this.head.byteLength);
    while (this.head.byteLength < want && payload.byteLength > 0) {
      const n = Math.min(want - this.head.byteLength, payload.byteLength);
      const grown = new Uint8Array(this.head.byteLength + n);
      grown.set(this.head);
      grown.set(payload.subarray(0, n), this.head.byteLength);
      this.head = grown;
      payload = payload.subarray(n);
      want = need(this.head.byteLength);
    }
    if (this.head.byteLength < want) return payload;
    const table = new Uint32Array(this.head.buffer, 0, want / 4);
    let bytes = want;
    for (let i = 1; i < table.length; i++) bytes += table[i]!;
    if (bytes !== this.total) throw new SerializationError("shared-memory frame table does not add up to the message length");
    this.sizes = Array.from(table.subarray(1));
    // Frames are allocated as the bytes reach them (see `open`).
    this.frames = new Array<Buffer>(this.sizes.length);
    this.frame = 0;
    this.offset = 0;
    this.skipEmpty();
    return payload;
  }

  /** Frame lengths of the current message, from its table. */
  private sizes: number[] = [];

  private skipEmpty(): void {
    while (this.frames !== undefined && this.frame < this.frames.length && this.sizes[this.frame] === 0) this.frames[this.frame++] = Buffer.alloc(0);
  }

  /** Memory for frame `i`: where `place` says for the last frame of a short message, else fresh. */
  private open(i: number): Buffer {
    const length = this.sizes[i]!;
    if (i > 0 && i < 3 && i === this.sizes.length - 1 && this.place !== undefined) {
      const target = this.place(this.frames!.slice(0, i), length);
      if (target !== undefined && target.byteLength === length) return Buffer.from(target.buffer, target.byteOffset, length);
    }
    return Buffer.allocUnsafe(length);
  }

  private fill(payload: Uint8Array): void {
    const frames = this.frames!;
    let used = 0;
    while (used < payload.byteLength) {
      if (this.frame >= frames.length) throw new SerializationError("shared-memory message is longer than its frame table");
      const frame = (frames[this.frame] ??= this.open(this.frame));
      const n = Math.min(frame.byteLength - this.offset, payload.byteLength - used);
      frame.set(payload.subarray(used, used + n), this.offset);
      used += n;
      this.offset += n;
      if (this.offset === frame.byteLength) {
        this.frame++;
        this.offset = 0;
        this.skipEmpty();
      }
    }
  }
}
