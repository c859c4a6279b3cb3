/**
 * Hang reports: ask every live rank what it is blocked in (SIGUSR2; each rank answers with a
 * state report on stderr) and describe it, so a deadlock is visible at a glance on --timeout
 * or when the launcher gets SIGQUIT.
 */
import type { ChildProcess } from "node:child_process";
import type { RankReport, WaitState } from "../comm/protocol.js";

type StateReport = Extract<RankReport, { type: "state" }>;

export interface Reporting {
  rank: number;
  child: ChildProcess;
  done: boolean;
  state?: StateReport;
  onState?: () => void;
}

/** Signal the live ranks and wait (at most `limitMs`) for each one's state report. */
export async function collectStates(ranks: Reporting[], limitMs = 500): Promise<void> {
  const live = ranks.filter((r) => !r.done);
  await Promise.race([
    Promise.all(
      live.map(
        (r) =>
          new Promise<void>((resolve) => {
            r.state = undefined;
            r.onState = resolve;
            try {
              r.child.kill("SIGUSR2");
            } catch {
              resolve();
            }
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
