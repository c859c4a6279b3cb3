// Parallel sum: rank 0 scatters a Float64Array, each rank sums its part, and `allreduce`
// gives every rank the total.
//
//   npx tsmpi -n 4 examples/parallel-sum.ts [length]
//
// prints (once per rank):
//   rank 0: total 499999500000 (expected 499999500000)
import { init } from "tsmpi";

const comm = await init();
const length = Number(process.argv[2] ?? 1_000_000);
const { rank, size } = comm;
const counts = Array.from({ length: size }, (_, r) => Math.floor(length / size) + (r < length % size ? 1 : 0));
const data = rank === 0 ? Float64Array.from({ length }, (_, i) => i) : undefined;
const part = await comm.scatterv(data, counts, 0);
let local = 0;
for (const v of part) local += v;
const [total] = await comm.allreduce(new Float64Array([local]));
console.log(`rank ${rank}: total ${total} (expected ${(length * (length - 1)) / 2})`);
