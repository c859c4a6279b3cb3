// A work queue made of one distributed counter: rank 0's window holds the number of the next
// task, and every rank (rank 0 too) takes tasks with an atomic fetchAndOp until none is left.
// Tasks cost unevenly (counting primes in ranges of growing numbers), so fast ranks take more;
// nobody hands work out, and a rank taking a ticket never waits for rank 0, which is busy
// with its own tasks meanwhile (one-sided: the counter is served while its owner computes).
//
//   npx tsmpi -n 4 examples/work-queue.ts [limit] [tasks]
//
// prints:
//   78498 primes below 1000000, 100 tasks taken from a shared counter by 4 ranks, each task once
import { init, SUM } from "tsmpi";

const comm = await init();
const limit = Number(process.argv[2] ?? 1_000_000);
const tasks = Number(process.argv[3] ?? 100);
const span = Math.ceil(limit / tasks);

/** Primes in [from, to), by trial division: the cost grows with the numbers. */
function countPrimes(from: number, to: number): number {
  let count = 0;
  for (let n = Math.max(2, from); n < to; n++) {
    let prime = true;
    for (let d = 2; d * d <= n; d++) {
      if (n % d === 0) {
        prime = false;
        break;
      }
    }
    if (prime) count++;
  }
  return count;
}

const counter = await comm.allocateWindow(Float64Array, comm.rank === 0 ? 1 : 0);
await counter.lockAll(); // a passive-target epoch on every rank: no one else takes part
const done: number[] = [];
let primes = 0;
for (;;) {
  const task = await counter.fetchAndOp(1, 0, 0, SUM); // take the next ticket
  if (task >= tasks) break;
  primes += countPrimes(task * span, Math.min(limit, (task + 1) * span));
  done.push(task);
}
await counter.unlockAll();
await counter.free();

const total = await comm.reduce(primes, SUM, 0);
const taken = (await comm.gather(done, 0))?.flat().sort((a, b) => a - b);
if (comm.rank === 0) {
  const once = taken!.length === tasks && taken!.every((t, i) => t === i);
  console.log(
    `${total} primes below ${limit}, ${tasks} tasks taken from a shared counter by ${comm.size} ranks, ${once ? "each task once" : "NOT each task once"}`,
  );
}
