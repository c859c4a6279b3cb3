/**
 * Reading a rank's report file (`{"type":"profile",...,"spans":[{...},...]}`, tens of MB under
 * --trace) piece by piece: each span is parsed on its own as the scan passes it and handed on,
 * so neither the file's text nor all its spans as objects are ever in memory at once (the
 * merge keeps them in columns, see trace-spans.ts).
 */
import { Buffer } from "node:buffer";
import { closeSync, openSync, readSync } from "node:fs";
import { StringDecoder } from "node:string_decoder";
import type { ProfileReport, Span } from "../rank/trace/types.js";

/** Bytes read at a time. */
const PIECE = 1 << 20;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const BRACE = 0x7b;
const BRACKET = 0x5b;
const CLOSING_BRACE = 0x7d;
const CLOSING_BRACKET = 0x5d;

/**
 * The report in `file`, as `JSON.parse` of its text would give it, but for its spans: each goes
 * to `onSpan` as it is read, and `spans` is left empty (it is there if the file has spans).
 * @param piece bytes read at a time (tests make it small)
 * @throws if the file cannot be read or is not JSON
 */
export function readReportFile(file: string, onSpan: (span: Span) => void, piece = PIECE): ProfileReport {
  const fd = openSync(file, "r");
  try {
    const scan = new ReportScan(onSpan);
    const bytes = Buffer.allocUnsafe(piece);
    const decoder = new StringDecoder("utf8");
    for (let n; (n = readSync(fd, bytes, 0, piece, null)) > 0;) scan.add(decoder.write(bytes.subarray(0, n)));
    scan.add(decoder.end());
    return scan.result();
  } finally {
    closeSync(fd);
  }
}

/**
 * Splits the text, as it comes, into the elements of the top-level `spans` array (each
 * parsed alone) and the rest of the report (small: its statistics and a few numbers).
 */
class ReportScan {
  private depth = 0;
  private inString = false;
  private escaped = false;
  /** Inside the top-level `spans` array. */
  private inSpans = false;
  /** The report without its spans' elements. */
  private rest = "";
  /** The text of the span being scanned, from pieces before this one. */
  private partial = "";

  constructor(private readonly onSpan: (span: Span) => void) {}

  add(text: string): void {
    let from = 0; // where the text not yet copied to `rest` or to a span starts
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === BACKSLASH) this.escaped = true;
        else if (c === QUOTE) this.inString = false;
      } else if (c === QUOTE) this.inString = true;
      else if (c === BRACE || c === BRACKET) {
        if (this.depth === 1 && c === BRACKET && (this.rest + text.slice(from, i)).trimEnd().endsWith('"spans":')) {
          this.rest += text.slice(from, i + 1);
          from = i + 1;
          this.inSpans = true;
        } else if (this.inSpans && this.depth === 2) from = i; // a span begins
        this.depth++;
      } else if (c === CLOSING_BRACE || c === CLOSING_BRACKET) {
        this.depth--;
        if (this.inSpans && this.depth === 2) {
          this.onSpan(JSON.parse(this.partial + text.slice(from, i + 1)) as Span);
          this.partial = "";
          from = i + 1;
        } else if (this.inSpans && this.depth === 1) {
          this.inSpans = false;
          from = i; // the array's "]" goes to `rest`; commas between spans are dropped
        }
      }
    }
    if (this.inSpans) this.partial += this.depth > 2 ? text.slice(from) : "";
    else this.rest += text.slice(from);
  }

  result(): ProfileReport {
    return JSON.parse(this.rest) as ProfileReport;
  }
}
