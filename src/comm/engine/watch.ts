/**
 * Waits on shared memory other ranks of the host change (a collective board), rather than on
 * a message: once polling has not found it ready, asleep until a doorbell. A rank that changes what a
 * wait reads must nudge the sleepers (the board's sleeping flags say whom).
 */
import type { Transport } from "../transport/port.js";
import { newWait, type Peers, type Wait, type Waits } from "./waits.js";

export class Watches {
  /** Pending watches, so that a peer's death can end them: each maps to its finish. */
  private readonly pending = new Map<Wait, (error?: Error) => void>();

  /** @param waits where a watch is listed like a receive, for hang reports and the failures that doom it */
  constructor(private readonly waits: Waits) {}

  /**
   * Watch `ready()` (see {@link watch}) for `call`, listed like a receive on `context` from `peers`
   * (`awaited`: the rank it waits for, as of its last look). @returns the wait and its end.
   */
  begin(
    transport: Transport,
    call: string,
    context: string,
    peers: Peers,
    ready: () => boolean,
    sleeping: (asleep: boolean) => void,
    awaited: () => number,
  ): { wait: Wait; done: Promise<void> } {
    const wait = newWait(call, context, awaited(), -1);
    this.waits.add(wait, peers);
    const done = this.watch(
      transport,
      wait,
      () => ready() || ((wait.source = awaited()), false),
      sleeping,
      () => this.waits.delete(wait),
    );
    return { wait, done };
  }

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
