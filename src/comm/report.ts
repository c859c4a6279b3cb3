/**
 * Reports from a rank to the launcher, written as one marked line on stderr with a
 * synchronous write, so they survive the `process.exit` that follows (see protocol.ts).
 */
import { writeSync } from "node:fs";
import { REPORT_MARKER, type RankReport } from "./protocol.js";

export function report(message: RankReport): void {
  try {
    writeSync(2, `${REPORT_MARKER}${JSON.stringify(message)}\n`);
  } catch {
    // stderr is gone: the launcher died, and the exit code is all that is left to say.
  }
}
