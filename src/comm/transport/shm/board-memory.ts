/**
 * A collective board: memory shared by the members of a communicator that all live on one
 * host, where small collectives meet without messages (as MPI's shared-memory collectives do).
 *
 * Each member has a control line (its generation counter and a sleeping flag) and DEPTH
 * slots it alone writes. Collective number g (counted per communicator, the same on every
 * member since collectives are called in the same order) uses the slots g % DEPTH: a member
 * writes its slot, then publishes g. Publishing g also says that the member is done reading
 * collective g - 1; so before writing, a member waits until everyone has published
 * g - DEPTH + 1 (done with g - DEPTH, the last user of these slots).
 *
 * A slot holds a list of values (typed arrays or numbers), or a FALLBACK mark: a value that
 * does not fit (too large, or of another kind). Every member reads the marks of the slots it
 * needs, so members agree on falling back to messages without a further exchange. A slot may
 * also be DESCRIBED: its values then describe data too large for it (lengths, kind), which
 * travels as messages straight into place once every member knows where each block goes.
 *
 * Sequentially consistent Atomics order everything: a sleeper sets its flag then reads the
 * counters; a publisher stores its counter then reads the flags, so one of the two sees the
 * other, and a doorbell is never lost.
 */
import { CTORS, arrayKind } from "../../wire/arrays.js";
import type { TypedArray } from "../../wire/values.js";
import type { PeerMemory } from "./libc.js";

/** Int32 words per member's control line (one cache line). */
const LINE = 16;
const SEQ = 0;
const ASLEEP = 1;
/** Slot word 0: the number of values, or FALLBACK; with DESCRIBED, the values describe data that travels as messages. */
export const FALLBACK = -1;
const DESCRIBED = 0x4000_0000;
/** Value code of a plain number (typed arrays use their kind code, 1 and up). */
const NUMBER = 255;
const PAGE = 4096;
/**
 * Collectives whose slots are in use at once: a root that only writes (bcast) runs up to
 * DEPTH - 1 collectives ahead of its slowest reader, which then reads several per time slice
 * when ranks outnumber cores (8 B bcast at n = 4 on 2 cores: 2.9 µs with 2 slots, 1.6–2.2
 * with 8, 1.1–1.2 with 32).
 */
const DEPTH = 32;
/**
 * How far ahead a root may run with values that are not small: running 31 ahead with 64 KiB
 * values spreads its writes over 2 MiB of slots per member, out of cache (64 KiB bcast at n = 2:
 * 6–17 µs 8 ahead, 23 µs 31 ahead).
 */
export const AHEAD = 8;

const align8 = (n: number): number => (n + 7) & ~7;

/**
 * Bytes of a member's slot for a communicator of `size` (a board has DEPTH · size of them): a
 * power of two for the data, and room for the slot's header of `size` values besides, so that
 * one array of that power of two, or `size` arrays of its size-th part (alltoall), fit. Without
 * it a 64 KiB array missed the 64 KiB slot by its 16 B header and took the stage (allreduce)
 * or single copy (bcast) at 10-16 times mpi4py's time in osu_allreduce and osu_bcast at n = 2,
 * against 1.1-1.2 times at 32 KiB on the slots.
 */
export function slotBytes(size: number): number {
  return Math.max(1024, Math.min(64 * 1024, 2 ** Math.floor(Math.log2((1024 * 1024) / size)))) + align8(4 + 8 * size);
}

/** What a board waits with (the engine's watch, and its doorbells). */
export interface BoardHooks {
  /** Resolve once `ready()`; `sleeping` sets this member's flag (see engine/watch.ts); `call` names the wait in hang reports. */
  watch(call: string, ready: () => boolean, sleeping: (asleep: boolean) => void, awaited: () => number): Promise<void>;
  /** Poll for `ready()` right away, for a while (as a blocked receive does; see SameHostPath.await). */
  spin(ready: () => boolean): void;
  /** Wake member `member`. */
  nudge(member: number): void;
}

export class Board {
  private readonly control: Int32Array;
  private readonly words: Int32Array;
  private readonly bytes: Uint8Array;
  private readonly doubles: Float64Array;
  private readonly slot: number;
  /** The current collective's number (0: none yet). */
  private generation = 0;
  /** Byte offset of each member's slot, this generation. */
  private readonly base: number[];
  /** The current collective's call, and the member it last found missing, for hang reports. */
  private call = "";
  private missing = 0;
  /** The last collective started and not yet over: the next one starts after it (see run). */
  private active: Promise<unknown> | undefined;
  /**
   * The communicator's stage for data too large for the slots, once one was needed, how many
   * staged calls in a row needed much less of it, and how many turns have used it (its two
   * halves take turns; see collectives/host/stage.ts).
   */
  stage: { bytes: Uint8Array; release(): void; small: number; turns: number } | undefined;
  /**
   * libc, where every member may read every other's memory (single copy): agreed by all the
   * members when the board was set up, and dropped by all alike if a read fails later (see
   * collectives/single-copy.ts); undefined: copy through the stage or messages.
   */
  reads: PeerMemory | undefined;

  constructor(
    readonly buffer: ArrayBuffer,
    readonly rank: number,
    readonly size: number,
    /** Let go of the board's mapping (see free). */
    private readonly release: () => void,
    private readonly hooks: BoardHooks,
  ) {
    this.slot = slotBytes(size);
    this.control = new Int32Array(buffer, 0, size * LINE);
    this.words = new Int32Array(buffer);
    this.bytes = new Uint8Array(buffer);
    this.doubles = new Float64Array(buffer);
    this.base = new Array<number>(size).fill(0);
  }

  /** Bytes of a board for `size` members. */
  static bytesFor(size: number): number {
    return Math.ceil((size * LINE * 4 + DEPTH * size * slotBytes(size)) / PAGE) * PAGE;
  }

  /**
   * Run the collective `op` once those started before it on this board are over: a member takes
   * part in one collective at a time, since publishing one says it is done with the last.
   */
  run<T>(op: () => T | Promise<T>): Promise<T> {
    if (this.active !== undefined) return this.track(this.active.then(op, op));
    let result: T | Promise<T>;
    try {
      result = op();
    } catch (error) {
      return Promise.reject(error as Error);
    }
    // Over already (the usual case: nobody had to sleep): nothing to wait for.
    return result instanceof Promise ? this.track(result) : Promise.resolve(result);
  }

  private track<T>(done: Promise<T>): Promise<T> {
    this.active = done;
    const clear = (): void => {
      if (this.active === done) this.active = undefined;
    };
    done.then(clear, clear);
    return done;
  }

  /**
   * Start the next collective (inside {@link run}). @returns a promise while some member still
   * reads the slots this one is to `write` (rare), else undefined.
   */
  next(call: string, write: boolean, ahead = DEPTH): Promise<void> | undefined {
    const g = ++this.generation;
    this.call = call;
    const first = this.size * LINE * 4 + (g % DEPTH) * this.size * this.slot;
    for (let r = 0; r < this.size; r++) this.base[r] = first + r * this.slot;
    return write ? this.waitFor(() => this.everyone(g - Math.min(ahead, DEPTH) + 1)) : undefined;
  }

  /** Has every member published at least collective `g`? */
  private everyone(g: number): boolean {
    for (let r = 0; r < this.size; r++) {
      if (Atomics.load(this.control, r * LINE + SEQ) < g) {
        this.missing = r;
        return false;
      }
    }
    return true;
  }

  /** Has `member` published the current collective? */
  private arrived(member: number): boolean {
    this.missing = member;
    return Atomics.load(this.control, member * LINE + SEQ) >= this.generation;
  }

  /**
   * @returns undefined once `ready()`, polling for it at once (the caller is a blocking
   * collective, as in MPI), or a promise if it has to sleep.
   */
  private waitFor(ready: () => boolean): Promise<void> | undefined {
    if (ready()) return undefined;
    this.hooks.spin(ready);
    if (ready()) return undefined;
    return this.hooks.watch(
      this.call,
      ready,
      (asleep) => Atomics.store(this.control, this.rank * LINE + ASLEEP, asleep ? 1 : 0),
      () => this.missing,
    );
  }

  /**
   * Let go of the stage and the board's mapping once the collectives started on it are over
   * (the communicator is freed: no further one starts). Views of it stay safe to touch.
   */
  free(): void {
    const release = (): void => {
      this.stage?.release();
      this.stage = undefined;
      this.reads = undefined;
      this.release();
    };
    if (this.active === undefined) release();
    else this.active.then(release, release);
  }

  /**
   * A barrier that also says whether every member was `ok` (each marks its slot), so that
   * all members see the same answer and can take another way together. Inside {@link run}.
   */
  async agree(call: string, ok: boolean): Promise<boolean> {
    await this.next(call, true);
    this.publish(ok ? [] : FALLBACK);
    await this.all();
    return !this.anyFellBack();
  }

  /** A barrier: start the next collective, publish it without values, wait for every member's. */
  barrier(call: string): Promise<void> | undefined {
    this.next(call, false);
    this.publish();
    return this.all();
  }

  /** Wait until every member has published the current collective. */
  all(): Promise<void> | undefined {
    return this.waitFor(() => this.everyone(this.generation));
  }

  /** Wait until `member` has published the current collective. */
  from(member: number): Promise<void> | undefined {
    return this.waitFor(() => this.arrived(member));
  }

  /**
   * Write this member's values into its slot (`undefined`: nothing to say; FALLBACK if they do
   * not fit), then publish the collective and wake whoever sleeps. @returns false if it fell back.
   */
  publish(values?: readonly unknown[] | typeof FALLBACK, described = false): boolean {
    const ok = values === undefined || (values !== FALLBACK && this.fits(values));
    if (ok && values !== undefined) this.write(values as readonly unknown[], described);
    if (!ok) this.words[this.base[this.rank]! >> 2] = FALLBACK;
    const control = this.control;
    Atomics.store(control, this.rank * LINE + SEQ, this.generation);
    for (let r = 0; r < this.size; r++) {
      if (r !== this.rank && Atomics.load(control, r * LINE + ASLEEP) === 1 && Atomics.compareExchange(control, r * LINE + ASLEEP, 1, 0) === 1)
        this.hooks.nudge(r);
    }
    return ok;
  }

  /** Would `values` fit this member's slot (numbers and typed arrays only: a Buffer would read back as a Uint8Array, so messages keep it one)? */
  fits(values: readonly unknown[]): boolean {
    let bytes = align8(4 + 8 * values.length);
    for (const value of values) {
      if (typeof value === "number") bytes += 8;
      else if (arrayKind(value) > 0) bytes += align8((value as TypedArray).byteLength);
      else return false;
    }
    return bytes <= this.slot;
  }

  /** Encode `values` (that {@link fits} said fit) into this member's slot: count, then (code, length) pairs, then the payloads. */
  private write(values: readonly unknown[], described: boolean): void {
    const start = this.base[this.rank]!;
    const words = this.words;
    let at = start + align8(4 + 8 * values.length);
    for (let i = 0; i < values.length; i++) {
      const value = values[i];
      const number = typeof value === "number";
      const array = value as TypedArray;
      const bytes = number ? 8 : array.byteLength;
      words[(start >> 2) + 1 + 2 * i] = number ? NUMBER : arrayKind(value);
      words[(start >> 2) + 2 + 2 * i] = number ? 1 : array.length;
      if (number) this.doubles[at >> 3] = value;
      else this.bytes.set(new Uint8Array(array.buffer, array.byteOffset, bytes), at);
      at += align8(bytes);
    }
    words[start >> 2] = described ? values.length | DESCRIBED : values.length;
  }

  /** Did `member` fall back (its values do not fit)? Read only once it has published. */
  fellBack(member: number): boolean {
    return this.words[this.base[member]! >> 2] === FALLBACK;
  }

  /** Did any member fall back? */
  anyFellBack(): boolean {
    for (let r = 0; r < this.size; r++) if (this.fellBack(r)) return true;
    return false;
  }

  /** Did `member` publish a description of its data (which then travels as messages) rather than the data? */
  described(member: number): boolean {
    const word = this.words[this.base[member]! >> 2]!;
    return word !== FALLBACK && (word & DESCRIBED) !== 0;
  }

  /**
   * Value `index` of `member`'s slot: a number, or a view of the board (valid until this member
   * starts its next collective: copy what is kept).
   */
  read(member: number, index: number): TypedArray | number {
    const start = this.base[member]!;
    const words = this.words;
    const count = words[start >> 2]! & ~DESCRIBED;
    let at = start + align8(4 + 8 * count);
    for (let i = 0; i < index; i++) at += align8(this.bytesOf(words[(start >> 2) + 1 + 2 * i]!, words[(start >> 2) + 2 + 2 * i]!));
    const code = words[(start >> 2) + 1 + 2 * index]!;
    const length = words[(start >> 2) + 2 + 2 * index]!;
    if (code === NUMBER) return this.doubles[at >> 3]!;
    return new CTORS[code]!(this.buffer, at, length);
  }

  private bytesOf(code: number, length: number): number {
    return code === NUMBER ? 8 : length * CTORS[code]!.BYTES_PER_ELEMENT;
  }
}
