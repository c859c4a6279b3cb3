/**
 * What watches a running job from outside its ranks: SIGINT and SIGTERM end it, SIGQUIT
 * prints what every rank is blocked in, --timeout ends it with that report, and
 * --deadlock-report prints it once when every rank is blocked with no message moving.
 */
import process from "node:process";
import { constants } from "node:os";
import { collectStates, describeStates, watchForDeadlock } from "./hang.js";
import type { LaunchOptions } from "./options.js";
import { say } from "./output.js";
import type { Supervisor } from "./supervisor.js";

/** The launcher's exit status when --timeout ends the job (as timeout(1)'s). */
export const TIMEOUT_STATUS = 124;

/** Start watching the job; returns what stops watching it. */
export function watchJob(job: Supervisor, options: Pick<LaunchOptions, "timeout" | "deadlockReport">): () => void {
  /** Print what every rank is blocked in. */
  const reportStates = async (headline: string) => {
    await collectStates(job.ranks);
    say(headline);
    for (const line of describeStates(job.ranks)) say(`  ${line}`);
  };
  const onSignal = (signal: NodeJS.Signals) => job.abort(128 + constants.signals[signal], `received ${signal}`, 0, false);
  const onQuit = () => void reportStates("SIGQUIT: what each rank is doing");
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  process.on("SIGQUIT", onQuit);
  const { timeout, deadlockReport } = options;
  const stopDeadlockWatch =
    deadlockReport === undefined
      ? () => undefined
      : watchForDeadlock(job.ranks, deadlockReport, () =>
          reportStates(`possible deadlock: every rank has been blocked for ${deadlockReport} s with no message moving; what each rank waits in:`),
        );
  const timer =
    timeout === undefined
      ? undefined
      : setTimeout(async () => {
          const why = `job exceeded --timeout ${timeout} s`;
          await reportStates(`${why}; what each rank was doing:`);
          job.abort(TIMEOUT_STATUS, why, 0, false);
        }, timeout * 1000);
  return () => {
    clearTimeout(timer);
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    process.off("SIGQUIT", onQuit);
    stopDeadlockWatch();
  };
}
