/**
 * The communicator: a group of ranks with private message contexts (MPI_Comm), with the
 * point-to-point calls here and the collectives delegated to src/collectives.
 *
 * Naming rule (one for everything): lowercase mpi4py names; any value works, and typed
 * arrays take the raw-bytes fast path automatically. Every call returns a promise; the
 * `i`-prefixed calls return a {@link Request}.
 */
import { ANY_SOURCE, ANY_TAG, checkPeer, checkTag, PROC_NULL, type Where } from "../comm/validate.js";
import { Request, Status } from "../comm/request.js";
import type { Group } from "../comm/group.js";
import type { Reducible, TypedArray } from "../comm/values.js";
import * as coll from "../collectives/index.js";
import type { OpLike } from "../collectives/ops.js";
import { land, target } from "../collectives/into.js";
import type { IntoOptions, RecvOptions } from "./options.js";
import { allocateShared, type SharedWindow, type TypedArrayClass } from "./window.js";
import { describe } from "../comm/validate.js";
import { ArgumentError, callError } from "../errors.js";

/**
 * @internal The engine group of a communicator, for the api modules that build new
 * communicators on one (cartesian.ts: it extends Comm, so Comm cannot import it). Not exported
 * from the package.
 */
export let engineGroup: (comm: Comm) => Group;

export class Comm {
  /** This process's rank in the communicator, 0 ≤ rank < size. */
  readonly rank: number;
  /** Number of ranks in the communicator. */
  readonly size: number;
  readonly #group: Group;

  static {
    engineGroup = (comm) => comm.#group;
  }

  /** @internal Use `init()`, `dup()` or `split()` to get a communicator. */
  constructor(group: Group) {
    this.#group = group;
    this.rank = group.rank;
    this.size = group.size;
  }

  #where(call: string): Where {
    return { call, rank: this.rank, size: this.size };
  }

  #startSend(call: string, value: unknown, dest: number, tag: number): Promise<void> {
    const where = this.#where(call);
    checkPeer(where, "dest", dest, { procNull: true });
    checkTag(where, tag);
    if (dest === PROC_NULL) return Promise.resolve();
    return this.#group.post(call, this.#group.id, dest, tag, value);
  }

  async #startRecv<T>(source: number, tag: number, status?: Status, call = "recv", into?: T): Promise<T> {
    if (source === PROC_NULL) {
      if (status) Object.assign(status, { source: PROC_NULL, tag: ANY_TAG, bytes: 0 });
      return (into ?? undefined) as T;
    }
    const envelope = await this.#group.take(call, this.#group.id, source, tag, false, target(into));
    if (status) Object.assign(status, { source: envelope.source, tag: envelope.tag, bytes: envelope.bytes });
    return into === undefined ? (envelope.value as T) : land(this.#where(call), into, envelope.value);
  }

  #checkRecvArgs(call: string, source: number, tag: number, into?: unknown): void {
    const where = this.#where(call);
    checkPeer(where, "source", source, { any: true, procNull: true });
    checkTag(where, tag, true);
    if (into !== undefined && target(into) === undefined)
      throw callError(ArgumentError, call, this.rank, `into must be a typed array or Buffer of the message's type and length, got ${describe(into)}`);
  }

  /**
   * Send a value to `dest` (MPI standard-mode send, like mpi4py `comm.send`).
   * Resolves once the message is queued: it never waits for the receiver to post a receive,
   * and the value may be modified afterwards. Messages to one rank with one tag arrive in order.
   *
   * @example
   * ```ts
   * if (comm.rank === 0) await comm.send({ step: 1, data: new Float64Array(8) }, 1, 7);
   * ```
   * @param value anything msgpack carries; typed arrays and Buffers travel as raw bytes
   * @param dest rank in this communicator, or PROC_NULL
   * @param tag integer in [0, 2^31 - 1] @default 0
   */
  async send(value: unknown, dest: number, tag = 0): Promise<void> {
    return this.#startSend("send", value, dest, tag);
  }

  /**
   * Receive a value (like mpi4py `comm.recv`). Waits for the oldest message matching
   * `source` and `tag`; the message may have arrived before or after the call.
   *
   * @example
   * ```ts
   * const status = new Status();
   * const msg = await comm.recv<number[]>(ANY_SOURCE, ANY_TAG, status);
   * console.log(`got ${status.bytes} bytes from ${status.source}`);
   * ```
   * Into an array you own (mpi4py `Recv(buf)`): with a named source the transport writes the
   * data straight there as it arrives, where it can.
   * ```ts
   * const buf = new Float64Array(1 << 19);
   * await comm.recv(0, 7, { into: buf, status }); // resolves to buf
   * ```
   * @param source rank, ANY_SOURCE or PROC_NULL @default ANY_SOURCE
   * @param tag tag or ANY_TAG @default ANY_TAG
   * @param options a {@link Status} to fill, or `{ into, status }` (see {@link IntoOptions})
   */
  async recv<T = unknown>(source: number = ANY_SOURCE, tag: number = ANY_TAG, options?: Status | RecvOptions<T>): Promise<T> {
    const { into, status } = options instanceof Status ? { into: undefined, status: options } : (options ?? {});
    this.#checkRecvArgs("recv", source, tag, into);
    return this.#startRecv<T>(source, tag, status, "recv", into);
  }

  /** Nonblocking send (MPI_Isend); argument errors throw at once. @returns a request whose `wait()` resolves when the message is queued. */
  isend(value: unknown, dest: number, tag = 0): Request<void> {
    return new Request(this.#startSend("isend", value, dest, tag));
  }

  /** Nonblocking receive (MPI_Irecv); `wait()` resolves with the value (or `options.into`) and fills `request.status`. */
  irecv<T = unknown>(source: number = ANY_SOURCE, tag: number = ANY_TAG, options?: IntoOptions<T>): Request<T> {
    this.#checkRecvArgs("irecv", source, tag, options?.into);
    const status = new Status();
    const request = new Request<T>(this.#startRecv<T>(source, tag, status, "irecv", options?.into));
    void request.wait().then(
      () => (request.status = status),
      () => undefined,
    );
    return request;
  }

  /** Wait until a matching message has arrived, without receiving it (MPI_Probe). */
  async probe(source: number = ANY_SOURCE, tag: number = ANY_TAG): Promise<Status> {
    this.#checkRecvArgs("probe", source, tag);
    return toStatus(await this.#group.runtime.probe(this.#group.id, source, tag, this.#group.peers(source)));
  }

  /** @returns the status of a matching arrived message, or `undefined` if none has arrived (MPI_Iprobe). */
  async iprobe(source: number = ANY_SOURCE, tag: number = ANY_TAG): Promise<Status | undefined> {
    this.#checkRecvArgs("iprobe", source, tag);
    const envelope = await this.#group.runtime.iprobe(this.#group.id, source, tag);
    return envelope && toStatus(envelope);
  }

  /**
   * Send to `dest` and receive from `source` at once (MPI_Sendrecv): never deadlocks in a ring shift.
   * @example
   * ```ts
   * const left = await comm.sendrecv(comm.rank, (comm.rank + 1) % comm.size, 0, (comm.rank - 1 + comm.size) % comm.size);
   * ```
   */
  async sendrecv<T = unknown>(value: unknown, dest: number, sendTag = 0, source: number = ANY_SOURCE, recvTag: number = ANY_TAG, status?: Status): Promise<T> {
    this.#checkRecvArgs("sendrecv", source, recvTag);
    const [, received] = await Promise.all([this.#startSend("sendrecv", value, dest, sendTag), this.#startRecv<T>(source, recvTag, status, "sendrecv")]);
    return received;
  }

  // ---- collectives (algorithms in src/collectives) ----
  // Every collective must be called by every rank of the communicator, in the same order.
  // Each returns a promise; several may be started before any is awaited (like MPI's
  // nonblocking collectives) and they complete in call order. Misuse found on any rank
  // (wrong counts, a bad root, an op that does not fit) rejects on every rank.

  /**
   * Resolve once every rank has called barrier (MPI_Barrier). Dissemination, ⌈log₂ n⌉ rounds.
   * @example
   * ```ts
   * await comm.barrier(); // every rank has finished the previous phase
   * ```
   */
  barrier(): Promise<void> {
    return coll.barrier(this.#group.channel("barrier"));
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
    return coll.bcast(this.#group.channel("bcast"), value, root, options?.into);
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
    return coll.scatter(this.#group.channel("scatter"), values, root);
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
    return coll.gather(this.#group.channel("gather"), value, root);
  }
  /**
   * Allgather (MPI_Allgather): every rank gets every rank's value, in rank order. Bruck's algorithm.
   * @example
   * ```ts
   * const ranks = await comm.allgather(comm.rank); // [0, 1, 2, 3] everywhere
   * ```
   */
  allgather<T>(value: T): Promise<T[]> {
    return coll.allgather(this.#group.channel("allgather"), value);
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
    return coll.alltoall(this.#group.channel("alltoall"), values);
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
   * @param options `into` (read at the root only): the result is written there; `into: value` reduces in place
   * @throws ArgumentError (the promise rejects) if `op` is neither, or `root` is not a rank
   */
  reduce<T extends Reducible>(value: T, op?: OpLike<T>, root = 0, options?: IntoOptions<T>): Promise<T | undefined> {
    return coll.reduce(this.#group.channel("reduce"), value, op, root, options?.into);
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
   * @param options `into`: a typed array of the value's type and length that gets the result; `into: value` works in place
   * @throws ArgumentError (the promise rejects) if `op` is neither
   */
  allreduce<T extends Reducible>(value: T, op?: OpLike<T>, options?: IntoOptions<T>): Promise<T> {
    return coll.allreduce(this.#group.channel("allreduce"), value, op, options?.into);
  }
  /** Inclusive prefix reduction: rank i gets op(v0, ..., vi) (MPI_Scan). `op`: an {@link Op} or `(a, b) => c`, default SUM. */
  scan<T extends Reducible>(value: T, op?: OpLike<T>): Promise<T> {
    return coll.scan(this.#group.channel("scan"), value, op);
  }
  /** Exclusive prefix reduction: rank i gets op(v0, ..., v(i-1)); `undefined` on rank 0 (MPI_Exscan). */
  exscan<T extends Reducible>(value: T, op?: OpLike<T>): Promise<T | undefined> {
    return coll.exscan(this.#group.channel("exscan"), value, op);
  }
  /**
   * Reduce element-wise, then give rank i its block (MPI_Reduce_scatter). `counts[i]` is the
   * length of rank i's block; by default the array is split as evenly as possible.
   */
  reduceScatter<T extends TypedArray | readonly unknown[]>(value: T, op?: OpLike<T>, counts?: readonly number[]): Promise<T> {
    return coll.reduceScatter(this.#group.channel("reduceScatter"), value, op, counts);
  }
  /** Scatter a typed array in blocks of `counts[i]` elements (MPI_Scatterv). Root passes the whole array; `options.into` gets this rank's block. */
  scatterv<T extends TypedArray>(array: T | undefined, counts: readonly number[], root = 0, options?: IntoOptions<T>): Promise<T> {
    return coll.scatterv(this.#group.channel("scatterv"), array, counts, root, options?.into);
  }
  /** Gather typed-array blocks of any length into one array at root (MPI_Gatherv); `options.into` (root only) gets them. */
  gatherv<T extends TypedArray>(array: T, root = 0, options?: IntoOptions<T>): Promise<T | undefined> {
    return coll.gatherv(this.#group.channel("gatherv"), array, root, options?.into);
  }
  /** Every rank gets all blocks concatenated in rank order (MPI_Allgatherv), in `options.into` if given. */
  allgatherv<T extends TypedArray>(array: T, options?: IntoOptions<T>): Promise<T> {
    return coll.allgatherv(this.#group.channel("allgatherv"), array, options?.into);
  }
  /** Rank i sends `counts[j]` elements of `array` (in order) to rank j; gets everyone's blocks concatenated (MPI_Alltoallv), in `options.into` if given. */
  alltoallv<T extends TypedArray>(array: T, counts: readonly number[], options?: IntoOptions<T>): Promise<T> {
    return coll.alltoallv(this.#group.channel("alltoallv"), array, counts, options?.into);
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
    return (await this.split(this.#group.runtime.node, this.rank))!;
  }
  /**
   * Allocate a window of memory shared by every rank of this communicator, `localLength`
   * elements of type `Kind` owned by this rank (MPI_Win_allocate_shared); see {@link SharedWindow}.
   * Collective; the ranks must share a host (use {@link splitShared}). Works whatever the
   * transport; rejects with a TransportError where memory cannot be shared (no memfd or koffi).
   */
  allocateShared<T extends TypedArray>(Kind: TypedArrayClass<T>, localLength: number): Promise<SharedWindow<T>> {
    return allocateShared(this, Kind, localLength);
  }
  /** A new communicator with the same ranks and separate message contexts (MPI_Comm_dup). Collective. */
  async dup(): Promise<Comm> {
    return new Comm(this.#group.child(""));
  }
  /**
   * Split into sub-communicators: ranks with the same `color` form one, ordered by `key`
   * then by old rank (MPI_Comm_split). A negative color (UNDEFINED) gets `undefined`. Collective.
   */
  async split(color: number, key = 0): Promise<Comm | undefined> {
    const ranks = await coll.split(this.#group.channel("split"), color, key);
    // Every member takes a child id, in or out, so that later children agree everywhere.
    const members = ranks?.map((rank) => this.#group.members[rank]!) ?? [];
    const child = this.#group.child(`:${color}`, members);
    return ranks && new Comm(child);
  }
}

function toStatus(envelope: { source: number; tag: number; bytes: number }): Status {
  return Object.assign(new Status(), { source: envelope.source, tag: envelope.tag, bytes: envelope.bytes });
}
