// osu_bcast and osu_allreduce across two network-namespace hosts × 2 ranks (issue 36's target:
// ≤ 1.5× Open MPI + mpi4py at every size): tsmpi against mpi4py's demos under Open MPI over tcp
// (`--bind-to none --mca mpi_yield_when_idle 1 --mca btl tcp,self`: the namespaces share this
// machine's cores and one hostname, and vader across them crashed with SIGSEGV),
// and, with --before DIR, a second tsmpi checkout (e.g. one without hierarchical collectives),
// all interleaved in the same run, median of --repeat runs. Needs root, iproute2 and
// openssh-server (the cluster of test/netns.ts).
//   node bench/hosts-collectives.mjs [--only bcast,allreduce] [--repeat 3] [--max BYTES] [--before DIR] [--map-by node]
//     [--params "skip=10 loop=100 skip_large=5 loop_large=20"]   (the demos' parameters, alike on every side)
//     [--tsmpi "--deadlock-report 5"]   (more launcher options for tsmpi's runs)
import { execFileSync } from "node:child_process";
import { loadavg } from "node:os";
import { join } from "node:path";
import { median } from "./median.mjs";
import { loadCluster, tsmpiOnCluster } from "./multihost.mjs";

const ROOT = new URL("..", import.meta.url).pathname;
const PY = "/usr/bin/python3";
const args = process.argv.slice(2);
const flag = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const repeat = Number(flag("--repeat", "3"));
const only = flag("--only", "bcast,allreduce").split(",");
const max = flag("--max", String(4 << 20));
const before = flag("--before", undefined);
const mapBy = flag("--map-by", "slot");
const params = flag("--params", "").split(" ").filter(Boolean);
const extra = flag("--tsmpi", "").split(" ").filter(Boolean);
const load = () =>
  loadavg()
    .map((x) => x.toFixed(1))
    .join(" ");

const { makeCluster, waitForSsh, canMakeHosts } = await loadCluster();
if (!canMakeHosts()) throw new Error("needs root, iproute2 and openssh-server");
const cluster = makeCluster(2, 236);
const say = (line = "") => console.log(line);
try {
  await waitForSsh(cluster, 30_000);
  const hosts = cluster.hosts.map((h) => `${h.ip}:2`).join(",");
  const on0 = cluster.on(0);
  const run = (argv) => execFileSync(argv[0], argv.slice(1), { cwd: ROOT, encoding: "utf8", maxBuffer: 1 << 26, stdio: ["ignore", "pipe", "inherit"] });
  const tsmpi = (home) => (demo) =>
    run([
      ...tsmpiOnCluster(cluster, hosts, home),
      "--map-by",
      mapBy,
      ...extra,
      "-n",
      "4",
      join(home, `bench/osu/osu_${demo}.ts`),
      `MAX_MSG_SIZE=${max}`,
      ...params,
    ]);
  const mpi4py = (demo) =>
    run([
      ...on0,
      "mpirun",
      "--allow-run-as-root",
      ...["--mca", "plm_rsh_agent", cluster.rshAgent],
      ...["--mca", "btl_tcp_if_include", "eth0", "--mca", "oob_tcp_if_include", "eth0", "--mca", "btl", "tcp,self"],
      ...["--mca", "mpi_yield_when_idle", "1", "--bind-to", "none", "--map-by", mapBy === "node" ? "node" : "slot", "--host", hosts, "-n", "4"],
      ...[PY, "bench/osu/run_demo.py", `osu_${demo}`, `MAX_MSG_SIZE=${max}`, ...params],
    ]);
  const sides = { tsmpi: tsmpi(ROOT), ...(before ? { before: tsmpi(before) } : {}), mpi4py };
  say(`# Collectives across 2 namespace hosts × 2 ranks (--map-by ${mapBy}), median of ${repeat} interleaved runs`);
  say();
  say(`${new Date().toISOString()}; load average at the start: ${load()}${params.length ? `; ${params.join(" ")}` : ""}`);
  for (const demo of only) {
    const samples = Object.fromEntries(Object.keys(sides).map((s) => [s, new Map()]));
    for (let r = 0; r < repeat; r++)
      for (const [side, produce] of Object.entries(sides))
        for (const line of produce(demo).split("\n")) {
          const m = /^\s*(\d+)\s+([\d.]+)\s*$/.exec(line);
          if (m) samples[side].set(Number(m[1]), [...(samples[side].get(Number(m[1])) ?? []), Number(m[2])]);
        }
    const m = (side, size) => (samples[side].has(size) ? median(samples[side].get(size)) : undefined);
    const f = (x) => (x === undefined ? "n/a" : x >= 100 ? x.toFixed(0) : x.toFixed(1));
    const ratio = (x, y) => (x === undefined || y === undefined ? "n/a" : `${(x / y).toFixed(2)}×`);
    say();
    say(`## osu_${demo} (µs; ratios against mpi4py, ≤ 1 is better)`);
    say();
    say(before ? "| size | tsmpi | ratio | tsmpi before | ratio | mpi4py |" : "| size | tsmpi | ratio | mpi4py |");
    say(before ? "|---:|---:|---:|---:|---:|---:|" : "|---:|---:|---:|---:|");
    for (const size of [...samples.mpi4py.keys()].sort((a, b) => a - b)) {
      const [t, b, o] = [m("tsmpi", size), before && m("before", size), m("mpi4py", size)];
      say(before ? `| ${size} | ${f(t)} | ${ratio(t, o)} | ${f(b)} | ${ratio(b, o)} | ${f(o)} |` : `| ${size} | ${f(t)} | ${ratio(t, o)} | ${f(o)} |`);
    }
  }
  say();
  say(`load average at the end: ${load()}`);
} finally {
  cluster.teardown();
}
