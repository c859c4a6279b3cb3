// Multi-host benchmarks on three network-namespace hosts joined by veth (needs root, iproute2,
// openssh-server: the same cluster the tests use, see test/netns.ts):
//  - cross-host ping-pong: tsmpi (CURVE on, and --insecure) vs two plain Node processes over
//    TCP between the same namespaces;
//  - start-up of `-n 6` over 3 ssh hosts vs `-n 6` on one host.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { build } from "esbuild";

const ROOT = new URL("..", import.meta.url).pathname;

/** test/netns.ts, compiled for the plain-JavaScript benchmarks (this one and bench/heartbeat.mjs). */
export async function loadCluster() {
  const dir = mkdtempSync(join(tmpdir(), "tsmpi-bench-"));
  const outfile = join(dir, "netns.mjs");
  await build({ entryPoints: [join(ROOT, "test/netns.ts")], outfile, bundle: true, platform: "node", format: "esm", logLevel: "warning" });
  const module = await import(outfile);
  rmSync(dir, { recursive: true, force: true });
  return module;
}

/** The launcher's command line on namespace host 0 of `cluster`, over `hosts` ("ip:slots,…"): quiet, logging in through the cluster's agent. */
export function tsmpiOnCluster(cluster, hosts, home = ROOT) {
  return [...cluster.on(0), "node", join(home, "bin/tsmpi.js"), "-q", "--rsh-agent", cluster.rshAgent, "--launch-timeout", "120", "--host", hosts];
}

function lines(text) {
  return text
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l));
}

/** @returns Markdown lines */
export async function benchMultihost({ quick, repeat, median, fmt, ratio }) {
  const { makeCluster, waitForSsh, canMakeHosts } = await loadCluster();
  if (!canMakeHosts()) return ["", "## Across hosts", "", "Skipped: needs root, iproute2 and openssh-server."];
  const cluster = makeCluster(3, 250);
  const out = [];
  try {
    await waitForSsh(cluster);
    const [a, b, c] = cluster.hosts.map((h) => h.ip);
    const on = (i, argv, options = {}) =>
      execFileSync(cluster.on(i)[0], [...cluster.on(i).slice(1), ...argv], { cwd: ROOT, encoding: "utf8", maxBuffer: 1 << 26, ...options });
    const tsmpi = (argv) => ["node", join(ROOT, "bin/tsmpi.js"), "-q", "--rsh-agent", cluster.rshAgent, ...argv];
    const sizes = quick ? ["8", "4194304"] : ["8", "4096", "65536", "1048576", "4194304", "16777216"];

    /** Plain Node over TCP: echo server on host 2, client on host 1. */
    const floor = async () => {
      const server = spawn(cluster.on(1)[0], [...cluster.on(1).slice(1), "node", join(ROOT, "bench/floor.mjs"), "--serve-tcp", b], {
        stdio: ["ignore", "pipe", "inherit"],
      });
      const [first] = await new Promise((resolve) => createInterface({ input: server.stdout }).once("line", (line) => resolve([line])));
      const { port } = JSON.parse(first);
      const rows = lines(on(0, ["node", join(ROOT, "bench/floor.mjs"), "--tcp", `${b}:${port}`, ...sizes]));
      server.kill();
      return rows;
    };
    const pingpong = (extra) =>
      lines(on(0, tsmpi(["--host", `${a},${b}`, ...extra, "bench/pingpong.ts", ...sizes, "--kinds", "Float64Array"]))).filter((r) => r.kind === "Float64Array");
    /** Median of `field` per (producer, size) over `repeat` interleaved runs. */
    const collect = async (producers, field) => {
      const samples = new Map();
      for (let r = 0; r < repeat; r++) {
        for (const [name, produce] of Object.entries(producers)) {
          for (const row of await produce()) samples.set(`${name}/${row.size}`, [...(samples.get(`${name}/${row.size}`) ?? []), row[field]]);
        }
      }
      return (name, size) => {
        const values = samples.get(`${name}/${size}`);
        return values ? median(values) : undefined;
      };
    };
    /** Rows of floor, CURVE and --insecure with their ratios; `value` gives each number. */
    const table = (list, value, digits) =>
      list.map((s) => {
        const [f, sec, ins] = ["floor", "secure", "insecure"].map((name) => value(name, s));
        return `| ${s} | ${fmt(f, digits)} | ${fmt(sec, digits)} | ${ratio(sec, f)} | ${fmt(ins, digits)} | ${ratio(ins, f)} | ${ratio(sec, ins)} |`;
      });
    const usec = await collect({ floor: () => floor(), secure: () => pingpong([]), insecure: () => pingpong(["--insecure"]) }, "usec");
    out.push("", "## Across hosts (network namespaces joined by veth, ssh launch)", "");
    out.push(
      `Hosts are Linux network namespaces on one bridge (\`test/netns.ts\`), so "the network" is the kernel's veth path: it shows tsmpi's own overhead, not a real NIC. The floor is two plain Node processes ping-ponging length-prefixed buffers over TCP between the same two namespaces. tsmpi: a Float64Array between rank 0 on host 1 and rank 1 on host 2, with CURVE (the default) and with \`--insecure\`.`,
      "",
      "| bytes | floor TCP µs | tsmpi CURVE µs | ratio to floor | tsmpi --insecure µs | ratio to floor | CURVE / insecure |",
      "|---:|---:|---:|---:|---:|---:|---:|",
      ...table(sizes.map(Number), usec, 1),
    );

    // Bandwidth as osu_bw measures it: a window of 16 messages back to back, then an ack.
    const streamSizes = quick ? ["4194304"] : ["1048576", "4194304", "16777216"];
    const tsmpiStream = (extra) => lines(on(0, tsmpi(["--host", `${a},${b}`, ...extra, "bench/stream.ts", ...streamSizes])));
    const gbps = await collect(
      { floor: () => floor("--stream", streamSizes), secure: () => tsmpiStream([]), insecure: () => tsmpiStream(["--insecure"]) },
      "gbps",
    );
    out.push(
      "",
      "Bandwidth as `osu_bw` measures it (16 messages back to back, then an ack; GB/s), host 1 to host 2; the floor is a plain Node TCP stream with the same pattern:",
      "",
      "| bytes | floor TCP stream | tsmpi CURVE | ratio | tsmpi --insecure | ratio | CURVE / insecure |",
      "|---:|---:|---:|---:|---:|---:|---:|",
      ...table(streamSizes.map(Number), gbps, 2),
    );

    // Start-up: hello on 6 ranks, over 3 hosts (ssh) and on host 1 alone.
    const runs = quick ? 3 : 7;
    const wall = (argv) => {
      const t0 = process.hrtime.bigint();
      on(0, argv, { stdio: "ignore" });
      return Number(process.hrtime.bigint() - t0) / 1e6;
    };
    const one = [],
      three = [];
    for (let i = 0; i < runs; i++) {
      one.push(wall(tsmpi(["-n", "6", "examples/hello.ts"])));
      three.push(wall(tsmpi(["-n", "6", "--host", `${a}:2,${b}:2,${c}:2`, "examples/hello.ts"])));
    }
    out.push("", `Start-up of hello world on 6 ranks (wall time, median of ${runs}):`, "", "| command | ms | ratio |", "|---|---:|---:|");
    out.push(`| \`tsmpi -n 6 examples/hello.ts\` (one host) | ${fmt(median(one), 0)} | 1.00× |`);
    out.push(`| \`tsmpi -n 6 --host h1:2,h2:2,h3:2 examples/hello.ts\` (ssh to 2 of them) | ${fmt(median(three), 0)} | ${ratio(median(three), median(one))} |`);
  } finally {
    cluster.teardown();
  }
  return out;
}
