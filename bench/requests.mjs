// Synchronous and persistent point-to-point next to mpi4py, in the same run (issue 31's targets:
// ssend 8 B ≤ 1.5× send; a persistent send/recv loop ≤ 1.0× the same loop with send/recv).
// `npm run bench -- --only requests` (from bench/run.mjs), or on its own:
//   node bench/requests.mjs [--repeat N] [sizes...]
// Runs `tsmpi -n 2 bench/requests.ts` and `mpirun -n 2 python3 bench/requests.py` interleaved N
// times (default 5): per loop and size, the median half round trip of each, and each loop's
// cost relative to the plain send/recv loop of the same implementation.
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { median } from "./median.mjs";
import { jsonLines, mpirunArgs } from "./runs.mjs";

const ROOT = new URL("..", import.meta.url).pathname;
const mpirun = [...mpirunArgs(2), "/usr/bin/python3", "bench/requests.py"];
const fmt = (x) => (x === undefined ? "n/a" : x >= 100 ? x.toFixed(0) : x.toFixed(2));
const ratio = (a, b) => (a === undefined || b === undefined ? "n/a" : `${(a / b).toFixed(2)}×`);

/** Markdown lines: send, ssend and persistent loops of tsmpi and mpi4py (`haveMpi`), interleaved `repeat` times. */
export function benchRequests({ repeat = 5, haveMpi = true, sizes = [] } = {}) {
  const samples = new Map();
  const loads = [];
  for (let r = 0; r < repeat; r++) {
    loads.push(loadavg()[0]);
    const runs = [
      jsonLines("node", [join(ROOT, "bin/tsmpi.js"), "-n", "2", "bench/requests.ts", ...sizes]),
      ...(haveMpi ? [jsonLines("mpirun", [...mpirun, ...sizes])] : []),
    ];
    for (const row of runs.flat()) {
      const key = `${row.impl}/${row.kind}/${row.size}`;
      if (!samples.has(key)) samples.set(key, []);
      samples.get(key).push(row.usec);
    }
  }
  const get = (impl, kind, size) => (samples.has(`${impl}/${kind}/${size}`) ? median(samples.get(`${impl}/${kind}/${size}`)) : undefined);
  const allSizes = [...new Set([...samples.keys()].map((k) => Number(k.split("/")[2])))].sort((a, b) => a - b);
  const lines = ["", "## Synchronous and persistent sends (2 ranks on one host, half round trip, µs)", ""];
  lines.push(
    `Ping-pong of a Float64Array (NumPy array) with send/recv, ssend/recv (Ssend/Recv) and persistent requests (sendInit/recvInit, start and wait each round; Send_init/Recv_init). bench/requests.ts against bench/requests.py, median of ${repeat} interleaved runs (each the median over chunks of 200 round trips, the loops interleaved by chunk); ${cpus().length} CPUs, load average ${median(loads).toFixed(1)} (1 min, median over the runs). "÷ send": the loop's time over the same implementation's send/recv loop (targets: ssend ≤ 1.5×, persistent ≤ 1.0×).`,
    "",
    "| loop | bytes | tsmpi | mpi4py | tsmpi ÷ mpi4py | tsmpi ÷ send | mpi4py ÷ Send |",
    "|---|---:|---:|---:|---:|---:|---:|",
  );
  for (const size of allSizes) {
    for (const kind of ["send", "ssend", "persistent"]) {
      const [t, m] = [get("tsmpi", kind, size), get("mpi4py", kind, size)];
      lines.push(
        `| ${kind} | ${size} | ${fmt(t)} | ${fmt(m)} | ${ratio(t, m)} | ${ratio(t, get("tsmpi", "send", size))} | ${ratio(m, get("mpi4py", "send", size))} |`,
      );
    }
  }
  return lines;
}

if (process.argv[1] === new URL(import.meta.url).pathname) {
  const at = process.argv.indexOf("--repeat");
  const sizes = process.argv.slice(2).filter((a, i, all) => /^\d+$/.test(a) && all[i - 1] !== "--repeat");
  for (const line of benchRequests({ repeat: at > 0 ? Number(process.argv[at + 1]) : 5, sizes })) console.log(line);
}
