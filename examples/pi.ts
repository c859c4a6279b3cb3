// π by numerical integration of 4 / (1 + x²) over [0, 1] with the midpoint rule: each rank
// sums every size-th interval, and `reduce` adds the partial sums at rank 0.
//
//   npx tsmpi -n 4 examples/pi.ts [intervals]
//
// prints:
//   pi ≈ 3.141592653589..., error 8.3e-14 with 10000000 intervals on 4 ranks
import { init, SUM } from "tsmpi";

const comm = await init();
const intervals = Number(process.argv[2] ?? 10_000_000);
const n = await comm.bcast(intervals, 0); // every rank uses rank 0's choice
const h = 1 / n;
let partial = 0;
for (let i = comm.rank; i < n; i += comm.size) {
  const x = h * (i + 0.5);
  partial += 4 / (1 + x * x);
}
const pi = await comm.reduce(partial * h, SUM, 0);
if (comm.rank === 0) console.log(`pi ≈ ${pi!.toPrecision(15)}, error ${Math.abs(pi! - Math.PI).toExponential(1)} with ${n} intervals on ${comm.size} ranks`);
