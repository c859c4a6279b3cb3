/**
 * --trace, --stats and --cpu-prof on real jobs: the trace's structure (a track per rank,
 * spans that nest, times that only go forward, an arrow per message from its send to its
 * receive), what an aborted job's trace shows, the statistics, CPU profiles mapped to the
 * script's .ts lines, and both files opened in a real viewer (speedscope in chromium).
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHROMIUM, startViewer, type Viewer } from "./viewer.js";
import { fixture, leftovers, runJob } from "./helpers.js";

interface TraceEvent {
  ph: string;
  name: string;
  cat?: string;
  pid: number;
  tid: number;
  ts: number;
  dur?: number;
  id?: number;
  args?: Record<string, unknown>;
}
interface Trace {
  traceEvents: TraceEvent[];
  otherData: Record<string, unknown>;
}

const NP = 4;
const out = mkdtempSync(join(tmpdir(), "tsmpi-trace-test-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));
const read = (path: string) => JSON.parse(readFileSync(path, "utf8")) as Trace;
const slices = (trace: Trace) => trace.traceEvents.filter((e) => e.ph === "X");

/** The innermost X event on (pid, tid) that encloses `ts` (a zero-length one at `ts`, or one with `ts` before its end). */
function enclosing(trace: Trace, pid: number, tid: number, ts: number): TraceEvent | undefined {
  return slices(trace)
    .filter((e) => e.pid === pid && e.tid === tid && e.ts <= ts && (ts < e.ts + e.dur! || (e.dur === 0 && ts === e.ts)))
    .sort((a, b) => a.dur! - b.dur!)[0];
}

describe("--trace", () => {
  let trace: Trace;
  let stderr: string;
  beforeAll(async () => {
    const job = await runJob(NP, fixture("traced.ts"), [], {
      launcherArgs: ["--trace", join(out, "ok.json"), "--stats=json", "--cpu-prof", join(out, "prof")],
    });
    expect(job.stderr).not.toMatch(/failed|error/i);
    expect(job.exitCode).toBe(0);
    expect(await leftovers(job)).toEqual({ processes: [], files: [] });
    trace = read(join(out, "ok.json"));
    stderr = job.stderr;
  });

  it("names one process track per rank, rank N (host)", () => {
    const names = trace.traceEvents.filter((e) => e.ph === "M" && e.name === "process_name").map((e) => [e.pid, e.args!.name]);
    expect(names.map(([pid]) => pid)).toEqual([0, 1, 2, 3]);
    for (const [pid, name] of names) expect(name).toMatch(new RegExp(`^rank ${pid} \\(.+\\)$`));
  });

  it("has a span on every rank for init, each point-to-point call, each request, wait and each collective", () => {
    for (let rank = 0; rank < NP; rank++) {
      const names = new Set(
        slices(trace)
          .filter((e) => e.pid === rank)
          .map((e) => e.name),
      );
      for (const call of ["init", "send", "recv", "isend", "irecv", "wait", "bcast", "scatter", "allreduce", "gather", "barrier", "compute"])
        expect(names, `rank ${rank}`).toContain(call);
    }
    const recvs = slices(trace).filter((e) => e.name === "recv" && e.cat === "p2p");
    expect(recvs).toHaveLength(NP);
    for (const r of recvs) {
      expect(r.args).toMatchObject({ peer: (r.pid - 1 + NP) % NP, tag: 5, bytes: 128, comm: "w" });
      expect(r.args!.waitedMs).toBeGreaterThanOrEqual(0);
      expect(r.args!.waitedMs as number).toBeLessThanOrEqual(r.dur! / 1000 + 0.001);
    }
  });

  it("keeps each track's times moving forward and its spans nested", () => {
    const tracks = new Map<string, TraceEvent[]>();
    for (const e of slices(trace)) tracks.set(`${e.pid}/${e.tid}`, [...(tracks.get(`${e.pid}/${e.tid}`) ?? []), e]);
    for (const [track, events] of tracks) {
      const open: TraceEvent[] = [];
      let last = -Infinity;
      for (const e of events) {
        expect(e.ts, track).toBeGreaterThanOrEqual(last);
        expect(e.dur, track).toBeGreaterThanOrEqual(0);
        last = e.ts;
        while (open.length > 0 && open.at(-1)!.ts + open.at(-1)!.dur! <= e.ts) open.pop();
        // Inside its parent, and ending strictly before it (speedscope needs that to close them in order).
        if (open.length > 0) expect(e.ts + e.dur!, `${track}: ${e.name} in ${open.at(-1)!.name}`).toBeLessThan(open.at(-1)!.ts + open.at(-1)!.dur!);
        open.push(e);
      }
    }
  });

  it("draws one arrow per message from its send to its matching receive", () => {
    const starts = trace.traceEvents.filter((e) => e.ph === "s");
    const ends = new Map(trace.traceEvents.filter((e) => e.ph === "f").map((e) => [e.id, e]));
    expect(starts.length).toBe(ends.size);
    // The ring (4), the isend/irecv exchange (4) and the collectives' messages.
    expect(starts.length).toBeGreaterThan(2 * NP);
    let ring = 0;
    for (const s of starts) {
      const f = ends.get(s.id)!;
      expect(f, `flow ${s.id}`).toBeDefined();
      const send = enclosing(trace, s.pid, s.tid, s.ts)!;
      const receive = enclosing(trace, f.pid, f.tid, f.ts)!;
      expect(send.name).toMatch(/^i?send$/);
      expect(receive.name).toMatch(/^i?recv$/);
      expect(send.args!.peer).toBe(f.pid);
      expect(receive.args!.peer).toBe(s.pid);
      expect(receive.args!.tag).toBe(send.args!.tag);
      expect(receive.args!.comm).toBe(send.args!.comm);
      if (send.name === "send" && send.cat === "p2p") {
        ring++;
        expect(f.pid).toBe((s.pid + 1) % NP);
      }
    }
    expect(ring).toBe(NP);
  });

  it("prints the same numbers as JSON with --stats=json", () => {
    const json = JSON.parse(stderr.slice(stderr.indexOf("{"), stderr.lastIndexOf("}") + 1)) as {
      ranks: Array<{
        rank: number;
        wall: number;
        comm: number;
        compute: number;
        sent: { messages: number; bytes: number };
        received: { messages: number };
        calls: Record<string, { count: number }>;
      }>;
      total: { sent: { messages: number; bytes: number }; received: { messages: number; bytes: number } };
      topCalls: Array<{ call: string }>;
    };
    expect(json.ranks.map((r) => r.rank)).toEqual([0, 1, 2, 3]);
    for (const r of json.ranks) {
      expect(r.comm).toBeLessThanOrEqual(r.wall);
      expect(r.compute).toBeCloseTo(r.wall - r.comm, 6);
      expect(r.calls.send!.count + r.calls.recv!.count).toBe(2);
      expect(r.calls.barrier!.count).toBe(1);
    }
    // Every message sent in a job that ends well is received.
    expect(json.total.received).toEqual(json.total.sent);
    expect(json.topCalls.map((c) => c.call)).toContain("allreduce");
  });

  it("writes a CPU profile per rank whose frames point at the script's .ts lines", () => {
    expect(readdirSync(join(out, "prof")).sort()).toEqual([0, 1, 2, 3].map((rank) => `rank-${rank}.cpuprofile`));
    const profile = JSON.parse(readFileSync(join(out, "prof", "rank-0.cpuprofile"), "utf8")) as {
      nodes: Array<{ callFrame: { functionName: string; url: string; lineNumber: number } }>;
    };
    const spin = profile.nodes.find((n) => n.callFrame.functionName === "spinTheWheel");
    expect(spin?.callFrame).toMatchObject({ url: pathToFileURL(fixture("traced.ts")).href, lineNumber: 7 });
  });
});

describe("--trace of a job that fails", () => {
  it("shows the failed rank's failure and the calls the others were blocked in", async () => {
    const file = join(out, "fail.json");
    const job = await runJob(NP, fixture("traced.ts"), ["--fail"], { launcherArgs: ["--trace", file] });
    expect(job.exitCode).toBe(1);
    expect(job.stderr).toContain("boom from rank 2");
    const trace = read(file);
    const failure = trace.traceEvents.find((e) => e.ph === "i" && e.pid === 2)!;
    expect(failure.name).toMatch(/^rank 2 failed/);
    expect(String(failure.args!.detail)).toContain("boom from rank 2");
    expect(trace.traceEvents.some((e) => e.ph === "i" && e.name.startsWith("job aborted"))).toBe(true);
    expect([...new Set(slices(trace).map((e) => e.pid))].sort()).toEqual([0, 1, 2, 3]);
    // The others were waiting for rank 2 in the barrier: it failed there (or was cut short when they were terminated).
    for (const rank of [0, 1, 3]) {
      const barrier = slices(trace).find((e) => e.pid === rank && e.name === "barrier");
      expect(barrier, `rank ${rank}`).toBeDefined();
      if (barrier!.args!.unfinished !== true) expect(barrier!.args!.error).toMatch(/rank 2 has failed/);
    }
  });
});

describe("--trace of a job with more spans than a rank keeps", () => {
  it("keeps the first 262 144 spans of each rank, says how many it dropped, and still writes the trace", async () => {
    const file = join(out, "chatty.json");
    // 140 000 round trips: 280 000 spans on each of ranks 0 and 1.
    const job = await runJob(2, fixture("chatty.ts"), ["140000"], { launcherArgs: ["--trace", file], timeout: 120_000 });
    expect(job.exitCode, job.stderr).toBe(0);
    expect(job.stdout).toBe("140000 round trips");
    expect(job.stderr).toMatch(/^tsmpi: trace: \d+ spans were not kept \(each rank keeps at most 262144\); --stats still counts them$/m);
    const trace = read(file);
    // What the rank recorded, without the compute slices the merge draws between its spans.
    for (const rank of [0, 1]) expect(slices(trace).filter((e) => e.pid === rank && e.name !== "compute").length).toBe(262_144);
    expect(await leftovers(job)).toEqual({ processes: [], files: [] });
  }, 150_000);
});

describe("--stats", () => {
  it("prints a table per rank and a total, and the top calls", async () => {
    const job = await runJob(2, fixture("traced.ts"), [], { launcherArgs: ["--stats"] });
    expect(job.exitCode).toBe(0);
    const lines = job.stderr.split("\n");
    expect(lines.find((l) => l.trim().startsWith("rank"))).toMatch(/rank\s+host\s+wall s\s+comm s\s+comm\s+compute s/);
    for (const rank of ["0", "1", "all"]) expect(lines.some((l) => l.trim().split(/\s+/)[0] === rank)).toBe(true);
    expect(job.stderr).toMatch(/top calls by time/);
    expect(job.stderr).toMatch(/^\s+allreduce\s+2\s/m);
  });
});

describe("option errors", () => {
  it.each([
    [["--stats=xml"], "--stats must be --stats, --stats=text or --stats=json, got --stats=xml"],
    [["--trace", "/nonexistent-dir/t.json"], "--trace /nonexistent-dir/t.json: directory /nonexistent-dir does not exist"],
    [["--trace", tmpdir()], "--trace must name a file"],
  ])("%j is refused with a message naming the option", async (args, message) => {
    const job = await runJob(1, fixture("traced.ts"), [], { launcherArgs: args });
    expect(job.exitCode).toBe(1);
    expect(job.stderr).toContain(message);
  });
});

describe.skipIf(!existsSync(CHROMIUM))("in a real viewer (speedscope in headless chromium)", () => {
  let viewer: Viewer;
  beforeAll(async () => {
    viewer = await startViewer();
  });
  afterAll(async () => viewer?.close());

  it("opens the trace and lists every rank's tracks", async () => {
    const page = await viewer.open(join(out, "ok.json"));
    expect(viewer.console.join("\n")).toContain("Importing as Trace Event Format profile");
    // speedscope warns when spans do not nest ("Tried to end ...") and closes them itself.
    expect(viewer.console.filter((line) => /Tried to end|still open/.test(line))).toEqual([]);
    await page.getByText(/\(1\/\d+\)/).click();
    const listed = await page.innerText("body");
    for (let rank = 0; rank < NP; rank++) expect(listed).toMatch(new RegExp(`rank ${rank} \\(.+\\) \\(pid ${rank}\\), calls \\(tid 0\\)`));
    await page.screenshot({ path: join(out, "trace.png") });
    await page.close();
  });

  it("opens a rank's CPU profile with the script's functions in it", async () => {
    const page = await viewer.open(join(out, "prof", "rank-0.cpuprofile"));
    expect(viewer.console.join("\n")).toMatch(/Importing as Chrome CPU Profile/i);
    await page.getByText("Sandwich").click();
    await page.getByText("spinTheWheel").first().waitFor();
    await page.screenshot({ path: join(out, "cpuprofile.png") });
    await page.close();
  });
});
