/**
 * The per-process engine every communicator shares: this rank's world rank and size, sends,
 * receives and probes over the matcher, flow control and rendezvous. Arrivals (arrivals.ts)
 * and the fate of peers (fates.ts) have homes of their own. It speaks to the transport only
 * through the {@link Transport} and {@link SameHostPath} interfaces.
 */
import { encodeFlow, type Envelope, type TypedArray } from "../wire/codec.js";
import { Arrivals } from "./arrivals.js";
import { SmallArrays } from "./small-arrays.js";
import { Placement } from "./placement.js";
import { FlowControl } from "../wire/flow.js";
import { Matcher, type Receiving, type Token } from "./matching.js";
import { landValue } from "./into.js";
import { ParkedSends, Pulls } from "./rendezvous.js";
import { SENT, type SameHostPath, type Transport } from "../transport/port.js";
import type { Hurry } from "./request.js";
import { Fates } from "./fates.js";
import { ANYONE, newWait, type Peers, type RuntimeState, type Wait, type Waits } from "./waits.js";
import type { Outgoing, Sender } from "../wire/envelope.js";
import { Posting } from "./posting.js";
import { SyncSends } from "./synchronous.js";
import { MessageKind } from "../wire/wire.js";
import { seam } from "./seam.js";
export type { Outgoing, RuntimeState };
export class Runtime implements Receiving {
  readonly matcher = new Matcher(this);
  /** What the transport delivers into (made with the runtime, see arrivals.ts). */
  readonly arrivals: Arrivals;
  private readonly posting: Posting;
  private readonly waits: Waits;
  private readonly flow = new FlowControl();
  private readonly parked: ParkedSends;
  private readonly pulls = new Pulls();
  private readonly placement = new Placement(this.matcher, this.pulls);
  private transport: Transport | undefined;
  /** Which peers have died or exited, and the waits that ends (see fates.ts). */
  readonly fates: Fates;
  private readonly small: SmallArrays;
  readonly syncs: SyncSends;

  constructor(
    readonly rank: number,
    readonly size: number,
  ) {
    this.posting = new Posting(rank);
    this.small = new SmallArrays(this.flow, this.placement);
    this.waits = this.posting.waits;
    this.parked = new ParkedSends(rank, this.waits);
    this.syncs = new SyncSends(rank, this.posting, this.flow, this.parked, this.small, (frames) => this.arrivals.deliver(frames));
    const { matcher, parked, pulls, flow, syncs, small, placement } = this;
    this.arrivals = new Arrivals(rank, { matcher, parked, pulls, flow, syncs, small, placement });
    this.fates = new Fates(rank, { waits: this.waits, matcher: this.matcher, syncs: this.syncs, pulls: this.pulls });
  }

  /** Connect the transport (created after the runtime, since it delivers into it) and its shared-memory side, if any. */
  attach(transport: Transport, near?: SameHostPath): void {
    this.transport = this.posting.transport = this.parked.transport = transport;
    this.small.near = this.posting.near = this.parked.near = near;
  }

  /** May a message to world rank `dest` be encoded as views of the sender's memory? (The transport copies it before `send` returns.) */
  borrows(dest: number): boolean {
    return dest !== this.rank && this.transport !== undefined && this.transport.borrows(dest);
  }

  /**
   * Send an encoded message to a world rank; a message to oneself is matched at once.
   * Eager while the receiver's window has room; otherwise only an announcement goes now and
   * the payload waits here until the receiver asks for it. Either way this resolves at once
   * (standard-mode send: it never waits for a matching receive), unless `handover` is set:
   * then an announced message resolves once its payload has been handed to the transport, as
   * MPI's blocking collectives complete only when their data has left. Collectives use this so
   * that a root that goes on computing does not hold back the data its peers wait for (a rank's
   * event loop, which answers payload requests, is not turning while it computes).
   */
  send(worldDest: number, message: Outgoing, call = "send", handover?: { peer: number }): Promise<void> {
    const { failed, exited } = this.fates;
    const reason = failed.get(worldDest);
    if (reason !== undefined) return Promise.reject(this.fates.failure(call, worldDest, reason));
    if (worldDest === this.rank || this.transport === undefined) {
      this.arrivals.deliver(message.frames);
      return SENT;
    }
    if (this.flow.trySpend(worldDest, message.wire)) return this.transport.send(worldDest, message.frames, handover !== undefined, message.borrowed);
    const gone = exited.get(worldDest);
    if (gone !== undefined) {
      // Nobody will ask for the payload: a collective learns it, a plain send is dropped.
      return handover ? Promise.reject(this.fates.failure(call, worldDest, gone)) : SENT;
    }
    return this.parked.announce(worldDest, message, call, handover);
  }

  /**
   * Send a small typed array (kind code `kind`) from `sender` eagerly, straight into the
   * transport (see small-arrays.ts). @returns SENT, a rejection if `worldDest` has failed, or
   * undefined if it cannot go that way now: send it with {@link send}.
   */
  sendArray(worldDest: number, sender: Sender, tag: number, array: TypedArray, kind: number, call = "send"): Promise<void> | undefined {
    if (this.small.near === undefined || worldDest === this.rank) return undefined;
    const { failed } = this.fates;
    const reason = failed.size > 0 ? failed.get(worldDest) : undefined;
    if (reason !== undefined) return Promise.reject(this.fates.failure(call, worldDest, reason));
    return this.small.send(worldDest, sender, tag, array, kind) ? SENT : undefined;
  }

  /**
   * Receive the oldest message matching `wait` (see newWait), reading the inbox only while
   * waiting. Resolves with its envelope (see CommEngine.take); given a `wait.site` (a
   * point-to-point receive), with its value instead, landed in `wait.into` and `wait.status`
   * filled: the caller's promise is this one (see {@link matched}). `wait.into`: where the
   * transport may write the message's array as it arrives (see Placement.place); `wait.hurry`:
   * poll only when this hook is called (irecv: when its request is waited for), not as soon as
   * the caller yields. `peers`: whose death fails it.
   */
  receive(wait: Wait, peers: Peers = ANYONE): Promise<unknown> {
    const { context, source, tag, into, hurry } = wait;
    const found = this.matcher.receive(context, source, tag, wait, into);
    seam.tracer?.posted(found, wait);
    if (found !== undefined) {
      if (found.rendezvous !== undefined) return this.pull(wait, found, peers);
      try {
        return Promise.resolve(this.result(wait, found));
      } catch (error) {
        return Promise.reject(error);
      }
    }
    const promise = this.posting.promise(wait);
    this.posted(wait, peers, hurry);
    return promise;
  }

  /** Receiving: a posted receive's message is matched; its promise resolves now, with what the caller wants. */
  matched(token: Token, envelope: Envelope): void {
    const wait = token as Wait;
    const peers = wait.peers!;
    this.posting.settle(wait);
    if (envelope.rendezvous !== undefined) return wait.resolve!(this.pull(wait, envelope, peers));
    let result: unknown;
    try {
      result = this.result(wait, envelope);
    } catch (error) {
      return wait.reject!(error as Error);
    }
    wait.resolve!(result);
  }

  /** Receiving: a posted receive is cancelled (its peer died). */
  aborted(token: Token, error: Error): void {
    const wait = token as Wait;
    this.posting.settle(wait);
    wait.reject!(error);
  }

  /** What a receive of an eager message resolves with (see {@link receive}); throws if it does not fit `into`. */
  private result(wait: Wait, envelope: Envelope): unknown {
    this.consumed(envelope);
    const into = wait.into;
    const landed = into === undefined || envelope.value === into ? envelope : this.placement.landed(envelope, into, this.borrows(envelope.from));
    return wait.site === undefined ? landed : landValue(landed, wait.site, into, wait.status);
  }

  /** Announced: ask the sender for the payload and wait for it (a RankFailedError if the sender dies). */
  private async pull(wait: Wait, envelope: Envelope, peers: Peers): Promise<unknown> {
    const { from } = envelope;
    const { id } = envelope.rendezvous!;
    wait.done = false;
    const pulled = this.pulls.expect(from, id, wait, wait.into);
    void this.transport!.send(from, [encodeFlow([MessageKind.Cts, this.rank, id])]).catch(() => undefined);
    const payload = await this.waitFor(pulled, wait, { ...peers, source: from }, wait.hurry);
    return wait.site === undefined ? payload : landValue(payload, wait.site, wait.into, wait.status);
  }

  /** Eager data from a peer has been received: give its window back, in batches. */
  private consumed(envelope: Envelope): void {
    if (envelope.sync !== undefined) this.syncs.acknowledge(envelope);
    if (envelope.from === this.rank || envelope.wire === 0 || this.transport === undefined) return;
    const credit = this.flow.consumed(envelope.from, envelope.wire);
    if (credit > 0) this.transport.advise(envelope.from, encodeFlow([MessageKind.Credit, this.rank, credit]));
  }

  /** The launcher says world rank `rank` finished: nobody will ask for what is parked for it. */
  markExited(rank: number, reason = "it exited without receiving the message"): void {
    const { exited } = this.fates;
    if (!exited.has(rank)) exited.set(rank, reason);
    this.transport?.peerGone(rank);
    const dropped = this.parked.dropFor(rank);
    for (const parked of dropped) parked.handover?.reject(this.fates.failure(parked.call, rank, reason));
    void this.syncs.exited(rank, (call) => this.fates.failure(call, rank, reason), this.transport?.drain());
  }

  /** Wait until a matching message has arrived, without receiving it. */
  async probe(context: string, source: number, tag: number, peers: Peers = ANYONE, hurry?: Hurry): Promise<Envelope> {
    const wait = newWait("probe", context, source, tag);
    return this.waitFor(this.matcher.probe(context, source, tag, wait), wait, peers, hurry);
  }

  /** A matching message if one has arrived, after delivering whatever is waiting in the inbox. */
  async iprobe(context: string, source: number, tag: number): Promise<Envelope | undefined> {
    const ready = this.matcher.peek(context, source, tag);
    if (ready !== undefined || this.transport === undefined) return ready;
    await this.transport.poll();
    return this.matcher.peek(context, source, tag);
  }

  private async waitFor(pending: Promise<Envelope> | Envelope, wait: Wait, peers: Peers, hurry?: Hurry): Promise<Envelope> {
    if (!(pending instanceof Promise)) return pending;
    this.posted(wait, peers, hurry);
    try {
      return await pending;
    } finally {
      this.posting.settle(wait);
    }
  }

  /** A receive or probe is posted and waits (see Posting.post). */
  private posted(wait: Wait, peers: Peers, hurry?: Hurry): void {
    if (hurry !== undefined) {
      hurry.posted = wait;
      hurry.withdraw ??= (error) => hurry.posted !== undefined && this.matcher.cancel(hurry.posted as Wait, error);
    }
    this.posting.post(wait, peers, hurry);
    this.fates.doomIfFailed(wait, peers);
  }

  /** What this rank is blocked in and holds, for hang reports. */
  state(): RuntimeState {
    const { count, bytes } = this.matcher.unexpectedSummary();
    return { waiting: this.waits.describe(), unexpected: count, unexpectedBytes: bytes, delivered: this.arrivals.delivered, unread: this.transport?.unread };
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
    this.markExited(rank, reason);
    this.fates.fail(rank, reason);
  }
}
