/**
 * Synchronous sends (MPI_Ssend): a send that completes only once a receive has matched its
 * message. The data goes eagerly, after a Sync frame that carries an id; the receive that
 * takes it answers Ack with that id (Runtime.consumed), and the send completes then. Waiting
 * for the Ack is a wait like a receive's (see posting.ts): listed for hang reports, and polled
 * for through shared memory, so that an 8 B ssend costs about one more one-way trip than a
 * send, not a doorbell. Past the receiver's flow window a synchronous send is a rendezvous
 * instead: its payload goes, and it completes, once a receive there asks for it (the Cts).
 */
import { Buffer } from "node:buffer";
import { encodeFlow } from "../wire/codec.js";
import type { Envelope, Outgoing } from "../wire/envelope.js";
import type { FlowControl } from "../wire/flow.js";
import type { Posting } from "./posting.js";
import type { ParkedSends } from "./rendezvous.js";
import type { Hurry } from "./request.js";
import { newWait, type Peers, type Wait } from "./waits.js";
import { MessageKind } from "../wire/wire.js";

/** A synchronous send waiting for its Ack: the wait (its promise's settlers on it) and its receiver. */
interface Unacked {
  wait: Wait;
  dest: number;
}

export class SyncSends {
  private readonly unacked = new Map<number, Unacked>();
  private nextId = 0;

  constructor(
    /** This rank (world). */
    private readonly rank: number,
    /** Where the wait for an Ack is listed and polled for; its transport is the runtime's. */
    private readonly posting: Posting,
    private readonly flow: FlowControl,
    private readonly parked: ParkedSends,
    /** Delivery of a message to this rank itself. */
    private readonly deliverSelf: (frames: Buffer[]) => void,
  ) {}

  /**
   * Send `message` to world rank `dest` and resolve once a receive there has matched it (see
   * the module's comment); rejects with a RankFailedError if `dest` dies first (see {@link cancel}).
   * @param peer `dest` in the communicator (for hang reports)
   * @param peers whose death fails the send (its receiver)
   * @param hurry poll for the Ack only when this hook is called (issend: when its request is waited for)
   */
  send(dest: number, message: Outgoing, call: string, peer: number, peers: Peers, hurry?: Hurry): Promise<void> {
    const transport = this.posting.transport;
    const self = dest === this.rank || transport === undefined;
    if (!self && !this.flow.trySpend(dest, message.wire)) return this.parked.announce(dest, message, call, { peer });
    const id = ++this.nextId;
    const wait = newWait(call, message.context, peer, message.tag);
    const promise = this.posting.promise(wait) as Promise<void>;
    this.unacked.set(id, { wait, dest });
    // To itself: only this rank's own receive completes it, so it never polls.
    this.posting.post(wait, peers, self ? (hurry ?? {}) : hurry);
    const frames = [encodeFlow([MessageKind.Sync, this.rank, id]), ...message.frames];
    if (self) this.deliverSelf(frames);
    else transport.send(dest, frames, false, message.borrowed).catch((error: Error) => this.settle(id, error));
    return promise;
  }

  /** A receive has taken `envelope`, a synchronous send's message: acknowledge it to its sender. */
  acknowledge(envelope: Envelope): void {
    const id = envelope.sync!;
    // To itself: once the receive's own completion has run (its request reports done before the ssend returns, as MPI's does).
    if (envelope.from === this.rank) setImmediate(() => this.acked(this.rank, id));
    else void this.posting.transport?.send(envelope.from, [encodeFlow([MessageKind.Ack, this.rank, id])]).catch(() => undefined);
  }

  /** World rank `from` acknowledges synchronous send `id`: it completes. */
  acked(from: number, id: number): void {
    if (this.unacked.get(id)?.dest === from) this.settle(id);
  }

  /** Fail the synchronous send waiting in `wait` (its receiver died: see Runtime.markFailed). @returns false if there is none. */
  cancel(wait: Wait, error: Error): boolean {
    for (const [id, unacked] of this.unacked) if (unacked.wait === wait) return (this.settle(id, error), true);
    return false;
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
