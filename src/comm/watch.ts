/**
 * Waits on shared memory other ranks of the host change (a collective board), rather than on
 * a message: once polling has not found it ready, asleep until a doorbell. A rank that changes what a
 * wait reads must nudge the sleepers (the board's sleeping flags say whom).
 */
import type { Transport } from "./transport.js";
import type { Wait } from "./waits.js";

export class Watches {
  /** Pending watches, so that a peer's death can end them: each maps to its finish. */
  private readonly pending = new Map<Wait, (error?: Error) => void>();

  /**
   * Resolve once `ready()`, sleeping meanwhile (the caller has already polled for it, see
   * Runtime.spin): `sleeping(true)` announces it, `ready` is checked once more, and every
   * doorbell checks it again. `sleeping(false)` once it is over.
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
      sleepUnlessReady();
      if (!wait.done) unsubscribe = transport.onWake?.(sleepUnlessReady);
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
