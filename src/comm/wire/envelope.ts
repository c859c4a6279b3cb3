/** A message as the engine sees it: decoded, as the matcher and the receiver see it; encoded, on its way out. */
import { Buffer } from "node:buffer";

/** A decoded data message (or the announcement of one) with its sizes. */
export interface Envelope {
  context: string;
  source: number;
  tag: number;
  value: unknown;
  /** Payload size: a typed array's byteLength, otherwise the encoded size. */
  bytes: number;
  /** World rank of the sender. */
  from: number;
  /** Bytes on the wire (what flow control counts); 0 for an announcement. */
  wire: number;
  /** Set on an announced message: the receiver must ask `from` for payload `id`. */
  rendezvous?: { id: number };
  /** Set on a synchronous send's message: the receive that takes it acknowledges `sync` to `from`. */
  sync?: number;
}

/** The size a receiver's status reports: a typed array's byteLength, otherwise the encoded size. */
export function payloadBytes(value: unknown, wire: number): number {
  return ArrayBuffer.isView(value) ? value.byteLength : wire;
}

/**
 * Who sends on which context: a communicator's rank on its point-to-point or its collective
 * context. One object per communicator and context, made with it and reused by every message
 * it sends (encode, the raw header, the small-array path take it instead of three numbers).
 */
export interface Sender {
  readonly context: string;
  /** Rank within the communicator. */
  readonly source: number;
  /** World rank. */
  readonly from: number;
}

/** An encoded message on its way out, with what an announcement of it must say. */
export interface Outgoing {
  frames: Buffer[];
  /** Total size of the frames (what flow control counts). */
  wire: number;
  context: string;
  /** Source rank within the communicator. */
  source: number;
  tag: number;
  /** Payload size as the receiver's status reports it. */
  bytes: number;
  /** The frames view the sender's memory (see Runtime.borrows): copy them before keeping them. */
  borrowed: boolean;
}
