/**
 * A first-in, first-out list for the matcher's queues: taking the oldest item, by far the
 * common case, moves a start index instead of every item (`Array.prototype.shift` copies the
 * rest: with 64 receives posted, as osu_bw posts them, it was 5-6 % of the receiver's time).
 * Items taken from the middle (a receive that matches a later message first) are moved over.
 * The array's length never shrinks: a queue that empties after every message (a ping-pong) would
 * otherwise drop its backing store each time and allocate a new one at the next push.
 */
export class Queue<T> {
  /**
   * Born holding an object (`undefined`), so every queue's array has the elements kind it keeps
   * (`[]` starts as an array of small integers and changes kind at its first push): code
   * optimised on the queues of one communicator then stays valid on a new communicator's
   * (`--trace-deopt`: "wrong map" in push, and recompiles of the receive path inlining it, at
   * the first messages of a communicator created after the message path was optimised).
   */
  private readonly items: Array<T | undefined> = [undefined];
  /** Index in {@link items} of the oldest item. */
  private head = 0;
  /** Index in {@link items} one past the newest item. */
  private tail = 0;

  get length(): number {
    return this.tail - this.head;
  }

  push(item: T): void {
    if (this.tail < this.items.length) this.items[this.tail] = item;
    else this.items.push(item);
    this.tail++;
  }

  /** The `index`-th oldest item. */
  at(index: number): T {
    return this.items[this.head + index]!;
  }

  /** Remove and return the `index`-th oldest item (undefined for -1). */
  removeAt(index: number): T | undefined {
    if (index < 0) return undefined;
    const items = this.items;
    const at = this.head + index;
    const item = items[at]!;
    if (index > 0) {
      items.copyWithin(at, at + 1, this.tail);
      items[--this.tail] = undefined;
      return item;
    }
    items[this.head++] = undefined;
    if (this.head === this.tail) this.head = this.tail = 0;
    // Move the items down once the taken slots are the larger part (a queue that never empties).
    else if (this.head >= 64 && this.head * 2 >= this.tail) {
      items.copyWithin(0, this.head, this.tail);
      items.fill(undefined, this.tail - this.head, this.tail);
      this.tail -= this.head;
      this.head = 0;
    }
    return item;
  }

  /** The index of the oldest item `accept` takes, or -1. */
  findIndex(accept: (item: T) => boolean): number {
    for (let i = this.head; i < this.tail; i++) if (accept(this.items[i]!)) return i - this.head;
    return -1;
  }

  *[Symbol.iterator](): Generator<T> {
    for (let i = this.head; i < this.tail; i++) yield this.items[i]!;
  }
}
