/**
 * The results of a `map`: awaited, all of them in an array; iterated with `for await`, one at a
 * time as soon as it is there (in the order of the items, or in the order they finish with
 * `ordered: false`, as mpi4py's `unordered=True`). Leaving the loop early cancels the tasks
 * that have not started.
 */

type Slot<R> = { ok: true; value: R } | { ok: false; error: unknown };

export class MapResults<R> implements PromiseLike<R[]>, AsyncIterable<R> {
  readonly #slots: Array<Slot<R> | undefined>;
  /** Indices of the slots filled so far, in the order they were filled. */
  readonly #arrivals: number[] = [];
  #waiters: Array<() => void> = [];
  #all: Promise<R[]> | undefined;
  /** Settles {@link then}'s promise: when every slot is filled, or at the first error. */
  #finish: { resolve(values: R[]): void; reject(error: unknown): void } | undefined;
  #iterated = false;
  /** Indices of the items whose task ran a second time because the rank that had it died. */
  readonly reran: number[] = [];

  /** @internal */
  constructor(
    /** How many items. */
    readonly length: number,
    /** In the order of the items (true) or as they finish. */
    readonly ordered: boolean,
    /** Withdraw the tasks not settled yet (a `break` out of the loop). */
    private readonly cancelRest: () => void,
  ) {
    this.#slots = new Array<Slot<R> | undefined>(length);
  }

  /** @internal The task of item `index` settled. */
  settle(index: number, slot: Slot<R>, reran: boolean): void {
    if (this.#slots[index] !== undefined) return;
    this.#slots[index] = slot;
    this.#arrivals.push(index);
    if (reran) this.reran.push(index);
    if (this.#finish && (!slot.ok || this.#arrivals.length === this.length)) this.#settleAll();
    for (const wake of this.#waiters.splice(0)) wake();
  }

  /**
   * All results, in the order of the items (or as they finished, with `ordered: false`).
   * Rejects with the first error to come, as `Promise.all` does, and withdraws the tasks not finished.
   */
  then<A = R[], B = never>(
    onfulfilled?: ((value: R[]) => A | PromiseLike<A>) | null,
    onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    this.#all ??= new Promise<R[]>((resolve, reject) => {
      this.#finish = { resolve, reject };
      const failed = this.#arrivals.some((i) => !this.#slots[i]!.ok);
      if (failed || this.#arrivals.length === this.length) this.#settleAll();
    });
    return this.#all.then(onfulfilled, onrejected);
  }

  #settleAll(): void {
    const finish = this.#finish!;
    this.#finish = undefined;
    const failed = this.#arrivals.find((i) => !this.#slots[i]!.ok);
    if (failed !== undefined) {
      finish.reject((this.#slots[failed] as { error: unknown }).error);
      return this.cancelRest();
    }
    const order = this.ordered ? this.#slots.keys() : this.#arrivals;
    finish.resolve(Array.from(order, (i) => (this.#slots[i] as { value: R }).value));
  }

  [Symbol.asyncIterator](): AsyncIterator<R> {
    if (this.#iterated) throw new Error("a map's results can be iterated (or awaited) once");
    this.#iterated = true;
    return this.#iterate();
  }

  async *#iterate(): AsyncGenerator<R> {
    let next = 0;
    let finished = false;
    try {
      for (; next < this.length; next++) {
        const index = this.ordered ? next : undefined;
        const slot = await this.#slot(index, next);
        if (!slot.ok) throw slot.error;
        yield slot.value;
      }
      finished = true;
    } finally {
      if (!finished) this.cancelRest();
    }
  }

  /** Wait for item `index`'s slot, or the `nth` to arrive. */
  async #slot(index: number | undefined, nth: number): Promise<Slot<R>> {
    for (;;) {
      const slot = index === undefined ? (nth < this.#arrivals.length ? this.#slots[this.#arrivals[nth]!] : undefined) : this.#slots[index];
      if (slot !== undefined) return slot;
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }
}
