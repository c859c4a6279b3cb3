/**
 * The small-array fast path between ranks of a host: a message whose value is one small typed
 * array is written into the transport with its raw header in place (no frames, no Buffer, no
 * msgpack), and read where it lies on arrival, its array copied once, into the `into` of the
 * receive it goes to when there is one. Byte for byte the message a frame encoding makes (see
 * raw.ts), so that either end may take the usual path instead.
 */
import type { Envelope, Sender } from "../wire/envelope.js";
import type { FlowControl } from "../wire/flow.js";
import type { Placement } from "./placement.js";
import { LastBytes } from "../wire/arrays.js";
import { RawHead, RawHeadReader } from "../wire/raw.js";
import { ON_HEAP_BYTES, OnHeapArrays } from "./on-heap.js";
import type { SameHostPath } from "../transport/port.js";
import type { TypedArray } from "../wire/values.js";

/**
 * Typed arrays up to this size take the fast path, as far as the transport can write them as one
 * ring record (see ShmTransport.sendPair; larger ones stream through the ring as frames). At 16
 * KiB, 32 and 64 KiB went the frame way: 5.4 and 22 µs a half round trip against 3.3 and 5.6
 * this way (Open MPI: 6.3 and 7.4), and cold, since only the fast path is warm after the
 * smaller sizes (the OSU demo's 32 KiB: 76 µs).
 */
const SMALL_ARRAY_BYTES = 128 * 1024;

export class SmallArrays {
  /** The header of the array being sent, and of the one arriving: one object each, refilled. */
  private readonly outHead = new RawHead();
  private readonly inHead = new RawHeadReader();
  /** The bytes of the arrays sent; the small array sent last, and the copies of small arrays (see {@link bytesOf}). */
  private readonly arrayBytes = new LastBytes();
  private lastSmall: TypedArray | undefined;
  private readonly onHeap = new OnHeapArrays();
  /** The transport's shared-memory side, if any (see Runtime.attach): the only way these messages go. */
  near: SameHostPath | undefined;

  constructor(
    private readonly flow: FlowControl,
    private readonly placement: Placement,
  ) {}

  /**
   * Write `array` (kind code `kind`) from `sender` to `worldDest` now, eagerly, if it is small, the flow
   * window has room and so has the transport (`sync`: a synchronous send's id, see synchronous.ts). @returns false if it did not go.
   */
  send(worldDest: number, sender: Sender, tag: number, array: TypedArray, kind: number, sync = -1): boolean {
    const near = this.near;
    const byteLength = array.byteLength;
    const head = this.outHead;
    // An empty array too (two frames, the second empty: see decodeRaw), on the path every other size keeps warm.
    if (near === undefined || byteLength > SMALL_ARRAY_BYTES || !head.set(sender, tag, kind, byteLength, sync)) return false;
    const wire = head.length + byteLength;
    if (!this.flow.trySpend(worldDest, wire)) return false;
    if (near.sendPair(worldDest, head, this.bytesOf(array, kind, byteLength))) return true;
    this.flow.credit(worldDest, wire);
    return false;
  }

  /**
   * The bytes of `array`, for the transport to copy now: a view of it kept while it is sent
   * again and again (see LastBytes), or a copy of a small one sent once (a value received and
   * echoed), which keeps V8 from moving it off its heap (see on-heap.ts).
   */
  private bytesOf(array: TypedArray, kind: number, byteLength: number): Uint8Array {
    if (byteLength > ON_HEAP_BYTES || array === this.lastSmall) return this.arrayBytes.of(array);
    this.lastSmall = array;
    return this.onHeap.sent(array, kind);
  }

  /**
   * A two-frame message read where it lies (see Delivery.deliverPair): if its first frame is a
   * raw header, its array is copied once, to where the receive it goes to wants it.
   * @returns its envelope, or undefined for any other message (it comes as frames).
   */
  arrive(bytes: Uint8Array, view: DataView, head: number, headLength: number, at: number, length: number): Envelope | undefined {
    const raw = this.inHead;
    if (!raw.read(bytes, view, head, headLength) || raw.byteLength !== length) return undefined;
    const value = this.placement.arrive(raw, bytes, at, length);
    return { context: raw.context, source: raw.source, tag: raw.tag, value, bytes: length, from: raw.from, wire: headLength + length, sync: raw.sync };
  }
}
