/**
 * A window's epochs on one rank: which access epochs are open (a fence epoch, locks on some
 * targets, lockAll), which operations on other hosts are still in flight, and the first error
 * among them; and the messages for calls made outside an epoch.
 */
import { ArgumentError, callError } from "../errors.js";

/** Options of `Window.lock`. */
export interface LockOptions {
  /** Exclusive (MPI_LOCK_EXCLUSIVE, mpi4py's default) or shared (MPI_LOCK_SHARED). @default true */
  exclusive?: boolean;
}

export class Epochs {
  /** A fence epoch is open (since the last fence). */
  fenced = false;
  /** Targets locked by this rank, exclusive or not (lockAll: every one, shared). */
  readonly locks = new Map<number, boolean>();
  /** lockAll() holds. */
  all = false;
  /** Operations on other hosts not yet known complete, by target. */
  readonly #inflight = new Map<number, Set<Promise<unknown>>>();
  #error: Error | undefined;

  constructor(private readonly rank: number) {}

  /** Throws unless an access epoch to `target` is open. */
  require(call: string, target: number): void {
    if (this.fenced || this.all || this.locks.has(target)) return;
    throw callError(
      ArgumentError,
      call,
      this.rank,
      `no access epoch to rank ${target} is open; call win.fence() on every rank first, or win.lock(${target}) before and win.unlock(${target}) after`,
    );
  }

  /** Throws if this rank holds a lock (fence, lockAll and free need none). */
  unlocked(call: string): void {
    const [held] = this.locks.keys();
    if (held === undefined) return;
    const fix = this.all ? "win.unlockAll()" : `win.unlock(${held})`;
    throw callError(ArgumentError, call, this.rank, `this rank holds a lock on rank ${held}'s part; call ${fix} first`);
  }

  /** Throws unless `lock(target)` may be taken. */
  lockable(target: number): void {
    if (!this.locks.has(target)) return;
    const fix = this.all ? "win.unlockAll()" : `win.unlock(${target})`;
    throw callError(ArgumentError, "lock", this.rank, `this rank already holds a lock on rank ${target}; call ${fix} first`);
  }

  /** Throws unless `unlock(target)` (or `flush`, with `passive`) has a lock to act on. */
  locked(call: "unlock" | "flush", target: number): void {
    if (call === "flush" && this.locks.has(target)) return;
    if (call === "flush") {
      throw callError(ArgumentError, call, this.rank, `flush needs a passive-target epoch; call win.lock(${target}) or win.lockAll() first`);
    }
    if (this.locks.has(target) && !this.all) return;
    const fix = this.all ? "it holds lockAll(): call win.unlockAll()" : `call win.lock(${target}) first`;
    throw callError(ArgumentError, call, this.rank, `this rank holds no lock(${target}) to unlock; ${fix}`);
  }

  /** Track an operation on another host until the next synchronization. */
  track<V>(target: number, operation: Promise<V>): Promise<V> {
    let set = this.#inflight.get(target);
    if (set === undefined) this.#inflight.set(target, (set = new Set()));
    const settled: Promise<void> = operation.then(
      () => void set.delete(settled),
      (error: Error) => {
        set.delete(settled);
        this.#error ??= error;
      },
    );
    set.add(settled);
    return operation;
  }

  /** Nothing is in flight and no error waits to be thrown: {@link complete} has nothing to do (a fence between host-mates skips its await). */
  get idle(): boolean {
    if (this.#error !== undefined) return false;
    for (const set of this.#inflight.values()) if (set.size > 0) return false;
    return true;
  }

  /** Wait for the operations in flight to `target` (every target if undefined); rethrow the first error. */
  async complete(target?: number): Promise<void> {
    const sets = target === undefined ? [...this.#inflight.values()] : [this.#inflight.get(target) ?? new Set()];
    for (const set of sets) await Promise.all(set);
    const error = this.#error;
    this.#error = undefined;
    if (error !== undefined) throw error;
  }
}
