/**
 * One-sided communication (MPI-3 RMA): windows of memory that any rank of the communicator
 * reads, writes and updates with `put`, `get`, `accumulate`, `fetchAndOp` and
 * `compareAndSwap`, inside fence epochs (active target) or lock epochs (passive target).
 * A host-mate's part is operated on directly in shared memory; a part on another host through
 * its owner's progress thread. See window-memory.ts for where the memory lives.
 */
import type { TypedArray } from "../comm/wire/values.js";
import { checkPeer, describe } from "../comm/wire/validate.js";
import { Kind as Req, RMA_OPS, rmaKernel, type RmaKernel } from "../comm/engine/rma/kernel.js";
import { Op, SUM } from "../collectives/ops.js";
import { ArgumentError, OpError, callError } from "../errors.js";
import { bytesOf, type SameKind, type Target, type TypedArrayClass, type WindowComm, type WindowMemory } from "./window-memory.js";
import { Epochs, type LockOptions } from "./window-epochs.js";

export type { SameKind, TypedArrayClass, WindowComm } from "./window-memory.js";
export type { LockOptions } from "./window-epochs.js";

/** The element type of a window: numbers, or bigints for BigInt64Array and BigUint64Array windows. */
export type ElementOf<T extends TypedArray> = T extends BigInt64Array | BigUint64Array ? bigint : number;

/**
 * A window (MPI_Win) made by `comm.allocateWindow`: each rank owns `local`, a part of the
 * window, and reaches every rank's part with one-sided operations. Collective calls (`fence`,
 * `free`) are made by every rank; the others by the origin alone.
 *
 * Epochs, as in MPI: an operation on rank t needs an open access epoch to t: after `fence()`
 * (every rank, active target), or between `lock(t)` and `unlock(t)`, or `lockAll()` and
 * `unlockAll()` (passive target: t takes no part, and its operations are served while it
 * computes). An operation outside an epoch rejects with an ArgumentError saying which call opens one.
 *
 * Completion: each operation returns a promise, which may be awaited, or not: the next
 * `fence`, `flush(t)`, `unlock(t)` or `unlockAll` completes every operation started before it
 * (and rejects with the first error among them). On one host the operations complete at once.
 * Atomicity: `accumulate`, `fetchAndOp` and `compareAndSwap` are atomic per call on a part;
 * `put` and `get` are not (concurrent puts to one element leave either value, as in MPI).
 *
 * @example
 * ```ts
 * const win = await comm.allocateWindow(Float64Array, 1); // a counter on every rank
 * await win.fence();
 * if (comm.rank !== 0) await win.accumulate(new Float64Array([1]), 0, 0, SUM);
 * await win.fence();
 * if (comm.rank === 0) console.log(win.local[0]); // size - 1
 * await win.lock(0);
 * const ticket = await win.fetchAndOp(1, 0, 0, SUM); // rank 0 may be computing meanwhile
 * await win.unlock(0);
 * await win.free();
 * ```
 */
export class Window<T extends TypedArray> {
  readonly #comm: WindowComm;
  readonly #Kind: TypedArrayClass<T>;
  readonly #targets: Target<T>[];
  readonly #kernel: RmaKernel;
  #release: (() => Promise<void>) | undefined;
  readonly #epochs: Epochs;

  /** @internal Use `comm.allocateWindow` or `comm.allocateShared`. */
  constructor(comm: WindowComm, Kind: TypedArrayClass<T>, memory: WindowMemory<T>) {
    this.#comm = comm;
    this.#Kind = Kind;
    this.#targets = memory.targets;
    this.#kernel = rmaKernel(memory.yieldCpu);
    this.#release = memory.release;
    this.#epochs = new Epochs(comm.rank);
  }

  #check(call: string): void {
    if (this.#release === undefined) throw callError(ArgumentError, call, this.#comm.rank, "the window has been freed; allocate a new one");
  }

  /** This rank's part of the window. */
  get local(): T {
    this.#check("local");
    return this.#targets[this.#comm.rank]!.part!;
  }

  /** The part of rank `target`, checked for an epoch and for `count` elements from `index`. */
  #target(call: string, target: number, index: number, count: number): Target<T> {
    this.#check(call);
    const rank = this.#comm.rank;
    checkPeer({ call, rank, size: this.#comm.size }, "target", target);
    const { length } = this.#targets[target]!;
    if (!Number.isSafeInteger(index) || index < 0 || index + count > length) {
      const what = count === 1 ? "one element" : `${count} elements`;
      throw callError(
        ArgumentError,
        call,
        rank,
        `targetIndex must be an integer in [0, ${length - count}] for ${what} in rank ${target}'s part of ${length}, got ${describe(index)}`,
      );
    }
    this.#epochs.require(call, target);
    return this.#targets[target]!;
  }

  /** An origin or result array, which must be of the window's type. */
  #array(call: string, name: string, array: unknown): T {
    if (array instanceof this.#Kind) return array;
    throw callError(ArgumentError, call, this.#comm.rank, `${name} must be a ${this.#Kind.name} (the window's element type), got ${describe(array)}`);
  }

  /** A single value of the window's type. */
  #value(call: string, name: string, value: unknown): ElementOf<T> {
    const big = this.#Kind.name.startsWith("Big");
    if (typeof value === (big ? "bigint" : "number")) return value as ElementOf<T>;
    throw callError(
      ArgumentError,
      call,
      this.#comm.rank,
      `${name} must be a ${big ? "bigint" : "number"} (an element of ${this.#Kind.name}), got ${describe(value)}`,
    );
  }

  /** The wire index of a built-in op that fits the window's elements. */
  #op(call: string, op: unknown): number {
    const index = op instanceof Op ? RMA_OPS.indexOf(op.name as (typeof RMA_OPS)[number]) : -1;
    if (index < 0) {
      const got = op instanceof Op ? op.name : describe(op);
      throw callError(
        OpError,
        call,
        this.#comm.rank,
        `op must be a built-in Op (SUM, PROD, MIN, MAX, LAND, LOR, LXOR, BAND, BOR, BXOR, REPLACE, NO_OP), got ${got}`,
      );
    }
    if (op instanceof Op && op.kind === "bitwise" && this.#Kind.name.startsWith("Float")) {
      throw callError(
        OpError,
        call,
        this.#comm.rank,
        `${op.name} needs integers, and this window holds ${this.#Kind.name}; use an integer window or SUM/MIN/MAX`,
      );
    }
    return index;
  }

  /**
   * Write `origin` into rank `target`'s part from element `targetIndex` (MPI_Put).
   * @example
   * ```ts
   * await win.fence();
   * win.put(new Float64Array([1, 2]), (comm.rank + 1) % comm.size, 0);
   * await win.fence(); // the next rank's local[0..1] are 1, 2
   * ```
   * @returns resolves once written (see the class's completion rules)
   * @throws ArgumentError (rejects) outside an epoch, for a bad target or a range outside the part
   */
  async put(origin: SameKind<T>, target: number, targetIndex = 0): Promise<void> {
    this.#array("put", "origin", origin);
    const to = this.#target("put", target, targetIndex, origin.length);
    if (to.part !== undefined) return void to.part.set(origin as never, targetIndex);
    await this.#epochs.track(target, to.remote!.request("put", { kind: Req.Put, count: origin.length, index: targetIndex }, bytesOf(origin)));
  }

  /**
   * Read `into.length` elements of rank `target`'s part from element `targetIndex` into `into` (MPI_Get).
   * @returns `into`, once filled
   * @throws ArgumentError (rejects) outside an epoch, for a bad target or a range outside the part
   */
  async get<A extends SameKind<T>>(into: A, target: number, targetIndex = 0): Promise<A> {
    this.#array("get", "into", into);
    const from = this.#target("get", target, targetIndex, into.length);
    if (from.part !== undefined) {
      into.set(from.part.subarray(targetIndex, targetIndex + into.length) as never);
      return into;
    }
    const body = await this.#epochs.track(target, from.remote!.request("get", { kind: Req.Get, count: into.length, index: targetIndex }));
    bytesOf(into).set(body);
    return into;
  }

  /**
   * Combine `origin` into rank `target`'s part, element-wise: `part[targetIndex + i] = op(part[targetIndex + i], origin[i])`,
   * atomically (MPI_Accumulate). `REPLACE` makes it an atomic put.
   * @param op a built-in Op @default SUM
   * @throws OpError (rejects) for a user op, MINLOC/MAXLOC, or a bitwise op on a float window
   */
  async accumulate(origin: SameKind<T>, target: number, targetIndex = 0, op: Op = SUM): Promise<void> {
    this.#array("accumulate", "origin", origin);
    const code = this.#op("accumulate", op);
    const to = this.#target("accumulate", target, targetIndex, origin.length);
    if (to.part !== undefined) return this.#kernel.accumulate(to.words!, to.at, to.part, targetIndex, origin, code);
    await this.#epochs.track(
      target,
      to.remote!.request("accumulate", { kind: Req.Accumulate, op: code, count: origin.length, index: targetIndex }, bytesOf(origin)),
    );
  }

  /**
   * Atomically `part[targetIndex] = op(old, value)` on rank `target` (MPI_Fetch_and_op); with
   * `NO_OP`, an atomic read. Served while the target computes (a counter, a work queue).
   * @example
   * ```ts
   * await win.lock(0);
   * const next = await win.fetchAndOp(1, 0, 0, SUM); // take a ticket from rank 0's counter
   * await win.unlock(0);
   * ```
   * @param op a built-in Op @default SUM
   * @returns the element's old value
   */
  async fetchAndOp(value: ElementOf<T>, target: number, targetIndex = 0, op: Op = SUM): Promise<ElementOf<T>> {
    this.#value("fetchAndOp", "value", value);
    const code = this.#op("fetchAndOp", op);
    const to = this.#target("fetchAndOp", target, targetIndex, 1);
    if (to.part !== undefined) return this.#kernel.fetchAndOp(to.words!, to.at, to.part, targetIndex, value, code) as ElementOf<T>;
    const body = await this.#epochs.track(
      target,
      to.remote!.request("fetchAndOp", { kind: Req.FetchAndOp, op: code, count: 1, index: targetIndex }, this.#one(value)),
    );
    return this.#element(body);
  }

  /**
   * Atomically replace rank `target`'s element `targetIndex` by `value` if it equals `compare` (MPI_Compare_and_swap).
   * @returns the element's old value (equal to `compare` if the swap happened)
   */
  async compareAndSwap(value: ElementOf<T>, compare: ElementOf<T>, target: number, targetIndex = 0): Promise<ElementOf<T>> {
    this.#value("compareAndSwap", "value", value);
    this.#value("compareAndSwap", "compare", compare);
    const to = this.#target("compareAndSwap", target, targetIndex, 1);
    if (to.part !== undefined) return this.#kernel.compareAndSwap(to.words!, to.at, to.part, targetIndex, value, compare) as ElementOf<T>;
    const request = to.remote!.request("compareAndSwap", { kind: Req.CompareAndSwap, count: 1, index: targetIndex }, this.#one(value), this.#one(compare));
    return this.#element(await this.#epochs.track(target, request));
  }

  #one(value: ElementOf<T>): Uint8Array {
    const one = new this.#Kind(new ArrayBuffer(this.#Kind.BYTES_PER_ELEMENT), 0, 1);
    (one as unknown as ElementOf<T>[])[0] = value;
    return bytesOf(one);
  }

  #element(bytes: Uint8Array): ElementOf<T> {
    return new this.#Kind(Uint8Array.from(bytes).buffer, 0, 1)[0] as ElementOf<T>;
  }

  /**
   * Separate epochs (MPI_Win_fence): completes this rank's operations, then resolves once every
   * rank has called it, after which each rank sees what was written before the others' calls,
   * and may operate on every part until the next fence. Collective.
   * @throws ArgumentError (rejects) while this rank holds a lock
   */
  async fence(): Promise<void> {
    this.#check("fence");
    this.#epochs.unlocked("fence");
    this.#epochs.fenced = false;
    if (!this.#epochs.idle) await this.#epochs.complete();
    await this.#comm.barrier();
    this.#epochs.fenced = true;
  }

  /**
   * Start a passive-target epoch on rank `target` (MPI_Win_lock): resolves once the lock is
   * held (an exclusive lock waits for every other holder). `target` takes no part.
   * @param options `exclusive` @default true, as in mpi4py
   */
  async lock(target: number, options: LockOptions = {}): Promise<void> {
    this.#check("lock");
    checkPeer({ call: "lock", rank: this.#comm.rank, size: this.#comm.size }, "target", target);
    this.#epochs.lockable(target);
    const exclusive = options.exclusive ?? true;
    this.#epochs.fenced = false;
    this.#epochs.locks.set(target, exclusive);
    await this.#acquire(target, exclusive);
  }

  async #acquire(target: number, exclusive: boolean): Promise<void> {
    const to = this.#targets[target]!;
    if (to.remote !== undefined) return void (await to.remote.request("lock", { kind: Req.Lock, flag: exclusive ? 1 : 0, count: 0, index: 0 }));
    for (let tries = 0; !this.#kernel.tryLock(to.words!, to.at, exclusive); tries++) {
      await new Promise((resolve) => (tries < 100 ? setImmediate(resolve) : setTimeout(resolve, 1)));
    }
  }

  async #releaseLock(target: number): Promise<void> {
    const exclusive = this.#epochs.locks.get(target)!;
    this.#epochs.locks.delete(target);
    const to = this.#targets[target]!;
    if (to.remote !== undefined) await to.remote.request("unlock", { kind: Req.Unlock, flag: exclusive ? 1 : 0, count: 0, index: 0 });
    else this.#kernel.unlock(to.words!, to.at, exclusive);
  }

  /** End the passive-target epoch on `target` (MPI_Win_unlock): completes the operations on it, then lets go of the lock. */
  async unlock(target: number): Promise<void> {
    this.#check("unlock");
    checkPeer({ call: "unlock", rank: this.#comm.rank, size: this.#comm.size }, "target", target);
    this.#epochs.locked("unlock", target);
    try {
      await this.#epochs.complete(target);
    } finally {
      await this.#releaseLock(target);
    }
  }

  /** A shared lock on every rank (MPI_Win_lock_all): a passive-target epoch to all. */
  async lockAll(): Promise<void> {
    this.#check("lockAll");
    this.#epochs.unlocked("lockAll");
    this.#epochs.fenced = false;
    this.#epochs.all = true;
    for (let t = 0; t < this.#comm.size; t++) this.#epochs.locks.set(t, false);
    await Promise.all([...this.#epochs.locks.keys()].map((t) => this.#acquire(t, false)));
  }

  /** End the epoch of {@link lockAll} (MPI_Win_unlock_all): completes every operation, then lets go of every lock. */
  async unlockAll(): Promise<void> {
    this.#check("unlockAll");
    if (!this.#epochs.all) throw callError(ArgumentError, "unlockAll", this.#comm.rank, "this rank holds no lockAll() to end; call win.lockAll() first");
    try {
      await this.#epochs.complete();
    } finally {
      this.#epochs.all = false;
      await Promise.all([...this.#epochs.locks.keys()].map((t) => this.#releaseLock(t)));
    }
  }

  /** Complete every operation on `target` without ending the epoch (MPI_Win_flush). Needs a lock on it. */
  async flush(target: number): Promise<void> {
    this.#check("flush");
    checkPeer({ call: "flush", rank: this.#comm.rank, size: this.#comm.size }, "target", target);
    if (!this.#epochs.locks.has(target))
      throw callError(ArgumentError, "flush", this.#comm.rank, `flush needs a passive-target epoch; call win.lock(${target}) or win.lockAll() first`);
    await this.#epochs.complete(target);
  }

  /**
   * Free the window (MPI_Win_free), collectively: completes this rank's operations and resolves
   * once every rank is done with it. Arrays it handed out (`local`) then read zeros; do not use them.
   * @throws ArgumentError (rejects) while this rank holds a lock
   */
  async free(): Promise<void> {
    this.#check("free");
    this.#epochs.unlocked("free");
    await this.#epochs.complete();
    await this.#comm.barrier();
    const release = this.#release!;
    this.#release = undefined;
    await release();
  }

  /** `await using win = await comm.allocateWindow(...)`: frees the window at the end of the block, unless freed already. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#release !== undefined) await this.free();
  }
}
