// One-sided communication between 2 ranks of one host: put and get of 8 B and 4 MiB, each in
// its own fence epoch (fence, put/get, fence), and fetchAndOp on a counter owned by rank 1
// while rank 1 computes (spins reading its own memory until every increment is in). One JSON
// line per case on rank 0; the twin is bench/rma.py.
//   tsmpi -n 2 bench/rma.ts
import { SUM, init, wtime, type Window } from "tsmpi";

const comm = await init();
const BIG = 4 << 20;
const win = await comm.allocateWindow(Float64Array, BIG / 8);
const iterations = (size: number) => (size <= 8 ? 20_000 : 200);

/** `count` epochs of one operation (a function of its own: V8 optimises it as a whole). */
async function epochs(kind: "put" | "get", buf: Float64Array<ArrayBuffer>, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    await win.fence();
    if (comm.rank === 0) await (kind === "put" ? win.put(buf, 1, 0) : win.get(buf, 1, 0));
    await win.fence();
  }
}

for (const kind of ["put", "get"] as const) {
  for (const size of [8, BIG]) {
    const buf = new Float64Array(size / 8).fill(1.5);
    const iters = iterations(size);
    let elapsed = 0;
    for (let round = 0; round < 2; round++) {
      await comm.barrier();
      const t0 = wtime();
      await epochs(kind, buf, iters);
      elapsed = wtime() - t0;
    }
    if (comm.rank === 0) console.log(JSON.stringify({ impl: "tsmpi", op: kind, size, usec: (elapsed / iters) * 1e6 }));
  }
}

/** `count` fetchAndOps on rank 1's counter, each awaited (complete). */
async function increments(counter: Window<BigInt64Array>, count: number): Promise<void> {
  for (let i = 0; i < count; i++) await counter.fetchAndOp(1n, 1, 0, SUM);
}

const counter = await comm.allocateWindow(BigInt64Array, 1);
const iters = 20_000;
await comm.barrier();
if (comm.rank === 1) {
  // Computing: no tsmpi call, no return to the event loop, until every increment is in.
  while (Atomics.load(counter.local, 0) < BigInt(2 * iters));
} else {
  await counter.lock(1, { exclusive: false });
  let elapsed = 0;
  for (let round = 0; round < 2; round++) {
    const t0 = wtime();
    await increments(counter, iters);
    elapsed = wtime() - t0;
  }
  await counter.unlock(1);
  console.log(JSON.stringify({ impl: "tsmpi", op: "fetchAndOp-busy", size: 8, usec: (elapsed / iters) * 1e6 }));
}
await counter.free();
await win.free();
