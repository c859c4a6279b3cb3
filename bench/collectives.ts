// osu-style collective latency: for each operation and size, warm up, time `iters` calls
// back to back, and report the slowest rank's mean (as osu's max latency). Sizes are the
// bytes of the Float64Array each rank contributes (alltoall: its whole send buffer, n blocks).
// Two APIs: "tsmpi" returns fresh values (mpi4py's lowercase calls); "into" writes results into
// arrays allocated once (mpi4py's uppercase buffer calls: Bcast, Allreduce, Allgather, Alltoall).
//   tsmpi -n 4 bench/collectives.ts [sizes...]
import { init, MAX, SUM, wtime } from "tsmpi";
import { COLLECTIVE_SIZES, collectiveIterations } from "./sizes.js";

const comm = await init();
const { size: n } = comm;
const sizes = process.argv
  .slice(2)
  .filter((a) => /^\d+$/.test(a))
  .map(Number);
/** Seconds of warm-up calls before each timed run, at least. */
const WARM_UP_S = 0.25;
const ops = (process.env.TSMPI_BENCH_OPS ?? "barrier,bcast,allreduce,allgather,alltoall").split(",");

async function time(api: string, op: string, bytes: number): Promise<number> {
  const elems = Math.max(1, Math.floor(bytes / 8));
  const data = new Float64Array(elems).fill(comm.rank);
  // Every array a rank sends from holds data it wrote, as in the twin (an array never written may
  // be the kernel's zero page, which copies read at several times memory speed).
  const blocks = Array.from({ length: n }, () => new Float64Array(Math.max(1, Math.floor(elems / n))).fill(comm.rank));
  const block = blocks[0]!.length;
  const out = new Float64Array(elems * n);
  const mine = new Float64Array(block * n).fill(comm.rank);
  const counts = Array.from({ length: n }, () => block);
  const call = (): Promise<unknown> => {
    if (api === "into")
      switch (op) {
        case "barrier":
          return comm.barrier();
        case "bcast":
          return comm.bcast(data, 0, { into: data });
        case "allreduce":
          return comm.allreduce(data, SUM, { into: out.subarray(0, elems) });
        case "allgather":
          return comm.allgatherv(data, { into: out });
        case "alltoall":
          return comm.alltoallv(mine, counts, { into: out.subarray(0, block * n) });
      }
    switch (op) {
      case "barrier":
        return comm.barrier();
      case "bcast":
        return comm.bcast(data, 0);
      case "allreduce":
        return comm.allreduce(data);
      case "allgather":
        return comm.allgather(data);
      case "alltoall":
        return comm.alltoall(blocks);
    }
    throw new Error(op);
  };
  const iters = collectiveIterations(bytes, n);
  // Warm up four times as long as the timed run: the JIT settles (a few thousand calls of
  // the small sizes ran several times slower than later ones). The twin does the same.
  const t = wtime();
  for (let i = 0; i < 4 * iters; i++) await call();
  // Then for at least WARM_UP_S in all (the count agreed by every rank, as collectives must):
  // V8 compiles the functions a call goes through again once they are hot, and after the
  // previous operation's large sizes (other branches of shared functions) that took 5-12 ms
  // per function, per rank, inside the 3 ms an 8 B run at n = 4 lasted: allgather of 8 B
  // measured 80 µs there, against 5 µs at 64 B right after. The twin does the same.
  const more = (await comm.allreduce(Math.ceil(((WARM_UP_S - (wtime() - t)) * 4 * iters) / (wtime() - t)), MAX)) as number;
  for (let i = 0; i < more; i++) await call();
  await comm.barrier();
  const t0 = wtime();
  for (let i = 0; i < iters; i++) await call();
  const mean = (wtime() - t0) / iters;
  return (await comm.allreduce(mean, MAX)) as number;
}

const apis = (op: string): string[] => (op === "barrier" ? ["into"] : ["into", "tsmpi"]);
// Warm-up of the code every operation shares: each one runs once at its smallest size before
// anything is timed, so that the first operation timed does not pay for compiling it (the twin does the same).
// Three rounds: V8 compiles a function again each time it gets hotter, and on a full host
// each compile stalls every rank for milliseconds.
for (let round = 0; round < 3; round++) for (const op of ops) for (const api of apis(op)) await time(api, op, op === "barrier" ? 0 : 8);

for (const op of ops) {
  for (const bytes of op === "barrier" ? [0] : sizes.length ? sizes : COLLECTIVE_SIZES) {
    for (const api of apis(op)) {
      const usec = (await time(api, op, bytes)) * 1e6;
      if (comm.rank === 0) console.log(JSON.stringify({ impl: "tsmpi", api, op, n, size: bytes, usec }));
    }
  }
}
