/**
 * When a blocked receive polls the direct path's sockets before it sleeps (issue 36 part 3),
 * as Open MPI polls its sockets: only where this rank was given a non-blocking read (its host
 * has a core per rank, see rank/net.ts), and only while polling pays. A wait that polled in
 * vain cost up to SPIN_MS of a core (host.ts) and, on a machine whose cores are busy, held off
 * the very peer it waited for (on 2 loaded cores an 8 B round trip took 3-5 ms polling against
 * 50-350 µs sleeping): after {@link MISSES} such waits in a row, waits sleep at once for a
 * while, {@link BACKOFF_MS} at first, doubling up to {@link BACKOFF_MAX_MS} while polling keeps
 * missing; one wait that polled something in resets both.
 */

/** Waits in a row that polled in vain before polling stops for a while. */
const MISSES = 3;
const BACKOFF_MS = 10;
const BACKOFF_MAX_MS = 1000;

/** Reads socket `fd` into `into` without waiting: bytes read, 0 at its end, -1 if nothing is there. */
export type Receive = (fd: number, into: Uint8Array) => number;

export class SocketPolling {
  private misses = 0;
  private backoff = BACKOFF_MS;
  /** Until when (performance.now()) waits sleep at once. */
  private until = 0;

  constructor(readonly receive: Receive | undefined) {}

  /** Does a blocked receive poll the sockets now? */
  get on(): boolean {
    return this.receive !== undefined && (this.until === 0 || performance.now() >= this.until);
  }

  /** A wait polled the sockets; `found`: something arrived through them meanwhile. */
  waited(found: boolean): void {
    if (found) {
      this.misses = 0;
      this.backoff = BACKOFF_MS;
      this.until = 0;
    } else if (++this.misses >= MISSES) {
      this.misses = 0;
      this.until = performance.now() + this.backoff;
      this.backoff = Math.min(2 * this.backoff, BACKOFF_MAX_MS);
    }
  }
}
