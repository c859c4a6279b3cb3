/**
 * A first-in, first-out list for the matcher's queues: taking the oldest item, by far the
 * common case, moves a start index instead of every item (`Array.prototype.shift` copies the
 * rest: with 64 receives posted, as osu_bw posts them, it was 5-6 % of the receiver's time).
 * Items taken from the middle (a receive that matches a later message first) are spliced out.
 */
export class Queue<T> {
  private items: T[] = [];
  /** Index in {@link items} of the oldest item. */
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  /** The `index`-th oldest item. */
  at(index: number): T {
    return this.items[this.head + index]!;
  }

  /** Remove and return the `index`-th oldest item (undefined for -1). */
  removeAt(index: number): T | undefined {
    if (index < 0) return undefined;
    const items = this.items;
    if (index > 0) return items.splice(this.head + index, 1)[0];
    const item = items[this.head]!;
    items[this.head] = undefined as T;
    if (++this.head === items.length) items.length = this.head = 0;
    // Drop the taken slots once they are the larger part (a queue that never empties stays small).
    else if (this.head >= 64 && this.head * 2 >= items.length) {
      this.items = items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  /** The index of the oldest item `accept` takes, or -1. */
  findIndex(accept: (item: T) => boolean): number {
    for (let i = this.head; i < this.items.length; i++) if (accept(this.items[i]!)) return i - this.head;
    return -1;
  }

  *[Symbol.iterator](): Generator<T> {
    for (let i = this.head; i < this.items.length; i++) yield this.items[i]!;
  }
}
