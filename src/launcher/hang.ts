/**
 * Hang reports: ask every live rank what it is blocked in (SIGUSR2; each rank answers with a
 * state report on stderr) and describe it, so a deadlock is visible at a glance on --timeout
 * or when the launcher gets SIGQUIT.
 */
import type { RankReport, WaitState } from "../rank/report.js";

type StateReport = Extract<RankReport, { type: "state" }>;

export interface Reporting {
  rank: number;
  /** Send `signal` to the rank process (`group`: and to its whole process group), wherever it runs. */
  kill(signal: NodeJS.Signals, group: boolean): void;
  done: boolean;
  /** Said hello to the rendezvous: its SIGUSR2 handler is installed (before that, SIGUSR2 would kill it). */
  joined?: boolean;
  /** The rank said it is exiting with this code (its handlers are going away). */
  exiting?: number;
  state?: StateReport;
  onState?: () => void;
}

/** Signal the live ranks and wait (at most `limitMs`) for each one's state report. */
export async function collectStates(ranks: Reporting[], limitMs = 500): Promise<void> {
  const live = ranks.filter((r) => !r.done && r.joined && r.exiting === undefined);
  await Promise.race([
    Promise.all(
      live.map(
        (r) =>
          new Promise<void>((resolve) => {
            r.state = undefined;
            r.onState = resolve;
            r.kill("SIGUSR2", false);
          }),
      ),
    ),
    new Promise((resolve) => setTimeout(resolve, limitMs).unref()),
  ]);
  for (const r of live) r.onState = undefined;
}

function describeContext(context: string): string {
  const collective = context.endsWith("!");
  const id = collective ? context.slice(0, -1) : context;
  return `${id === "w" ? "the world communicator" : `communicator ${id}`}${collective ? " (collective traffic)" : ""}`;
}

function describeWait(w: WaitState): string {
  const source = w.source === -1 ? "ANY_SOURCE" : `rank ${w.source}`;
  const what = w.context.endsWith("!") ? `${w.call} (waiting for ${source})` : `${w.call}(source ${source}, tag ${w.tag === -1 ? "ANY_TAG" : w.tag})`;
  return `${what} on ${describeContext(w.context)} for ${w.seconds.toFixed(1)} s`;
}

/** One line per rank: what it waits in, and what is queued unmatched. */
export function describeStates(ranks: Reporting[]): string[] {
  return ranks.map((r) => {
    if (r.done) return `rank ${r.rank}: exited`;
    const s = r.state;
    if (!r.joined) return `rank ${r.rank}: has not called init()`;
    if (s === undefined) return `rank ${r.rank}: did not answer (busy in a long computation or stuck outside tsmpi)`;
    if (!s.initialized) return `rank ${r.rank}: has not called init()`;
    const queued =
      s.unexpected === 0
        ? "no unmatched messages queued"
        : `${s.unexpected} unmatched message${s.unexpected === 1 ? "" : "s"} (${s.unexpectedBytes} bytes) queued`;
    if (s.waiting.length === 0) return `rank ${r.rank}: not blocked in tsmpi; ${queued}`;
    return `rank ${r.rank}: waiting in ${s.waiting.map(describeWait).join("; and in ")}; ${queued}`;
  });
}

/**
 * Deadlock detection for --deadlock-report: sample the ranks every `seconds / 2`; when every
 * live rank has been blocked in tsmpi for at least `seconds` with nothing unread in its inbox,
 * and no rank has received a message or exited over three consecutive samples, report once
 * (the job goes on; --timeout decides its end).
 */
export function watchForDeadlock(ranks: Reporting[], seconds: number, report: () => Promise<void>): () => void {
  let previous = "";
  let stillSince = 0; // consecutive samples with every rank blocked and nothing moving
  let reported = false;
  const timer = setInterval(
    async () => {
      if (reported) return;
      await collectStates(ranks);
      const live = ranks.filter((r) => !r.done);
      // Blocked: in tsmpi for long enough, with nothing unread in its inbox (a rank that has
      // input it has not read yet is slow, not stuck: it has been starved of CPU).
      const blocked = live.length > 0 && live.every((r) => r.state?.initialized && !r.state.unread && r.state.waiting.some((w) => w.seconds >= seconds));
      const moved = `${ranks.length - live.length}:${live.map((r) => r.state?.delivered ?? -1).join(",")}`;
      stillSince = blocked && moved === previous ? stillSince + 1 : 0;
      // Twice in a row, so that one late sample on a loaded machine is not a deadlock.
      if (stillSince >= 2) {
        reported = true;
        await report();
      }
      previous = moved;
    },
    (seconds * 1000) / 2,
  );
  timer.unref();
  return () => clearInterval(timer);
}
