/**
 * Numbers for the arrows of a trace: the n-th message one rank sends to another on a
 * communicator and tag is the n-th the other receives from it there, so each end numbers its
 * messages per (peer, direction, communicator, tag) and the merge pairs equal numbers.
 */
export class FlowNumbers {
  /** Counters per tag, by key (see {@link next}). */
  private readonly byKey = new Map<number, Map<number, number>>();
  /** The last two keys' counters, at hand: a ping-pong or a stencil alternates between few. */
  private readonly lastKeys = [-1, -1];
  private readonly lastTags: (Map<number, number> | undefined)[] = [undefined, undefined];

  /**
   * The number of this message.
   * @param context the communicator's string reference (fewer than 4096 in a trace)
   * @param out sent (true) or received
   */
  next(peer: number, out: boolean, context: number, tag: number): number {
    const key = (peer * 2 + (out ? 0 : 1)) * 4096 + context;
    let tags: Map<number, number>;
    if (key === this.lastKeys[0]) tags = this.lastTags[0]!;
    else if (key === this.lastKeys[1]) tags = this.lastTags[1]!;
    else {
      tags = this.byKey.get(key) ?? new Map<number, number>();
      this.byKey.set(key, tags);
      [this.lastKeys[1], this.lastTags[1]] = [this.lastKeys[0]!, this.lastTags[0]];
      [this.lastKeys[0], this.lastTags[0]] = [key, tags];
    }
    const count = (tags.get(tag) ?? 0) + 1;
    tags.set(tag, count);
    return count;
  }
}
