// The task pool against mpi4py.futures' MPICommExecutor at n = 4 (bench/pool.ts, bench/pool_futures.py):
// empty-task throughput (map with each side's default chunk size, map with chunksize 1, one
// submit per task) and the makespan of 2 000 tasks of heavy-tailed cost (Pareto, shape 1.5,
// minimum 2 ms, slept on the worker) against the ideal: total work / workers + the longest task.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Costs in ms, Pareto(shape 1.5, minimum 2 ms), from a fixed seed. */
export function heavyTailedCosts(count, seed = 12345) {
  let s = seed;
  const random = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  return Array.from({ length: count }, () => Number((2 / Math.pow(1 - random(), 1 / 1.5)).toFixed(3)));
}

export async function benchPool({ quick, repeat, median, fmt, ratio, tsmpi, mpi, haveMpi }) {
  const dir = mkdtempSync(join(tmpdir(), "tsmpi-bench-pool-"));
  const costsFile = join(dir, "costs.json");
  const costs = heavyTailedCosts(quick ? 500 : 2000);
  writeFileSync(costsFile, JSON.stringify(costs));
  const empty = String(quick ? 5000 : 20000);
  const samples = new Map();
  const add = (rows) => {
    for (const r of rows) {
      const key = `${r.impl}/${r.kind}`;
      if (!samples.has(key)) samples.set(key, []);
      samples.get(key).push(r);
    }
  };
  try {
    for (let i = 0; i < repeat; i++) {
      add(tsmpi(4, "bench/pool.ts", [empty, costsFile]));
      if (haveMpi) add(mpi(4, "bench/pool_futures.py", [empty, costsFile]));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const med = (impl, kind, field) => {
    const rows = samples.get(`${impl}/${kind}`);
    return rows === undefined ? undefined : median(rows.map((r) => r[field]));
  };
  const lines = ["", `## Task pool: CommExecutor against mpi4py.futures MPICommExecutor (n = 4: 1 root + 3 workers)`, ""];
  lines.push(
    `Empty tasks (${empty} per case), tasks per second; tsmpi's "map" uses its default \`chunksize: "auto"\`, mpi4py's its default \`chunksize=1\`.`,
    "",
  );
  lines.push("| case | tsmpi tasks/s | mpi4py tasks/s | tsmpi / mpi4py |", "|---|---:|---:|---:|");
  for (const [kind, label] of [
    ["map", "`map(f, items)` (defaults)"],
    ["map-chunk1", "`map(f, items, chunksize 1)`"],
    ["submit", "`submit(f, i)` for each, then wait for all"],
  ]) {
    const t = med("tsmpi", kind, "perSec"),
      m = med("mpi4py", kind, "perSec");
    lines.push(`| ${label} | ${fmt(t, 0)} | ${fmt(m, 0)} | ${ratio(t, m)} |`);
  }
  const total = costs.reduce((a, b) => a + b, 0);
  lines.push(
    "",
    `Makespan of ${costs.length} tasks, Pareto(1.5) costs from 2 ms (mean ${fmt(total / costs.length, 2)} ms, longest ${fmt(Math.max(...costs), 0)} ms), slept on the workers, \`map\` with the defaults. Ideal = total / 3 workers + the longest task, from the nominal costs and from the times the tasks really slept in that run (sleeps overshoot on a loaded machine).`,
    "",
    "| | makespan s | ideal (nominal) s | ideal (slept) s | makespan / ideal (slept) |",
    "|---|---:|---:|---:|---:|",
  );
  for (const impl of ["tsmpi", "mpi4py"]) {
    const s = med(impl, "makespan", "seconds");
    if (s === undefined) continue;
    const slept = med(impl, "makespan", "idealSlept");
    lines.push(`| ${impl} | ${fmt(s, 2)} | ${fmt(med(impl, "makespan", "ideal"), 2)} | ${fmt(slept, 2)} | ${ratio(s, slept)} |`);
  }
  lines.push("", `tsmpi / mpi4py makespan: ${ratio(med("tsmpi", "makespan", "seconds"), med("mpi4py", "makespan", "seconds"))}.`);
  return lines;
}
