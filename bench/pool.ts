// The task pool against mpi4py.futures' MPICommExecutor (bench/pool_futures.py, the same cases):
//   tsmpi -n 4 bench/pool.ts <empty tasks> <costs.json>
// Prints JSON lines: empty-task throughput (map with the default chunk size, map with
// chunksize 1, submit of each task), and the makespan of the tasks of costs.json (milliseconds
// each, slept on the worker) with the ideal (total work / workers + the longest task), from the
// nominal costs and from the times the tasks really slept.
import { readFileSync } from "node:fs";
import { CommExecutor, init } from "tsmpi";

export function empty(x: number): number {
  return x;
}
export function work(ms: number): number {
  const t0 = performance.now();
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
  return performance.now() - t0;
}

const [count = "20000", costsFile] = process.argv.slice(2).filter((a) => !a.startsWith("--tsmpi-test"));
const comm = await init();
await using pool = await CommExecutor.start(comm, { tasks: { empty, work } });
if (pool) {
  const n = Number(count);
  const items = Array.from({ length: n }, (_, i) => i);
  const row = (fields: object) => console.log(JSON.stringify({ bench: "pool", impl: "tsmpi", n: comm.size, ...fields }));
  const cases: Array<[string, (items: number[]) => Promise<unknown>]> = [
    ["map", (items) => Promise.resolve(pool.map(empty, items))],
    ["map-chunk1", (items) => Promise.resolve(pool.map(empty, items, { chunksize: 1 }))],
    ["submit", (items) => Promise.all(items.map((i) => pool.submit(empty, i)))],
  ];
  for (const [, run] of cases) await run(items.slice(0, n / 4)); // warm-up (the JIT), as the twin does
  for (const [kind, run] of cases) {
    const t0 = performance.now();
    await run(items);
    row({ kind, tasks: n, perSec: n / ((performance.now() - t0) / 1000) });
  }
  if (costsFile) {
    const costs = JSON.parse(readFileSync(costsFile, "utf8")) as number[];
    const t0 = performance.now();
    const slept = await pool.map(work, costs);
    const seconds = (performance.now() - t0) / 1000;
    const ideal = (ms: number[]) => (ms.reduce((a, b) => a + b, 0) / pool.size + Math.max(...ms)) / 1000;
    row({ kind: "makespan", tasks: costs.length, seconds, ideal: ideal(costs), idealSlept: ideal(slept) });
  }
}
