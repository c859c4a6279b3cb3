/**
 * The communicator: a group of ranks with private message contexts (MPI_Comm): the
 * point-to-point calls (inherited from p2p.ts), the collectives (delegated to
 * src/collectives) and the calls that make communicators.
 *
 * Naming rule (one for everything): lowercase mpi4py names; any value works, and typed
 * arrays take the raw-bytes fast path automatically. Every call returns a promise; the
 * `i`-prefixed calls return a {@link Request}.
 */
import type { Reducible, TypedArray } from "../comm/wire/values.js";
import * as coll from "../collectives/calls.js";
import type { OpLike } from "../collectives/ops.js";
import type { AlltoallvOptions, GathervOptions, IntoOptions, ReduceOptions, ScattervOptions } from "./options.js";
import { engineOf, PointToPoint } from "./p2p.js";
import { apart } from "../comm/engine/into.js";
import type { Channel, CommEngine } from "../comm/engine/engine.js";
import { ArgumentError, callError } from "../errors.js";
import { seam, traced } from "../comm/engine/seam.js";
import type { TypedArrayClass, Window } from "./window.js";
import { allocateWindow, createWindow, type SharedWindow } from "./shared-window.js";

declare global {
  // As TypeScript's lib.esnext.disposable and @types/node declare it (Node.js has it since 20.4),
  // so that `await using` type-checks in projects whose lib predates it.
  interface SymbolConstructor {
    readonly asyncDispose: unique symbol;
  }
}

/**
 * The backstop of {@link Comm.free}: a communicator that becomes garbage unfreed lets go of its
 * shared memory on this rank (once its board is idle). Holds the engine group, never the Comm.
 */
const finalizers = new FinalizationRegistry<CommEngine>((group) => group.free());

/** `comm`, registered with the backstop. */
export function backed<C extends Comm>(comm: C): C {
  const group = engineOf(comm);
  finalizers.register(comm, group, group);
  return comm;
}

export class Comm extends PointToPoint {
  /**
   * Run collective `call` on a private channel of this communicator; rejects at once if it was
   * freed. The tracer's seam (see seam.ts): `value` (the first argument) and `root` are recorded.
   */
  #run<T>(call: string, body: (ch: Channel) => Promise<T>, value?: unknown, root?: number): Promise<T> {
    const group = engineOf(this);
    const refused = group.refuse(call);
    if (refused !== undefined) return Promise.reject(refused);
    const tracer = seam.tracer;
    return tracer === undefined ? body(group.channel(call)) : tracer.call(call, group.id, () => body(group.channel(call)), value, root);
  }

  // ---- collectives (algorithms in src/collectives) ----
  // Every collective must be called by every rank of the communicator, in the same order.
  // Each returns a promise; several may be started before any is awaited (like MPI's
  // nonblocking collectives) and they complete in call order. Misuse found on any rank
  // (wrong counts, a bad root, an op that does not fit) rejects on every rank.

  /**
   * Resolve once every rank has called barrier (MPI_Barrier). On one host: a shared-memory
   * board; otherwise dissemination, ⌈log₂ n⌉ rounds.
   * @example
   * ```ts
   * await comm.barrier(); // every rank has finished the previous phase
   * ```
   */
  barrier(): Promise<void> {
    return this.#run("barrier", (ch) => coll.barrier(ch));
  }
  /**
   * Broadcast `value` from `root` to every rank (MPI_Bcast); other ranks' `value` is ignored.
   * Binomial tree. Typed arrays travel as raw bytes.
   * @example
   * ```ts
   * const config = await comm.bcast(comm.rank === 0 ? { steps: 100 } : undefined, 0);
   * ```
   * @param root @default 0
   * @param options `into`: a typed array that receives the root's typed array (and is returned)
   * @returns the root's value, on every rank
   */
  bcast<T>(value: T, root = 0, options?: IntoOptions<T>): Promise<T> {
    return this.#run("bcast", (ch) => coll.bcast(ch, value, root, options?.into), value, root);
  }
  /**
   * Scatter (MPI_Scatter): the root passes one value per rank and rank i gets `values[i]`;
   * other ranks' `values` is ignored. Binomial tree.
   * @example
   * ```ts
   * const mine = await comm.scatter(comm.rank === 0 ? ["a", "b", "c", "d"] : undefined, 0);
   * ```
   * @param root @default 0
   */
  scatter<T>(values: readonly T[] | undefined, root = 0): Promise<T> {
    return this.#run("scatter", (ch) => coll.scatter(ch, values, root), values, root);
  }
  /**
   * Gather (MPI_Gather): one value per rank, collected at `root` in rank order. Binomial tree.
   * @example
   * ```ts
   * const all = await comm.gather(comm.rank * 10, 0); // [0, 10, 20, 30] at rank 0
   * ```
   * @param root @default 0
   * @returns the array at the root, `undefined` elsewhere
   */
  gather<T>(value: T, root = 0): Promise<T[] | undefined> {
    return this.#run("gather", (ch) => coll.gather(ch, value, root), value, root);
  }
  /**
   * Allgather (MPI_Allgather): every rank gets every rank's value, in rank order. Bruck's algorithm.
   * @example
   * ```ts
   * const ranks = await comm.allgather(comm.rank); // [0, 1, 2, 3] everywhere
   * ```
   */
  allgather<T>(value: T): Promise<T[]> {
    return this.#run("allgather", (ch) => coll.allgather(ch, value), value);
  }
  /**
   * Alltoall (MPI_Alltoall): rank i sends `values[j]` to rank j; the result holds what each
   * rank sent to this one, in rank order. Pairwise exchange.
   * @example
   * ```ts
   * const got = await comm.alltoall(Array.from({ length: comm.size }, (_, j) => `${comm.rank}->${j}`));
   * ```
   */
  alltoall<T>(values: readonly T[]): Promise<T[]> {
    return this.#run("alltoall", (ch) => coll.alltoall(ch, values), values);
  }
  /**
   * Reduce (MPI_Reduce): combine every rank's value with `op` at `root`. Built-in ops work
   * element-wise on arrays and typed arrays; a non-commutative op is applied in rank order.
   * `op` may be a plain function `(a, b) => c`: it gets whole values, lower ranks' first, and
   * is applied in rank order (declare a commutative one with `Op.create(fn, true)`).
   * @example
   * ```ts
   * const total = await comm.reduce(localSum, SUM, 0); // number at rank 0, undefined elsewhere
   * const names = await comm.reduce(name, (a, b) => `${a},${b}`, 0); // "r0,r1,r2" at rank 0
   * ```
   * @param op an {@link Op} or a function `(a, b) => c` @default SUM
   * @param root @default 0
   * @param options `into` (read at the root only): the result is written there; `into: value` reduces in place. `complex`: see {@link ReduceOptions}
   * @throws ArgumentError (the promise rejects) if `op` is neither, or `root` is not a rank
   */
  reduce<T extends Reducible>(value: T, op?: OpLike<T>, root = 0, options?: ReduceOptions<T>): Promise<T | undefined> {
    return this.#run("reduce", (ch) => coll.reduce(ch, value, op, root, options?.into, options?.complex), value, root);
  }
  /**
   * Allreduce (MPI_Allreduce): combine every rank's value with `op`; every rank gets the result.
   * Recursive doubling; ring reduce-scatter + allgather for typed arrays ≥ 64 KiB.
   * @example
   * ```ts
   * const sums = await comm.allreduce(new Float64Array([a, b])); // element-wise SUM everywhere
   * const [worst, where] = await comm.allreduce([error, comm.rank], MAXLOC);
   * const longest = await comm.allreduce(word, (a, b) => (b.length > a.length ? b : a));
   * await comm.allreduce(x, SUM, { into: x }); // in place (MPI_IN_PLACE): resolves to x
   * ```
   * @param op an {@link Op} or a function `(a, b) => c` (whole values, rank order) @default SUM
   * @param options `into`: a typed array of the value's type and length that gets the result; `into: value` works in place. `complex`: see {@link ReduceOptions}
   * @throws ArgumentError (the promise rejects) if `op` is neither
   */
  allreduce<T extends Reducible>(value: T, op?: OpLike<T>, options?: ReduceOptions<T>): Promise<T> {
    return this.#run("allreduce", (ch) => coll.allreduce(ch, value, op, options?.into, options?.complex), value);
  }
  /**
   * Inclusive prefix reduction: rank i gets op(v0, ..., vi) (MPI_Scan). `op`: an {@link Op} or
   * `(a, b) => c`, default SUM. `options.into` gets the result; `{ into: value }` is MPI_IN_PLACE.
   */
  scan<T extends Reducible>(value: T, op?: OpLike<T>, options?: ReduceOptions<T>): Promise<T> {
    return this.#run("scan", (ch) => coll.scan(ch, value, op, options?.into, options?.complex), value);
  }
  /**
   * Exclusive prefix reduction: rank i gets op(v0, ..., v(i-1)); `undefined` on rank 0, whose
   * `options.into` is left as it is (MPI_Exscan). `{ into: value }` is MPI_IN_PLACE.
   */
  exscan<T extends Reducible>(value: T, op?: OpLike<T>, options?: ReduceOptions<T>): Promise<T | undefined> {
    return this.#run("exscan", (ch) => coll.exscan(ch, value, op, options?.into, options?.complex), value);
  }
  /**
   * Reduce element-wise, then give rank i its block (MPI_Reduce_scatter). `counts[i]` is the
   * length of rank i's block; by default the array is split as evenly as possible (MPI_Reduce_scatter_block
   * when it divides evenly). `options.into` gets the block at its start; `{ into: value }` is MPI_IN_PLACE.
   */
  reduceScatter<T extends TypedArray | readonly unknown[]>(value: T, op?: OpLike<T>, counts?: readonly number[], options?: ReduceOptions<T>): Promise<T> {
    return this.#run("reduceScatter", (ch) => coll.reduceScatter(ch, value, op, counts, options?.into, options?.complex), value);
  }
  /**
   * Scatter a typed array in blocks of `counts[i]` elements (MPI_Scatterv). Root passes the whole
   * array; `options.into` gets this rank's block; `options.displs` (root): where each block starts.
   */
  scatterv<T extends TypedArray>(array: T | undefined, counts: readonly number[], root = 0, options?: ScattervOptions<T>): Promise<T> {
    return this.#run("scatterv", (ch) => coll.scatterv(ch, array, counts, root, options?.into, options?.displs), array, root);
  }
  /**
   * Gather typed-array blocks of any length into one array at root (MPI_Gatherv); `options.into`
   * (root only) gets them, at `options.displs` (with `counts`) if given, else one after the other.
   */
  gatherv<T extends TypedArray>(array: T, root = 0, options?: GathervOptions<T>): Promise<T | undefined> {
    const { into, counts, displs } = options ?? {};
    return this.#run("gatherv", (ch) => coll.gathervAt(ch, apart(array, into), root, into, counts, displs), array, root);
  }
  /** Every rank gets all blocks in rank order (MPI_Allgatherv), in `options.into` if given, at `options.displs` (with `counts`) if given. */
  allgatherv<T extends TypedArray>(array: T, options?: GathervOptions<T>): Promise<T> {
    const { into, counts, displs } = options ?? {};
    return this.#run("allgatherv", (ch) => coll.allgathervAt(ch, array, into, counts, displs), array);
  }
  /**
   * Rank i sends `counts[j]` elements of `array` (in order, or from `options.displs[j]`) to rank j;
   * gets everyone's blocks in rank order (MPI_Alltoallv), in `options.into` if given, at `options.recvDispls` if given.
   */
  alltoallv<T extends TypedArray>(array: T, counts: readonly number[], options?: AlltoallvOptions<T>): Promise<T> {
    return this.#run("alltoallv", (ch) => coll.alltoallvAt(ch, apart(array, options?.into), counts, options), array);
  }
  /**
   * Alltoallw (MPI_Alltoallw): per-peer counts, displacements and types. Send `blocks[j]` (a
   * typed array of any kind: its class is the type, its length the count, a view's offset the
   * displacement) to rank j; resolve to the block each rank sent here, in rank order.
   * `options.into[j]`: where rank j's block lands (a typed array of its kind with room for it);
   * `into` over the blocks themselves works in place. Pairwise exchange.
   * @example
   * ```ts
   * const got = await comm.alltoallw([new Float64Array([1]), new Int32Array([2, 3])]); // at n = 2
   * await comm.alltoallw(views, { into: views }); // MPI_IN_PLACE
   * ```
   */
  alltoallw(blocks: readonly TypedArray[], options?: { into?: readonly TypedArray[] }): Promise<TypedArray[]> {
    return this.#run("alltoallw", (ch) => coll.alltoallw(ch, blocks, options?.into), blocks);
  }
  /**
   * The ranks of this communicator that share this rank's host, ordered by rank
   * (MPI_Comm_split_type with COMM_TYPE_SHARED). Collective. A rank on another host is never in it.
   * @example
   * ```ts
   * const node = await comm.splitShared();
   * const win = await node.allocateShared(Float64Array, 1024);
   * ```
   */
  async splitShared(): Promise<Comm> {
    return (await this.split(engineOf(this).locality.node, this.rank))!;
  }
  /**
   * Allocate a window of memory shared by every rank of this communicator, `localLength`
   * elements of type `Kind` owned by this rank (MPI_Win_allocate_shared); see {@link SharedWindow}.
   * Collective; the ranks must share a host (use {@link splitShared}) and pass the same `Kind`
   * (lengths may differ), or every rank rejects with an ArgumentError. Works whatever the
   * transport; rejects with a TransportError where memory cannot be shared (no memfd or koffi).
   */
  allocateShared<T extends TypedArray>(Kind: TypedArrayClass<T>, localLength: number): Promise<SharedWindow<T>> {
    return allocateWindow({ comm: this, Kind, localLength, place: engineOf(this).locality, call: "allocateShared" }) as Promise<SharedWindow<T>>;
  }
  /**
   * Allocate a window for one-sided communication, `localLength` elements of type `Kind` owned
   * by this rank, on ranks of any hosts (MPI_Win_allocate); see {@link Window}. Collective;
   * every rank passes the same `Kind` (lengths may differ).
   * @example
   * ```ts
   * const win = await comm.allocateWindow(Float64Array, 1000);
   * ```
   */
  allocateWindow<T extends TypedArray>(Kind: TypedArrayClass<T>, localLength: number): Promise<Window<T>> {
    return allocateWindow({ comm: this, Kind, localLength, place: engineOf(this).locality, call: "allocateWindow" }) as Promise<Window<T>>;
  }
  /**
   * A window over `array`, this rank's part (MPI_Win_create): the array must live in a
   * SharedArrayBuffer, which this rank's progress thread serves to every other rank (host-mates
   * too, over a local socket: {@link allocateWindow} is faster between them). Collective.
   */
  createWindow<T extends TypedArray>(array: T): Promise<Window<T>> {
    return createWindow(this, array, engineOf(this).locality);
  }
  /** A new communicator with the same ranks and separate message contexts (MPI_Comm_dup). Collective. */
  async dup(): Promise<Comm> {
    const group = engineOf(this);
    group.ensureOpen("dup");
    return traced("dup", group.id, async () => backed(new Comm(group.child(""))));
  }
  /**
   * Free the communicator (MPI_Comm_free): once every rank has called it (a barrier), its
   * shared memory (collective board and stage) is let go of, and every later call on it
   * rejects with an ArgumentError. Collective; calls started before it finish first. Libraries
   * that `dup()` per call should free what they dup: each communicator that ran a collective on
   * one host holds its board (see docs/api.md, "Memory"). Also `await using sub = await comm.dup()`.
   * A communicator that becomes garbage unfreed is freed on that rank alone (a backstop).
   * @example
   * ```ts
   * const sub = await comm.dup();
   * await sub.allreduce(x, SUM, { into: x });
   * await sub.free();
   * ```
   * @throws ArgumentError (rejects) on the world communicator, or one already freed
   */
  async free(): Promise<void> {
    const group = engineOf(this);
    group.ensureOpen("free");
    if (group.id === "w" || group.id === "s")
      throw callError(
        ArgumentError,
        "free",
        this.rank,
        `the ${group.id === "w" ? "world" : "self"} communicator cannot be freed; free only what dup(), split() or cartCreate() made`,
      );
    const done = this.barrier();
    group.freed = true; // calls made from now on are refused; the barrier runs after those before it
    await done;
    finalizers.unregister(group);
    group.free();
  }
  /** `await using sub = await comm.dup()`: frees the communicator at the end of the block, unless freed already. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (!engineOf(this).freed) await this.free();
  }
  /**
   * Split into sub-communicators: ranks with the same `color` form one, ordered by `key`
   * then by old rank (MPI_Comm_split). A negative color (UNDEFINED) gets `undefined`. Collective.
   */
  async split(color: number, key = 0): Promise<Comm | undefined> {
    const ranks = await this.#run("split", (ch) => coll.split(ch, color, key));
    // Every member takes a child id, in or out, so that later children agree everywhere.
    const members = ranks?.map((rank) => engineOf(this).members[rank]!) ?? [];
    const child = engineOf(this).child(`:${color}`, members);
    return ranks && backed(new Comm(child));
  }
}
