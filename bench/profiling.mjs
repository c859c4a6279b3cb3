// What --trace and --stats cost: the 8 B ping-pong (bench/pingpong.ts) with each option and
// with none, interleaved in the same run. Two runs without options bound the noise: a job
// without the options runs the same code as before they existed (the recording wrappers are
// installed only when an option is on), so its cost is that noise.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

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
        const text = execFileSync("node", [join(ROOT, "bin/tsmpi.js"), ...options, "-n", "2", "bench/pingpong.ts", String(SIZE)], {
          cwd: ROOT,
          encoding: "utf8",
          stdio: ["ignore", "pipe", "ignore"],
        });
        const row = text
          .split("\n")
          .filter((l) => l.startsWith("{"))
          .map((l) => JSON.parse(l))
          .find((row) => row.kind === "Float64Array" && row.size === SIZE);
        samples.get(name).push(row.usec);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const base = best(samples.get("no option"));
  const lines = [
    "",
    `## Cost of --trace and --stats: ${SIZE} B ping-pong (2 ranks, half round trip, Float64Array)`,
    "",
    `Best of ${Math.max(3, repeat)} interleaved runs of each (10 000 round trips per run, after 30 000 to warm up); the ratio is against the first "no option" runs of the same session.`,
    "",
    "| options | µs | ratio |",
    "|---|---:|---:|",
  ];
  for (const [name] of variants) {
    const usec = best(samples.get(name));
    data?.profiling.push({ options: name, size: SIZE, usec });
    lines.push(`| ${name} | ${fmt(usec)} | ${(usec / base).toFixed(3)}× |`);
  }
  return lines;
}
