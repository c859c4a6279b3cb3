/** A decoded message, as the matcher and the receiver see it. */

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
}

/** The size a receiver's status reports: a typed array's byteLength, otherwise the encoded size. */
export function payloadBytes(value: unknown, wire: number): number {
  return ArrayBuffer.isView(value) ? value.byteLength : wire;
}
