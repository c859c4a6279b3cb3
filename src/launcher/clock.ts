/**
 * Clock offset of a remote host, estimated as NTP does: the launcher sends a request at t0
 * (its clock), the host answers with its time t1, the answer arrives at t2. If the two legs
 * take equally long, offset = t1 - (t0 + t2) / 2, and whatever the legs take, the true
 * offset is within ± (t2 - t0) / 2 of it. Of several rounds, the one with the shortest
 * round trip gives the tightest bound. Runs while the job starts, over the node agent's link.
 */
import type { ClockOffset } from "./trace-merge.js";

/** Rounds per host. */
export const CLOCK_ROUNDS = 8;

/** Now, in ms since the epoch, with sub-ms resolution (the clock ranks' traces use). */
export const epochMs = (): number => performance.timeOrigin + performance.now();

export class ClockProbe {
  private readonly pending = new Map<number, (time: number) => void>();
  private nextId = 0;
  /** The estimate, once {@link measure} has run. */
  result: ClockOffset | undefined;

  /** @param ask sends `{ type: "clock", id }` to the host; its answer goes to {@link answer}. */
  constructor(private readonly ask: (message: { type: "clock"; id: number }) => void) {}

  /** The host answered request `id` with its time. */
  answer(id: number, time: number): void {
    this.pending.get(id)?.(time);
    this.pending.delete(id);
  }

  /** Run the rounds one after another; resolves with the best estimate. */
  async measure(rounds = CLOCK_ROUNDS): Promise<ClockOffset> {
    let best: ClockOffset | undefined;
    for (let i = 0; i < rounds; i++) {
      const id = ++this.nextId;
      const sent = epochMs();
      const remote = await new Promise<number>((resolve) => {
        this.pending.set(id, resolve);
        this.ask({ type: "clock", id });
      });
      const back = epochMs();
      const estimate = { offsetMs: remote - (sent + back) / 2, errorMs: (back - sent) / 2 };
      if (best === undefined || estimate.errorMs < best.errorMs) best = estimate;
    }
    return (this.result = best!);
  }
}
