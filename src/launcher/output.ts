/**
 * Forwarding of a rank's stdout/stderr: whole lines only, so lines of different ranks never
 * interleave mid-line, optionally tagged like Open MPI (`[1,rank]<stdout>:`). Report lines
 * (see rank/report.ts) are taken out of stderr and handed to the launcher instead. The
 * launcher's own messages ({@link say}) go to stderr too.
 */
import { Buffer } from "node:buffer";
import process from "node:process";
import { StringDecoder } from "node:string_decoder";
import { REPORT_MARKER, type RankReport } from "../rank/report.js";

/** A message of the launcher's own, on stderr. */
export const say = (line: string) => process.stderr.write(`tsmpi: ${line}\n`);
export const writeOut = (text: string) => process.stdout.write(text);
export const writeErr = (text: string) => process.stderr.write(text);

export class LineForwarder {
  private readonly decoder = new StringDecoder("utf8");
  private partial = "";

  /** `write` gets whole lines; `unterminated`: the newline that ends them was added (the stream ended without one). */
  constructor(
    private readonly write: (text: string, unterminated?: boolean) => void,
    private readonly prefix: string,
    private readonly onReport?: (report: RankReport) => void,
  ) {}

  /** Take a chunk; emit every complete line in it. */
  push(chunk: Buffer): void {
    const text = this.partial + this.decoder.write(chunk);
    const end = text.lastIndexOf("\n");
    if (end < 0) {
      this.partial = text;
      return;
    }
    this.partial = text.slice(end + 1);
    this.emit(text.slice(0, end + 1));
  }

  /** The stream ended: emit a last line that had no newline. */
  end(): void {
    const rest = this.partial + this.decoder.end();
    this.partial = "";
    if (rest.length > 0) this.emit(`${rest}\n`, true);
  }

  private emit(lines: string, unterminated = false): void {
    if (this.prefix === "" && (this.onReport === undefined || !lines.includes(REPORT_MARKER))) return this.write(lines, unterminated);
    let out = "";
    const all = lines.slice(0, -1).split("\n");
    for (const [i, line] of all.entries()) {
      // A report may follow user output that had no newline: the user's part is a line of its own.
      const at = this.onReport === undefined ? -1 : line.indexOf(REPORT_MARKER);
      if (at >= 0) {
        try {
          this.onReport!(JSON.parse(line.slice(at + REPORT_MARKER.length)) as RankReport);
          if (at > 0) {
            // The user's part had no newline: this one is added.
            this.write(`${out}${this.prefix}${line.slice(0, at)}\n`, true);
            out = "";
          } else if (i === all.length - 1) unterminated = false; // the last line was a report, taken out
          continue;
        } catch {
          // not a report after all: forward it like any line
        }
      }
      out += `${this.prefix}${line}\n`;
    }
    if (out !== "") this.write(out, unterminated);
  }
}
