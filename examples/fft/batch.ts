// FFT over many signals (the NumPy course's workload: 3000 signals of 51 200 samples).
// Rank 0 makes the S × L batch and scatters rows into each rank's preallocated block; each
// rank computes the real FFT of its rows into its preallocated spectra; the spectra are
// gathered into rank 0's preallocated S × (L + 2) array (scatterv/gatherv with `into`, as
// an MPI program receives into buffers it owns).
//   --shared  rank 0's signals sit in a window shared by the ranks of the host (one row of
//             L + 2 values per signal); each rank transforms its rows in place there, and
//             rank 0 finds every spectrum in the window: nothing is scattered or gathered.
//   --spmd    each rank makes its own rows; nothing is scattered or gathered (only a
//             checksum is reduced): the difference is the cost of moving the data.
//
//   npx tsmpi -n 2 examples/fft/batch.ts [--signals 3000] [--length 51200] [--shared | --spmd] [--check]
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
  shared = args.includes("--shared"),
  check = args.includes("--check");
const variant = shared ? "shared window" : spmd ? "spmd: each rank makes its rows" : "scatter/gather";

const comm = await init();
const { rank, size } = comm;
const rows = splitRows(S, size);
const first = rows.slice(0, rank).reduce((a, b) => a + b, 0);
const fft = new RealFFT(L);
const width = L + 2; // interleaved re/im of L/2 + 1 bins

// Warm the transform up, as a program that transforms batch after batch has: V8 first runs
// WebAssembly from a quick baseline compile and recompiles the hot kernels, optimised, on a
// background thread once they have run a while. Left to the timed phase, that compile takes
// its time from a rank when every core runs one. (The twin calls rfft once too: NumPy plans
// a length on its first call.)
{
  const signal = new Float64Array(L);
  fillSignal(signal, 0);
  const spectrum = new Float64Array(width);
  for (let i = 0; i < 20; i++) fft.forward(signal, spectrum);
}

/** Sum of |X_k| over a block of spectra: a checksum that does not depend on the split. */
function magnitude(spectra: Float64Array): number {
  let total = 0;
  for (let i = 0; i < spectra.length; i += 2) total += Math.hypot(spectra[i]!, spectra[i + 1]!);
  return total;
}

/** The shared variant: rows of `width` values in a window, signals in place of their spectra. */
async function inWindow(): Promise<{ times: number[]; mine: Float64Array; all: Float64Array | undefined; done: () => Promise<void> }> {
  const node = await comm.splitShared();
  if (node.size !== size) throw new Error(`--shared needs every rank on one host (${node.size} of ${size} here)`);
  const win = await node.allocateShared(Float64Array, rank === 0 ? S * width : 0);
  const table = win.of(0);
  if (rank === 0) for (let r = 0; r < S; r++) fillSignal(table.subarray(r * width, r * width + L), r);
  await win.fence(); // time the transforms, not the making of the data
  const t0 = wtime();
  for (let r = first; r < first + rows[rank]!; r++) {
    const row = table.subarray(r * width, (r + 1) * width);
    fft.forward(row.subarray(0, L), row); // reads the signal before it writes the spectrum
  }
  const t1 = wtime();
  await win.fence(); // every spectrum is in the window, visible to rank 0
  const t2 = wtime();
  const mine = table.subarray(first * width, (first + rows[rank]!) * width);
  return { times: [t0, t0, t1, t1, t2], mine, all: rank === 0 ? table : undefined, done: () => win.free() };
}

/** The message-passing variants: preallocated rows, spectra and (at rank 0) the whole result. */
async function withMessages(): Promise<{ times: number[]; mine: Float64Array; all: Float64Array | undefined; done: () => Promise<void> }> {
  const mine = new Float64Array(rows[rank]! * L);
  const spectra = new Float64Array(rows[rank]! * width);
  const all = rank === 0 && !spmd ? new Float64Array(S * width) : undefined;
  // Touch them now, as a program that reuses its buffers has (first-touch page faults are not
  // the cost of moving data; the mpi4py twin does the same).
  for (const buffer of [mine, spectra, all]) buffer?.fill(0);
  let batch: Float64Array | undefined;
  if (rank === 0 && !spmd) {
    batch = new Float64Array(S * L);
    for (let r = 0; r < S; r++) fillSignal(batch.subarray(r * L, (r + 1) * L), r);
  }
  await comm.barrier(); // time the scatter, not the making of the data
  const t0 = wtime();
  if (spmd) for (let r = 0; r < rows[rank]!; r++) fillSignal(mine.subarray(r * L, (r + 1) * L), first + r);
  else
    await comm.scatterv(
      batch,
      rows.map((r) => r * L),
      0,
      { into: mine },
    );
  const t1 = wtime();
  for (let r = 0; r < rows[rank]!; r++) fft.forward(mine.subarray(r * L, (r + 1) * L), spectra.subarray(r * width, (r + 1) * width));
  const t2 = wtime();
  await comm.barrier(); // the compute phase ends when the slowest rank is done
  const t2b = wtime();
  if (!spmd) await comm.gatherv(spectra, 0, { into: all });
  return { times: [t0, t1, t2, t2b, wtime()], mine: spectra, all, done: async () => undefined };
}

const run = shared ? await inWindow() : await withMessages();
const [t0, t1, t2, t2b, t3] = run.times as [number, number, number, number, number];
const { all } = run;
const spectra = run.mine;
const checksum = await comm.reduce(magnitude(spectra), SUM, 0);
const timings = await comm.gather({ compute: t2 - t1 }, 0);

if (rank === 0) {
  const compute = Math.max(...timings!.map((t) => t.compute));
  console.log(`fft batch: ${S} signals × ${L} samples on ${size} ranks (${variant})`);
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
    console.log(JSON.stringify({ example: "fft-batch", spmd, shared, S, L, n: size, scatter: t1 - t0, compute, gather: t3 - t2b, total: t3 - t0 }));
}
await run.done();
