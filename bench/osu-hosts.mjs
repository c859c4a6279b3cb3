// `node bench/osu-hosts.mjs`: the OSU point-to-point ports (bench/osu/osu_{latency,bw,bibw}.ts)
// between two network-namespace hosts (test/netns.ts: veth + bridge, ssh launch), interleaved in
// one run against mpi4py's own demos under Open MPI (`mpirun --bind-to none`, btl tcp) and a
// plain Node TCP twin (bench/floor.mjs), the median of --repeat runs at every size.
//   node bench/osu-hosts.mjs [--only latency,bw,bibw] [--repeat 3] [--max BYTES] [--quick] [--zmq] [--sleep] [--without NAME,...]
// tsmpi runs encrypted (the default: AES-256-GCM on the direct TCP path) and --insecure; with
// --zmq also over ZeroMQ as before the direct path (`-x TSMPI_NET=zmq`, CURVE and --insecure).
// With --sleep also --insecure without socket polling (`-x TSMPI_NET_POLL=0`). Needs root, iproute2, openssh-server. Writes bench/results/osu-hosts-<demos>.md and .json.
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { median } from "./median.mjs";
import { kv, rows } from "./runs.mjs";
import { loadCluster } from "./multihost.mjs";

const ROOT = new URL("..", import.meta.url).pathname;
const args = process.argv.slice(2);
const flag = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const quick = args.includes("--quick");
const repeat = Number(flag("--repeat", quick ? "1" : "3"));
const MAX = Number(flag("--max", String(4 << 20)));
const only = flag("--only", "latency,bw,bibw").split(",");
/** The demos' loops, shortened for latency (each tsmpi round trip between hosts is tens of µs on a loaded box). */
const PARAMS = {
  latency: { skip: 200, loop: 2000, MAX_MSG_SIZE: MAX },
  bw: { MAX_MSG_SIZE: MAX },
  bibw: { MAX_MSG_SIZE: MAX },
};
const TSMPI = {
  tsmpi: [],
  "tsmpi --insecure": ["--insecure"],
  ...(args.includes("--sleep") ? { "--insecure, no polling": ["--insecure", "-x", "TSMPI_NET_POLL=0"] } : {}),
  ...(args.includes("--zmq") ? { "zmq (CURVE)": ["-x", "TSMPI_NET=zmq"], "zmq --insecure": ["-x", "TSMPI_NET=zmq", "--insecure"] } : {}),
};
const load = () => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");

const { makeCluster, waitForSsh, canMakeHosts } = await loadCluster();
if (!canMakeHosts()) throw new Error("bench/osu-hosts.mjs needs root, iproute2 and openssh-server");
const cluster = makeCluster(2, 241);
const out = [];
const say = (line = "") => (out.push(line), console.log(line));
const data = [];
try {
  await waitForSsh(cluster);
  const [a, b] = cluster.hosts.map((h) => h.ip);
  const on = (i, argv) =>
    execFileSync(cluster.on(i)[0], [...cluster.on(i).slice(1), ...argv], {
      cwd: ROOT,
      encoding: "utf8",
      maxBuffer: 1 << 26,
      stdio: ["ignore", "pipe", "inherit"],
    });
  const sides = {
    ...Object.fromEntries(
      Object.entries(TSMPI).map(([name, extra]) => [
        name,
        (demo) =>
          rows(
            on(0, [
              "node",
              join(ROOT, "bin/tsmpi.js"),
              "-q",
              "--launch-timeout",
              "300",
              "--rsh-agent",
              cluster.rshAgent,
              "--host",
              `${a},${b}`,
              ...extra,
              `bench/osu/osu_${demo}.ts`,
              ...kv(PARAMS[demo]),
            ]),
          ),
      ]),
    ),
    "mpi4py (Open MPI)": (demo) =>
      rows(
        on(0, [
          ...["mpirun", "--allow-run-as-root", "--bind-to", "none", "-n", "2", "--host", `${a},${b}`],
          ...[
            "--mca",
            "plm_rsh_agent",
            cluster.rshAgent,
            "--mca",
            "btl",
            "self,tcp",
            "--mca",
            "btl_tcp_if_include",
            "eth0",
            "--mca",
            "oob_tcp_if_include",
            "eth0",
          ],
          ...["/usr/bin/python3", "bench/osu/run_demo.py", `osu_${demo}`, ...kv(PARAMS[demo])],
        ]),
      ),
    "plain TCP": async (demo) => {
      if (demo === "bibw") return new Map();
      const server = spawn(cluster.on(1)[0], [...cluster.on(1).slice(1), "node", join(ROOT, "bench/floor.mjs"), "--serve-tcp", b], {
        stdio: ["ignore", "pipe", "inherit"],
      });
      const line = await new Promise((resolve) => createInterface({ input: server.stdout }).once("line", resolve));
      const sizes = [8, 4096, 65536, 1 << 20, 4 << 20].filter((s) => s <= MAX).map(String);
      const text = on(0, ["node", join(ROOT, "bench/floor.mjs"), demo === "latency" ? "--tcp" : "--stream", `${b}:${JSON.parse(line).port}`, ...sizes]);
      server.kill();
      const json = text
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l));
      return new Map(json.map((r) => [r.size, demo === "latency" ? r.usec : r.gbps * 1000]));
    },
  };
  for (const name of flag("--without", "").split(",").filter(Boolean)) {
    if (!(name in sides) || name === "mpi4py (Open MPI)") throw new Error(`--without: no side ${name}; choose from ${Object.keys(sides).join(", ")}`);
    delete sides[name];
  }
  say(`# OSU point-to-point between two namespace hosts, median of ${repeat} interleaved runs`);
  say();
  say(`${new Date().toISOString()}; load average at start ${load()}`);
  for (const demo of only) {
    const samples = Object.fromEntries(Object.keys(sides).map((name) => [name, new Map()]));
    for (let r = 0; r < repeat; r++)
      for (const [name, run] of Object.entries(sides))
        for (const [size, value] of await run(demo)) samples[name].set(size, [...(samples[name].get(size) ?? []), value]);
    const higher = demo !== "latency";
    const unit = higher ? "MB/s" : "µs";
    const names = Object.keys(sides);
    say();
    say(`## osu_${demo} (${unit}; ratios to mpi4py, ${higher ? "≥ 1 is better" : "≤ 1 is better"}), load after: ${load()}`);
    say();
    say(`| size | ${names.join(" | ")} | tsmpi / mpi4py | --insecure / mpi4py |`);
    say(`|---:|${names.map(() => "---:").join("|")}|---:|---:|`);
    for (const size of [...samples["mpi4py (Open MPI)"].keys()].sort((x, y) => x - y)) {
      const value = (name) => (samples[name]?.has(size) ? median(samples[name].get(size)) : undefined);
      const m = value("mpi4py (Open MPI)");
      const cells = names.map((name) => value(name));
      const ratio = (x) => (x === undefined ? "n/a" : `${(x / m).toFixed(2)}×`);
      say(
        `| ${size} | ${cells.map((x) => (x === undefined ? "" : x >= 100 ? x.toFixed(0) : x.toFixed(2))).join(" | ")} | ${ratio(value("tsmpi"))} | ${ratio(value("tsmpi --insecure"))} |`,
      );
      data.push({ bench: demo, size, unit, ...Object.fromEntries(names.map((name, i) => [name, cells[i]])) });
    }
  }
} finally {
  cluster.teardown();
}
mkdirSync(join(ROOT, "bench/results"), { recursive: true });
const stem = join(ROOT, `bench/results/osu-hosts-${only.join("-")}`);
writeFileSync(`${stem}.md`, out.join("\n") + "\n");
writeFileSync(`${stem}.json`, JSON.stringify(data, null, 1));
