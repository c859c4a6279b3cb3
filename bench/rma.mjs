// One-sided communication next to its mpi4py twin, in the same run (issue 31's targets):
// put/get of 8 B and 4 MiB in fence epochs (one epoch: fence, operation, fence), and
// fetchAndOp on a counter whose owner computes (one operation, completed).
// `npm run bench -- --only rma` (from bench/run.mjs), or on its own: `node bench/rma.mjs [--repeat N]`.
// Runs `tsmpi -n 2 bench/rma.ts` and `mpirun -n 2 python3 bench/rma.py` interleaved N times
// (default 5) and prints, per case, the median time of each and their ratio (tsmpi ÷ mpi4py).
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { median } from "./median.mjs";
import { jsonLines, mpirunArgs } from "./runs.mjs";

const ROOT = new URL("..", import.meta.url).pathname;
const mpirun = [...mpirunArgs(2), "/usr/bin/python3", "bench/rma.py"];
const size = (bytes) => (bytes >= 2 ** 20 ? `${bytes / 2 ** 20} MiB` : `${bytes} B`);
const fmt = (x) => (x === undefined ? "n/a" : x >= 100 ? x.toFixed(0) : x.toFixed(2));

/** Markdown lines: each case's median µs for tsmpi and mpi4py (`haveMpi`), interleaved `repeat` times. */
export function benchRma({ repeat = 5, haveMpi = true } = {}) {
  const samples = new Map();
  const loads = [];
  for (let r = 0; r < repeat; r++) {
    loads.push(loadavg()[0]);
    const runs = [jsonLines("node", [join(ROOT, "bin/tsmpi.js"), "-n", "2", "bench/rma.ts"]), ...(haveMpi ? [jsonLines("mpirun", mpirun)] : [])];
    for (const row of runs.flat()) {
      const key = `${row.op} ${row.size}`;
      if (!samples.has(key)) samples.set(key, { tsmpi: [], mpi4py: [] });
      samples.get(key)[row.impl].push(row.usec);
    }
  }
  const lines = ["", "## One-sided communication (2 ranks on one host, µs)", ""];
  lines.push(
    `put/get in fence epochs (fence, operation, fence: the time of one epoch) and fetchAndOp on a counter whose owner computes (one operation, completed; mpi4py: Fetch_and_op + Flush under a shared lock). bench/rma.ts against bench/rma.py, median of ${repeat} interleaved runs; ${cpus().length} CPUs, load average ${median(loads).toFixed(1)} (1 min, median over the runs).`,
    "",
    "| operation | size | tsmpi | mpi4py | tsmpi ÷ mpi4py |",
    "|---|---|---:|---:|---:|",
  );
  for (const [key, { tsmpi, mpi4py }] of samples) {
    const [op, bytes] = key.split(" ");
    const [t, m] = [median(tsmpi), mpi4py.length ? median(mpi4py) : undefined];
    const name = op === "fetchAndOp-busy" ? "fetchAndOp, owner computing" : `${op} + fence`;
    lines.push(`| ${name} | ${size(Number(bytes))} | ${fmt(t)} | ${fmt(m)} | ${m === undefined ? "n/a" : `${(t / m).toFixed(2)}×`} |`);
  }
  return lines;
}

if (process.argv[1] === new URL(import.meta.url).pathname) {
  const at = process.argv.indexOf("--repeat");
  for (const line of benchRma({ repeat: at > 0 ? Number(process.argv[at + 1]) : 5 })) console.log(line);
}
