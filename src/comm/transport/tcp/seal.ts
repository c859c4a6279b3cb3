/**
 * The record layer of the direct TCP path when encrypted (the default): AES-256-GCM through
 * OpenSSL (gcm.ts), with keys of each connection derived from the job's secret.
 *
 * Keys: HKDF-SHA256 over the job's secret (every member holds it, nobody else), salted with both
 * ends' fresh 32-byte nonces and bound to the direction (`writer>reader`): every connection and
 * every pair has keys of its own, and a recorded connection replayed later meets a fresh nonce,
 * so it opens nothing. The reader proves it holds the secret (an HMAC under the derived proof
 * key) before the writer sends it anything.
 *
 * Records: u32 ciphertext length, the ciphertext, a 16-byte tag; the length is authenticated
 * (additional data). The nonce is the record's number on the connection (never sent), so a
 * record replayed, dropped or reordered fails to open, and none is ever sealed twice under one key.
 */
import { Buffer } from "node:buffer";
import type { Socket } from "node:net";
import { TransportError } from "../../../errors.js";
import { DIRECT_BYTES, messageHead } from "./framing.js";
import { recordCipher, TAG_BYTES, type CipherChoice, type RecordCipher } from "./gcm.js";

export { TAG_BYTES } from "./gcm.js";

/** Plaintext bytes per record, at most: large enough that sealing runs at OpenSSL's speed, small enough to hold one in memory per connection. */
export const RECORD_BYTES = 256 * 1024;
export const NONCE_BYTES = 32;
/** The record header: its ciphertext length. */
export const RECORD_HEAD = 4;

/** A connection's keys (one direction, writer to reader). */
export interface ConnectionKeys {
  readonly cipher: Buffer;
  /** What the reader sends to prove it holds the job's secret. */
  readonly proof: Buffer;
}

/** A fresh nonce for a connection's handshake (node:crypto is loaded at first use, as in {@link connectionKeys}). */
export const randomNonce = (): Buffer => process.getBuiltinModule("node:crypto").randomBytes(NONCE_BYTES);

/** Derive the keys of the connection from `writer` to `reader` with these nonces. */
export function connectionKeys(secret: string, writer: number, reader: number, readerNonce: Uint8Array, writerNonce: Uint8Array): ConnectionKeys {
  const salt = Buffer.concat([readerNonce, writerNonce]);
  // node:crypto is loaded when a connection is made, not at import (~7 ms of every rank's start, most of which never make one).
  const { createHmac, hkdfSync } = process.getBuiltinModule("node:crypto");
  const keys = Buffer.from(hkdfSync("sha256", secret, salt, `tsmpi tcp ${writer}>${reader}`, 64));
  const cipher = keys.subarray(0, 32);
  return { cipher, proof: createHmac("sha256", keys.subarray(32)).update("reader holds the job secret").digest() };
}

/** Does `proof` equal the expected one (in constant time)? */
export function proofMatches(keys: ConnectionKeys, proof: Uint8Array): boolean {
  return proof.byteLength === keys.proof.byteLength && process.getBuiltinModule("node:crypto").timingSafeEqual(proof, keys.proof);
}

/** Writes the 12-byte GCM nonce of record number `n` (bytes 4-11, little-endian) into `into`. */
function nonceOf(n: number, into: Buffer): Buffer {
  into.writeUInt32LE(n >>> 0, 4);
  into.writeUInt32LE(Math.floor(n / 2 ** 32), 8);
  return into;
}

/** A record buffer with room for the largest record. */
const FULL_RECORD = RECORD_HEAD + RECORD_BYTES + TAG_BYTES;
/** Records larger than this are sealed into recycled buffers ({@link Sealer.recycle}); smaller ones come from Node's pool. */
const POOLED_BYTES = 4096;
/** Records of several parts up to this size are gathered before they are sealed. */
const GATHER_BYTES = 16 * 1024;
/** Recycled record buffers kept per connection, at most (2 MiB). */
const POOL_MAX = 8;

/** Seals records in order, each into one buffer (head, ciphertext, tag: one write). */
export class Sealer {
  private sequence = 0;
  private readonly nonce = Buffer.alloc(12);
  private readonly free: ArrayBuffer[] = [];
  private readonly cipher: RecordCipher;

  constructor(key: Buffer, choice?: CipherChoice) {
    this.cipher = recordCipher(key, true, choice);
  }

  /** Which AES-256-GCM implementation seals (see gcm.ts). */
  get kind(): RecordCipher["kind"] {
    return this.cipher.kind;
  }

  /** Seal `parts` (at most {@link RECORD_BYTES} together) as one record: @returns it, to be written whole and then handed to {@link recycle}. */
  seal(parts: readonly Uint8Array[]): Buffer {
    let length = 0;
    for (const part of parts) length += part.byteLength;
    const total = RECORD_HEAD + length + TAG_BYTES;
    const record = total > POOLED_BYTES ? Buffer.from(this.free.pop() ?? Buffer.allocUnsafeSlow(FULL_RECORD).buffer, 0, total) : Buffer.allocUnsafe(total);
    record.writeUInt32LE(length, 0);
    const body = record.subarray(RECORD_HEAD, RECORD_HEAD + length);
    if (parts.length > 1 && length <= GATHER_BYTES) {
      // Small parts are gathered first and sealed in place: one call into OpenSSL instead of one per part.
      let at = 0;
      for (const part of parts) body.set(part, (at += part.byteLength) - part.byteLength);
      parts = [body];
    }
    this.cipher.seal(nonceOf(this.sequence++, this.nonce), record.subarray(0, RECORD_HEAD), parts, body, record.subarray(RECORD_HEAD + length));
    return record;
  }

  /** `record` (from {@link seal}) is written: its memory may hold the next one. */
  recycle(record: Buffer): void {
    if (record.buffer.byteLength === FULL_RECORD && this.free.length < POOL_MAX) this.free.push(record.buffer as ArrayBuffer);
  }
}

/** Opens records in order; any record that does not open (forged, replayed, reordered, truncated) is an error. */
export class Opener {
  private sequence = 0;
  private readonly nonce = Buffer.alloc(12);
  private readonly cipher: RecordCipher;

  constructor(
    key: Buffer,
    /** Names the stream in errors. */
    private readonly from: string,
    choice?: CipherChoice,
  ) {
    this.cipher = recordCipher(key, false, choice);
  }

  get kind(): RecordCipher["kind"] {
    return this.cipher.kind;
  }

  /** Open the record with head `head` whose ciphertext is `sealed` and tag `tag`, into `out` (may be `sealed` itself; unauthentic bytes there otherwise). */
  open(head: Uint8Array, sealed: Uint8Array, tag: Uint8Array, out: Uint8Array): void {
    if (!this.cipher.open(nonceOf(this.sequence++, this.nonce), head, sealed, out, tag))
      throw new TransportError(`a record from ${this.from} failed authentication (forged, replayed or reordered); the connection is closed`);
  }
}

/** Where a record's plaintext goes: framing.ts's MessageDecoder. */
export interface PlainSink {
  /** Consume `bytes` (valid only during the call). */
  feed(bytes: Uint8Array): void;
  /** The next `n` bytes' own memory, if they all fall in one frame (then say {@link filled}). */
  span(n: number): Uint8Array | undefined;
  filled(n: number): void;
}

/**
 * Cuts a byte stream into records and opens them. A record whose plaintext falls inside one
 * frame (the sender cuts large frames into records of their own) is read and opened right in
 * that frame's memory (a posted receive's `into`), which reads of large records reach straight
 * from the kernel (see {@link direct}); others go through a record buffer reused from record to
 * record, opened in place there and fed to `sink`.
 */
export class RecordReader {
  private readonly head = Buffer.alloc(RECORD_HEAD);
  private headFill = 0;
  private readonly tag = Buffer.alloc(TAG_BYTES);
  private tagFill = 0;
  private readonly body = Buffer.alloc(RECORD_BYTES);
  /** The current record's ciphertext goes here (undefined: reading a head); `inPlace`: in the sink's memory. */
  private target: Uint8Array | undefined;
  private inPlace = false;
  private fill = 0;

  constructor(
    private readonly opener: Opener,
    private readonly sink: PlainSink,
    private readonly from: string,
  ) {}

  /** Where the kernel may write the next bytes itself: the rest of a large record's ciphertext, else undefined. */
  direct(): Uint8Array | undefined {
    const target = this.target;
    return target !== undefined && target.byteLength - this.fill >= 16 * 1024 ? target.subarray(this.fill) : undefined;
  }

  /** `n` bytes were written at the start of the view {@link direct} returned. */
  filled(n: number): void {
    this.fill += n;
  }

  feed(bytes: Uint8Array): void {
    let at = 0;
    while (at < bytes.byteLength) {
      const target = this.target;
      if (target === undefined) {
        const n = Math.min(RECORD_HEAD - this.headFill, bytes.byteLength - at);
        this.head.set(bytes.subarray(at, at + n), this.headFill);
        this.headFill += n;
        at += n;
        if (this.headFill === RECORD_HEAD) this.start(this.head.readUInt32LE(0));
      } else if (this.fill < target.byteLength) {
        const n = Math.min(target.byteLength - this.fill, bytes.byteLength - at);
        target.set(bytes.subarray(at, at + n), this.fill);
        this.fill += n;
        at += n;
      } else {
        const n = Math.min(TAG_BYTES - this.tagFill, bytes.byteLength - at);
        this.tag.set(bytes.subarray(at, at + n), this.tagFill);
        this.tagFill += n;
        at += n;
        if (this.tagFill === TAG_BYTES) this.complete(target);
      }
    }
  }

  /** A head announced a record of `length` bytes. */
  private start(length: number): void {
    if (length > RECORD_BYTES)
      throw new TransportError(`malformed record from ${this.from}: ${length} bytes (at most ${RECORD_BYTES}); the connection is closed`);
    const span = length > 0 ? this.sink.span(length) : undefined;
    this.inPlace = span !== undefined;
    this.target = span ?? this.body.subarray(0, length);
    this.fill = 0;
    this.tagFill = 0;
    this.headFill = 0;
  }

  private complete(target: Uint8Array): void {
    this.target = undefined;
    this.opener.open(this.head, target, this.tag, target);
    if (this.inPlace) this.sink.filled(target.byteLength);
    else this.sink.feed(target);
  }
}

/**
 * A message as sealed records of at most RECORD_BYTES each, handed to `emit` one by one as
 * sealed (the first is on the wire while the next is sealed; `last` marks the message's end). A
 * large frame has records of its own, so that they open right in the reader's frame.
 */
export function sealed(sealer: Sealer, frames: Buffer[], emit: (record: Buffer, last: boolean) => void): void {
  const parts = [messageHead(frames) as Uint8Array, ...frames];
  let rest = 0;
  for (const part of parts) rest += part.byteLength;
  let group: Uint8Array[] = [];
  let room = RECORD_BYTES;
  const flush = (): void => {
    const record = sealer.seal(group);
    [group, room] = [[], RECORD_BYTES];
    emit(record, rest === 0);
  };
  for (let part of parts) {
    const large = part.byteLength >= DIRECT_BYTES;
    if (large && room < RECORD_BYTES) flush();
    while (part.byteLength > 0) {
      const n = Math.min(room, part.byteLength);
      group.push(part.subarray(0, n));
      part = part.subarray(n);
      room -= n;
      rest -= n;
      if (room === 0 || rest === 0 || (large && part.byteLength === 0)) flush();
    }
  }
}

/**
 * Write `frames` on `socket` as sealed records, each to the kernel as soon as it is sealed;
 * `done` once the kernel has the last. A record's memory goes back to the sealer as soon as the
 * kernel has taken it: at once where the write completed in the call (a rank polling its
 * sockets for the answer runs no event loop, so a write callback would come only after it, and
 * every record would take fresh memory), else when its callback comes.
 */
export function writeSealed(socket: Socket, sealer: Sealer, frames: Buffer[], done?: () => void): void {
  sealed(sealer, frames, (record, last) => {
    let queued = true;
    socket.write(record, () => {
      if (queued) sealer.recycle(record);
      if (last) done?.();
    });
    if (socket.writableLength === 0) {
      queued = false;
      sealer.recycle(record);
    }
  });
}
