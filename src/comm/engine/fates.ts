/**
 * The fate of peers, as the launcher reports it: which world ranks have died or exited, and
 * the waits their deaths end (receives, synchronous sends, pulls, and waits that no message
 * ends, such as watches on shared memory). The runtime's send and receive paths ask it; its
 * errors name the call, this rank and the dead one.
 */
import { RankFailedError } from "../../errors.js";
import type { Matcher } from "./matching.js";
import type { Pulls } from "./rendezvous.js";
import type { SyncSends } from "./synchronous.js";
import { dooms, type Peers, type Wait, type Waits } from "./waits.js";
import type { Tracker } from "./watch.js";

/** What a peer's death can end, besides tracked waits. */
export interface Endings {
  readonly waits: Waits;
  readonly matcher: Matcher;
  readonly syncs: SyncSends;
  readonly pulls: Pulls;
}

export class Fates implements Tracker {
  /** World ranks known to have died, with the launcher's reason. */
  readonly failed = new Map<number, string>();
  /** World ranks known to have finished, with why a message for them cannot be taken. */
  readonly exited = new Map<number, string>();
  /** Waits other than receives (on shared memory), with how each ends if a peer dies (see {@link track}). */
  private readonly tracked = new Map<Wait, (error: Error) => void>();

  constructor(
    /** This rank (world). */
    private readonly rank: number,
    private readonly endings: Endings,
  ) {}

  /** List a wait that no message ends (see watch.ts): in hang reports, and ended by `cancel` if a rank of `peers` dies. @returns its removal. */
  track(wait: Wait, peers: Peers, cancel: (error: Error) => void): () => void {
    this.endings.waits.add(wait, peers);
    this.tracked.set(wait, cancel);
    this.doomIfFailed(wait, peers);
    return () => {
      this.endings.waits.delete(wait);
      this.tracked.delete(wait);
    };
  }

  /** A peer that died before a wait began dooms it as surely as one that dies during it. */
  doomIfFailed(wait: Wait, peers: Peers): void {
    if (this.failed.size > 0) for (const [rank, reason] of this.failed) if (dooms(peers, rank, false)) this.cancel(wait, rank, reason);
  }

  /** World rank `rank` died: every pending wait that depends on it rejects with a RankFailedError. */
  fail(rank: number, reason: string): void {
    this.failed.set(rank, reason);
    for (const wait of this.endings.waits.doomedBy(rank, true)) this.cancel(wait, rank, reason);
  }

  /** Reject a pending wait because `rank` died. */
  private cancel(wait: Wait, rank: number, reason: string): void {
    const error = this.failure(wait.call, rank, reason);
    const tracked = this.tracked.get(wait);
    if (tracked !== undefined) return tracked(error);
    const { matcher, syncs, pulls } = this.endings;
    if (!matcher.cancel(wait, error) && !syncs.cancel(wait, error)) pulls.cancel(wait, error);
  }

  failure(call: string, rank: number, reason: string): RankFailedError {
    return new RankFailedError(`${call} on rank ${this.rank}: rank ${rank} has failed (${reason}); the operation cannot complete`, rank);
  }
}
