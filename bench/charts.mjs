// SVG charts of a benchmark run, drawn in Node (vega-lite compiled to vega, rendered with
// vega's headless SVG renderer: no browser). `npm run bench` writes them next to
// bench/results/latest.md from the run's numbers (bench/results/latest.json); to redraw the
// ones docs/performance.md shows:
//   node bench/charts.mjs [--in bench/results/latest.json] [--out docs/img]
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as vega from "vega";
import { compile } from "vega-lite";

const WIDTH = 520,
  HEIGHT = 300;
const IMPL_COLORS = {
  domain: ["tsmpi Float64Array", "tsmpi object", "floor (Node, Unix socket)", "mpi4py Send", "mpi4py send(ndarray)", "tsmpi", "mpi4py buffer", "mpi4py object"],
  range: ["#1f77b4", "#aec7e8", "#7f7f7f", "#d62728", "#ff9896", "#1f77b4", "#d62728", "#ff9896"],
};
const P2P_SERIES = [
  ["node-unix", "bytes", "floor (Node, Unix socket)"],
  ["tsmpi", "Float64Array", "tsmpi Float64Array"],
  ["tsmpi", "object", "tsmpi object"],
  ["mpi4py", "buffer", "mpi4py Send"],
  ["mpi4py", "pickle", "mpi4py send(ndarray)"],
];

async function render(spec) {
  const view = new vega.View(vega.parse(compile({ $schema: "https://vega.github.io/schema/vega-lite/v6.json", background: "white", ...spec }).spec), {
    renderer: "none",
  });
  return view.toSVG();
}

const logX = (title) => ({
  field: "size",
  type: "quantitative",
  title,
  scale: { type: "log", base: 2 },
  axis: { format: "~s", labelExpr: "datum.value >= 1048576 ? datum.value / 1048576 + ' Mi' : datum.value >= 1024 ? datum.value / 1024 + ' Ki' : datum.value" },
});
/** Colour by series, each implementation in the same colour in every chart; only the series present are listed. */
const color = (values) => {
  const present = IMPL_COLORS.domain.filter((name) => values.some((v) => v.series === name));
  const scale = { domain: present, range: present.map((name) => IMPL_COLORS.range[IMPL_COLORS.domain.indexOf(name)]) };
  return { field: "series", type: "nominal", title: null, scale, legend: { orient: "top-left", direction: "vertical", labelLimit: 300 } };
};

/** Point-to-point latency (half round trip) against message size, log-log. */
function latencySpec(p2p) {
  const values = [];
  for (const [impl, kind, series] of P2P_SERIES)
    for (const r of p2p.filter((r) => r.impl === impl && r.kind === kind)) values.push({ series, size: r.size, usec: r.usec });
  return {
    title: "Ping-pong latency (2 ranks, half round trip)",
    width: WIDTH,
    height: HEIGHT,
    data: { values },
    mark: { type: "line", point: true },
    encoding: { x: logX("message size (bytes)"), y: { field: "usec", type: "quantitative", title: "µs (log)", scale: { type: "log" } }, color: color(values) },
  };
}

/** Bandwidth against message size, from 4 KiB up. */
function bandwidthSpec(p2p) {
  const values = [];
  for (const [impl, kind, series] of P2P_SERIES.filter(([, kind]) => kind !== "object"))
    for (const r of p2p.filter((r) => r.impl === impl && r.kind === kind && r.size >= 4096)) values.push({ series, size: r.size, gbps: r.size / r.usec / 1e3 });
  return {
    title: "Ping-pong bandwidth (2 ranks)",
    width: WIDTH,
    height: HEIGHT,
    data: { values },
    mark: { type: "line", point: true },
    encoding: { x: logX("message size (bytes)"), y: { field: "gbps", type: "quantitative", title: "GB/s" }, color: color(values) },
  };
}

/** Each collective's latency against the number of ranks, at a small and a large size. */
function collectivesSpec(collectives) {
  const sizes = [...new Set(collectives.map((r) => r.size))].filter((s) => s > 0).sort((a, b) => a - b);
  const pick = [sizes[0], sizes.find((s) => s >= 1 << 20) ?? sizes.at(-1)];
  const label = (s) => (s >= 1 << 20 ? `${s / (1 << 20)} MiB` : `${s} B`);
  // A barrier carries no data: it is drawn with the small size.
  const values = collectives
    .filter((r) => pick.includes(r.size) || r.size === 0)
    .map((r) => ({
      op: r.op,
      n: r.n,
      usec: r.usec,
      series: r.impl === "tsmpi" ? (r.api === "into" ? "tsmpi into" : "tsmpi value") : `mpi4py ${r.api}`,
      size: label(r.size || pick[0]),
    }));
  return {
    title: `Collectives: mean time per call against ranks (${pick.map(label).join(" and ")} per rank)`,
    data: { values },
    facet: { field: "op", type: "nominal", title: null },
    columns: 4,
    spec: {
      width: 150,
      height: 120,
      mark: { type: "line", point: true },
      encoding: {
        x: { field: "n", type: "ordinal", title: "ranks" },
        y: { field: "usec", type: "quantitative", title: "µs (log)", scale: { type: "log" } },
        color: { ...color(values), legend: { orient: "top" } },
        strokeDash: { field: "size", type: "nominal", title: "bytes per rank", legend: { orient: "top", symbolType: "stroke", symbolStrokeWidth: 2 } },
      },
    },
    resolve: { scale: { y: "independent" } },
  };
}

/** The examples' timings: FFT batch phases (stacked) and the shapelet transform, per rank count. */
function examplesSpec(fft, shapelet) {
  const phases = [];
  // The spmd variant makes its rows where the other one scatters them.
  for (const r of fft)
    for (const phase of ["scatter", "compute", "gather"])
      phases.push({
        run: `${r.variant}`,
        n: r.n,
        step: ["scatter", "compute", "gather"].indexOf(phase),
        phase: phase === "scatter" && r.variant.includes("spmd") ? "make rows (spmd)" : phase,
        seconds: r[phase] ?? 0,
      });
  const shape = shapelet.map((r) => ({ run: r.impl, n: r.n, seconds: r.seconds }));
  return {
    title: "Examples (seconds, lower is better)",
    hconcat: [
      {
        title: "FFT batch: scatter + compute + gather",
        width: 300,
        height: 220,
        data: { values: phases },
        mark: "bar",
        encoding: {
          y: { field: "run", type: "nominal", title: null },
          x: { field: "seconds", type: "quantitative", stack: true, title: "seconds" },
          color: {
            field: "phase",
            type: "nominal",
            scale: { domain: ["scatter", "make rows (spmd)", "compute", "gather"], range: ["#e45756", "#ff9da6", "#4c78a8", "#f58518"] },
            legend: { orient: "bottom" },
          },
          order: { field: "step" },
          row: { field: "n", type: "ordinal", title: "ranks" },
        },
      },
      {
        title: "Shapelet transform",
        width: 240,
        height: 220,
        data: { values: shape },
        mark: "bar",
        encoding: {
          y: { field: "run", type: "nominal", title: null },
          x: { field: "seconds", type: "quantitative", title: "seconds" },
          color: { value: "#54a24b" },
          row: { field: "n", type: "ordinal", title: "ranks / threads" },
        },
      },
    ],
    resolve: { scale: { color: "independent" } },
  };
}

/** Write every chart the data has numbers for; returns the files written. */
export async function writeCharts(data, outDir) {
  mkdirSync(outDir, { recursive: true });
  const charts = [];
  if (data.p2p?.length) charts.push(["p2p-latency.svg", latencySpec(data.p2p)], ["p2p-bandwidth.svg", bandwidthSpec(data.p2p)]);
  if (data.collectives?.length) charts.push(["collectives.svg", collectivesSpec(data.collectives)]);
  if (data.fft?.length || data.shapelet?.length) charts.push(["examples.svg", examplesSpec(data.fft ?? [], data.shapelet ?? [])]);
  const written = [];
  for (const [name, spec] of charts) {
    writeFileSync(join(outDir, name), await render(spec));
    written.push(join(outDir, name));
  }
  return written;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const flag = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
  const root = new URL("..", import.meta.url).pathname;
  const data = JSON.parse(readFileSync(flag("--in", join(root, "bench/results/latest.json")), "utf8"));
  for (const file of await writeCharts(data, flag("--out", join(root, "bench/results")))) console.log(file);
}
