// One-sided communication next to its mpi4py twin, in the same run: `node bench/rma.mjs [--repeat N]`.
// Runs `tsmpi -n 2 bench/rma.ts` and `mpirun -n 2 python3 bench/rma.py` interleaved N times
// (default 5) and prints, per case, the median time of each and their ratio (tsmpi ÷ mpi4py):
// put/get of 8 B and 4 MiB in fence epochs (one epoch: fence, operation, fence), and
// fetchAndOp on a counter whose owner computes (one operation, completed).
import { execFileSync } from "node:child_process";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { median } from "./median.mjs";

const ROOT = new URL("..", import.meta.url).pathname;
const at = process.argv.indexOf("--repeat");
const repeat = at > 0 ? Number(process.argv[at + 1]) : 5;
const rows = (cmd, argv) =>
  execFileSync(cmd, argv, { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] })
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l));
const mpirun = ["-n", "2", ...(process.getuid?.() === 0 ? ["--allow-run-as-root"] : []), "/usr/bin/python3", "bench/rma.py"];
const samples = new Map();
for (let r = 0; r < repeat; r++) {
  for (const row of [...rows("node", [join(ROOT, "bin/tsmpi.js"), "-n", "2", "bench/rma.ts"]), ...rows("mpirun", mpirun)]) {
    const key = `${row.op} ${row.size}`;
    if (!samples.has(key)) samples.set(key, { tsmpi: [], mpi4py: [] });
    samples.get(key)[row.impl].push(row.usec);
  }
}
const size = (bytes) => (bytes >= 2 ** 20 ? `${bytes / 2 ** 20} MiB` : `${bytes} B`);
const fmt = (x) => (x >= 100 ? x.toFixed(0) : x.toFixed(2));
console.log(`2 ranks on one host (${cpus().length} CPUs, load average ${loadavg()[0].toFixed(1)} at the end); median of ${repeat} interleaved runs, µs`);
console.log("\n| operation | size | tsmpi | mpi4py | tsmpi ÷ mpi4py |\n|---|---|---|---|---|");
for (const [key, { tsmpi, mpi4py }] of samples) {
  const [op, bytes] = key.split(" ");
  const [t, m] = [median(tsmpi), median(mpi4py)];
  console.log(
    `| ${op === "fetchAndOp-busy" ? "fetchAndOp, owner computing" : `${op} + fence`} | ${size(Number(bytes))} | ${fmt(t)} | ${fmt(m)} | ${(t / m).toFixed(2)}× |`,
  );
}
