/**
 * --trace of any size: a job whose merged trace passes 1 GiB (twice the longest string V8
 * makes) is written whole, while the launcher's memory stays far below the trace's size (it
 * holds one rank's spans at a time), and the pieces that make that possible on their own.
 */
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readReportFile } from "../src/launcher/report-file.js";
import { JobProfile } from "../src/launcher/profiling.js";
import type { ProfileReport, Span } from "../src/rank/trace/types.js";
import { fixture, leftovers, startJob } from "./helpers.js";

const GiB = 2 ** 30;
const MiB = 2 ** 20;
/** Ranks of the large job, each filling its span buffer (~66 MB of trace each). */
const NP = 18;
/** Round trips per rank: 2 spans each, 262 144 in all (the buffer's size). */
const COUNT = 131_072;

const out = mkdtempSync(join(tmpdir(), "tsmpi-trace-size-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

/** Peak resident memory (VmHWM) of process `pid`, read from /proc every 50 ms until it ends. */
function watchPeak(pid: number): { stop(): number } {
  let peak = 0;
  const read = () => {
    try {
      peak = Math.max(peak, Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) * 1024);
    } catch {
      // It has ended: its last reading stands.
    }
  };
  const timer = setInterval(read, 50);
  return {
    stop() {
      clearInterval(timer);
      return peak;
    },
  };
}

/** How many events of each phase (`"ph":"X"`...) the file holds, read 16 MiB at a time. */
function countPhases(file: string): Record<string, number> {
  const marker = Buffer.from('{"ph":"');
  const counts: Record<string, number> = {};
  const chunk = Buffer.alloc(16 * MiB);
  const fd = openSync(file, "r");
  let kept = 0;
  for (let n; (n = readSync(fd, chunk, kept, chunk.length - kept, null)) > 0;) {
    const filled = chunk.subarray(0, kept + n);
    let at = filled.indexOf(marker);
    // A marker whose phase letter is not read yet is counted with the next read.
    for (; at >= 0 && at + marker.length < filled.length; at = filled.indexOf(marker, at + 1)) {
      const ph = String.fromCharCode(filled[at + marker.length]!);
      counts[ph] = (counts[ph] ?? 0) + 1;
    }
    kept = marker.length;
    filled.copy(chunk, 0, filled.length - kept);
  }
  closeSync(fd);
  return counts;
}

/** The file's last `bytes` bytes as text. */
function tail(file: string, bytes: number): string {
  const fd = openSync(file, "r");
  const buffer = Buffer.alloc(bytes);
  const n = readSync(fd, buffer, 0, bytes, Math.max(0, statSync(file).size - bytes));
  closeSync(fd);
  return buffer.subarray(0, n).toString("utf8");
}

describe("--trace of a job whose trace passes 1 GiB", () => {
  it(`writes all of it for ${NP} ranks at their span limit, while the launcher stays under 512 MiB`, async () => {
    const file = join(out, "big.json");
    try {
      const { proc, marker, tmp } = startJob(NP, fixture("trace-flood.ts"), [String(COUNT)], { launcherArgs: ["--trace", file], timeout: 540_000 });
      const peak = watchPeak(proc.pid!);
      const result = await proc;
      const launcherPeak = peak.stop();
      const stderr = String(result.stderr);
      const size = existsSync(file) ? statSync(file).size : 0;
      console.log(`trace of ${NP} ranks: ${(size / MiB).toFixed(0)} MiB; launcher peak RSS ${(launcherPeak / MiB).toFixed(0)} MiB`);
      expect(result.exitCode, stderr).toBe(0);
      expect(stderr).not.toMatch(/cannot write the trace/);
      expect(await leftovers({ marker, tmp })).toEqual({ processes: [], files: [] });
      expect(size).toBeGreaterThan(GiB);
      // Far below the trace: not the trace, nor every rank's spans, in memory at once.
      expect(launcherPeak).toBeGreaterThan(0);
      expect(launcherPeak).toBeLessThan(512 * MiB);

      // Whole: it starts and ends as the format says, each rank's spans and an arrow per message are in it.
      const start = Buffer.alloc(64);
      const fd = openSync(file, "r");
      readSync(fd, start, 0, 64, 0);
      closeSync(fd);
      expect(start.toString()).toMatch(/^\{"traceEvents":\[\{"ph":"M","name":"process_name","pid":0,/);
      const end = tail(file, 64 * 1024);
      const before = '],"displayTimeUnit":"ms","otherData":';
      const otherData = JSON.parse(end.slice(end.lastIndexOf(before) + before.length, -1)) as {
        np: number;
        droppedSpans: Record<string, number>;
      };
      expect(otherData.np).toBe(NP);
      expect(Object.keys(otherData.droppedSpans)).toHaveLength(NP); // init's span makes one too many for the buffer
      const counts = countPhases(file);
      expect(counts.M).toBeGreaterThanOrEqual(4 * NP);
      expect(counts.X).toBeGreaterThanOrEqual(NP * 262_144);
      expect(counts.s).toBe(counts.f);
      expect(counts.s).toBeGreaterThanOrEqual(NP * (COUNT - 1));
    } finally {
      rmSync(file, { force: true });
    }
  }, 600_000);
});

describe("a rank's report read piece by piece", () => {
  const spans: Span[] = [
    { name: "send", kind: "p2p", start: 1.5, ms: 0.25, args: { peer: 1, tag: 5, bytes: 8, comm: "w" }, flow: "out:w/0>1/5#1" },
    { name: 'x]}{["\\', kind: "collective", start: 2, ms: 1, args: { error: 'a } ] [ { \\" é ✓ 😀 "spans":[' } },
    { name: "wait", kind: "wait", start: 3, ms: 0, args: {} },
  ];
  const report: ProfileReport = {
    type: "profile",
    rank: 0,
    host: '{"spans":[',
    origin: 1000,
    end: 5,
    dropped: 2,
    stats: {
      wall: 1,
      init: 0,
      comm: 1,
      sent: { messages: 1, bytes: 8 },
      received: { messages: 0, bytes: 0 },
      calls: { spans: { count: 1, seconds: 0, bytes: 0 } },
    },
    spans,
  };

  it.each([1, 2, 3, 7, 64, 1 << 20])("gives each span and the rest as JSON.parse would, %i bytes at a time", (piece) => {
    const file = join(out, `report-${piece}.json`);
    writeFileSync(file, JSON.stringify(report));
    const read: Span[] = [];
    const rest = readReportFile(file, (span) => read.push(span), piece);
    expect(read).toEqual(spans);
    expect(rest).toEqual({ ...report, spans: [] });
  });

  it("gives a report without spans as it is", () => {
    const file = join(out, "report-stats.json");
    const stats = { ...report, spans: undefined };
    writeFileSync(file, JSON.stringify(stats));
    expect(readReportFile(file, () => expect.fail("no spans"))).toStrictEqual(JSON.parse(JSON.stringify(stats)));
  });
});

describe("a report that came with its spans (from another host)", () => {
  it("waits on disk until the merge, and its spans and arrows are in the trace", () => {
    const dir = mkdtempSync(join(out, "job-"));
    const file = join(out, "inline.json");
    const profile = JobProfile.for({ trace: file, stats: "json", cpuProf: undefined, script: "x.ts", args: [] }, 2, dir)!;
    const base = { type: "profile", host: "h", origin: performance.timeOrigin, end: 10, dropped: 0 } as const;
    const stats = { wall: 1, init: 0, comm: 1, sent: { messages: 1, bytes: 8 }, received: { messages: 1, bytes: 8 }, calls: {} };
    const send: Span = { name: "send", kind: "p2p", start: 1, ms: 1, args: { peer: 1, tag: 0, bytes: 8, comm: "w" }, flow: "out:w/0>1/0#1" };
    const recv: Span = { name: "recv", kind: "p2p", start: 1, ms: 2, args: { peer: 0, tag: 0, bytes: 8, comm: "w", waitedMs: 1 }, flow: "in:w/0>1/0#1" };
    profile.add({ ...base, rank: 0, stats, spans: [send] });
    profile.add({ ...base, rank: 1, stats, spans: [recv] });
    expect(JSON.parse(readFileSync(join(dir, "profile", "rank-1.json"), "utf8"))).toMatchObject({ rank: 1, spans: [recv] });
    const said: string[] = [];
    let tables = "";
    const remote = { host: { via: "ssh", name: "h" } };
    profile.finish(
      [remote, remote],
      (text) => (tables += text),
      (line) => said.push(line),
    );
    const trace = JSON.parse(readFileSync(file, "utf8")) as { traceEvents: Array<{ ph: string; name: string; pid: number; args?: { key?: string } }> };
    expect(trace.traceEvents.filter((e) => e.ph === "X" && e.name !== "compute").map((e) => [e.pid, e.name])).toEqual([
      [0, "send"],
      [1, "recv"],
    ]);
    expect(trace.traceEvents.filter((e) => e.ph === "s" || e.ph === "f").map((e) => [e.ph, e.pid, e.args?.key])).toEqual([
      ["s", 0, "w/0>1/0#1"],
      ["f", 1, "w/0>1/0#1"],
    ]);
    expect(JSON.parse(tables)).toMatchObject({ total: { sent: { messages: 2 } } });
    expect(said).toEqual(["trace: clocks of other hosts aligned within ±? ms"]);
  });
});
