/**
 * Where the arrays of arriving messages land: straight into the `into` array of the receive
 * they go to when it fits (the transport writes them there as they arrive), else into frames
 * recycled from earlier unexpected messages; and the one copy into `into` of a message that
 * arrived before its receive was posted.
 */
import { Buffer } from "node:buffer";
import { arrayKind, isTypedArray, type Envelope, type TypedArray } from "../wire/codec.js";
import { CTORS, LastBytes } from "../wire/arrays.js";
import type { Matcher } from "./matching.js";
import { peekArray, peekPayload } from "../wire/peek.js";
import { FramePool } from "./recycle.js";
import { ON_HEAP_BYTES, OnHeapArrays } from "./on-heap.js";
import type { Pulls } from "./rendezvous.js";

/** What an arriving array's header says about it (a raw header, read in place: see RawHeadReader). */
export interface ArrivingHead {
  context: string;
  source: number;
  tag: number;
  kind: number;
}

export class Placement {
  /** Frames of unexpected messages, recycled by receives with `into`. */
  private readonly frames = new FramePool();
  /** The bytes of the `into` arrays messages land in. */
  private readonly intoBytes = new LastBytes();
  /** Small arrays received as values (see on-heap.ts). */
  private readonly small = new OnHeapArrays();

  constructor(
    private readonly matcher: Matcher,
    private readonly pulls: Pulls,
  ) {}

  /**
   * Delivery hook: a message (or pulled payload) whose one array fits the `into` of the receive
   * it goes to is written there as it arrives, instead of into fresh memory.
   */
  place(prior: Buffer[], length: number): Uint8Array | undefined {
    const header = peekArray(prior[prior.length - 1]!);
    if (header === undefined || header.byteLength !== length) return undefined;
    if (prior.length === 1)
      return this.fitting(this.posted(header.context, header.source, header.tag), header.kind, length)?.subarray(0, length) ?? this.frames.take(length);
    const payload = peekPayload(prior[0]!);
    return payload && this.fitting(this.pulls.destination(payload.from, payload.id), header.kind, length)?.subarray(0, length);
  }

  /** The bytes of `into`, if it is an array of `kind` that holds `length` of them. */
  private fitting(into: TypedArray | undefined, kind: number, length: number): Uint8Array | undefined {
    if (into === undefined) return undefined;
    const bytes = this.intoBytes.of(into);
    return this.intoBytes.kind === kind && bytes.byteLength >= length ? bytes : undefined;
  }

  /** The `into` of the posted receive a data message for (`context`, `source`, `tag`) goes to, if one names its source. */
  private posted(context: string, source: number, tag: number): TypedArray | undefined {
    return this.matcher.intoPosted > 0 ? this.matcher.destination(context, source, tag) : undefined;
  }

  /**
   * An array of `length` bytes of `head.kind` has arrived whole at `at` of `bytes` (transport memory,
   * valid only now) for `head`'s (context, source, tag): copy it once, into the `into` of the
   * receive it goes to when it fits, else into a recycled frame or a fresh array. @returns the array.
   */
  arrive(head: ArrivingHead, bytes: Uint8Array, at: number, length: number): TypedArray {
    const { kind } = head;
    const into = this.posted(head.context, head.source, head.tag);
    const fits = this.fitting(into, kind, length);
    if (fits === undefined && length <= ON_HEAP_BYTES && kind !== 0) return this.small.received(kind, bytes, at, length);
    const target = fits ?? this.frames.take(length) ?? new Uint8Array(length);
    if (length <= 64) for (let i = 0; i < length; i++) target[i] = bytes[at + i]!;
    else target.set(bytes.subarray(at, at + length));
    // The receive's own array when the message fills it: no view to make, nothing for it to check.
    if (fits !== undefined && into!.byteLength === length) return into!;
    const Ctor = CTORS[kind]!;
    return kind === 0 ? Buffer.from(target.buffer, target.byteOffset, length) : new Ctor(target.buffer, target.byteOffset, length / Ctor.BYTES_PER_ELEMENT);
  }

  /**
   * A message received with `into`: copied there now if it arrived unexpected into memory of
   * its own (`borrowed`: frames the transport wrote, which it does not keep), whose frame then
   * goes back to the pool (see recycle.ts). Other cases are left to the caller (already in
   * place, or not a fit: the caller reports that).
   */
  landed(envelope: Envelope, into: TypedArray, borrowed: boolean): Envelope {
    const value = envelope.value;
    if (!isTypedArray(value) || arrayKind(value) !== arrayKind(into) || value.byteLength > into.byteLength || value.buffer === into.buffer) return envelope;
    if (!borrowed) return envelope;
    // Same kind: a copy of the bytes. A small value's own `.buffer` is not asked for (see on-heap.ts).
    (into as Uint8Array).set(value as Uint8Array);
    if (value.byteLength > ON_HEAP_BYTES) this.frames.give(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
    // The envelope is this receive's own: no copy of it (an object spread per receive), and
    // `into` itself when the message fills it.
    envelope.value = value.length === into.length ? into : into.subarray(0, value.length);
    return envelope;
  }
}
