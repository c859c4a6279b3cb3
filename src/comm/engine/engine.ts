/**
 * The engine side of a communicator ({@link CommEngine}): its context id, its members (world
 * ranks) and the runtime they talk through. The public `Comm` wraps one; collectives see only
 * the {@link Channel}s it opens. (The public `Group`, a set of ranks, is api/group.ts.)
 */
import { arrayKind, encode, payloadBytes } from "../wire/codec.js";
import { ArgumentError, SerializationError, callError } from "../../errors.js";
import { ANY_SOURCE } from "./matching.js";
import type { Outgoing, Runtime } from "./runtime.js";
import type { Envelope, Sender, TypedArray } from "../wire/codec.js";
import { newWait, type Peers, type Wait } from "./waits.js";
import { seam, type SentMessage } from "./seam.js";
import type { Hurry, Status } from "./request.js";
import type { Site } from "./into.js";
import type { Locality } from "../transport/locality.js";
import type { HostGroup } from "../transport/shm/on-host.js";
import { watch } from "./watch.js";

/**
 * A communicator's members grouped by host, worked out by its first collective that spans
 * hosts (collectives/hierarchical/tiers.ts) and kept for the next ones.
 */
export interface Tiers {
  /** The ranks of each host in rank order; hosts in the order of their lowest rank (its leader). */
  readonly hosts: ReadonlyArray<readonly number[]>;
  /** The index in `hosts` of each rank's host. */
  readonly hostOf: readonly number[];
  /** Each rank's index among the ranks of its host. */
  readonly indexOf: readonly number[];
  /** Does each host hold consecutive ranks (so that host order is rank order, as non-commutative ops need)? */
  readonly contiguous: boolean;
}

/**
 * A private lane for one collective call: its own tag on the communicator's collective
 * context, so that concurrent collectives never mix. Ranks are communicator ranks.
 */
export class Channel {
  constructor(
    private readonly group: CommEngine,
    /** The MPI call this channel serves, for error messages and hang reports. */
    readonly call: string,
    private readonly tag: number,
  ) {}

  get rank(): number {
    return this.group.rank;
  }

  get size(): number {
    return this.group.size;
  }

  /** Send to `dest`; resolves once the data has left (see Runtime.send's `handover`). */
  send(dest: number, value: unknown): Promise<void> {
    return this.group.post(this.call, dest, this.tag, value, true);
  }

  /** The same-host path of the communicator, if every member is on this host and reached through shared memory (a board can serve). */
  get onHost(): HostGroup | undefined {
    return this.group.onHost;
  }

  /** Index of this rank's host in the job (collectives across hosts group the members by it). */
  get node(): number {
    return this.group.locality.node;
  }

  /** The members grouped by host: undefined until first needed; null where the communicator is not spread over several hosts with several ranks on one. */
  get tiers(): Tiers | null | Promise<Tiers | null> | undefined {
    return this.group.tiers;
  }

  set tiers(tiers: Tiers | null | Promise<Tiers | null>) {
    this.group.tiers = tiers;
  }

  /**
   * Receive this channel's message from `source`; any member's death fails it.
   * @param into where a typed array that fits may be written as it arrives (the value returned may then view it)
   */
  async recv<T = unknown>(source: number, into?: TypedArray): Promise<T> {
    return (await this.group.take(this.call, this.group.collectiveContext, source, this.tag, true, into)).value as T;
  }
}

export class CommEngine {
  /** This process's rank in the group. */
  readonly rank: number;
  readonly size: number;
  /** Context of collective traffic, apart from point-to-point traffic. */
  readonly collectiveContext: string;
  private collectiveSeq = 0;
  /** Peers of receives, by source + 1 (ANY_SOURCE is -1): see peers(). */
  private readonly plainPeers: Peers[] = [];
  private readonly collectivePeers: Peers[] = [];
  private childSeq = 0;
  /** createGroup's children, numbered per tag and member list (see groupChild). */
  private readonly groupSeq = new Map<string, number>();
  /** See {@link onHost}: null once known to be off-host. */
  #host: HostGroup | null | undefined;
  /** See Channel.tiers. */
  tiers: Tiers | null | Promise<Tiers | null> | undefined;
  /** Freed (Comm.free): every later call on the communicator is refused. */
  freed = false;
  /** See #arraySent (traced jobs only). */
  #sentScratch: SentMessage | undefined;
  /** This rank as the sender of point-to-point messages, and of collective ones (see Sender). */
  readonly sender: Sender;
  readonly collectiveSender: Sender;

  constructor(
    readonly runtime: Runtime,
    /** Context id; unique in the job, equal on every member. */
    readonly id: string,
    /** World rank of each member, indexed by rank in this group. */
    readonly members: readonly number[],
    /** Where this rank runs, and the same-host path. */
    readonly locality: Locality,
  ) {
    this.rank = members.indexOf(runtime.rank);
    this.size = members.length;
    this.collectiveContext = `${id}!`;
    this.sender = { context: id, source: this.rank, from: runtime.rank };
    this.collectiveSender = { context: this.collectiveContext, source: this.rank, from: runtime.rank };
  }

  /** Whom a receive from `source` depends on, in world ranks (for RankFailedError); made once per source, not per receive. */
  peers(source: number, collective = false): Peers {
    const known = (collective ? this.collectivePeers : this.plainPeers)[source + 1];
    if (known !== undefined) return known;
    const peers: Peers = { source: source === ANY_SOURCE ? -1 : this.members[source]!, group: this.members, collective };
    (collective ? this.collectivePeers : this.plainPeers)[source + 1] = peers;
    return peers;
  }

  private encodeFor(call: string, sender: Sender, dest: number, tag: number, value: unknown): Outgoing {
    try {
      const borrowed = this.runtime.borrows(this.members[dest]!);
      const { frames, bytes: wire } = encode(sender, tag, value, undefined, borrowed);
      return { frames, wire, context: sender.context, source: this.rank, tag, bytes: payloadBytes(value, wire), borrowed };
    } catch (error) {
      throw callError(SerializationError, call, this.rank, `${(error as Error).message}; send plain data, typed arrays, Map/Set/Date or bigint`, error);
    }
  }

  /**
   * Send `value` to group rank `dest` (arguments already checked), on the point-to-point context
   * or (`collective`) the collective one. Every message a communicator sends goes out here: the
   * tracer hears of each (see seam.ts).
   */
  post(call: string, dest: number, tag: number, value: unknown, collective = false): Promise<void> {
    const tracer = seam.tracer;
    const start = tracer === undefined ? 0 : performance.now();
    const worldDest = this.members[dest]!;
    const sender = collective ? this.collectiveSender : this.sender;
    if (!collective) {
      // A small typed array goes straight into the transport where it can (see Runtime.sendArray).
      const kind = arrayKind(value);
      const sent = kind >= 0 ? this.runtime.sendArray(worldDest, sender, tag, value as TypedArray, kind, call) : undefined;
      if (sent !== undefined) {
        if (tracer !== undefined) tracer.sent(start, sent, call, worldDest, this.#arraySent(tag, (value as TypedArray).byteLength));
        return sent;
      }
    }
    const message = this.encodeFor(call, sender, dest, tag, value);
    const sent = this.runtime.send(worldDest, message, call, collective ? { peer: dest } : undefined);
    tracer?.sent(start, sent, call, worldDest, message);
    return sent;
  }

  /** A synchronous send of `value` to group rank `dest` (arguments checked): resolves once a receive there has matched it (see synchronous.ts). */
  ssend(call: string, dest: number, tag: number, value: unknown, hurry?: Hurry): Promise<void> {
    const { syncs } = this.runtime;
    const worldDest = this.members[dest]!;
    const kind = arrayKind(value);
    const peers = this.peers(dest);
    // The wait for its Ack; its source is `dest`, for hang reports.
    const wait = newWait(call, this.id, dest, tag, undefined, hurry);
    const fast = kind >= 0 ? syncs.sendArray(worldDest, this.sender, value as TypedArray, kind, wait, peers) : undefined;
    return fast ?? syncs.send(worldDest, this.encodeFor(call, this.sender, dest, tag, value), wait, peers);
  }

  /**
   * A point-to-point receive (`site.call`) from group rank `source` or ANY_SOURCE (arguments
   * checked): resolves with the value, landed in `into`, `status` filled (see Runtime.receive).
   */
  receive(site: Site, source: number, tag: number, status?: Status, into?: TypedArray, hurry?: Hurry): Promise<unknown> {
    const wait = newWait(site.call, this.id, source, tag, into, hurry);
    wait.site = site;
    wait.status = status;
    return this.#receive(wait, this.peers(source, false));
  }

  /** Receive from group rank `source` or ANY_SOURCE (arguments already checked). */
  take(call: string, context: string, source: number, tag: number, collective = false, into?: TypedArray): Promise<Envelope> {
    return this.#receive(newWait(call, context, source, tag, into), this.peers(source, collective)) as Promise<Envelope>;
  }

  /** What the tracer records of a small array sent (one object, refilled: the tracer reads it at once). */
  #arraySent(tag: number, bytes: number): SentMessage {
    const sent = (this.#sentScratch ??= { context: this.id, tag, bytes });
    sent.tag = tag;
    sent.bytes = bytes;
    return sent;
  }

  /** Every receive of the communicator, through the tracer if there is one (see seam.ts). */
  #receive(wait: Wait, peers: Peers): Promise<unknown> {
    const tracer = seam.tracer;
    if (tracer === undefined) return this.runtime.receive(wait, peers);
    const span = tracer.receiving(wait);
    return tracer.received(span, this.runtime.receive(wait, peers));
  }

  /** The same-host side of this communicator (its board and stage), if it has several members, all reached through shared memory. */
  get onHost(): HostGroup | undefined {
    if (this.#host === undefined) {
      const peers = this.peers(ANY_SOURCE, true);
      const { runtime, collectiveContext: context } = this;
      const bells = this.locality.onHost;
      this.#host =
        bells.group({
          rank: this.rank,
          members: this.members,
          watch: (call, ready, sleeping, awaited) => watch(runtime.fates, bells, { call, context, peers, ready, sleeping, awaited }),
        }) ?? null;
    }
    return this.#host ?? undefined;
  }

  /** The ArgumentError of a call on this communicator once it is freed, if it is. */
  refuse(call: string): ArgumentError | undefined {
    if (!this.freed) return undefined;
    return callError(ArgumentError, call, this.rank, "the communicator was freed (comm.free()); free it only after its last call, or dup() a new one");
  }

  /** Throw the ArgumentError of a call on this communicator once it is freed (calls that may throw; collectives reject with {@link refuse}). */
  ensureOpen(call: string): void {
    if (this.freed) throw this.refuse(call)!;
  }

  /**
   * Let go of the board and its stage, and refuse every later call (Comm.free, after a barrier;
   * or the backstop once the Comm is garbage). Memory goes back once every member has let go.
   */
  free(): void {
    this.freed = true;
    this.#host?.free();
  }

  /** A private channel for one collective call. */
  channel(call: string): Channel {
    return new Channel(this, call, this.collectiveSeq++ % 0x7fffffff);
  }

  /** A group of the same runtime with a child context id (dup/split): equal on every member, since those calls are collective. */
  child(suffix: string, members: readonly number[] = this.members): CommEngine {
    return new CommEngine(this.runtime, `${this.id}.${this.childSeq++}${suffix}`, members, this.locality);
  }

  /**
   * A child made by its `members` alone (createGroup, collective over them only): numbered per
   * tag and member list rather than by the parent's sequence, which the other ranks never see.
   * Long member lists go into the id as a hash, so that every message's context stays short.
   */
  groupChild(tag: number, members: readonly number[]): CommEngine {
    const key = `${tag}[${members.join(",")}]`;
    const seq = this.groupSeq.get(key) ?? 0;
    this.groupSeq.set(key, seq + 1);
    return new CommEngine(this.runtime, `${this.id}.g${key.length <= 40 ? key : `${tag}#${members.length}#${fnv(key)}`}.${seq}`, members, this.locality);
  }
}

/** FNV-1a of a string, in base 36: a short, stable stand-in for a long member list. */
function fnv(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return (hash >>> 0).toString(36);
}
