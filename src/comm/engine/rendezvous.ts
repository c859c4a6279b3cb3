/**
 * Rendezvous sends, for messages beyond the receiver's flow window: the sender parks the
 * payload and announces it (Rts); the receiver asks for it once a receive matches (Cts) and
 * pulls it (Payload). This module keeps both halves' bookkeeping.
 */
import { Buffer } from "node:buffer";
import { encodeFlow, type Envelope, type TypedArray } from "../wire/codec.js";
import type { Outgoing } from "../wire/envelope.js";
import type { SameHostPath, Transport } from "../transport/port.js";
import { ANYONE, newWait, type Waits } from "./waits.js";
import { MessageKind } from "../wire/wire.js";

/** An announced message whose payload waits here for its receiver's request. */
export interface Parked {
  dest: number;
  frames: Buffer[];
  call: string;
  /** The frames view the sender's memory (see Runtime.announce). */
  borrowed?: boolean;
  /** Settled once the payload is handed to the transport (for senders that wait for that). */
  handover?: { resolve: () => void; reject: (error: Error) => void };
}

interface Pull {
  resolve: (envelope: Envelope) => void;
  reject: (error: Error) => void;
  /** The wait that pulls, so a peer's death can cancel it; marked done on arrival. */
  token: { done?: boolean };
  /** Where the receiver wants the payload's array (see Runtime.place). */
  into?: TypedArray;
}

/** A cautious copy speed (4 GB/s): how long copying a payload would take, to poll no longer than that instead. */
const COPY_BYTES_PER_MS = 4e6;

/** The sender's half: payloads parked until asked for. */
export class ParkedSends {
  private readonly parked = new Map<number, Parked>();
  private nextId = 0;
  /** Set once the runtime has its transport, and its shared-memory side (where a parked payload may wait to be pulled). */
  transport: Transport | undefined;
  near: SameHostPath | undefined;

  constructor(
    /** This rank (world). */
    private readonly rank: number,
    /** Where a collective waiting for its payload's handover is listed, for hang reports. */
    private readonly waits: Waits,
  ) {}

  /** Park the payload of `message` for world rank `dest` and send its announcement (see Runtime.send). */
  announce(dest: number, message: Outgoing, call: string, handover?: { peer: number }): Promise<void> {
    const transport = this.transport!;
    // A collective (handover) holds its caller until the payload has left: its memory stays put.
    const parked: Parked = { dest, frames: message.frames, call, borrowed: message.borrowed && handover === undefined };
    const id = this.park(parked);
    // Keep reading while payloads are parked: their receivers' requests must be heard.
    if (this.parked.size === 1) transport.acquire();
    const announced = transport.send(dest, [encodeFlow([MessageKind.Rts, message.context, message.source, message.tag, message.bytes, this.rank, id])]);
    if (parked.borrowed) this.keepOrCopy(parked, id, message.wire);
    if (!handover) return announced;
    const handed = new Promise<void>((resolve, reject) => (parked.handover = { resolve, reject }));
    // It may settle before the announcement is queued, or never be awaited if that fails.
    handed.catch(() => undefined);
    // Listed like a receive, so that a hang report shows the collective waiting for its peer.
    const wait = newWait(call, message.context, handover.peer, message.tag);
    this.waits.add(wait, ANYONE);
    return announced.then(() => handed).finally(() => this.waits.delete(wait));
  }

  /** A receiver asks for a parked payload: send it. @returns false if there is none for it. */
  sendPayload(from: number, id: number): boolean {
    const parked = this.take(id, from);
    if (parked === undefined) return false;
    const sent = this.transport!.send(
      parked.dest,
      [encodeFlow([MessageKind.Payload, this.rank, id]), ...parked.frames],
      parked.handover !== undefined,
      parked.borrowed,
    );
    void sent.then(
      () => parked.handover?.resolve(),
      (error: Error) => parked.handover?.reject(error),
    );
    return true;
  }

  get size(): number {
    return this.parked.size;
  }

  /** Park a payload; @returns the id its announcement carries. */
  park(parked: Parked): number {
    const id = ++this.nextId;
    this.parked.set(id, parked);
    return id;
  }

  has(id: number): boolean {
    return this.parked.has(id);
  }

  /**
   * A parked payload that views the caller's memory: poll for its receiver's request for about
   * as long as copying it would take, so that a receiver already waiting pulls it straight from
   * that memory (one copy through shared memory instead of three); past that, copy it, since
   * the caller may reuse its memory as soon as `send` returns.
   */
  keepOrCopy(parked: Parked, id: number, bytes: number): void {
    this.near?.await(() => !this.parked.has(id), bytes / COPY_BYTES_PER_MS);
    if (!this.parked.has(id)) return;
    parked.frames = parked.frames.map((frame) => Buffer.from(frame));
    parked.borrowed = false;
  }

  /** The payload `from` asks for, removed; undefined if there is none for it. */
  take(id: number, from: number): Parked | undefined {
    const parked = this.parked.get(id);
    if (parked === undefined || parked.dest !== from) return undefined;
    this.parked.delete(id);
    this.unparked();
    return parked;
  }

  /** Remove and return everything parked for `rank` (it will never ask). */
  dropFor(rank: number): Parked[] {
    const dropped: Parked[] = [];
    for (const [id, parked] of this.parked) {
      if (parked.dest !== rank) continue;
      this.parked.delete(id);
      dropped.push(parked);
    }
    if (dropped.length > 0) this.unparked();
    return dropped;
  }

  private unparked(): void {
    if (this.parked.size === 0) this.transport!.release();
  }
}

/** The receiver's half: receives that matched an announcement and wait for its payload. */
export class Pulls {
  private readonly pulls = new Map<string, Pull>();

  expect(from: number, id: number, token: { done?: boolean }, into?: TypedArray): Promise<Envelope> {
    return new Promise((resolve, reject) => this.pulls.set(`${from}:${id}`, { resolve, reject, token, into }));
  }

  /** The `into` array of the receive that waits for payload `id` from `from`, if any. */
  destination(from: number, id: number): TypedArray | undefined {
    return this.pulls.size === 0 ? undefined : this.pulls.get(`${from}:${id}`)?.into;
  }

  /** A payload arrived; false if nobody asked for it. */
  arrive(from: number, id: number, envelope: Envelope): boolean {
    const key = `${from}:${id}`;
    const pull = this.pulls.get(key);
    if (pull === undefined) return false;
    this.pulls.delete(key);
    pull.token.done = true;
    pull.resolve(envelope);
    return true;
  }

  /** Reject the pull made for `token`; false if there is none. */
  cancel(token: object, error: Error): boolean {
    for (const [key, pull] of this.pulls) {
      if (pull.token !== token) continue;
      this.pulls.delete(key);
      pull.reject(error);
      return true;
    }
    return false;
  }
}
