/**
 * The per-process state every communicator shares: this rank's world rank and size,
 * the transport and the matcher. Communicators translate their ranks to world ranks here.
 */
import { decode, type Envelope } from "./codec.js";
import { RankFailedError } from "../errors.js";
import { Matcher } from "./matching.js";
import type { WaitState } from "./protocol.js";
import type { Transport } from "./transport.js";

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

  constructor(
    readonly rank: number,
    readonly size: number,
    readonly transport: Transport | undefined,
  ) {}

  /** Decode and match an arriving message; a malformed one is logged and dropped, never fatal. */
  readonly deliver = (frames: Buffer[]): void => {
    let envelope: Envelope;
    try {
      envelope = decode(frames);
    } catch (error) {
      process.stderr.write(`tsmpi: rank ${this.rank} dropped a malformed message: ${(error as Error).message}\n`);
      return;
    }
    this.delivered++;
    this.matcher.deliver(envelope);
  };

  /** Send encoded frames to a world rank; a message to oneself is matched at once. */
  send(worldDest: number, frames: Buffer[], call = "send"): Promise<void> {
    const reason = this.failed.get(worldDest);
    if (reason !== undefined) return Promise.reject(this.failure(call, worldDest, reason));
    if (worldDest === this.rank || this.transport === undefined) {
      this.deliver(frames);
      return Promise.resolve();
    }
    return this.transport.send(worldDest, frames);
  }

  /** Receive the oldest matching message, reading the inbox only while waiting. */
  async receive(context: string, source: number, tag: number, call = "recv", peers: Peers = ANYONE): Promise<Envelope> {
    const wait: Wait = { call, context, source, tag, since: performance.now() };
    return this.waitFor(this.matcher.receive(context, source, tag, wait), wait, peers);
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
    for (const [wait, peers] of this.waits) if (this.doomedBy(peers, rank, true)) this.cancel(wait, rank, reason);
  }

  private doomedBy(peers: Peers, rank: number, pending: boolean): boolean {
    if (peers.source === rank) return true;
    if (!peers.group.includes(rank)) return false;
    return peers.collective || (pending && peers.source === -1);
  }

  /** Reject a pending wait because `rank` died. */
  private cancel(wait: Wait, rank: number, reason: string): void {
    this.matcher.cancel(wait, this.failure(wait.call, rank, reason));
  }

  private failure(call: string, rank: number, reason: string): RankFailedError {
    return new RankFailedError(`${call} on rank ${this.rank}: rank ${rank} has failed (${reason}); the operation cannot complete`, rank);
  }
}
