/**
 * The same-host path in one home: what the ranks of one host share beyond messages. One
 * {@link OnHost} per rank, made by `init`: libc (peer reads, addresses, shared segments), the
 * host's peers (those reached through shared memory), polling and doorbells, and, per
 * communicator whose members all live here, a {@link HostGroup}: its collective board and
 * stage, set up on first use and let go of by `free`. Collectives and windows reach shared
 * memory only through these two; no file outside src/comm/transport/shm imports libc.
 */
import { loadLibc, type Libc, type PeerMemory, type SharedFile } from "./libc.js";
import { mapShared, type Agreement, type Mapped } from "./shared.js";
import { Board, type BoardHooks } from "./board-memory.js";
import type { SameHostPath } from "../port.js";
import type { InboxOptions } from "./inbox-options.js";
import { ShmTransport } from "./shm-transport.js";

export type { Agreement, Mapped, PeerMemory, SharedFile };

/** A shared segment to map (see shared.ts mapShared): by whom, for which call, how large. */
export interface SegmentRequest {
  group: Agreement;
  call: string;
  bytes: number;
  /** Its name in /proc/<pid>/maps (memfd:<name>). */
  name: string;
  /** Rank 0 keeps its descriptor open until `closeFile` (a progress thread maps it meanwhile). @default false */
  keepFile?: boolean;
}

/** A communicator seen from the same-host path: what {@link OnHost.group} needs of it. */
export interface GroupMembers {
  /** This rank in the communicator. */
  rank: number;
  /** World rank of each member. */
  members: readonly number[];
  /** The engine's wait on shared memory (listed for hang reports, ended by a member's death; see engine/watch.ts). */
  watch: BoardHooks["watch"];
}

export class OnHost implements PeerMemory {
  #libc: Libc | { unavailable: string } | undefined;
  #path: SameHostPath | undefined;

  /**
   * @param load load libc now, with these options (init, when messages may go through shared
   *   memory; `peerReads: false` turns single copy off); else it is loaded on first use (windows)
   */
  constructor(load?: { peerReads?: boolean }) {
    if (load !== undefined) this.#libc = loadLibc(load);
  }

  /** This rank's shared-memory inbox, for the transport (see shm-transport.ts). @throws if it cannot be made @internal */
  inbox(options: InboxOptions): ShmTransport {
    const libc = this.libc;
    if ("unavailable" in libc) throw new Error(libc.unavailable);
    return ShmTransport.create(libc, options);
  }

  /** The transport's shared-memory side (set by init): the peers it reaches, its polling and doorbells. @internal */
  connect(path: SameHostPath): void {
    this.#path = path;
  }

  private get libc(): Libc | { unavailable: string } {
    return (this.#libc ??= loadLibc());
  }

  /** Why this host cannot map shared memory, or undefined if it can. */
  get unavailable(): string | undefined {
    const libc = this.libc;
    return "unavailable" in libc ? libc.unavailable : undefined;
  }

  get peerReads(): boolean {
    const libc = this.libc;
    return !("unavailable" in libc) && libc.peerReads;
  }

  addressOf(array: ArrayBufferView): bigint {
    return (this.libc as Libc).addressOf(array);
  }

  readPeer(pid: number, address: bigint, into: Uint8Array): void {
    (this.libc as Libc).readPeer(pid, address, into);
  }

  /** Give the CPU to another runnable process (a no-op without shared memory). */
  readonly yieldCpu = (): void => {
    const libc = this.libc;
    if (!("unavailable" in libc)) libc.yieldCpu();
  };

  /**
   * How the direct path's sockets are read without waiting (recv, MSG_DONTWAIT), so that a
   * blocked receive can poll them as it polls shared memory; undefined where libc is not available.
   */
  get receive(): ((fd: number, into: Uint8Array) => number) | undefined {
    const libc = this.libc;
    return "unavailable" in libc ? undefined : libc.receive;
  }

  /** Map one segment on every rank of `request.group` (collective). @throws TransportError on every rank if any cannot. */
  map(request: SegmentRequest): Promise<Mapped> {
    return mapShared(this.libc, request);
  }

  /** Is world rank `rank` on this host, reached through shared memory? */
  nearby(rank: number): boolean {
    return this.#path?.nearby(rank) ?? false;
  }

  /** Wake world rank `rank` if it sleeps on shared memory this rank has just changed. */
  nudge(rank: number): void {
    this.#path?.nudge(rank);
  }

  /**
   * Poll until `ready()`, for as long as a blocked receive would before sleeping, leaving
   * arriving messages in the rings: a collective that falls back to messages right after
   * posts receives that want them in place (delivered now, a large one would land in a fresh
   * buffer, to be copied again; bcast of 1 MiB into: 65 -> 442 µs).
   */
  spin(ready: () => boolean): void {
    this.#path?.await(ready, undefined, false);
  }

  /** Someone waits on shared memory: keep reading and be woken (see Transport.acquire). */
  acquire(polling?: boolean): void {
    this.#path?.acquire(polling);
  }

  release(): void {
    this.#path?.release();
  }

  /** Call `listener` after every doorbell while someone waits; @returns its removal. */
  onWake(listener: () => void): () => void {
    return this.#path?.onWake(listener) ?? (() => undefined);
  }

  /**
   * The same-host side of a communicator, if it has several members, all on this host and
   * reached through shared memory (a board can serve them); undefined otherwise.
   */
  group(of: GroupMembers): HostGroup | undefined {
    const self = of.members[of.rank];
    if (of.members.length < 2 || !of.members.every((rank) => rank === self || this.nearby(rank))) return undefined;
    return this.unavailable === undefined ? new HostGroup(this, of) : undefined;
  }
}

/**
 * A communicator whose members all live on this host: its collective board (see
 * board-memory.ts) and, through the board, its stage. Set up by the first collective that can
 * use them; {@link free} lets go of both.
 */
export class HostGroup implements PeerMemory {
  /** The board: undefined until first needed; null where messages serve (it could not be mapped). */
  board: Board | null | Promise<Board | null> | undefined;

  constructor(
    private readonly host: OnHost,
    private readonly of: GroupMembers,
  ) {}

  get peerReads(): boolean {
    return this.host.peerReads;
  }

  addressOf(array: ArrayBufferView): bigint {
    return this.host.addressOf(array);
  }

  readPeer(pid: number, address: bigint, into: Uint8Array): void {
    this.host.readPeer(pid, address, into);
  }

  /** Map a segment on every member (collective; see OnHost.map). */
  map(request: SegmentRequest): Promise<Mapped> {
    return this.host.map(request);
  }

  /** A board over `buffer` (mapped by every member); `release` lets go of the mapping when the communicator is freed. */
  makeBoard(buffer: ArrayBuffer, release: () => void): Board {
    const { rank, members, watch } = this.of;
    return new Board(buffer, rank, members.length, release, {
      watch,
      nudge: (member) => this.host.nudge(members[member]!),
      spin: (ready) => this.host.spin(ready),
    });
  }

  /** Let go of the board and its stage (Comm.free): the memory goes back once every member has. */
  free(): void {
    const board = this.board;
    this.board = null;
    if (board instanceof Board) board.free();
    else if (board instanceof Promise) void board.then((made) => made?.free());
  }
}
