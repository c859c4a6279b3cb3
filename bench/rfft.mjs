// The FFT kernel of the examples (examples/fft/rfft.ts) next to NumPy's rfft (pocketfft), in the
// same run: ms per real FFT over a batch of rows, warm, median of several timed repeats, the two
// processes interleaved. `npm run bench -- --only rfft` (from bench/run.mjs), or on its own:
//   node bench/rfft.mjs [--rows 1000] [--length 51200] [--repeat 5]
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { median } from "./median.mjs";

const ROOT = new URL("..", import.meta.url).pathname;

/** Time `RealFFT.forward` over rows × length random samples: one JSON line, ms per transform. */
async function worker(module, rows, length, repeats) {
  const { RealFFT } = await import(module);
  const fft = new RealFFT(length);
  const batch = new Float64Array(rows * length).map(() => Math.random() - 0.5),
    spectra = new Float64Array(rows * (length + 2));
  const run = () => {
    for (let r = 0; r < rows; r++) fft.forward(batch.subarray(r * length, (r + 1) * length), spectra.subarray(r * (length + 2), (r + 1) * (length + 2)));
  };
  run(); // warm-up (and JIT)
  const times = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    run();
    times.push(performance.now() - t0);
  }
  console.log(JSON.stringify({ impl: "tsmpi", L: length, rows, ms: median(times) / rows }));
}

/** Markdown lines: tsmpi and NumPy ms per transform, `repeat` interleaved runs of each. */
export async function benchRfft({ quick = false, repeat = 3, rows = quick ? 200 : 1000, length = 51_200 } = {}) {
  const { build } = await import("esbuild");
  const dir = mkdtempSync(join(tmpdir(), "tsmpi-rfft-"));
  const module = join(dir, "rfft.mjs");
  const lines = [];
  try {
    await build({
      entryPoints: [join(ROOT, "examples/fft/rfft.ts")],
      outfile: module,
      bundle: true,
      format: "esm",
      platform: "node",
      target: "node20",
      logLevel: "warning",
    });
    const json = (cmd, argv) =>
      execFileSync(cmd, argv, { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] })
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l));
    const ts = [],
      batch = [],
      row = [];
    let numpy = "NumPy not installed";
    for (let i = 0; i < repeat; i++) {
      ts.push(json("node", [new URL(import.meta.url).pathname, "--worker", module, String(rows), String(length), "5"])[0].ms);
      try {
        for (const r of json("/usr/bin/python3", [join(ROOT, "bench/rfft.py"), String(rows), String(length), "5"])) {
          (r.call === "batch" ? batch : row).push(r.ms);
          numpy = `NumPy ${r.version}`;
        }
      } catch {
        // no NumPy: report tsmpi alone
      }
    }
    const t = median(ts),
      n = batch.length ? median(batch) : undefined;
    const show = (ms) => (ms === undefined ? "n/a" : ms.toFixed(3)),
      ratio = (ms) => (ms === undefined || n === undefined ? "n/a" : `${(ms / n).toFixed(2)}×`);
    lines.push(
      "",
      `## Real FFT kernel (${length} points, float64), ms per transform`,
      "",
      `\`RealFFT.forward\` of examples/fft/rfft.ts (WebAssembly SIMD passes) over ${rows} rows of random samples, against ${numpy}'s \`numpy.fft.rfft\` (pocketfft) on the same shape, warm; median of 5 timed batches per process, median of ${repeat} interleaved processes. Ratios are to NumPy's batch call, its fastest way; called once per row it also plans the transform each time.`,
      "",
      `| implementation | ms per transform | ratio |`,
      `|---|---:|---:|`,
      `| tsmpi \`RealFFT.forward\` per row, plan reused | ${show(t)} | ${ratio(t)} |`,
      `| NumPy \`rfft(batch, axis=1)\` | ${show(n)} | ${ratio(n)} |`,
      `| NumPy \`rfft(row)\` per row | ${show(row.length ? median(row) : undefined)} | ${ratio(row.length ? median(row) : undefined)} |`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return lines;
}

const args = process.argv.slice(2);
if (args[0] === "--worker") {
  await worker(args[1], Number(args[2]), Number(args[3]), Number(args[4]));
} else if (import.meta.url === `file://${process.argv[1]}`) {
  const flag = (name, fallback) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : fallback);
  for (const line of await benchRfft({ repeat: flag("--repeat", 5), rows: flag("--rows", 1000), length: flag("--length", 51_200) })) console.log(line);
}
