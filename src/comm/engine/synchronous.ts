/**
 * Synchronous sends (MPI_Ssend): a send that completes only once a receive has matched its
 * message. The data goes eagerly, marked with an id; the receive that takes it answers Ack
 * with that id (Runtime.consumed), and the send completes then. Waiting for the Ack is a wait
 * like a receive's (see posting.ts): listed for hang reports, and polled for through shared
 * memory. Between ranks of a host a small typed array goes on the small-array fast path (see
 * small-arrays.ts) with the id in its raw header, and the Ack comes back as a word of shared memory
 * the sender watches (see {@link BY_WORD}), or else the same way as the data (no msgpack, no frames
 * at either end), so that an 8 B ssend costs little more than a send; elsewhere a
 * Sync frame carrying the id goes first, and the Ack is a flow-control message. Past the
 * receiver's flow window a synchronous send is a rendezvous instead: its payload goes, and it
 * completes, once a receive there asks for it (the Cts).
 *
 * A receiver that exits without receiving never acknowledges: its exit notice fails what it
 * left unacknowledged, once what it sent before is delivered (see {@link exited}).
 */
import { Buffer } from "node:buffer";
import { encodeFlow } from "../wire/codec.js";
import type { Envelope, Outgoing, Sender } from "../wire/envelope.js";
import type { FlowControl } from "../wire/flow.js";
import type { Posting } from "./posting.js";
import type { ParkedSends } from "./rendezvous.js";
import type { Hurry } from "./request.js";
import type { SmallArrays } from "./small-arrays.js";
import { SENT, type FrameWriter, type SameHostPath } from "../transport/port.js";
import type { TypedArray } from "../wire/values.js";
import type { Peers, Wait } from "./waits.js";
import { ACK_BYTES, ACK_MARKER, MessageKind } from "../wire/wire.js";

/** A synchronous send waiting for its Ack: the wait (its promise's settlers on it) and its receiver. */
interface Unacked {
  wait: Wait;
  dest: number;
}

/**
 * How long a synchronous send polls for its Ack before it returns a pending promise (see
 * SyncSends.brief): a few round trips between ranks of a host, so that a receiver not yet at its
 * receive costs the caller little; a receiver descheduled or computing is waited for as usual.
 */
const BRIEF_MS = 0.02;

/**
 * The mark of a synchronous send acknowledged by word: its receiver stores its id in the control
 * block of its ring to the sender (SameHostPath.acknowledge), no Ack record, and the sender's
 * polls read that word. One such send at a time per receiver (one word per pair; the others get
 * records). Timed, 8 B ssend/recv ping-pong: 1.64× send with an Ack record, 1.36-1.40× by word
 * (same runs, see docs/performance.md).
 */
const BY_WORD = 0x8000_0000;

/** The second, empty frame of a raw Ack. */
const NO_BYTES = new Uint8Array(0);

/** A raw Ack's frame, written in place (see ACK_MARKER): one object, refilled per Ack. */
class AckHead implements FrameWriter {
  readonly length = ACK_BYTES;
  id = 0;

  constructor(private readonly from: number) {}

  write(_bytes: Uint8Array, view: DataView, at: number): void {
    view.setUint32(at, ACK_MARKER, true);
    view.setInt32(at + 4, this.from, true);
    view.setUint32(at + 8, this.id, true);
  }
}

export class SyncSends {
  private readonly unacked = new Map<number, Unacked>();
  private nextId = 0;
  /** By receiver (world rank): its synchronous send acknowledged by word still unacknowledged, or 0 (see {@link BY_WORD}). */
  private readonly byWord: number[] = [];
  private readonly ackHead: AckHead;
  /** World ranks that have exited or died, with the error a synchronous send to them fails with. */
  private readonly gone = new Map<number, (call: string) => Error>();

  constructor(
    /** This rank (world). */
    private readonly rank: number,
    /** Where the wait for an Ack is listed and polled for; its transport is the runtime's. */
    private readonly posting: Posting,
    private readonly flow: FlowControl,
    private readonly parked: ParkedSends,
    private readonly small: SmallArrays,
    /** Delivery of a message to this rank itself. */
    private readonly deliverSelf: (frames: Buffer[]) => void,
  ) {
    this.ackHead = new AckHead(rank);
  }

  /**
   * Send `message` to world rank `dest` and resolve once a receive there has matched it (see
   * the module's comment); rejects with a RankFailedError if `dest` dies or exits first.
   * @param wait the send's wait for its Ack (see newWait): its call, its source `dest` in the
   *   communicator (for hang reports) and its tag; `wait.hurry`: poll for the Ack only when this
   *   hook is called (issend: when its request is waited for)
   * @param peers whose death fails the send (its receiver)
   */
  send(dest: number, message: Outgoing, wait: Wait, peers: Peers): Promise<void> {
    const { call, hurry } = wait;
    const gone = this.gone.get(dest);
    if (gone !== undefined) return Promise.reject(gone(call));
    const transport = this.posting.transport;
    const self = dest === this.rank || transport === undefined;
    if (!self && !this.flow.trySpend(dest, message.wire)) return this.parked.announce(dest, message, call, { peer: wait.source });
    const id = this.next();
    // To itself: only this rank's own receive completes it, so it never polls.
    const promise = this.await(id, dest, wait, peers, self ? (hurry ?? {}) : hurry);
    const frames = [encodeFlow([MessageKind.Sync, this.rank, id]), ...message.frames];
    if (self) this.deliverSelf(frames);
    else transport.send(dest, frames, false, message.borrowed).catch((error: Error) => this.settle(id, error));
    return promise;
  }

  /**
   * A synchronous send of a small typed array to world rank `dest` on the fast path (see the
   * module's comment; arguments as {@link send}: the message is `array`, of kind code `kind`, from `sender`). @returns undefined if
   * it cannot go that way now: encode it and {@link send} it.
   */
  sendArray(dest: number, sender: Sender, array: TypedArray, kind: number, wait: Wait, peers: Peers) {
    const near = this.posting.near;
    if (near === undefined || dest === this.rank || this.gone.has(dest)) return undefined;
    const word = (this.byWord[dest] ?? 0) === 0;
    const id = word ? (this.next(false) | BY_WORD) >>> 0 : this.next(false);
    if (!this.small.send(dest, sender, wait.tag, array, kind, id)) return undefined;
    this.next();
    if (word) {
      this.byWord[dest] = id;
      near.expectAck(dest, id);
    }
    // ssend (not issend, which returns at once): its receive is most often posted already, and
    // its Ack comes within a microsecond or two. Polled for here, briefly, it completes with no
    // wait listed, no promise of its own and no turn of the event loop (8 B ssend/recv round
    // trip: see docs/performance.md); else it waits like any other (see {@link await}).
    if (wait.hurry === undefined && this.brief(near, dest, id)) return SENT;
    // Registered after the write: its Ack can only be taken by a later poll.
    return this.await(id, dest, wait, peers, wait.hurry);
  }

  /** The id of the next synchronous send (below {@link BY_WORD}, never 0); `take`: it is used. */
  private next(take = true): number {
    const id = (this.nextId % (BY_WORD - 1)) + 1;
    if (take) this.nextId = id;
    return id;
  }

  /** The synchronous send polled for in {@link brief}: its id (0: none), its receiver, and whether its Ack came. */
  private briefId = 0;
  private briefDest = -1;
  private briefAcked = false;
  private readonly briefDone = (): boolean => this.briefAcked;

  /** Poll for the Ack of synchronous send `id` to `dest` for at most {@link BRIEF_MS}. @returns true if it came. */
  private brief(near: SameHostPath, dest: number, id: number): boolean {
    this.briefId = id;
    this.briefDest = dest;
    this.briefAcked = false;
    try {
      near.await(this.briefDone, BRIEF_MS);
    } finally {
      this.briefId = 0;
    }
    return this.briefAcked;
  }

  /** Wait for the Ack of synchronous send `id` in `wait`, listed and polled for (see Posting.post). */
  private await(id: number, dest: number, wait: Wait, peers: Peers, hurry: Hurry | undefined): Promise<void> {
    const promise = this.posting.promise(wait) as Promise<void>;
    this.unacked.set(id, { wait, dest });
    this.posting.post(wait, peers, hurry);
    return promise;
  }

  /** A receive has taken `envelope`, a synchronous send's message: acknowledge it to its sender. */
  acknowledge(envelope: Envelope): void {
    const id = envelope.sync!;
    const { from } = envelope;
    // To itself: once the receive's own completion has run (its request reports done before the ssend returns, as MPI's does).
    if (from === this.rank) return void setImmediate(() => this.acked(this.rank, id));
    if (id >= BY_WORD && this.posting.near?.acknowledge(from, id) === true) return;
    this.ackHead.id = id;
    if (this.posting.near?.sendPair(from, this.ackHead, NO_BYTES) === true) return;
    void this.posting.transport?.send(from, [encodeFlow([MessageKind.Ack, this.rank, id])]).catch(() => undefined);
  }

  /** Delivery hook: a raw Ack read where it lies (see SameHostPath.sendPair). @returns false for any other message. */
  arrive(bytes: Uint8Array, view: DataView, head: number, headLength: number): boolean {
    if (headLength !== ACK_BYTES || bytes[head] !== ACK_MARKER) return false;
    this.acked(view.getInt32(head + 4, true), view.getUint32(head + 8, true));
    return true;
  }

  /** World rank `from` acknowledges synchronous send `id`: it completes. */
  acked(from: number, id: number): void {
    if (id >= BY_WORD && this.byWord[from] === id) {
      this.byWord[from] = 0;
      this.posting.near?.expectAck(from, 0); // if it came as a record after all
    }
    if (id === this.briefId && from === this.briefDest) this.briefAcked = true;
    else if (this.unacked.get(id)?.dest === from) this.settle(id);
  }

  /** Fail the synchronous send waiting in `wait` (its receiver died: see Runtime.markFailed). @returns false if there is none. */
  cancel(wait: Wait, error: Error): boolean {
    for (const [id, unacked] of this.unacked) if (unacked.wait === wait) return (this.settle(id, error), true);
    return false;
  }

  /**
   * World rank `rank` has exited (or died): fail every synchronous send to it still
   * unacknowledged, and every later one, with `failure(call)`. Only once `drained` (the
   * transport has delivered what is already here): the exit notice comes from the launcher, and
   * may overtake the rank's last messages, an Ack among them (a send failed for nothing).
   */
  async exited(rank: number, failure: (call: string) => Error, drained: Promise<void> | undefined): Promise<void> {
    await drained?.catch(() => undefined);
    if (!this.gone.has(rank)) this.gone.set(rank, failure);
    this.byWord[rank] = 0;
    for (const [id, { wait, dest }] of this.unacked) if (dest === rank) this.settle(id, failure(wait.call));
  }

  /** Complete synchronous send `id`, or fail it with `error`. */
  private settle(id: number, error?: Error): void {
    const unacked = this.unacked.get(id);
    if (unacked === undefined) return;
    this.unacked.delete(id);
    const { wait } = unacked;
    wait.done = true;
    this.posting.settle(wait);
    if (error === undefined) wait.resolve!(undefined);
    else wait.reject!(error);
  }
}
