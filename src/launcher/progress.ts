/**
 * The progress line of a rank's task pool (src/pool/progress.ts sends the counts): on a
 * terminal, one line on stderr redrawn in place; otherwise a plain line at most every
 * {@link PLAIN_EVERY_S} seconds and one at the end, so logs stay short.
 */
import process from "node:process";
import type { RankReport } from "../rank/report.js";

type Progress = Extract<RankReport, { type: "progress" }>;

/** Least seconds between two plain (not terminal) lines. */
const PLAIN_EVERY_S = 5;

/** The line: `tsmpi: tasks 120/400 (30%), 81.2/s, ETA 3.4 s` (elapsed time instead of ETA at the end). */
export function formatProgress(p: Progress): string {
  const percent = p.total > 0 ? Math.floor((100 * p.done) / p.total) : 100;
  const rate = p.seconds > 0 ? p.done / p.seconds : 0;
  const left = p.total - p.done;
  const when = p.final || left === 0 ? `in ${seconds(p.seconds)}` : rate > 0 ? `ETA ${seconds(left / rate)}` : "ETA ?";
  return `tsmpi: ${p.label} ${p.done}/${p.total} (${percent}%), ${rate >= 100 ? rate.toFixed(0) : rate.toFixed(1)}/s, ${when}`;
}

function seconds(s: number): string {
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${Math.round(s - 60 * m)} s`;
}

/** Draws one rank's progress reports. */
export class ProgressDisplay {
  /** When the last plain line was written (pool seconds): the first comes after PLAIN_EVERY_S. */
  #lastPlain = 0;
  #open = false;

  constructor(
    private readonly write: (text: string) => void = (text) => process.stderr.write(text),
    private readonly tty: boolean = process.stderr.isTTY === true,
  ) {}

  show(p: Progress): void {
    const line = formatProgress(p);
    if (this.tty) {
      this.write(`\r${line}\u001b[K${p.final ? "\n" : ""}`);
      this.#open = !p.final;
      return;
    }
    if (!p.final && p.seconds - this.#lastPlain < PLAIN_EVERY_S) return;
    this.#lastPlain = p.seconds;
    this.write(`${line}\n`);
  }

  /** Whether a terminal line is drawn and not ended yet. */
  get open(): boolean {
    return this.#open;
  }
}
