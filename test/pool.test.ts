// The task pool (src/pool/, test/fixtures/pool.ts and pool-dies.ts): every check of the
// fixture at sizes 1, 3 and 4 (over ZeroMQ), the progress line, and a worker killed mid-run
// under --keep-going: every result arrives once, its unfinished tasks ran again elsewhere.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { fixture, leftovers, runJob } from "./helpers.js";
import { ProgressDisplay, formatProgress } from "../src/launcher/progress.js";

const CHECKS = 8;

describe("CommExecutor", () => {
  it.each([
    [1, "auto"],
    [3, "auto"],
    [4, "zmq"],
  ])("passes its checks at -n %i with --transport %s, with a progress line at the end", async (np, transport) => {
    const job = await runJob(np, fixture("pool.ts"), [], { timeout: 60_000, launcherArgs: ["--transport", transport] });
    expect(job.exitCode, job.stderr).toBe(0);
    expect(job.stdout.match(/^ok /gm)).toHaveLength(CHECKS);
    expect(job.stderr).not.toContain("CommExecutor pool"); // no --stats, no pool table
    // Not a terminal: plain lines only, the last one when the pool shuts down.
    expect(job.stderr).toMatch(/^tsmpi: tasks (\d+)\/\1 \(100%\), [\d.]+\/s, in [\d.]+ s$/m);
    expect(job.stderr).not.toContain("\r");
    expect(await leftovers(job)).toEqual({ processes: [], files: [] });
  });

  it("shows its tasks as spans in --trace and its counters in --stats", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tsmpi-pool-"));
    const file = join(dir, "trace.json");
    const job = await runJob(3, fixture("pool.ts"), [], { timeout: 60_000, launcherArgs: ["--stats", "--trace", file] });
    expect(job.exitCode, job.stderr).toBe(0);
    expect(job.stderr).toMatch(/^tsmpi: CommExecutor pool: tasks run on each rank\n {2}rank {2}tasks run {2}in tasks s {2}of wall\n {2}0 +0 /m);
    const [, submitted, done, failed, cancelled] = /^ {2}root rank 0: (\d+) submitted, (\d+) done, (\d+) failed, (\d+) cancelled, 0 rerun, \d+ chunks$/m.exec(
      job.stderr,
    )!;
    expect(Number(failed)).toBe(3); // two tasks threw, one had an argument that cannot be sent
    expect(Number(done) + Number(failed) + Number(cancelled)).toBe(Number(submitted));
    const ran = [...job.stderr.matchAll(/^ {2}[12] +(\d+) /gm)].reduce((sum, m) => sum + Number(m[1]), 0);
    expect(ran).toBeGreaterThanOrEqual(Number(done) + 2);
    const events = (JSON.parse(readFileSync(file, "utf8")) as { traceEvents: Array<{ name: string; cat: string; pid: number; args: { error?: string } }> })
      .traceEvents;
    const tasks = events.filter((e) => e.cat === "task");
    expect(tasks.length).toBe(ran);
    expect(new Set(tasks.map((e) => e.name))).toEqual(new Set(["pool square", "pool scaled", "pool later", "pool explode", "pool napping"]));
    expect(tasks.filter((e) => e.args.error === "RangeError: no 3 here")).toHaveLength(2);
    rmSync(dir, { recursive: true });
    expect(await leftovers(job)).toEqual({ processes: [], files: [] });
  });

  it("reruns the unfinished tasks of a worker killed mid-run under --keep-going, once each, and ends", async () => {
    const job = await runJob(4, fixture("pool-dies.ts"), [], { timeout: 60_000, launcherArgs: ["--keep-going"] });
    expect(job.exitCode, job.stderr).toBe(137);
    const [, reran, inStats] =
      /^results 300, each item once: true, from rank 2 after it died: 0, reran (\d+) \((\d+) in stats\), done 300, lost ranks 2$/m.exec(job.stdout) ?? [];
    expect(Number(reran), job.stdout).toBeGreaterThan(0);
    expect(inStats).toBe(reran);
    expect(job.stderr).toContain(`tsmpi: CommExecutor on rank 0: worker rank 2 died; ${reran} unfinished task`);
    expect(await leftovers(job)).toEqual({ processes: [], files: [] });
  });

  it("redraws one line on a terminal and ends it when the pool shuts down", () => {
    let written = "";
    const display = new ProgressDisplay((text) => void (written += text), true);
    display.show({ type: "progress", rank: 0, label: "sweep", done: 10, total: 40, seconds: 2, final: false });
    expect(display.open).toBe(true);
    display.show({ type: "progress", rank: 0, label: "sweep", done: 40, total: 40, seconds: 4, final: true });
    expect(written).toBe("\rtsmpi: sweep 10/40 (25%), 5.0/s, ETA 6.0 s\u001b[K\rtsmpi: sweep 40/40 (100%), 10.0/s, in 4.0 s\u001b[K\n");
    expect(display.open).toBe(false);
    expect(formatProgress({ type: "progress", rank: 0, label: "t", done: 1, total: 1000, seconds: 1, final: false })).toBe(
      "tsmpi: t 1/1000 (0%), 1.0/s, ETA 16 min 39 s",
    );
  });
});
