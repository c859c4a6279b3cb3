/**
 * The one-sided operations on a window part in shared memory, as one self-contained function:
 * the rank that owns a window's memory, its host-mates (which map that memory and operate on it
 * themselves) and the rank's progress thread (which serves ranks on other hosts, see
 * progress.ts) all run this same code. It references nothing outside itself, so that the
 * progress thread, started from source text, gets it as `(${rmaKernel})(yieldCpu)`.
 *
 * Each window part has two control words in the host's segment, each on a cache line of its
 * own: the epoch lock (MPI_Win_lock: 0 free, -1 held exclusively, n > 0 held shared n times)
 * and the atomic lock, held only for the few instructions of one accumulate, fetchAndOp or
 * compareAndSwap, so that these are atomic per element as MPI requires, whoever does them.
 */

/** Int32 words of control per window part: two cache lines. */
export const CONTROL_WORDS = 32;

/** Elements of any typed array, indexable as numbers or bigints. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- number or bigint elements, checked by the caller's op validation
export type Elements = { [i: number]: any; length: number };

/** Request kinds of the progress thread's protocol (see progress.ts and remote.ts). */
export const Kind = { Put: 1, Get: 2, Accumulate: 3, FetchAndOp: 4, CompareAndSwap: 5, Lock: 6, Unlock: 7 } as const;

/** The built-in operations one-sided accumulation takes, by wire index. */
export const RMA_OPS = ["SUM", "PROD", "MIN", "MAX", "LAND", "LOR", "LXOR", "BAND", "BOR", "BXOR", "REPLACE", "NO_OP"] as const;

export interface RmaKernel {
  /** Try to take part `at`'s epoch lock (never waits): @returns whether it is now held. */
  tryLock(words: Int32Array, at: number, exclusive: boolean): boolean;
  unlock(words: Int32Array, at: number, exclusive: boolean): void;
  /** `part[index + i] = op(part[index + i], origin[i])`, atomically per call. */
  accumulate(words: Int32Array, at: number, part: Elements, index: number, origin: Elements, op: number): void;
  /** `part[index] = op(part[index], value)`, atomically: @returns the old value. */
  fetchAndOp(words: Int32Array, at: number, part: Elements, index: number, value: unknown, op: number): unknown;
  /** `if (part[index] === compare) part[index] = value`, atomically: @returns the old value. */
  compareAndSwap(words: Int32Array, at: number, part: Elements, index: number, value: unknown, compare: unknown): unknown;
}

/**
 * The operations. Self-contained (see the header): the constants above are repeated inside.
 * @param yieldCpu gives the CPU away while another process holds an atomic lock (an
 * oversubscribed host: the holder may be descheduled)
 */
export function rmaKernel(yieldCpu: () => void): RmaKernel {
  const epochWord = 0;
  const atomicWord = 16;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- numbers or bigints alike
  type V = any;
  const truth = (a: V, r: boolean): V => (typeof a === "bigint" ? BigInt(r) : Number(r));
  const ops: ((a: V, b: V) => V)[] = [
    (a, b) => a + b,
    (a, b) => a * b,
    (a, b) => (b < a ? b : a),
    (a, b) => (b > a ? b : a),
    (a, b) => truth(a, Boolean(a) && Boolean(b)),
    (a, b) => truth(a, Boolean(a) || Boolean(b)),
    (a, b) => truth(a, Boolean(a) !== Boolean(b)),
    (a, b) => a & b,
    (a, b) => a | b,
    (a, b) => a ^ b,
    (_a, b) => b,
    (a) => a,
  ];
  const enter = (words: Int32Array, at: number): void => {
    for (let spins = 0; Atomics.compareExchange(words, at + atomicWord, 0, 1) !== 0; spins++) if (spins > 64) yieldCpu();
  };
  const leave = (words: Int32Array, at: number): void => void Atomics.store(words, at + atomicWord, 0);
  return {
    tryLock(words, at, exclusive) {
      if (exclusive) return Atomics.compareExchange(words, at + epochWord, 0, -1) === 0;
      const held = Atomics.load(words, at + epochWord);
      return held >= 0 && Atomics.compareExchange(words, at + epochWord, held, held + 1) === held;
    },
    unlock(words, at, exclusive) {
      if (exclusive) Atomics.store(words, at + epochWord, 0);
      else Atomics.sub(words, at + epochWord, 1);
    },
    accumulate(words, at, part, index, origin, op) {
      const f = ops[op]!;
      enter(words, at);
      for (let i = 0; i < origin.length; i++) part[index + i] = f(part[index + i], origin[i]);
      leave(words, at);
    },
    fetchAndOp(words, at, part, index, value, op) {
      enter(words, at);
      const old = part[index];
      part[index] = ops[op]!(old, value);
      leave(words, at);
      return old;
    },
    compareAndSwap(words, at, part, index, value, compare) {
      enter(words, at);
      const old = part[index];
      if (old === compare) part[index] = value;
      leave(words, at);
      return old;
    },
  };
}
