// FFT over many signals (the NumPy course's workload: 3000 signals of 51 200 samples).
// Rank 0 makes the S × L batch and scatters rows; each rank computes the real FFT of its rows;
// the spectra are gathered at rank 0. With --spmd, each rank makes its own rows instead and
// nothing is scattered or gathered (only a checksum is reduced): the difference is the cost
// of moving the data.
//
//   npx tsmpi -n 2 examples/fft/batch.ts [--signals 3000] [--length 51200] [--spmd] [--check]
//
// prints, e.g. (2 ranks, 200 × 51 200):
//   fft batch: 200 signals × 51200 samples on 2 ranks (scatter/gather)
//   scatter 0.061 s  compute 0.074 s  gather 0.070 s  total 0.205 s
//   checksum 1.0539e+7
// and with --check, after comparing every spectrum with a serial computation:
//   max |parallel - serial| = 0
import { init, SUM, wtime } from "tsmpi";
import { RealFFT } from "./rfft.js";
import { fillSignal, splitRows } from "./signals.js";

const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const S = option("--signals", 3000),
  L = option("--length", 51_200);
const spmd = args.includes("--spmd"),
  check = args.includes("--check");

const comm = await init();
const { rank, size } = comm;
const rows = splitRows(S, size);
const first = rows.slice(0, rank).reduce((a, b) => a + b, 0);
const fft = new RealFFT(L);
const width = L + 2; // interleaved re/im of L/2 + 1 bins

/** Sum of |X_k| over a block of spectra: a checksum that does not depend on the split. */
function magnitude(spectra: Float64Array): number {
  let total = 0;
  for (let i = 0; i < spectra.length; i += 2) total += Math.hypot(spectra[i]!, spectra[i + 1]!);
  return total;
}

let t0: number;
let mine: Float64Array;
if (spmd) {
  await comm.barrier();
  t0 = wtime();
  mine = new Float64Array(rows[rank]! * L);
  for (let r = 0; r < rows[rank]!; r++) fillSignal(mine.subarray(r * L, (r + 1) * L), first + r);
} else {
  let batch: Float64Array | undefined;
  if (rank === 0) {
    batch = new Float64Array(S * L);
    for (let r = 0; r < S; r++) fillSignal(batch.subarray(r * L, (r + 1) * L), r);
  }
  await comm.barrier(); // time the scatter, not the making of the data
  t0 = wtime();
  mine = await comm.scatterv(
    batch,
    rows.map((r) => r * L),
    0,
  );
}
const t1 = wtime();
const spectra = new Float64Array(rows[rank]! * width);
for (let r = 0; r < rows[rank]!; r++) fft.forward(mine.subarray(r * L, (r + 1) * L), spectra.subarray(r * width, (r + 1) * width));
const t2 = wtime();
await comm.barrier(); // the compute phase ends when the slowest rank is done
const t2b = wtime();
const all = spmd ? undefined : await comm.gatherv(spectra, 0);
const t3 = wtime();
const checksum = await comm.reduce(magnitude(spectra), SUM, 0);
const timings = await comm.gather({ compute: t2 - t1 }, 0);

if (rank === 0) {
  const compute = Math.max(...timings!.map((t) => t.compute));
  console.log(`fft batch: ${S} signals × ${L} samples on ${size} ranks (${spmd ? "spmd: each rank makes its rows" : "scatter/gather"})`);
  console.log(
    `${spmd ? "make" : "scatter"} ${(t1 - t0).toFixed(3)} s  compute ${compute.toFixed(3)} s  gather ${(t3 - t2b).toFixed(3)} s  total ${(t3 - t0).toFixed(3)} s`,
  );
  console.log(`checksum ${checksum!.toExponential(4)}`);
  if (check && all) {
    let err = 0;
    const signal = new Float64Array(L),
      serial = new Float64Array(width);
    for (let r = 0; r < S; r++) {
      fft.forward(fillSignal(signal, r), serial);
      for (let k = 0; k < width; k++) err = Math.max(err, Math.abs(serial[k]! - all[r * width + k]!));
    }
    console.log(`max |parallel - serial| = ${err}`);
  }
  if (process.env.TSMPI_EXAMPLE_JSON)
    console.log(JSON.stringify({ example: "fft-batch", spmd, S, L, n: size, scatter: t1 - t0, compute, gather: t3 - t2b, total: t3 - t0 }));
}
