/**
 * The per-process engine every communicator shares: this rank's world rank and size, the
 * transport, the matcher, flow control and rendezvous, and the fate of peers. It speaks to
 * the transport only through the {@link Transport} interface.
 */
import { Buffer } from "node:buffer";
import process from "node:process";
import { decodeMessage, encodeFlow, type Envelope, type Incoming, type TypedArray } from "../wire/codec.js";
import { SmallArrays } from "./small-arrays.js";
import { Placement } from "./placement.js";
import { RankFailedError } from "../../errors.js";
import { FlowControl } from "../wire/flow.js";
import { Matcher, type Receiving, type Token } from "./matching.js";
import { landValue, type Site } from "./into.js";
import { ParkedSends, Pulls } from "./rendezvous.js";
import { SENT, type Delivery, type Transport } from "../transport/port.js";
import type { Hurry, Status } from "./request.js";
import { ANYONE, dooms, newWait, type Peers, type RuntimeState, type Wait, type Waits } from "./waits.js";
import type { Outgoing } from "../wire/envelope.js";
import { Posting } from "./posting.js";
import { SyncSends } from "./synchronous.js";
import { MessageKind } from "../wire/wire.js";
import { Watches } from "./watch.js";
import type { Libc } from "../transport/shm/libc.js";
export type { Outgoing, RuntimeState };
export class Runtime implements Delivery, Receiving {
  readonly matcher = new Matcher(this);
  /** Messages delivered so far (hang detection: "no message moving"). */
  private delivered = 0;
  private readonly posting: Posting;
  private readonly waits: Waits;
  /** World ranks known to have died, with the launcher's reason. */
  private readonly failed = new Map<number, string>();
  /** World ranks known to have finished, with why a message for them cannot be taken. */
  private readonly exited = new Map<number, string>();
  private readonly flow = new FlowControl();
  private readonly parked: ParkedSends;
  private readonly pulls = new Pulls();
  private readonly placement = new Placement(this.matcher, this.pulls);
  private transport: Transport | undefined;
  private readonly watches: Watches;
  /** Index of this rank's host in the job (set by init; splitShared groups ranks by it). */
  node = 0;
  /** The IP this rank's tcp inbox binds, in jobs that have one (set by init; windows across hosts serve on it). */
  address: string | undefined;
  /** Shared memory, where the host has it (set by init: collective boards map their segment with it). */
  libc: Libc | undefined;
  private readonly small: SmallArrays;
  readonly syncs: SyncSends;

  constructor(
    readonly rank: number,
    readonly size: number,
  ) {
    this.posting = new Posting(rank);
    this.small = new SmallArrays(rank, this.flow, this.placement);
    this.waits = this.posting.waits;
    this.watches = new Watches(this.waits);
    this.parked = new ParkedSends(rank, this.waits);
    this.syncs = new SyncSends(rank, this.posting, this.flow, this.parked, this.small, (frames) => this.deliver(frames));
  }

  /** Connect the transport (created after the runtime, since it delivers into it). */
  attach(transport: Transport): void {
    this.transport = transport;
    this.posting.transport = transport;
    this.parked.transport = transport;
  }

  /** May a message to world rank `dest` be encoded as views of the sender's memory? (The transport copies it before `send` returns.) */
  borrows(dest: number): boolean {
    return dest !== this.rank && this.transport !== undefined && this.transport.borrows(dest);
  }

  private drop(what: string): void {
    process.stderr.write(`tsmpi: rank ${this.rank} dropped ${what}\n`);
  }

  /** Decode and act on an arriving message; a malformed or unexpected one is logged and dropped, never fatal. */
  deliver(frames: Buffer[]): void {
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
      case MessageKind.Cts:
        if (!this.parked.sendPayload(message.from, message.id)) this.drop(`a request for unknown message ${message.id} from rank ${message.from}`);
        return;
      case MessageKind.Payload:
        if (!this.pulls.arrive(message.from, message.id, message.envelope)) return this.drop(`an unrequested payload ${message.id} from rank ${message.from}`);
        this.delivered++;
        return;
      case MessageKind.Credit:
        return this.flow.credit(message.from, message.bytes);
      case MessageKind.Ack:
        return this.syncs.acked(message.from, message.id);
    }
  }

  /** Delivery hook: a message of two frames read where it lies (see Transport.sendPair); false: not a small array (it comes as frames). */
  deliverPair(bytes: Uint8Array, view: DataView, head: number, headLength: number, at: number, length: number): boolean {
    const envelope = this.small.arrive(bytes, view, head, headLength, at, length);
    if (envelope === undefined) return this.syncs.arrive(bytes, view, head, headLength);
    this.delivered++;
    this.matcher.deliver(envelope);
    return true;
  }

  /** Delivery hook: where an arriving array may be written (see placement.ts). */
  place(prior: Buffer[], length: number): Uint8Array | undefined {
    return this.placement.place(prior, length);
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
    const reason = this.failed.get(worldDest);
    if (reason !== undefined) return Promise.reject(this.failure(call, worldDest, reason));
    if (worldDest === this.rank || this.transport === undefined) {
      this.deliver(message.frames);
      return SENT;
    }
    if (this.flow.trySpend(worldDest, message.wire)) return this.transport.send(worldDest, message.frames, handover !== undefined, message.borrowed);
    const gone = this.exited.get(worldDest);
    if (gone !== undefined) {
      // Nobody will ask for the payload: a collective learns it, a plain send is dropped.
      return handover ? Promise.reject(this.failure(call, worldDest, gone)) : SENT;
    }
    return this.parked.announce(worldDest, message, call, handover);
  }

  /**
   * Send a small typed array eagerly, straight into the transport (see small.ts). @returns SENT,
   * a rejection if `worldDest` has failed, or undefined if it cannot go that way now: send it
   * with {@link send}.
   */
  sendArray(worldDest: number, context: string, source: number, tag: number, array: TypedArray, kind: number, call = "send"): Promise<void> | undefined {
    const transport = this.transport;
    if (transport?.sendPair === undefined || worldDest === this.rank) return undefined;
    const reason = this.failed.size > 0 ? this.failed.get(worldDest) : undefined;
    if (reason !== undefined) return Promise.reject(this.failure(call, worldDest, reason));
    return this.small.send(transport, worldDest, context, source, tag, array, kind) ? SENT : undefined;
  }

  /**
   * Receive the oldest matching message, reading the inbox only while waiting. Resolves with
   * its envelope (see CommEngine.take); given a `site` (a point-to-point receive), with its value
   * instead, landed in `into` and `status` filled: the caller's promise is this one (see {@link matched}).
   * @param into where the transport may write the message's array as it arrives (see {@link place})
   * @param hurry poll only when this hook is called (irecv: when its request is waited for),
   *   not as soon as the caller yields
   */
  receive(
    context: string,
    source: number,
    tag: number,
    call = "recv",
    peers: Peers = ANYONE,
    into?: TypedArray,
    hurry?: Hurry,
    site?: Site,
    status?: Status,
  ): Promise<unknown> {
    const wait = newWait(call, context, source, tag, into, hurry, site, status);
    const found = this.matcher.receive(context, source, tag, wait, into);
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
    if (!this.exited.has(rank)) this.exited.set(rank, reason);
    this.transport?.peerGone(rank);
    const dropped = this.parked.dropFor(rank);
    for (const parked of dropped) parked.handover?.reject(this.failure(parked.call, rank, reason));
    void this.syncs.exited(rank, (call) => this.failure(call, rank, reason), this.transport?.drain());
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
    if (hurry !== undefined) hurry.withdraw = (error) => this.matcher.cancel(wait, error);
    this.posting.post(wait, peers, hurry);
    this.doomIfFailed(wait, peers);
  }

  /** A peer that died before a wait began dooms it as surely as one that dies during it. */
  private doomIfFailed(wait: Wait, peers: Peers): void {
    if (this.failed.size > 0) for (const [rank, reason] of this.failed) if (dooms(peers, rank, false)) this.cancel(wait, rank, reason);
  }

  /**
   * Wait until `ready()`, asleep until doorbells (poll first with {@link spin}): shared memory
   * that ranks of this host change (see watch.ts). Listed
   * like a receive for hang reports (`awaited`: the rank it waits for, as of its last look);
   * rejects with a RankFailedError if a rank of `peers` dies.
   */
  watch(call: string, context: string, peers: Peers, ready: () => boolean, sleeping: (asleep: boolean) => void, awaited: () => number): Promise<void> {
    if (ready()) return SENT;
    const { wait, done } = this.watches.begin(this.transport!, call, context, peers, ready, sleeping, awaited);
    this.doomIfFailed(wait, peers);
    return done;
  }

  /**
   * Poll until `ready()`, for as long as a blocked receive would before sleeping, leaving
   * arriving messages in the rings: a collective that falls back to messages right after
   * posts receives that want them in place (delivered now, a large one would land in a fresh
   * buffer, to be copied again; bcast of 1 MiB into: 65 -> 442 µs).
   */
  spin(ready: () => boolean): void {
    this.transport?.await?.(ready, undefined, false);
  }

  /** Wake world rank `rank` if it sleeps on shared memory this rank has just changed. */
  nudge(rank: number): void {
    this.transport?.nudge?.(rank);
  }

  /** Is world rank `rank` on this host, reached through shared memory? */
  nearby(rank: number): boolean {
    return this.transport?.nearby?.(rank) ?? false;
  }

  /** What this rank is blocked in and holds, for hang reports. */
  state(): RuntimeState {
    const { count, bytes } = this.matcher.unexpectedSummary();
    return { waiting: this.waits.describe(), unexpected: count, unexpectedBytes: bytes, delivered: this.delivered, unread: this.transport?.unread };
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
    for (const wait of this.waits.doomedBy(rank, true)) this.cancel(wait, rank, reason);
  }

  /** Reject a pending wait because `rank` died. */
  private cancel(wait: Wait, rank: number, reason: string): void {
    const error = this.failure(wait.call, rank, reason);
    if (!this.watches.cancel(wait, error) && !this.matcher.cancel(wait, error) && !this.syncs.cancel(wait, error)) this.pulls.cancel(wait, error);
  }

  private failure(call: string, rank: number, reason: string): RankFailedError {
    return new RankFailedError(`${call} on rank ${this.rank}: rank ${rank} has failed (${reason}); the operation cannot complete`, rank);
  }
}
