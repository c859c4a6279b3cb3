// Start-up at scale (issue 29): hello world under tsmpi against mpi4py's hello (bench/hello.py)
// under Debian's `mpirun`, interleaved in the same run, whole-job wall time, medians.
//
//   node bench/startup.mjs [--sizes 4,16,64,128,256] [--hosts 16 --per-host 16] [--repeat 3]
//                          [--only local,hosts] [--parts startup,allreduce] [--modes curve,insecure] [--out bench/results/startup.md]
//
// "local": every size on this host. "hosts": HOSTS network-namespace hosts (test/netns.ts: needs
// root, iproute2, openssh-server) × PER-HOST ranks, the launcher and mpirun on host 1, ssh to the
// others (Open MPI with --bind-to none: the namespaces share this machine's cores). Prints a
// Markdown table (and writes it to --out) with the load average seen at the start and the end.
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { dirname, join } from "node:path";
import { median } from "./median.mjs";

const ROOT = new URL("..", import.meta.url).pathname;
const PY = "/usr/bin/python3";
const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const sizes = flag("sizes", "4,16,64,128,256").split(",").map(Number);
const repeat = Number(flag("repeat", "3"));
const only = new Set(flag("only", "local,hosts").split(","));
const hostCount = Number(flag("hosts", "16"));
const perHost = Number(flag("per-host", "16"));
const outFile = flag("out", join(ROOT, "bench/results/startup.md"));
// Over the hosts: the start-up twins, the 256-rank allreduce (CURVE and --insecure), or both (each is minutes on 2 cores).
const parts = new Set(flag("parts", "startup,allreduce").split(","));
const load = () => loadavg()[0].toFixed(1);
const out = [];
const say = (line = "") => (out.push(line), console.log(line));

/** Wall time of one job in ms; a job that fails is an error (with what it said). */
function wall(argv, timeoutMs = 600_000) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(argv[0], argv.slice(1), { cwd: ROOT, encoding: "utf8", timeout: timeoutMs, maxBuffer: 1 << 26 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) {
    // A failed run is reported and left out of the median (mpirun fails now and then at 128+ ranks on 2 loaded cores).
    console.error(`${argv.slice(0, 3).join(" ")} … failed (${r.status ?? r.signal}): ${(r.stderr ?? "").slice(-600)}`);
    return NaN;
  }
  const warnings = (r.stderr ?? "").split("\n").filter((l) => /warning/i.test(l));
  if (warnings.length > 0) console.error(`  ${argv[0]}: ${warnings.length} warning line(s), e.g. ${warnings[0]}`);
  return ms;
}

/** Run each twin `repeat` times, interleaved; @returns their medians. */
function interleave(twins) {
  const samples = twins.map(() => []);
  for (let r = 0; r < repeat; r++) twins.forEach((argv, i) => samples[i].push(wall(argv)));
  return samples.map((s) => ({ median: median(s.filter((x) => !Number.isNaN(x))), all: s }));
}

const fmt = (ms) => (Number.isNaN(ms) ? "failed" : (ms / 1000).toFixed(2));
const row = (label, [t, m]) =>
  `| ${label} | ${fmt(t.median)} | ${fmt(m.median)} | ${(t.median / m.median).toFixed(2)}× | ${t.all.map(fmt).join(", ")} | ${m.all.map(fmt).join(", ")} |`;
const header = ["| ranks | tsmpi s | mpirun + mpi4py s | ratio | tsmpi runs | mpirun runs |", "|---|---:|---:|---:|---|---|"];

const root = process.getuid?.() === 0 ? ["--allow-run-as-root"] : [];
if (only.has("local")) {
  say(`## Start-up on one host (${cpus().length} cores), median of ${repeat} interleaved runs`);
  say();
  say(`load average at the start: ${load()}`);
  say();
  header.forEach((l) => say(l));
  for (const n of sizes) {
    const tsmpi = ["node", join(ROOT, "bin/tsmpi.js"), "-n", String(n), "examples/hello.ts"];
    const mpirun = ["mpirun", ...root, "--oversubscribe", "-n", String(n), PY, "bench/hello.py"];
    say(row(String(n), interleave([tsmpi, mpirun])));
  }
  say();
  say(`load average at the end: ${load()}`);
}

if (only.has("hosts")) {
  const { loadCluster, tsmpiOnCluster } = await import("./multihost.mjs");
  const { makeCluster, waitForSsh, canMakeHosts } = await loadCluster();
  say();
  if (!canMakeHosts()) say("## Across namespace hosts: skipped (needs root, iproute2 and openssh-server)");
  else {
    const cluster = makeCluster(hostCount, 240);
    try {
      await waitForSsh(cluster, 30_000);
      const n = hostCount * perHost;
      const hosts = cluster.hosts.map((h) => `${h.ip}:${perHost}`).join(",");
      const on0 = cluster.on(0);
      // --tsmpi "ARGS": more launcher options for the hosts' runs (e.g. --tsmpi "--heartbeat 2s,30s").
      const tsmpi = [...tsmpiOnCluster(cluster, hosts), ...flag("tsmpi", "").split(" ").filter(Boolean), "examples/hello.ts"];
      const mpirun = [
        ...on0,
        "mpirun",
        ...root,
        ...["--mca", "plm_rsh_agent", cluster.rshAgent],
        ...["--mca", "btl_tcp_if_include", "eth0", "--mca", "oob_tcp_if_include", "eth0"],
        ...["--bind-to", "none", "--host", hosts, "-n", String(n), PY, "bench/hello.py"],
      ];
      say(`## Start-up over ${hostCount} namespace hosts × ${perHost} ranks, median of ${repeat} interleaved runs`);
      say();
      say(`load average at the start: ${load()}`);
      say();
      if (parts.has("startup")) {
        header.forEach((l) => say(l));
        say(row(`${n} (${hostCount} × ${perHost})`, interleave([tsmpi, mpirun])));
        say();
      }
      // A 256-rank allreduce over the hosts, under CURVE and --insecure: it completes and leaves nothing behind.
      const modes = flag("modes", "curve,insecure").split(",");
      for (const mode of parts.has("allreduce") ? [[], ["--insecure"]].filter((m) => modes.includes(m.length ? "insecure" : "curve")) : []) {
        const argv = [...tsmpi.slice(0, -1), ...mode, "test/fixtures/tree.ts"];
        const r = spawnSync(argv[0], argv.slice(1), { cwd: ROOT, encoding: "utf8", timeout: 600_000, maxBuffer: 1 << 26 });
        const ok = (r.stdout ?? "").split("\n").filter((l) => / allreduce ok$/.test(l)).length;
        if (r.status !== 0) console.error(`allreduce ${mode.join(" ") || "under CURVE"} failed (${r.status ?? r.signal}): ${(r.stderr ?? "").slice(-1500)}`);
        await new Promise((resolve) => setTimeout(resolve, 3000));
        const left = cluster.hosts.flatMap((_, i) => cluster.processes(i)).filter((l) => /node /.test(l));
        say(
          `- allreduce of ${n} ranks ${mode.length ? "with --insecure" : "under CURVE"}: status ${r.status}, ${ok}/${n} ranks ok, ${left.length} processes left on the hosts 3 s later`,
        );
      }
      say();
      say(`load average at the end: ${load()}`);
    } finally {
      cluster.teardown();
    }
  }
}

mkdirSync(dirname(outFile), { recursive: true });
writeFileSync(outFile, `${out.join("\n")}\n`);
