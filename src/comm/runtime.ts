/**
 * The per-process state every communicator shares: this rank's world rank and size,
 * the transport and the matcher. Communicators translate their ranks to world ranks here.
 */
import { decodeMessage, encodeFlow, type Envelope, type Incoming } from "./codec.js";
import { RankFailedError } from "../errors.js";
import { Matcher } from "./matching.js";
import { FLOW_WINDOW_BYTES, MessageKind, type WaitState } from "./protocol.js";
import type { Transport } from "./transport.js";

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
}

/** Flow-control state towards one peer. */
interface Flow {
  /** Eager bytes sent to it that it has not yet reported consumed. */
  outstanding: number;
  /** Eager bytes received from it and consumed here, not yet reported back. */
  consumed: number;
}

/** An announced message whose payload waits here for its receiver's request. */
interface Parked {
  dest: number;
  frames: Buffer[];
  call: string;
  /** Settled once the payload is handed to ZeroMQ (for senders that wait for that). */
  handover?: { resolve: () => void; reject: (error: Error) => void };
}

interface Wait {
  call: string;
  context: string;
  source: number;
  tag: number;
  since: number;
}

/** Whom a receive depends on, in world ranks: its source (-1: any), and its communicator's members. */
export interface Peers {
  source: number;
  group: readonly number[];
  /** collective traffic: any member's death dooms it */
  collective: boolean;
}

const ANYONE: Peers = { source: -1, group: [], collective: false };

export class Runtime {
  readonly matcher = new Matcher();
  /** Messages delivered so far (hang detection: "no message moving"). */
  delivered = 0;
  private readonly waits = new Map<Wait, Peers>();
  /** World ranks known to have died, with the launcher's reason. */
  private readonly failed = new Map<number, string>();
  /** World ranks known to have finished, with why a message for them cannot be taken. */
  private readonly exited = new Map<number, string>();
  private readonly flows = new Map<number, Flow>();
  /** Announced messages waiting for their receiver to ask for them, by id. */
  private readonly parked = new Map<number, Parked>();
  private nextId = 0;
  /** Receives that matched an announcement and wait for its payload, by `from:id`. */
  private readonly pulls = new Map<string, { resolve: (envelope: Envelope) => void; reject: (error: Error) => void; token: object }>();

  constructor(
    readonly rank: number,
    readonly size: number,
    readonly transport: Transport | undefined,
  ) {}

  private flow(rank: number): Flow {
    let flow = this.flows.get(rank);
    if (flow === undefined) this.flows.set(rank, (flow = { outstanding: 0, consumed: 0 }));
    return flow;
  }

  private drop(what: string): void {
    process.stderr.write(`tsmpi: rank ${this.rank} dropped ${what}\n`);
  }

  /** Decode and act on an arriving message; a malformed or unexpected one is logged and dropped, never fatal. */
  readonly deliver = (frames: Buffer[]): void => {
    let message: Incoming;
    try {
      message = decodeMessage(frames);
    } catch (error) {
      return this.drop(`a malformed message: ${(error as Error).message}`);
    }
    switch (message.kind) {
      case MessageKind.Data:
      case MessageKind.Rts:
        this.delivered++;
        return this.matcher.deliver(message.envelope);
      case MessageKind.Cts: {
        const parked = this.parked.get(message.id);
        if (parked === undefined || parked.dest !== message.from) return this.drop(`a request for unknown message ${message.id} from rank ${message.from}`);
        this.unpark(message.id);
        const sent = this.transport!.send(parked.dest, [encodeFlow([MessageKind.Payload, this.rank, message.id]), ...parked.frames]);
        void sent.then(
          () => parked.handover?.resolve(),
          (error: Error) => parked.handover?.reject(error),
        );
        return;
      }
      case MessageKind.Payload: {
        const key = `${message.from}:${message.id}`;
        const pull = this.pulls.get(key);
        if (pull === undefined) return this.drop(`an unrequested payload ${message.id} from rank ${message.from}`);
        this.pulls.delete(key);
        this.delivered++;
        return pull.resolve(message.envelope);
      }
      case MessageKind.Credit: {
        const flow = this.flow(message.from);
        flow.outstanding = Math.max(0, flow.outstanding - message.bytes);
        return;
      }
    }
  };

  /**
   * Send an encoded message to a world rank; a message to oneself is matched at once.
   * Eager while the receiver's window has room; otherwise only an announcement goes now and
   * the payload waits here until the receiver asks for it. Either way this resolves at once
   * (standard-mode send: it never waits for a matching receive), unless `handover` is set:
   * then an announced message resolves once its payload has been handed to ZeroMQ, as MPI's
   * blocking collectives complete only when their data has left. Collectives use this so that
   * a root that goes on computing does not hold back the data its peers wait for (a rank's
   * event loop, which answers payload requests, is not turning while it computes).
   */
  send(worldDest: number, message: Outgoing, call = "send", handover?: { peer: number }): Promise<void> {
    const reason = this.failed.get(worldDest);
    if (reason !== undefined) return Promise.reject(this.failure(call, worldDest, reason));
    if (worldDest === this.rank || this.transport === undefined) {
      this.deliver(message.frames);
      return Promise.resolve();
    }
    const flow = this.flow(worldDest);
    if (flow.outstanding + message.wire <= FLOW_WINDOW_BYTES) {
      flow.outstanding += message.wire;
      return this.transport.send(worldDest, message.frames);
    }
    const gone = this.exited.get(worldDest);
    if (gone !== undefined) {
      // Nobody will ask for the payload: a collective learns it, a plain send is dropped as before.
      return handover ? Promise.reject(this.failure(call, worldDest, gone)) : Promise.resolve();
    }
    const id = ++this.nextId;
    const parked: Parked = { dest: worldDest, frames: message.frames, call };
    this.parked.set(id, parked);
    // Keep reading while payloads are parked: their receivers' requests must be heard.
    if (this.parked.size === 1) this.transport.acquire();
    const announced = this.transport.send(worldDest, [
      encodeFlow([MessageKind.Rts, message.context, message.source, message.tag, message.bytes, this.rank, id]),
    ]);
    if (!handover) return announced;
    const handed = new Promise<void>((resolve, reject) => (parked.handover = { resolve, reject }));
    // It may settle before the announcement is queued, or never be awaited if that fails.
    handed.catch(() => undefined);
    // Listed like a receive, so that a hang report shows the collective waiting for its peer.
    const wait: Wait = { call, context: message.context, source: handover.peer, tag: message.tag, since: performance.now() };
    this.waits.set(wait, ANYONE);
    return announced.then(() => handed).finally(() => this.waits.delete(wait));
  }

  private unpark(id: number): void {
    if (this.parked.delete(id) && this.parked.size === 0) this.transport!.release();
  }

  /** Receive the oldest matching message, reading the inbox only while waiting. */
  async receive(context: string, source: number, tag: number, call = "recv", peers: Peers = ANYONE): Promise<Envelope> {
    const wait: Wait = { call, context, source, tag, since: performance.now() };
    const envelope = await this.waitFor(this.matcher.receive(context, source, tag, wait), wait, peers);
    if (envelope.rendezvous === undefined) {
      this.consumed(envelope);
      return envelope;
    }
    // Announced: ask the sender for the payload and wait for it (a RankFailedError if the sender dies).
    const { from } = envelope;
    const key = `${from}:${envelope.rendezvous.id}`;
    const pulled = new Promise<Envelope>((resolve, reject) => this.pulls.set(key, { resolve, reject, token: wait }));
    void this.transport!.send(from, [encodeFlow([MessageKind.Cts, this.rank, envelope.rendezvous.id])]).catch(() => undefined);
    return this.waitFor(pulled, wait, { ...peers, source: from });
  }

  /** Eager data from a peer has been received: give its window back, in batches. */
  private consumed(envelope: Envelope): void {
    if (envelope.from === this.rank || envelope.wire === 0 || this.transport === undefined) return;
    const flow = this.flow(envelope.from);
    flow.consumed += envelope.wire;
    if (flow.consumed >= FLOW_WINDOW_BYTES / 8) {
      this.transport.advise(envelope.from, encodeFlow([MessageKind.Credit, this.rank, flow.consumed]));
      flow.consumed = 0;
    }
  }

  /** The launcher says world rank `rank` finished: nobody will ask for what is parked for it. */
  markExited(rank: number, reason = "it exited without receiving the message"): void {
    if (!this.exited.has(rank)) this.exited.set(rank, reason);
    for (const [id, parked] of this.parked) {
      if (parked.dest !== rank) continue;
      this.unpark(id);
      parked.handover?.reject(this.failure(parked.call, rank, reason));
    }
  }

  /** Wait until a matching message has arrived, without receiving it. */
  async probe(context: string, source: number, tag: number, peers: Peers = ANYONE): Promise<Envelope> {
    const wait: Wait = { call: "probe", context, source, tag, since: performance.now() };
    return this.waitFor(this.matcher.probe(context, source, tag, wait), wait, peers);
  }

  /** A matching message if one has arrived, after delivering whatever is waiting in the inbox. */
  async iprobe(context: string, source: number, tag: number): Promise<Envelope | undefined> {
    const ready = this.matcher.peek(context, source, tag);
    if (ready !== undefined || this.transport === undefined) return ready;
    await this.transport.poll();
    return this.matcher.peek(context, source, tag);
  }

  private async waitFor(pending: Promise<Envelope> | Envelope, wait: Wait, peers: Peers): Promise<Envelope> {
    if (!(pending instanceof Promise)) return pending;
    this.waits.set(wait, peers);
    // A peer that died before this call dooms it as surely as one that dies during it.
    for (const [rank, reason] of this.failed) if (this.doomedBy(peers, rank, false)) this.cancel(wait, rank, reason);
    this.transport?.acquire();
    try {
      return await pending;
    } finally {
      this.transport?.release();
      this.waits.delete(wait);
    }
  }

  /** What this rank is blocked in, oldest first (for hang reports). */
  describeWaits(): WaitState[] {
    const now = performance.now();
    return [...this.waits.keys()].map(({ since, ...rest }) => ({ ...rest, seconds: (now - since) / 1000 }));
  }

  /**
   * The launcher says world rank `rank` died. Once the inbox is drained, receives from it, collectives on communicators
   * that contain it, and pending ANY_SOURCE receives on such communicators reject with a
   * RankFailedError; so do later sends to it and later receives that depend on it.
   */
  async markFailed(rank: number, reason: string): Promise<void> {
    // Whatever the dead rank sent before dying is matched first: it may complete a receive or
    // a collective step that would otherwise be failed for nothing.
    await this.transport?.drain();
    this.failed.set(rank, reason);
    this.markExited(rank, reason);
    for (const [wait, peers] of this.waits) if (this.doomedBy(peers, rank, true)) this.cancel(wait, rank, reason);
  }

  private doomedBy(peers: Peers, rank: number, pending: boolean): boolean {
    if (peers.source === rank) return true;
    if (!peers.group.includes(rank)) return false;
    return peers.collective || (pending && peers.source === -1);
  }

  /** Reject a pending wait because `rank` died. */
  private cancel(wait: Wait, rank: number, reason: string): void {
    const error = this.failure(wait.call, rank, reason);
    if (this.matcher.cancel(wait, error)) return;
    for (const [key, pull] of this.pulls) {
      if (pull.token !== wait) continue;
      this.pulls.delete(key);
      return pull.reject(error);
    }
  }

  private failure(call: string, rank: number, reason: string): RankFailedError {
    return new RankFailedError(`${call} on rank ${this.rank}: rank ${rank} has failed (${reason}); the operation cannot complete`, rank);
  }
}
