/**
 * Flow control, per peer: a sender may have at most {@link FLOW_WINDOW_BYTES} of eager data
 * outstanding at one receiver; the receiver gives the window back (credits) as it consumes.
 * Past the window, messages go by rendezvous (see rendezvous.ts).
 */
import { FLOW_WINDOW_BYTES } from "./wire.js";

interface Window {
  /** Eager bytes sent to the peer that it has not yet reported consumed. */
  outstanding: number;
  /** Eager bytes received from the peer and consumed here, not yet reported back. */
  consumed: number;
}

export class FlowControl {
  /** By world rank (an array: a Map lookup on every message cost more than the rest of this module). */
  private readonly windows: Window[] = [];

  private window(rank: number): Window {
    let window = this.windows[rank];
    if (window === undefined) this.windows[rank] = window = { outstanding: 0, consumed: 0 };
    return window;
  }

  /** Take `bytes` of `dest`'s window if they fit; false means: announce instead. */
  trySpend(dest: number, bytes: number): boolean {
    const window = this.window(dest);
    if (window.outstanding + bytes > FLOW_WINDOW_BYTES) return false;
    window.outstanding += bytes;
    return true;
  }

  /** `from` reports `bytes` of our eager data consumed. */
  credit(from: number, bytes: number): void {
    const window = this.window(from);
    window.outstanding = Math.max(0, window.outstanding - bytes);
  }

  /** Eager data from `from` was received here. @returns the credit to send back now, or 0 (credits go in batches). */
  consumed(from: number, bytes: number): number {
    const window = this.window(from);
    window.consumed += bytes;
    if (window.consumed < FLOW_WINDOW_BYTES / 8) return 0;
    const credit = window.consumed;
    window.consumed = 0;
    return credit;
  }
}
