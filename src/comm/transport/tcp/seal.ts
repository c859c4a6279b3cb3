/**
 * The record layer of the direct TCP path when encrypted (the default): AES-256-GCM through
 * OpenSSL (node:crypto), with keys of each connection derived from the job's secret.
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
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, timingSafeEqual } from "node:crypto";
import { TransportError } from "../../../errors.js";
import { messageHead } from "./framing.js";

/** Plaintext bytes per record, at most: large enough that sealing runs at OpenSSL's speed, small enough to hold one in memory per connection. */
export const RECORD_BYTES = 256 * 1024;
export const TAG_BYTES = 16;
export const NONCE_BYTES = 32;
/** The record header: its ciphertext length. */
export const RECORD_HEAD = 4;

/** A connection's keys (one direction, writer to reader). */
export interface ConnectionKeys {
  readonly cipher: Buffer;
  /** What the reader sends to prove it holds the job's secret. */
  readonly proof: Buffer;
}

/** Derive the keys of the connection from `writer` to `reader` with these nonces. */
export function connectionKeys(secret: string, writer: number, reader: number, readerNonce: Uint8Array, writerNonce: Uint8Array): ConnectionKeys {
  const salt = Buffer.concat([readerNonce, writerNonce]);
  const keys = Buffer.from(hkdfSync("sha256", secret, salt, `tsmpi tcp ${writer}>${reader}`, 64));
  const cipher = keys.subarray(0, 32);
  return { cipher, proof: createHmac("sha256", keys.subarray(32)).update("reader holds the job secret").digest() };
}

/** Does `proof` equal the expected one (in constant time)? */
export function proofMatches(keys: ConnectionKeys, proof: Uint8Array): boolean {
  return proof.byteLength === keys.proof.byteLength && timingSafeEqual(proof, keys.proof);
}

/** The 12-byte GCM nonce of record number `n`. */
function nonceOf(n: bigint, into: Buffer): Buffer {
  into.writeBigUInt64LE(n, 4);
  return into;
}

/** Seals records in order. */
export class Sealer {
  private sequence = 0n;
  private readonly nonce = Buffer.alloc(12);

  constructor(private readonly key: Buffer) {}

  /** Seal `parts` (at most {@link RECORD_BYTES} together) as one record: @returns its pieces, to be written in order. */
  seal(parts: readonly Uint8Array[]): Buffer[] {
    let length = 0;
    for (const part of parts) length += part.byteLength;
    const head = Buffer.allocUnsafe(RECORD_HEAD);
    head.writeUInt32LE(length, 0);
    const cipher = createCipheriv("aes-256-gcm", this.key, nonceOf(this.sequence++, this.nonce));
    cipher.setAAD(head);
    const out = [head];
    for (const part of parts) if (part.byteLength > 0) out.push(cipher.update(part));
    out.push(cipher.final(), cipher.getAuthTag());
    return out;
  }
}

/** Opens records in order; any record that does not open (forged, replayed, reordered, truncated) is an error. */
export class Opener {
  private sequence = 0n;
  private readonly nonce = Buffer.alloc(12);
  private readonly head = Buffer.alloc(RECORD_HEAD);

  constructor(
    private readonly key: Buffer,
    /** Names the stream in errors. */
    private readonly from: string,
  ) {}

  /** Open the record whose ciphertext and tag are `body` (`length` bytes of ciphertext). */
  open(length: number, body: Uint8Array): Buffer {
    this.head.writeUInt32LE(length, 0);
    const decipher = createDecipheriv("aes-256-gcm", this.key, nonceOf(this.sequence++, this.nonce));
    decipher.setAAD(this.head);
    decipher.setAuthTag(body.subarray(length, length + TAG_BYTES));
    try {
      const plain = decipher.update(body.subarray(0, length));
      decipher.final();
      return plain;
    } catch (error) {
      throw new TransportError(`a record from ${this.from} failed authentication (forged, replayed or reordered); the connection is closed`, { cause: error });
    }
  }
}

/**
 * Cuts a byte stream into records and opens them. Reads of large records go straight into the
 * record buffer (see {@link direct}); the plaintext goes to `sink`.
 */
export class RecordReader {
  private readonly head = Buffer.alloc(RECORD_HEAD);
  private headFill = 0;
  /** The record being read: ciphertext and tag (reused from record to record). */
  private body = Buffer.alloc(RECORD_BYTES + TAG_BYTES);
  private bodyLength = -1;
  private bodyFill = 0;

  constructor(
    private readonly opener: Opener,
    private readonly sink: (plain: Buffer) => void,
    private readonly from: string,
  ) {}

  direct(): Uint8Array | undefined {
    if (this.bodyLength < 0) return undefined;
    const rest = this.bodyLength + TAG_BYTES - this.bodyFill;
    return rest >= 16 * 1024 ? this.body.subarray(this.bodyFill, this.bodyLength + TAG_BYTES) : undefined;
  }

  filled(n: number): void {
    this.bodyFill += n;
    if (this.bodyFill === this.bodyLength + TAG_BYTES) this.complete();
  }

  feed(bytes: Uint8Array): void {
    let at = 0;
    while (at < bytes.byteLength) {
      if (this.bodyLength < 0) {
        const n = Math.min(RECORD_HEAD - this.headFill, bytes.byteLength - at);
        this.head.set(bytes.subarray(at, at + n), this.headFill);
        this.headFill += n;
        at += n;
        if (this.headFill < RECORD_HEAD) continue;
        const length = this.head.readUInt32LE(0);
        if (length > RECORD_BYTES)
          throw new TransportError(`malformed record from ${this.from}: ${length} bytes (at most ${RECORD_BYTES}); the connection is closed`);
        this.bodyLength = length;
        this.bodyFill = 0;
        this.headFill = 0;
        continue;
      }
      const n = Math.min(this.bodyLength + TAG_BYTES - this.bodyFill, bytes.byteLength - at);
      this.body.set(bytes.subarray(at, at + n), this.bodyFill);
      at += n;
      this.filled(n);
    }
  }

  private complete(): void {
    const length = this.bodyLength;
    this.bodyLength = -1;
    this.sink(this.opener.open(length, this.body));
  }
}

/** A message as sealed records of at most RECORD_BYTES each, handed to `emit` one by one as sealed (so that the first is on the wire while the next is sealed). */
export function sealed(sealer: Sealer, frames: Buffer[], emit: (record: Buffer[]) => void): void {
  let group: Uint8Array[] = [];
  let room = RECORD_BYTES;
  for (let part of [messageHead(frames) as Uint8Array, ...frames]) {
    while (part.byteLength > 0) {
      const n = Math.min(room, part.byteLength);
      group.push(part.subarray(0, n));
      part = part.subarray(n);
      room -= n;
      if (room === 0) {
        const record = sealer.seal(group);
        [group, room] = [[], RECORD_BYTES];
        emit(record);
      }
    }
  }
  if (group.length > 0) emit(sealer.seal(group));
}
