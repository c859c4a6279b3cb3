/**
 * Shared-memory windows (MPI-3 MPI_Win_allocate_shared) on a communicator whose ranks share
 * a host (see `Comm.splitShared`). One anonymous memfd segment per window: rank 0 creates it,
 * the others open it through /proc/<pid>/fd/<fd> and map it. Nothing is ever named in
 * /dev/shm, and the memory goes back to the system once the last rank that maps it frees the
 * window or exits, however it exits. Independent of the message transport: it works with
 * `--transport zmq` and `tcp` too, wherever koffi and memfd are available.
 */
import { loadLibc, type Libc } from "../comm/shm/libc.js";
import type { TypedArray } from "../comm/values.js";
import { checkPeer } from "../comm/validate.js";
import { mapShared } from "../comm/shm/shared.js";
import { ArgumentError, callError } from "../errors.js";

/** A typed array class, e.g. `Float64Array`. */
export type TypedArrayClass<T extends TypedArray> = {
  new (buffer: ArrayBuffer, byteOffset: number, length: number): T;
  readonly BYTES_PER_ELEMENT: number;
  readonly name: string;
};

/** What a window needs of its communicator (a `Comm`; kept structural to keep imports one-way). */
export interface WindowComm {
  readonly rank: number;
  readonly size: number;
  bcast<V>(value: V, root?: number): Promise<V>;
  allgather<V>(value: V): Promise<V[]>;
  barrier(): Promise<void>;
}

/** Each rank's part starts on a cache line of its own. */
const ALIGN = 64;
const PAGE = 4096;

let libc: Libc | { unavailable: string } | undefined;

/**
 * Memory shared by the ranks of one host (MPI_Win_allocate_shared): each rank owns a part,
 * and every rank can read and write every part directly. Collective: every rank of the
 * communicator allocates and frees it together.
 *
 * @example
 * ```ts
 * const node = await comm.splitShared();
 * const win = await node.allocateShared(Float64Array, node.rank === 0 ? 1_000_000 : 0);
 * if (node.rank === 0) win.local.fill(1);
 * await win.fence(); // rank 0's writes are visible to every rank of the host
 * const total = win.of(0).reduce((a, b) => a + b, 0);
 * await win.free();
 * ```
 */
export class SharedWindow<T extends TypedArray> {
  readonly #parts: T[];
  readonly #comm: WindowComm;
  #release: (() => void) | undefined;

  /** @internal Use `comm.allocateShared`. */
  constructor(comm: WindowComm, parts: T[], release: () => void) {
    this.#comm = comm;
    this.#parts = parts;
    this.#release = release;
  }

  #check(call: string): void {
    if (this.#release === undefined) throw callError(ArgumentError, call, this.#comm.rank, "the window has been freed; allocate a new one");
  }

  /** This rank's part (MPI_Win_shared_query on oneself). */
  get local(): T {
    this.#check("local");
    return this.#parts[this.#comm.rank]!;
  }

  /** Rank `rank`'s part of the window, writable (MPI_Win_shared_query). */
  of(rank: number): T {
    this.#check("of");
    checkPeer({ call: "of", rank: this.#comm.rank, size: this.#comm.size }, "rank", rank);
    return this.#parts[rank]!;
  }

  /**
   * Separate epochs (MPI_Win_fence): resolves once every rank has called it, after which each
   * rank sees what the others wrote before their call. Collective.
   */
  async fence(): Promise<void> {
    this.#check("fence");
    await this.#comm.barrier();
  }

  /**
   * Free the window (MPI_Win_free), collectively: resolves once every rank is done with it.
   * The arrays it handed out then no longer share memory (they read zeros); do not use them.
   */
  async free(): Promise<void> {
    this.#check("free");
    await this.#comm.barrier();
    this.#release!();
    this.#release = undefined;
  }

  /** `await using win = await node.allocateShared(...)`: frees the window at the end of the block, unless freed already. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#release !== undefined) await this.free();
  }
}

/**
 * Allocate a window of `localLength` elements per rank on `comm`. Every rank checks what all
 * passed, so a mismatch is an ArgumentError on every rank (never a rank that maps more than
 * the segment holds and dies of SIGBUS).
 * @param host the job's index of this rank's host (ranks of one host share memory)
 */
export async function allocateShared<T extends TypedArray>(
  comm: WindowComm,
  Kind: TypedArrayClass<T>,
  localLength: number,
  host: number,
): Promise<SharedWindow<T>> {
  const call = "allocateShared";
  if (typeof Kind !== "function" || !Number.isInteger(Kind.BYTES_PER_ELEMENT)) {
    throw callError(ArgumentError, call, comm.rank, `the first argument must be a typed array class such as Float64Array, got ${String(Kind)}`);
  }
  if (!Number.isSafeInteger(localLength) || localLength < 0) {
    throw callError(ArgumentError, call, comm.rank, `localLength must be a non-negative integer, got ${String(localLength)}`);
  }
  const members = await comm.allgather<Member>({ length: localLength, kind: Kind.name, width: Kind.BYTES_PER_ELEMENT, host });
  const disagreement = disagree(members);
  if (disagreement !== undefined) throw callError(ArgumentError, call, comm.rank, disagreement);
  const offsets: number[] = [];
  let bytes = 0;
  for (const { length } of members) {
    offsets.push(bytes);
    bytes += Math.ceil((length * Kind.BYTES_PER_ELEMENT) / ALIGN) * ALIGN;
  }
  bytes = Math.max(PAGE, Math.ceil(bytes / PAGE) * PAGE);
  libc ??= loadLibc();
  const agreement = { rank: comm.rank, bcast: <V>(value: V) => comm.bcast(value, 0), allgather: <V>(value: V) => comm.allgather(value) };
  const { buffer, release } = await mapShared(agreement, libc, call, bytes, "tsmpi-window");
  const parts = members.map(({ length }, r) => new Kind(buffer, offsets[r]!, length));
  return new SharedWindow(comm, parts, release);
}

/** What each rank passed to allocateShared, and where it runs. */
interface Member {
  length: number;
  kind: string;
  width: number;
  host: number;
}

/** Why the ranks' allocateShared calls cannot make one window (the same answer on every rank), or undefined. */
function disagree(members: Member[]): string | undefined {
  const [first] = members;
  const other = members.findIndex((m) => m.kind !== first!.kind || m.width !== first!.width);
  if (other >= 0) {
    const { kind, width } = members[other]!;
    return (
      `rank 0 passed ${first!.kind} (${first!.width} bytes per element) but rank ${other} passed ${kind} (${width} bytes); ` +
      "a window has one element type: pass the same typed array class on every rank"
    );
  }
  const elsewhere = members.findIndex((m) => m.host !== first!.host);
  if (elsewhere >= 0) {
    return (
      `rank 0 and rank ${elsewhere} run on different hosts, and memory is shared only within a host; ` +
      "allocate on the communicator of one host's ranks: comm.splitShared()"
    );
  }
  return undefined;
}
