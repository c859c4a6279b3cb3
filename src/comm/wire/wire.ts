/**
 * The data-plane wire protocol: what one rank sends another, whatever the transport.
 *
 * Data plane (rank -> rank, one multipart message per MPI message):
 *   frame 0     msgpack of a {@link DataHeader} tuple; the user value sits inside it with
 *               every typed array replaced by a small placeholder {@link ArrayRef}
 *   frames 1..  the raw bytes of each typed array, in placeholder order, each array split
 *               into frames of at most {@link MAX_FRAME_BYTES}
 */

/**
 * Kinds of data-plane messages. Data travels eagerly while the receiver has room for it
 * (see {@link FLOW_WINDOW_BYTES}); otherwise the sender announces it (Rts), the receiver asks
 * for it once a receive matches (Cts), and the sender sends it (Payload). Credit returns
 * the window as the receiver consumes eager data. A synchronous send's data comes after a Sync
 * frame, and the receiver answers with Ack once a receive has matched it (see synchronous.ts).
 */
export const enum MessageKind {
  Data = 0,
  Rts = 1,
  Cts = 2,
  Payload = 3,
  Credit = 4,
  Sync = 5,
  Ack = 6,
}

/**
 * Header of a data message: kind, communicator context id, source rank within that
 * communicator, tag, the value (with typed arrays as placeholders), and the sender's world rank.
 */
export type DataHeader = [kind: MessageKind.Data, context: string, source: number, tag: number, value: unknown, from: number];

/**
 * A data message whose value is one typed array (the common case) skips msgpack: frame 0 is
 * this fixed binary header, then the array's raw frames as usual. It starts with
 * {@link RAW_MARKER}, which no msgpack header of ours starts with (they are arrays).
 *
 *   0 u8 marker   1 u8 array kind   2 u16 context length   4 i32 source   8 i32 tag
 *   12 i32 from   16 f64 byte length   24.. context (UTF-8)
 */
export const RAW_MARKER = 0xd7;
export const RAW_HEADER_BYTES = 24;

/**
 * A synchronous send's message whose value is one small typed array, on the small-array fast
 * path (see engine/small-arrays.ts), has a raw header with this marker instead: the same fields, then the
 * sync id (u32 at {@link RAW_HEADER_BYTES}), then the context. Its receive acknowledges it with
 * an {@link ACK_MARKER} message where it can, the msgpack Ack otherwise (see synchronous.ts).
 */
export const RAW_SYNC_MARKER = 0xd8;
/** A raw acknowledgement, frame 0 of two (the second empty): marker, 3 zero bytes, i32 from, u32 id. */
export const ACK_MARKER = 0xd9;
export const ACK_BYTES = 12;

/** Flow-control messages: each is one frame (Payload is followed by the data message's frames). */
export type FlowHeader =
  /** "I have `bytes` for you on (context, source, tag); ask for `id` when a receive matches." */
  | [kind: MessageKind.Rts, context: string, source: number, tag: number, bytes: number, from: number, id: number]
  /** "Send me `id` now." */
  | [kind: MessageKind.Cts, from: number, id: number]
  /** "Here is `id`" (the data message follows). */
  | [kind: MessageKind.Payload, from: number, id: number]
  /** "I have consumed `bytes` of your eager data." */
  | [kind: MessageKind.Credit, from: number, bytes: number]
  /** "Tell me when a receive has matched what follows: ack `id`" (the data message follows). */
  | [kind: MessageKind.Sync, from: number, id: number]
  /** "A receive has matched your synchronous message `id`." */
  | [kind: MessageKind.Ack, from: number, id: number];

/**
 * Eager data a sender may have outstanding to one receiver (sent, not yet received there).
 * Past it, messages go by rendezvous: a receiver never holds more than this much unexpected
 * data per peer, plus a small announcement per further message.
 */
export const FLOW_WINDOW_BYTES = 64 * 1024 * 1024;

/** What a typed-array placeholder carries: which constructor, how many bytes, in how many frames, from which frame on. */
export type ArrayRef = [kind: ArrayKind, byteLength: number, frames: number, first: number];

/** Typed-array kinds carried as raw bytes, in wire order. Never reorder: it is the wire code. */
export const ARRAY_KINDS = [
  "Buffer",
  "Int8Array",
  "Uint8Array",
  "Uint8ClampedArray",
  "Int16Array",
  "Uint16Array",
  "Int32Array",
  "Uint32Array",
  "Float32Array",
  "Float64Array",
  "BigInt64Array",
  "BigUint64Array",
] as const;
export type ArrayKind = number;

/** Largest single ZeroMQ frame we emit; larger arrays are split (receivers reassemble). */
export const MAX_FRAME_BYTES = 1 << 30;
