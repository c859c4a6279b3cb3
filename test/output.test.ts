// The launcher's line forwarding on its own: whole lines, prefixes, and report lines.
import { describe, expect, it } from "vitest";
import { LineForwarder } from "../src/launcher/output.js";
import { REPORT_MARKER, type RankReport } from "../src/rank/report.js";

function forwarder(prefix = "") {
  const written: string[] = [];
  const reports: RankReport[] = [];
  const f = new LineForwarder(
    (t) => written.push(t),
    prefix,
    (r) => reports.push(r),
  );
  return { f, written, reports };
}

describe("line forwarding", () => {
  it("holds a partial line until its newline arrives, even split inside a UTF-8 character", () => {
    const { f, written } = forwarder();
    const bytes = Buffer.from("héllo\nwor");
    f.push(bytes.subarray(0, 2));
    f.push(bytes.subarray(2));
    expect(written).toEqual(["héllo\n"]);
    f.push(Buffer.from("ld\n"));
    expect(written).toEqual(["héllo\n", "world\n"]);
  });

  it("ends a last line that had no newline", () => {
    const { f, written } = forwarder("[1,0]<stdout>:");
    f.push(Buffer.from("a\nb"));
    f.end();
    expect(written.join("")).toBe("[1,0]<stdout>:a\n[1,0]<stdout>:b\n");
  });

  it("takes report lines out, also when they follow output that had no newline", () => {
    const { f, written, reports } = forwarder();
    f.push(Buffer.from(`partial${REPORT_MARKER}{"type":"abort","rank":2,"code":3}\nnext\n`));
    expect(reports).toEqual([{ type: "abort", rank: 2, code: 3 }]);
    expect(written.join("")).toBe("partial\nnext\n");
  });

  it("forwards a line that only looks like a report", () => {
    const { f, written, reports } = forwarder();
    f.push(Buffer.from(`${REPORT_MARKER}not json\n`));
    expect(reports).toEqual([]);
    expect(written.join("")).toBe(`${REPORT_MARKER}not json\n`);
  });
});
