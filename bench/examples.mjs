// Example workloads for `npm run bench` (or `npm run bench:examples`): the FFT batch, the
// shapelet transform and the Gray-Scott stencil at 1, 2 and 4 ranks, with speed-up and
// parallel efficiency, next to their Python twins (mpi4py + NumPy rfft; a numba parallel=True
// kernel with 2 threads; mpi4py + NumPy slices and mpi4py + a numba loop).
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { median } from "./median.mjs";

const ROOT = new URL("..", import.meta.url).pathname;
const fmt = (x) => (x === undefined ? "n/a" : x.toFixed(3));

const best = (runs, key) => runs.reduce((a, b) => (b[key] < a[key] ? b : a));
/** Examples print one JSON line of their timings when this is set. */
const env = { TSMPI_EXAMPLE_JSON: "1" };

export async function benchExamples({ quick, repeat, mpi, tsmpi, mpirun, data }) {
  const lines = benchFft({ quick, repeat, mpi, tsmpi, mpirun, data });
  const say = (l = "") => lines.push(l);
  const ranks = [1, 2, 4];

  // Shapelet transform
  const [N, T, K] = quick ? [300, 150, 2000] : [1500, 150, 10000];
  say();
  say(`## Example: random dilated shapelet transform (N = ${N}, T = ${T}, K = ${K}), seconds`);
  say();
  say(
    `\`tsmpi -n N examples/shapelet/transform.ts --series ${N} --shapelets ${K}\`; the numba twin (\`bench/shapelet_numba.py\`, \`@njit(parallel=True)\` over samples, JIT compile excluded) runs on the same data and shapelets and must give the same features. Median of ${repeat}.`,
  );
  say();
  say(`| ranks / threads | implementation | transform | speed-up | efficiency |`);
  say(`|---:|---|---:|---:|---:|`);
  const dump = mkdtempSync(join(tmpdir(), "tsmpi-rdst-"));
  try {
    let one;
    for (const n of ranks) {
      const runs = Array.from(
        { length: repeat },
        (_, i) =>
          tsmpi(
            n,
            "examples/shapelet/transform.ts",
            ["--series", String(N), "--shapelets", String(K), ...(n === 1 && i === 0 ? ["--dump", dump] : [])],
            env,
          ).find((r) => r.example === "shapelet").transform,
      );
      const t = median(runs);
      one ??= t;
      data?.shapelet.push({ n, impl: "tsmpi", seconds: t });
      say(`| ${n} | tsmpi | ${fmt(t)} | ${(one / t).toFixed(2)}× | ${((100 * one) / t / n).toFixed(0)}% |`);
    }
    for (const threads of [1, 2]) {
      try {
        const runs = Array.from({ length: repeat }, () => {
          const text = execFileSync("/usr/bin/python3", [join(ROOT, "bench/shapelet_numba.py"), dump], {
            encoding: "utf8",
            env: { ...process.env, NUMBA_NUM_THREADS: String(threads) },
          });
          return JSON.parse(text.trim().split("\n").pop());
        });
        const r = runs[0];
        data?.shapelet.push({ n: threads, impl: "numba parallel=True", seconds: median(runs.map((x) => x.seconds)) });
        say(`| ${threads} | numba parallel=True (max |Δ| vs tsmpi ${r.max_abs_diff_vs_tsmpi}) | ${fmt(median(runs.map((x) => x.seconds)))} | | |`);
      } catch (error) {
        say(`| ${threads} | numba | not available (${String(error.message).split("\n")[0]}) | | |`);
      }
    }
  } finally {
    rmSync(dump, { recursive: true, force: true });
  }

  for (const line of benchGrayScott({ quick, repeat, mpi, tsmpi, mpirun, data })) say(line);
  return lines;
}

/** The FFT batch (`--only fft`): tsmpi's three variants and the mpi4py twins at 1, 2 and 4 ranks. */
export function benchFft({ quick, repeat, mpi, tsmpi, mpirun, data }) {
  const lines = [];
  const say = (l = "") => lines.push(l);
  const ranks = [1, 2, 4];
  const [S, L] = quick ? [300, 51200] : [3000, 51200];
  const fftRepeat = Math.max(3, repeat);
  say();
  say(`## Example: FFT batch (${S} signals × ${L} samples), seconds`);
  say();
  say(
    `\`tsmpi -n N examples/fft/batch.ts --signals ${S} --length ${L}\` against \`mpirun -n N python3 bench/fft_batch.py ${S} ${L}\` (Scatterv/rfft/Gatherv into preallocated arrays). Phases of the best total of ${fftRepeat} runs (mpi4py: of ${repeat}); speed-up and efficiency compare the fastest compute phase of each variant's runs with that of spmd at 1 rank. "shared": rank 0's signals in a shared window (\`--shared\` on both sides: tsmpi \`allocateShared\`, mpi4py \`Win.Allocate_shared\`), each rank transforms its rows there, nothing is moved. "spmd": each rank makes its own rows, nothing is scattered or gathered.`,
  );
  say();
  say(`| ranks | variant | scatter | compute | gather | total | compute speed-up | compute efficiency |`);
  say(`|---:|---|---:|---:|---:|---:|---:|---:|`);
  // Phases of the run with the best total; speed-up and efficiency from each variant's fastest
  // compute phase over all its runs (noise only ever adds time, at 1 rank as at 2).
  const fftRun = (n, extra) => {
    const runs = Array.from({ length: fftRepeat }, () =>
      tsmpi(n, "examples/fft/batch.ts", ["--signals", String(S), "--length", String(L), ...extra], env).find((r) => r.example === "fft-batch"),
    );
    return { ...best(runs, "total"), fastest: best(runs, "compute").compute };
  };
  let base;
  for (const n of ranks) {
    for (const [variant, extra] of [
      ["scatter/gather", []],
      ["shared", ["--shared"]],
      ["spmd", ["--spmd"]],
    ]) {
      const r = fftRun(n, extra);
      if (n === 1 && variant === "spmd") base = r.fastest;
      const b = base ?? r.fastest;
      data?.fft.push({ n, variant: `tsmpi ${variant}`, scatter: r.scatter, compute: r.compute, gather: r.gather, total: r.total });
      say(
        `| ${n} | tsmpi ${variant} | ${fmt(r.scatter)} | ${fmt(r.compute)} | ${fmt(r.gather)} | ${fmt(r.total)} | ${(b / r.fastest).toFixed(2)}× | ${((100 * b) / r.fastest / n).toFixed(0)}% |`,
      );
    }
    for (const [variant, extra] of mpi
      ? [
          ["", []],
          [" shared", ["--shared"]],
        ]
      : []) {
      const r = best(
        Array.from({ length: repeat }, () => mpirun(n, "bench/fft_batch.py", [String(S), String(L), ...extra])[0]),
        "total",
      );
      data?.fft.push({ n, variant: `mpi4py + NumPy rfft${variant}`, scatter: r.scatter, compute: r.compute, gather: r.gather, total: r.total });
      say(`| ${n} | mpi4py + NumPy rfft${variant} | ${fmt(r.scatter)} | ${fmt(r.compute)} | ${fmt(r.gather)} | ${fmt(r.total)} | | |`);
    }
  }
  return lines;
}

/** Gray-Scott time per step at 1, 2, 4 ranks: tsmpi beside the mpi4py twins, runs interleaved. */
export function benchGrayScott({ quick, repeat, mpi, tsmpi, mpirun, data }) {
  const lines = [];
  const say = (l = "") => lines.push(l);
  const [size, steps] = quick ? [512, 40] : [1024, 300];
  const ms = (x) => (x === undefined ? "n/a" : (1e3 * x).toFixed(2));
  const impls = [
    [
      "tsmpi",
      (n) => tsmpi(n, "examples/gray-scott/gray-scott.ts", ["--size", String(size), "--steps", String(steps), "--every", "0"], { TSMPI_EXAMPLE_JSON: "1" }),
    ],
    ...(mpi
      ? [
          ["mpi4py + NumPy", (n) => mpirun(n, "bench/gray_scott.py", ["numpy", String(size), String(steps)])],
          ["mpi4py + numba", (n) => mpirun(n, "bench/gray_scott.py", ["numba", String(size), String(steps)])],
        ]
      : []),
  ];
  say();
  say(`## Example: Gray-Scott stencil (${size} × ${size}, periodic), milliseconds per step`);
  say();
  say(
    `\`tsmpi -n N examples/gray-scott/gray-scott.ts --size ${size} --steps ${steps} --every 0\` against \`mpirun -n N python3 bench/gray_scott.py numpy|numba ${size} ${steps}\`: same model, initial condition and decomposition (\`dimsCreate\`/\`Compute_dims\` + a periodic Cartesian communicator), halos exchanged every step; both warm up before timing (kernel compiled, 20 halo exchanges, next-state arrays touched). "mean": wall time of the stepping loop ÷ steps, slowest rank; "median": median step time, slowest rank (robust to other processes on a shared machine). Each is the median of ${repeat} interleaved runs. Speed-up and efficiency are of the means (of the medians in brackets); "same U, V" compares each twin's checksum with tsmpi's.`,
  );
  say();
  say(`| ranks | implementation | mean | median | speed-up | efficiency | tsmpi ÷ this | same U, V |`);
  say(`|---:|---|---:|---:|---:|---:|---:|---|`);
  const one = new Map();
  for (const n of [1, 2, 4]) {
    const samples = new Map(impls.map(([name]) => [name, []]));
    for (let r = 0; r < repeat; r++) {
      for (const [name, run] of impls) {
        try {
          samples.get(name).push(run(n).find((x) => x.example === "gray-scott" || String(x.impl).startsWith("mpi4py")));
        } catch (error) {
          samples.get(name).push({ error: String(error.message).split("\n")[0] });
        }
      }
    }
    const stat = (name, key) => {
      const ok = samples.get(name).filter((x) => x?.[key] !== undefined);
      return ok.length > 0 ? median(ok.map((x) => x[key])) : undefined;
    };
    const ts = stat("tsmpi", "perStep"),
      tsMedian = stat("tsmpi", "medianStep"),
      tsSum = samples.get("tsmpi").find((x) => x?.checksum)?.checksum;
    for (const [name] of impls) {
      const t = stat(name, "perStep"),
        m = stat(name, "medianStep");
      if (n === 1) one.set(name, [t, m]);
      data?.grayScott?.push({
        n,
        impl: name,
        size,
        steps,
        msPerStep: t === undefined ? undefined : 1e3 * t,
        msMedianStep: m === undefined ? undefined : 1e3 * m,
      });
      const [base, baseMedian] = one.get(name);
      const sum = samples.get(name).find((x) => x?.checksum)?.checksum;
      const failed = samples.get(name).find((x) => x?.error);
      const speedup = t && base ? `${(base / t).toFixed(2)}× (${(baseMedian / m).toFixed(2)}×)` : "";
      const efficiency = t && base ? `${((100 * base) / t / n).toFixed(0)}% (${((100 * baseMedian) / m / n).toFixed(0)}%)` : "";
      const vs = name === "tsmpi" || !t || !ts ? "" : `${(ts / t).toFixed(2)}× (${(tsMedian / m).toFixed(2)}×)`;
      say(
        `| ${n} | ${name}${failed && t === undefined ? ` (failed: ${failed.error})` : ""} | ${ms(t)} | ${ms(m)} | ${speedup} | ${efficiency} | ${vs} | ${name === "tsmpi" ? "" : sum === tsSum ? "yes" : "NO"} |`,
      );
    }
  }
  return lines;
}
