/**
 * Waits on shared memory other ranks of the host change (a collective board), rather than on
 * a message: once polling has not found it ready, asleep until a doorbell. A rank that changes what a
 * wait reads must nudge the sleepers (the board's sleeping flags say whom). Listed like a
 * receive (hang reports; a member's death ends it) through the runtime's {@link Tracker}.
 */
import { SENT } from "../transport/port.js";
import { newWait, type Peers, type Wait } from "./waits.js";

/** Where a wait other than a receive is listed (see Runtime.track). */
export interface Tracker {
  /** List `wait` on `peers`; `cancel` ends it if one of them dies. @returns its removal. */
  track(wait: Wait, peers: Peers, cancel: (error: Error) => void): () => void;
}

/** Doorbells on shared memory (the same-host path, see OnHost). */
export interface Doorbells {
  acquire(polling?: boolean): void;
  release(): void;
  onWake(listener: () => void): () => void;
}

/** How a wait on shared memory is made: what it tests and whom it concerns. */
export interface Watched {
  /** The MPI call, for hang reports and errors. */
  call: string;
  context: string;
  peers: Peers;
  ready: () => boolean;
  /** Sets this rank's sleeping flag (writers nudge the sleepers). */
  sleeping: (asleep: boolean) => void;
  /** The rank it waits for, as of its last look (hang reports). */
  awaited: () => number;
}

/**
 * Resolve once `ready()`, sleeping meanwhile (the caller has already polled for it, see
 * OnHost.spin): `sleeping(true)` announces it, `ready` is checked once more, and every
 * doorbell checks it again. `sleeping(false)` once it is over. Rejects with a RankFailedError
 * if a rank of `peers` dies.
 */
export function watch(tracker: Tracker, bells: Doorbells, watched: Watched): Promise<void> {
  const { ready, sleeping, awaited } = watched;
  if (ready()) return SENT;
  const wait = newWait(watched.call, watched.context, awaited(), -1);
  const check = (): boolean => ready() || ((wait.source = awaited()), false);
  bells.acquire(true);
  return new Promise<void>((resolve, reject) => {
    let unsubscribe: (() => void) | undefined;
    // Not a const: track may call finish before it returns (a member already dead).
    let untrack: (() => void) | undefined = undefined;
    const finish = (error?: Error): void => {
      if (wait.done) return;
      wait.done = true;
      sleeping(false);
      unsubscribe?.();
      bells.release();
      untrack?.();
      if (error) reject(error);
      else resolve();
    };
    const sleepUnlessReady = (): void => {
      if (wait.done) return;
      if (check()) return finish();
      sleeping(true);
      if (check()) finish();
    };
    untrack = tracker.track(wait, watched.peers, finish);
    // A member that died before the wait began ends it at once.
    if (wait.done) return untrack();
    sleepUnlessReady();
    if (!wait.done) unsubscribe = bells.onWake(sleepUnlessReady);
  });
}
