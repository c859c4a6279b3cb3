/**
 * Reports from a rank to the launcher, written as one marked line on stderr with a
 * synchronous write, so they survive the `process.exit` that follows (see protocol.ts).
 */
import { writeSync } from "node:fs";
import { REPORT_MARKER, type RankReport } from "./protocol.js";

export function report(message: RankReport): void {
  const line = Buffer.from(`${REPORT_MARKER}${JSON.stringify(message)}\n`);
  // stderr may be a non-blocking pipe that is momentarily full: retry EAGAIN for up to ~1 s.
  for (let offset = 0, tries = 0; offset < line.length && tries < 1000;) {
    try {
      offset += writeSync(2, line, offset);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EAGAIN") return; // the launcher is gone: the exit code says the rest
      tries++;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    }
  }
}
