// Shared memory against ZeroMQ ipc on one host: a 64-rank job on this machine's cores
// (barrier + allreduce), and the CPU a rank uses while blocked 10 s in recv.
import { execFileSync } from "node:child_process";
import { join } from "node:path";

const ROOT = new URL("..", import.meta.url).pathname;

/** Wall time of one tsmpi job, ms. */
function wall(launcher, n, script, args = []) {
  const t0 = process.hrtime.bigint();
  execFileSync("node", [join(ROOT, "bin/tsmpi.js"), ...launcher, "-n", String(n), script, ...args], { cwd: ROOT, stdio: "ignore" });
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

export async function benchShm({ quick, repeat, median, fmt }) {
  const lines = [];
  const n = quick ? 16 : 64;
  // A whole job of 64 processes on 2 cores varies by ±10 % from run to run: at least 7 pairs,
  // each in alternating order (so that a drift of the machine favours neither), and the ratio
  // is the median of the pairs' ratios.
  const pairs = Math.max(repeat, 7);
  const auto = [],
    zmq = [],
    ratios = [];
  for (let i = 0; i < pairs; i++) {
    const runAuto = () => wall([], n, "bench/many.ts"),
      runZmq = () => wall(["--transport", "zmq"], n, "bench/many.ts");
    let a, z;
    if (i % 2 === 0) {
      a = runAuto();
      z = runZmq();
    } else {
      z = runZmq();
      a = runAuto();
    }
    auto.push(a);
    zmq.push(z);
    ratios.push(a / z);
  }
  lines.push("", `## Many ranks on few cores: ${n} ranks, 20 × (barrier + allreduce), whole job (median of ${pairs} interleaved pairs)`, "");
  lines.push("| transport | ms | ratio (median of the pairs') |", "|---|---:|---:|");
  lines.push(`| shared memory (auto) | ${fmt(median(auto), 0)} | ${median(ratios).toFixed(2)}× |`);
  lines.push(`| ZeroMQ ipc (\`--transport zmq\`) | ${fmt(median(zmq), 0)} | 1.00× |`);
  const seconds = quick ? 3 : 10;
  const blocked = (launcher) =>
    JSON.parse(
      execFileSync("node", [join(ROOT, "bin/tsmpi.js"), ...launcher, "-n", "2", "bench/blocked.ts", String(seconds)], { cwd: ROOT, encoding: "utf8" })
        .split("\n")
        .find((l) => l.startsWith("{")),
    );
  const a = blocked([]),
    z = blocked(["--transport", "zmq"]);
  lines.push("", `## A rank blocked ${seconds} s in recv: CPU it used`, "");
  lines.push("| transport | CPU s | % of one core |", "|---|---:|---:|");
  lines.push(`| shared memory (auto) | ${a.cpu.toFixed(3)} | ${a.percent.toFixed(2)} % |`);
  lines.push(`| ZeroMQ ipc | ${z.cpu.toFixed(3)} | ${z.percent.toFixed(2)} % |`);
  return lines;
}
