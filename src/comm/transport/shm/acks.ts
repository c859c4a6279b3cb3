/**
 * Synchronous sends acknowledged in a word of shared memory (see engine/synchronous.ts,
 * BY_WORD): the receiver stores the send's id in the control block of its ring to the sender
 * (Ring.acknowledge), and the sender's polls compare that word with the id it expects.
 *
 * The store is plain, not waited for (a sequentially consistent one waits for the line the
 * sender polls, and made an 8 B ssend slower than an Ack record), so it is not ordered before
 * the look at the sender's doorbell: a sender arming it just then may see neither (the store
 * still in this core's buffer, the doorbell not yet armed as read here). A second look, after a
 * fence of its own once the event loop turns, rings it then.
 */
import type { Delivery } from "../port.js";
import type { Ring } from "./ring.js";
import type { Segment } from "./segment.js";

/** A peer's side of a pair, as the acknowledgements see it: its rank, the ring it writes to us, and our send it may acknowledge there (0: none). */
export interface AckSource {
  rank: number;
  in: Ring;
  ack: number;
}

/** The receiving side: acknowledge, and wake the sender if it sleeps. */
export class AckWriter {
  /** Senders acknowledged whose doorbell is to be looked at again after a fence. */
  private readonly toRecheck: Array<{ rank: number; inbox: Segment }> = [];
  private readonly fence = new Int32Array(new SharedArrayBuffer(4));

  constructor(private readonly wake: (rank: number) => void) {}

  /** Acknowledge synchronous send `id` of `peer`, in our ring in its inbox (`out`). @returns true */
  acknowledge(peer: { rank: number; inbox: Segment; out: Ring }, id: number): true {
    peer.out.acknowledge(id);
    if (peer.inbox.claimWake()) this.wake(peer.rank);
    else if (this.toRecheck.push(peer) === 1) setImmediate(this.recheck);
    return true;
  }

  private readonly recheck = (): void => {
    Atomics.exchange(this.fence, 0, 0);
    for (const peer of this.toRecheck.splice(0)) if (peer.inbox.claimWake()) this.wake(peer.rank);
  };
}

/** The sending side, in each poll: if `source` has acknowledged the send we expect, hand it to `sink`. @returns whether it had. */
export function takeAck(source: AckSource, sink: Delivery): boolean {
  const id = source.ack;
  if (id === 0 || source.in.acknowledged !== id) return false;
  source.ack = 0;
  sink.acked?.(source.rank, id);
  return true;
}
