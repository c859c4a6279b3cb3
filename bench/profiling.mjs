// What --trace and --stats cost: the 8 B ping-pong (bench/pingpong.ts) with each option and
// with none, interleaved in the same run. Two runs without options bound the noise: a job
// without the options runs each traced call with one check of an undefined field (the tracer
// in src/comm/engine/seam.ts is installed only when an option is on), a cost within that noise.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { median } from "./median.mjs";

const ROOT = new URL("..", import.meta.url).pathname;
const SIZE = 8;

export async function benchProfiling({ repeat, fmt, data }) {
  // The fastest of several runs: on a shared machine the slow runs are other processes' doing.
  const best = (xs) => Math.min(...xs);
  const dir = mkdtempSync(join(tmpdir(), "tsmpi-bench-trace-"));
  const variants = [
    ["no option", []],
    ["no option (again: the noise)", []],
    ["--stats", ["--stats=json"]],
    ["--trace", ["--trace", join(dir, "t.json")]],
  ];
  const samples = new Map(variants.map(([name]) => [name, []]));
  try {
    for (let r = 0; r < Math.max(3, repeat); r++) {
      for (const [name, options] of variants) {
        const text = execFileSync(
          "node",
          [join(ROOT, "bin/tsmpi.js"), ...options, "-n", "2", "bench/pingpong.ts", String(SIZE), "--kinds", "Float64Array", "--median"],
          {
            cwd: ROOT,
            encoding: "utf8",
            stdio: ["ignore", "pipe", "ignore"],
          },
        );
        const row = text
          .split("\n")
          .filter((l) => l.startsWith("{"))
          .map((l) => JSON.parse(l))
          .find((row) => row.kind === "Float64Array" && row.size === SIZE);
        samples.get(name).push(row);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // Two measures: the mean (total time over round trips, as osu_latency reports) and the median round trip.
  const mean = (name) => best(samples.get(name).map((row) => row.usec));
  const p50 = (name) => median(samples.get(name).map((row) => row.p50usec));
  const lines = [
    "",
    `## Cost of --trace and --stats: ${SIZE} B ping-pong (2 ranks, half round trip, Float64Array)`,
    "",
    `${Math.max(3, repeat)} interleaved runs of each (10 000 timed round trips per run, after 30 000 to warm up). "mean": total time over round trips, best run; "median": the median round trip of each run, median over runs. A few round trips stalled for milliseconds (a rank descheduled, or V8 optimising a function on the rank's thread) can weigh on the mean, which the median ignores; ratios are against the first "no option" runs of the same session.`,
    "",
    "| options | mean µs | ratio | median µs | ratio |",
    "|---|---:|---:|---:|---:|",
  ];
  for (const [name] of variants) {
    data?.profiling.push({ options: name, size: SIZE, usec: mean(name), p50usec: p50(name) });
    lines.push(
      `| ${name} | ${fmt(mean(name))} | ${(mean(name) / mean("no option")).toFixed(3)}× | ${fmt(p50(name))} | ${(p50(name) / p50("no option")).toFixed(3)}× |`,
    );
  }
  return lines;
}
