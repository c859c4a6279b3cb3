/**
 * The pool's progress line: the root rank sends its counts to the launcher as report lines
 * (see rank/report.ts), at most every {@link EVERY_MS} and once at the end; the launcher draws
 * the line (src/launcher/progress.ts).
 */
import { report } from "../rank/report.js";

/** Least time between two progress reports. */
const EVERY_MS = 200;

export class ProgressLine {
  readonly #started = performance.now();
  #last = -Infinity;
  #settled = 0;
  #total = 0;

  constructor(
    readonly label: string,
    readonly rank: number,
  ) {}

  /** `settled` of `total` tasks are done; reported if the last report is old enough. */
  update(settled: number, total: number): void {
    this.#settled = settled;
    this.#total = total;
    const now = performance.now();
    if (now - this.#last < EVERY_MS && settled < total) return;
    this.#last = now;
    this.#send(false);
  }

  /** The pool shuts down: the last report ends the line. */
  end(): void {
    this.#send(true);
  }

  #send(final: boolean): void {
    const seconds = (performance.now() - this.#started) / 1000;
    report({ type: "progress", rank: this.rank, label: this.label, done: this.#settled, total: this.#total, seconds, final });
  }
}
