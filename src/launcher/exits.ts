/**
 * How a rank's end decides the job: which exits are failures, with the status the launcher
 * exits with and the message it prints (the same rules for local and remote ranks).
 */
import { constants } from "node:os";
import type { RankReport } from "../rank/report.js";

/** What the launcher knows about a rank when it ends. */
export interface RankEnd {
  rank: number;
  /** Host name for messages about remote ranks; "" for ranks on the launcher's host. */
  where: string;
  /** Its last report (error or abort), if it sent one. */
  report?: RankReport;
  /** The exit code it announced as it was exiting. */
  exiting?: number;
  /** The launcher ended it because its remaining messages had no receiver left. */
  undeliverable?: boolean;
}

/** Why a rank's exit fails the job, or undefined if it succeeded. */
export function describeExit(r: RankEnd, code: number | null, signal: NodeJS.Signals | null): { status: number; message: string; reason: string } | undefined {
  const fail = (status: number, reason: string, message = `rank ${r.rank} ${reason}`) => ({ status, reason, message });
  const where = r.where === "" ? "" : ` on ${r.where}`;
  const report = r.report;
  if (report?.type === "abort") return fail(report.code === 0 ? 1 : report.code, `called abort(${report.code})${where}`);
  if (report?.type === "error") {
    const how = report.origin === "rejection" ? "an unhandled promise rejection" : "an uncaught exception";
    return fail(
      code || 1,
      `failed${where} with ${how}: ${report.name}: ${report.message}`,
      `rank ${r.rank} failed${where} with ${how}:\n${report.stack}\ntsmpi: job aborted because rank ${r.rank} failed`,
    );
  }
  // A hang-report SIGUSR2 can race with a rank's own exit, and a rank ended for undeliverable
  // messages had already finished: the exit code it announced stands.
  if ((signal === "SIGUSR2" || r.undeliverable) && r.exiting !== undefined)
    return r.exiting === 0 ? undefined : fail(r.exiting, `exited with status ${r.exiting}`);
  if (signal !== null) return fail(128 + constants.signals[signal], `was killed by signal ${signal}${where}`);
  if (code !== 0 && code !== null) return fail(code, `exited with status ${code}${where}`);
  return undefined;
}
