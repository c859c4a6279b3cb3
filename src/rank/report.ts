/**
 * Reports from a rank to the launcher: one line on the rank's stderr starting with
 * {@link REPORT_MARKER}, then JSON. stderr is used because it survives a rank that dies right
 * after writing it (pipe writes are synchronous on Linux) and travels through ssh unchanged.
 */
import { Buffer } from "node:buffer";
import { writeSync } from "node:fs";
import type { WaitState } from "../comm/engine/waits.js";
import type { ProfileReport } from "./trace/types.js";

export type { WaitState };

/** What a rank tells the launcher just before it dies on purpose or by accident, or when asked for its state (or its profile as it ends). */
export type RankReport =
  | ProfileReport
  | { type: "error"; rank: number; name: string; message: string; stack: string; origin: "exception" | "rejection" }
  | { type: "abort"; rank: number; code: number }
  | { type: "exiting"; rank: number; code: number }
  /** A pool's progress (src/pool/progress.ts): `done` of `total` tasks after `seconds`; `final` when it shuts down. */
  | { type: "progress"; rank: number; label: string; done: number; total: number; seconds: number; final: boolean }
  | {
      type: "state";
      rank: number;
      waiting: WaitState[];
      unexpected: number;
      unexpectedBytes: number;
      delivered: number;
      initialized: boolean;
      /** Messages have arrived that the rank has not read yet (it is busy, not stuck). */
      unread?: boolean;
    };

/** Prefix of a report line on stderr; a control character so no user output starts with it by accident. */
export const REPORT_MARKER = "\u001etsmpi-report ";

/** Write one report with a synchronous write, so that it survives the `process.exit` that may follow. */
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
