// Distributed matrix-vector product y = A x: A (n × n) is split into row blocks with
// `scatterv`, x is broadcast, each rank multiplies its rows, and `gatherv` assembles y.
//
//   npx tsmpi -n 4 examples/matvec.ts [n]
//
// prints:
//   y = A x for n = 500 on 4 ranks: max |y - serial| = 0
import { init } from "tsmpi";

const comm = await init();
const n = Number(process.argv[2] ?? 500);
const { rank, size } = comm;
const rows = Array.from({ length: size }, (_, r) => Math.floor(n / size) + (r < n % size ? 1 : 0));
const entry = (i: number, j: number) => ((i * 31 + j * 17) % 23) - 11; // small integers: exact sums

let A: Float64Array | undefined, x: Float64Array | undefined;
if (rank === 0) {
  A = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) A[i * n + j] = entry(i, j);
  x = Float64Array.from({ length: n }, (_, j) => (j % 7) - 3);
}
const myRows = await comm.scatterv(
  A,
  rows.map((r) => r * n),
  0,
);
const xs = await comm.bcast(x, 0);
const mine = new Float64Array(rows[rank]!);
for (let i = 0; i < mine.length; i++) {
  let acc = 0;
  for (let j = 0; j < n; j++) acc += myRows[i * n + j]! * xs![j]!;
  mine[i] = acc;
}
const y = await comm.gatherv(mine, 0);
if (rank === 0) {
  let err = 0;
  for (let i = 0; i < n; i++) {
    let acc = 0;
    for (let j = 0; j < n; j++) acc += A![i * n + j]! * x![j]!;
    err = Math.max(err, Math.abs(acc - y![i]!));
  }
  console.log(`y = A x for n = ${n} on ${size} ranks: max |y - serial| = ${err}`);
}
