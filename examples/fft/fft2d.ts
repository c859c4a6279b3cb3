// Distributed 2-D FFT with a slab decomposition: each rank owns a block of rows, does the row
// FFTs, a global transpose with `alltoallv` (packed send buffer, received into a preallocated
// array) gives it a block of columns, and it does the column FFTs. The result (distributed by columns) is checked against a serial 2-D FFT at rank 0.
//
//   npx tsmpi -n 4 examples/fft/fft2d.ts [rows] [cols]
//
// prints:
//   2-D FFT 240 × 200 on 4 ranks: max |parallel - serial| = 1.1e-12
import { init } from "tsmpi";
import { ComplexFFT } from "./rfft.js";
import { rng, splitRows } from "./signals.js";

const comm = await init();
const { rank, size } = comm;
const R = Number(process.argv[2] ?? 240),
  C = Number(process.argv[3] ?? 200);
const rowCounts = splitRows(R, size),
  colCounts = splitRows(C, size);
const offset = (counts: number[], i: number) => counts.slice(0, i).reduce((a, b) => a + b, 0);
const r0 = offset(rowCounts, rank),
  myRows = rowCounts[rank]!;

/** Element (i, j) of the input grid, interleaved complex. */
const value = (i: number, j: number): [number, number] => {
  const random = rng(i * C + j + 1);
  return [Math.sin(i * 0.3) * Math.cos(j * 0.11) + random(), random() - 0.5];
};

/** FFT each row of a rows × cols interleaved-complex block, in place. */
function rowFFTs(block: Float64Array, rows: number, cols: number): void {
  const fft = new ComplexFFT(cols),
    out = new Float64Array(2 * cols);
  for (let i = 0; i < rows; i++) {
    const row = block.subarray(2 * i * cols, 2 * (i + 1) * cols);
    fft.forward(row, out);
    row.set(out);
  }
}

// 1. my rows, row FFTs
const slab = new Float64Array(2 * myRows * C);
for (let i = 0; i < myRows; i++) for (let j = 0; j < C; j++) [slab[2 * (i * C + j)], slab[2 * (i * C + j) + 1]] = value(r0 + i, j);
rowFFTs(slab, myRows, C);

// 2. transpose. Buffers are allocated once, as a time-stepping code would keep them.
// Pack: the block for rank d is my rows restricted to d's columns, transposed (cols_d × myRows).
const myCols = colCounts[rank]!;
const sendCounts = colCounts.map((cols) => 2 * cols * myRows),
  recvCounts = rowCounts.map((rows) => 2 * myCols * rows);
const sendBuf = new Float64Array(2 * myRows * C),
  recvBuf = new Float64Array(2 * myCols * R),
  cols = new Float64Array(2 * myCols * R);
for (let d = 0, at = 0; d < size; d++) {
  const c0 = offset(colCounts, d);
  for (let j = 0; j < colCounts[d]!; j++)
    for (let i = 0; i < myRows; i++, at += 2) {
      sendBuf[at] = slab[2 * (i * C + c0 + j)]!;
      sendBuf[at + 1] = slab[2 * (i * C + c0 + j) + 1]!;
    }
}
await comm.alltoallv(sendBuf, sendCounts, { into: recvBuf });
// Unpack: the block from rank s (myCols × its rows) goes to rows base_s.. of my columns.
for (let s = 0, at = 0; s < size; s++) {
  const rs = rowCounts[s]!,
    base = offset(rowCounts, s);
  for (let j = 0; j < myCols; j++)
    for (let i = 0; i < rs; i++) {
      cols[2 * (j * R + base + i)] = recvBuf[at + 2 * (j * rs + i)]!;
      cols[2 * (j * R + base + i) + 1] = recvBuf[at + 2 * (j * rs + i) + 1]!;
    }
  at += recvCounts[s]!;
}

// 3. column FFTs
rowFFTs(cols, myCols, R);

// check: gather the columns at rank 0 and compare with a serial 2-D FFT
const gathered = await comm.gatherv(cols, 0);
if (rank === 0) {
  const grid = new Float64Array(2 * R * C);
  for (let i = 0; i < R; i++) for (let j = 0; j < C; j++) [grid[2 * (i * C + j)], grid[2 * (i * C + j) + 1]] = value(i, j);
  rowFFTs(grid, R, C);
  const t = new Float64Array(2 * R * C); // transpose to C × R, FFT rows (= columns)
  for (let i = 0; i < R; i++)
    for (let j = 0; j < C; j++) {
      t[2 * (j * R + i)] = grid[2 * (i * C + j)]!;
      t[2 * (j * R + i) + 1] = grid[2 * (i * C + j) + 1]!;
    }
  rowFFTs(t, C, R);
  let err = 0;
  for (let k = 0; k < t.length; k++) err = Math.max(err, Math.abs(t[k]! - gathered![k]!));
  // and a few bins against the definition X[u, v] = Σ x[i, j] e^{-2πi (u i / R + v j / C)}
  let direct = 0;
  for (const [u, v] of [
    [0, 0],
    [1, 2],
    [R - 1, C >> 1],
  ] as const) {
    let re = 0,
      im = 0;
    for (let i = 0; i < R; i++)
      for (let j = 0; j < C; j++) {
        const [xr, xi] = value(i, j),
          a = -2 * Math.PI * (((u * i) % R) / R + ((v * j) % C) / C);
        re += xr * Math.cos(a) - xi * Math.sin(a);
        im += xr * Math.sin(a) + xi * Math.cos(a);
      }
    direct = Math.max(direct, Math.abs(re - gathered![2 * (v * R + u)]!), Math.abs(im - gathered![2 * (v * R + u) + 1]!));
  }
  console.log(
    `2-D FFT ${R} × ${C} on ${size} ranks: max |parallel - serial| = ${err.toExponential(1)}, max |parallel - direct DFT| = ${direct.toExponential(1)}`,
  );
}
