/**
 * Waits on shared memory other ranks of the host change (a collective board), rather than on
 * a message: polled like a receive, then asleep until a doorbell. A rank that changes what a
 * wait reads must nudge the sleepers (the board's sleeping flags say whom).
 */
import type { Transport } from "./transport.js";
import type { Wait } from "./waits.js";

const RESOLVED = Promise.resolve();

export class Watches {
  /** Pending watches, so that a peer's death can end them: each maps to its finish. */
  private readonly pending = new Map<Wait, (error?: Error) => void>();

  /**
   * Resolve once `ready()`. Polls from the next microtask (the caller's synchronous code runs
   * first, as with a receive), then sleeps: `sleeping(true)` announces it, `ready` is checked
   * once more, and every doorbell checks it again. `sleeping(false)` once it is over.
   * @param ended called once, however the wait ends
   */
  watch(transport: Transport, wait: Wait, ready: () => boolean, sleeping: (asleep: boolean) => void, ended: () => void): Promise<void> {
    transport.acquire(true);
    return new Promise<void>((resolve, reject) => {
      let unsubscribe: (() => void) | undefined;
      const finish = (error?: Error): void => {
        if (wait.done) return;
        wait.done = true;
        sleeping(false);
        unsubscribe?.();
        this.pending.delete(wait);
        transport.release();
        ended();
        if (error) reject(error);
        else resolve();
      };
      const sleepUnlessReady = (): void => {
        if (wait.done) return;
        if (ready()) return finish();
        sleeping(true);
        if (ready()) finish();
      };
      this.pending.set(wait, finish);
      void RESOLVED.then(() => {
        if (wait.done) return;
        transport.await?.(ready, undefined, false);
        sleepUnlessReady();
        if (!wait.done) unsubscribe = transport.onWake?.(sleepUnlessReady);
      });
    });
  }

  /** End a pending watch with `error`. @returns false if `wait` is not one. */
  cancel(wait: Wait, error: Error): boolean {
    const finish = this.pending.get(wait);
    if (finish === undefined) return false;
    finish(error);
    return true;
  }
}
