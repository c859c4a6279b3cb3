/**
 * How multipart messages travel on a byte stream (the direct TCP path, see transport.ts), and
 * the decoder that rebuilds them as bytes arrive, writing each large frame straight where it
 * belongs (a posted receive's `into`, a recycled frame) instead of into fresh memory.
 *
 *   message  u32 frame count n (1 ≤ n ≤ {@link MAX_FRAMES}), n × u32 frame length
 *            (each ≤ {@link MAX_FRAME_BYTES}), then the frames' bytes back to back
 *
 * All integers little-endian. Encrypted streams carry the same bytes inside sealed records
 * (see seal.ts); the decoder sees only plaintext either way.
 */
import { Buffer } from "node:buffer";
import type { Socket } from "node:net";
import { TransportError } from "../../../errors.js";
import { MAX_FRAME_BYTES } from "../../wire/wire.js";

/** Most frames one message may have: far more than any value has arrays, few enough that a forged count cannot take the memory of its table. */
export const MAX_FRAMES = 1 << 16;

/** A frame with at least this many bytes still to come is read by the kernel straight into its memory. */
export const DIRECT_BYTES = 64 * 1024;

/** Messages up to this size are written as one buffer (one system call, no vector). */
const COALESCE_BYTES = 16 * 1024;

/** The head of a message of `frames`: its frame count and lengths. */
export function messageHead(frames: readonly Uint8Array[]): Buffer {
  const head = Buffer.allocUnsafe(4 + 4 * frames.length);
  head.writeUInt32LE(frames.length, 0);
  for (let i = 0; i < frames.length; i++) head.writeUInt32LE(frames[i]!.byteLength, 4 + 4 * i);
  return head;
}

/** Where the last frame of a short message should go (see Delivery.place). */
export type Place = (prior: Buffer[], length: number) => Uint8Array | undefined;

/**
 * Rebuilds messages from a byte stream fed in pieces of any size. Throws a TransportError on a
 * malformed head (the stream is then unusable: its caller closes it).
 */
export class MessageDecoder {
  /** Bytes of the head read so far (count, then lengths). */
  private head = Buffer.alloc(4);
  private headFill = 0;
  private lengths: number[] | undefined;
  private frames: Buffer[] = [];
  /** The frame being filled, and how far. */
  private frame: Buffer | undefined;
  private frameFill = 0;
  /** Its index in the message. */
  private index = 0;

  constructor(
    private readonly deliver: (frames: Buffer[]) => void,
    private readonly place?: Place,
    /** Names the stream in errors. */
    private readonly from = "a peer",
  ) {}

  /** A message is partly read. */
  get midMessage(): boolean {
    return this.headFill > 0 || this.lengths !== undefined;
  }

  /** Where the kernel may write the next bytes itself: the rest of a large frame being filled, else undefined. */
  direct(): Uint8Array | undefined {
    const frame = this.frame;
    if (frame === undefined || frame.byteLength - this.frameFill < DIRECT_BYTES) return undefined;
    return frame.subarray(this.frameFill);
  }

  /** The memory of the next `n` bytes if they all fall in the frame being filled (then say {@link filled}), else undefined. */
  span(n: number): Uint8Array | undefined {
    const frame = this.frame;
    if (frame === undefined || frame.byteLength - this.frameFill < n) return undefined;
    return frame.subarray(this.frameFill, this.frameFill + n);
  }

  /** `n` bytes were written at the start of the view {@link direct} or {@link span} returned. */
  filled(n: number): void {
    this.frameFill += n;
    if (this.frameFill === this.frame!.byteLength) this.nextFrame();
  }

  /** Consume `bytes` (valid only during the call). */
  feed(bytes: Uint8Array): void {
    let at = 0;
    while (at < bytes.byteLength) {
      if (this.frame !== undefined) {
        const n = Math.min(this.frame.byteLength - this.frameFill, bytes.byteLength - at);
        this.frame.set(bytes.subarray(at, at + n), this.frameFill);
        at += n;
        this.filled(n);
        continue;
      }
      const want = this.head.byteLength - this.headFill;
      const n = Math.min(want, bytes.byteLength - at);
      this.head.set(bytes.subarray(at, at + n), this.headFill);
      this.headFill += n;
      at += n;
      if (n === want) this.headRead();
    }
  }

  /** The count, or the whole head, has arrived. */
  private headRead(): void {
    if (this.lengths === undefined && this.head.byteLength === 4) {
      const count = this.head.readUInt32LE(0);
      if (count < 1 || count > MAX_FRAMES) throw this.malformed(`a message of ${count} frames (1 to ${MAX_FRAMES})`);
      const head = Buffer.allocUnsafe(4 + 4 * count);
      head.writeUInt32LE(count, 0);
      this.head = head;
      return;
    }
    const count = this.head.readUInt32LE(0);
    const lengths = new Array<number>(count);
    for (let i = 0; i < count; i++) {
      const length = this.head.readUInt32LE(4 + 4 * i);
      if (length > MAX_FRAME_BYTES) throw this.malformed(`a frame of ${length} bytes (at most ${MAX_FRAME_BYTES})`);
      lengths[i] = length;
    }
    this.lengths = lengths;
    this.frames = new Array<Buffer>(count);
    this.head = Buffer.alloc(4);
    this.headFill = 0;
    this.open(0);
  }

  /** Start frame `i` (empty frames are done at once; after the last, the message is delivered). */
  private open(i: number): void {
    const lengths = this.lengths!;
    for (; i < lengths.length && lengths[i] === 0; i++) this.frames[i] = Buffer.alloc(0);
    if (i === lengths.length) {
      const frames = this.frames;
      this.lengths = undefined;
      this.frames = [];
      this.frame = undefined;
      this.deliver(frames);
      return;
    }
    this.frame = this.frames[i] = this.memory(i, lengths[i]!);
    this.frameFill = 0;
    this.index = i;
  }

  private nextFrame(): void {
    this.open(this.index + 1);
  }

  /** Memory for frame `i`: where `place` says for the last frame of a short message, else fresh. */
  private memory(i: number, length: number): Buffer {
    if (i > 0 && i < 3 && i === this.lengths!.length - 1 && this.place !== undefined) {
      const target = this.place(this.frames.slice(0, i), length);
      if (target !== undefined && target.byteLength === length) return Buffer.from(target.buffer, target.byteOffset, length);
    }
    return Buffer.allocUnsafe(length);
  }

  private malformed(what: string): TransportError {
    return new TransportError(`malformed message from ${this.from}: ${what}; the stream is closed`);
  }
}

/** A message as plain stream bytes: small ones in one buffer. */
export function plain(frames: Buffer[]): Buffer[] {
  const head = messageHead(frames);
  let total = head.byteLength;
  for (const frame of frames) total += frame.byteLength;
  return total <= COALESCE_BYTES ? [Buffer.concat([head, ...frames], total)] : [head, ...frames];
}

/** Write `pieces` in one system call where the kernel takes them at once; `done` once it has. */
export function writePieces(socket: Socket, pieces: Buffer[], done?: () => void): void {
  if (pieces.length === 1) return void socket.write(pieces[0]!, done);
  socket.cork();
  for (let i = 0; i < pieces.length; i++) socket.write(pieces[i]!, i === pieces.length - 1 ? done : undefined);
  socket.uncork();
}
