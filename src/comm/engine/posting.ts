/**
 * Receives and probes posted and waiting for their message: listed (hang reports, and the
 * failures that doom them; see waits.ts) and polled for, through the transport, once the
 * caller has yielded. A receive that waits allocates nothing here beyond its promise reaction.
 */
import type { Hurry } from "./request.js";
import type { SameHostPath, Transport } from "../transport/port.js";
import { Waits, mayArriveNearby, type Peers, type Wait } from "./waits.js";

const RESOLVED = Promise.resolve();

export class Posting {
  /** Everything this rank waits in: receives and probes, and the runtime's other waits. */
  readonly waits = new Waits();
  /** Set once the runtime has its transport, and its shared-memory side (where receives poll). */
  transport: Transport | undefined;
  near: SameHostPath | undefined;
  /** Waits posted and not polled for yet, oldest first (see {@link post}). */
  private readonly toPoll: Wait[] = [];
  private readonly pollNext = (): void => this.pollFor(this.toPoll.shift()!);
  /** The wait being polled for, and the test the transport polls with. */
  private polled: Wait | undefined;
  private readonly pollDone = (): boolean => this.polled!.done === true;

  constructor(private readonly rank: number) {}

  /**
   * List `wait` and have it polled for once the caller's synchronous code is done (it awaits
   * the receive), or, lazily, when its request is waited for or tested (`hurry`): an irecv
   * posted before a computation does not poll, nor have its sender ring a doorbell, while the
   * computation runs. Balance with {@link settle}.
   */
  post(wait: Wait, peers: Peers, hurry?: Hurry): void {
    const transport = this.transport;
    const near = this.near !== undefined && mayArriveNearby(peers, this.rank, this.near);
    // A receive that polls (at once, or lazily when its request is waited for or tested) reads
    // the clock only if it ends up waiting (see pollFor): most never do. A lazy one not polled
    // yet is not what its rank is blocked in (a hang report shows it at 0 s).
    const lazy = hurry !== undefined && hurry.eager !== true;
    this.waits.add(wait, peers, !near);
    // A receive that polls arms the doorbell only when it goes to sleep (in SameHostPath.await).
    transport?.acquire(near);
    if (!near) return;
    if (lazy) {
      hurry.posted = wait;
      // Made once per request (a persistent one keeps its hurry): they poll for whatever receive is posted for it.
      hurry.poll ??= () => void (hurry.posted !== undefined && this.pollFor(hurry.posted as Wait));
      hurry.test ??= () => void (hurry.posted !== undefined && this.pollFor(hurry.posted as Wait, 0));
      return;
    }
    // A resolved promise's reaction, not queueMicrotask (that one makes an async-hooks resource
    // per call), with no closure per receive: the reactions take the posted waits in order.
    this.toPoll.push(wait);
    void RESOLVED.then(this.pollNext);
  }

  /**
   * The promise of a receive that waits, its settlers kept on the wait (the runtime settles it
   * as its message is matched): made with one executor for all, no closure per receive; or
   * the request's own promise, if it brings one (Hurry.own: settled directly, no reaction).
   */
  promise(wait: Wait): Promise<unknown> {
    const own = wait.hurry?.own;
    if (own !== undefined) {
      wait.resolve = own.resolve;
      wait.reject = own.reject;
      return own.promise;
    }
    const promise = new Promise<unknown>(this.settlers);
    wait.resolve = this.resolveNext;
    wait.reject = this.rejectNext;
    return promise;
  }

  private resolveNext: ((result: unknown) => void) | undefined;
  private rejectNext: ((error: Error) => void) | undefined;
  private readonly settlers = (resolve: (result: unknown) => void, reject: (error: Error) => void): void => {
    this.resolveNext = resolve;
    this.rejectNext = reject;
  };

  /** The posted wait is over (matched, failed or cancelled). */
  settle(wait: Wait): void {
    this.transport?.release();
    this.waits.delete(wait);
  }

  /** Poll the transport until `wait` is done, or for at most `limitMs`, or until it would sleep. */
  private pollFor(wait: Wait, limitMs?: number): void {
    if (wait.done) return;
    const outer = this.polled;
    this.polled = wait;
    try {
      this.near!.await(this.pollDone, limitMs);
    } finally {
      this.polled = outer;
    }
    if (!wait.done && wait.since === 0) wait.since = Date.now();
  }
}
