/**
 * Collectives on communicators that span hosts (src/collectives/hierarchical/): real namespace
 * hosts (test/netns.ts) with their own sshd, the launcher on the first. Needs root, as the
 * multi-host tests do.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fixture, leftovers, runJob, type JobOptions } from "./helpers.js";
import { makeCluster, waitForSsh, type Cluster } from "./netns.js";

let cluster: Cluster;

beforeAll(async () => {
  cluster = makeCluster(3, 150 + (process.pid % 40));
  // Logins can take 10-20 s on a loaded machine (two cores shared by several suites).
  await waitForSsh(cluster, 45_000);
}, 60_000);

afterAll(() => cluster?.teardown());

const ips = () => cluster.hosts.map((h) => h.ip);
const onCluster = (launcherArgs: string[]): JobOptions => ({
  timeout: 120_000,
  wrap: cluster.on(0),
  launcherArgs: ["--rsh-agent", cluster.rshAgent, "-x", "TMPDIR", "--timeout", "100", ...launcherArgs],
});

/** A span of a --trace file (Chrome trace JSON); sends and receives name their peer, bytes, communicator and call. */
interface TraceEvent {
  name: string;
  pid: number;
  args: { peer?: number; bytes?: number; comm?: string; call?: string };
}

describe("collectives across hosts, by host and then one rank per host", () => {
  it("match serial results at -n 7 on hosts of 3, 3 and 1 ranks, and on splits with uneven, interleaved or equal hosts", async () => {
    const [a, b, c] = ips();
    const job = await runJob(7, fixture("hierarchical.ts"), [], onCluster(["--host", `${a}:3,${b}:3,${c}:1`]));
    expect(job.exitCode, job.stderr).toBe(0);
    const passed = job.stdout.split("\n").filter((line) => line.startsWith("ok "));
    expect(passed).toHaveLength(20);
    expect(await leftovers(job)).toEqual({ processes: [], files: [] });
  });

  it("sends each byte of a 1 MiB bcast and allreduce over the network once per host, not once per rank (2 hosts x 2 ranks, interleaved)", async () => {
    const [a, b] = ips();
    const file = join(mkdtempSync(join(tmpdir(), "tsmpi-trace-")), "trace.json");
    const job = await runJob(4, fixture("hierarchical.ts"), ["traffic"], onCluster(["--host", `${a}:2,${b}:2`, "--map-by", "node", "--trace", file]));
    expect(job.exitCode, job.stderr).toBe(0);
    const events = (JSON.parse(readFileSync(file, "utf8")) as { traceEvents: TraceEvent[] }).traceEvents;
    // --map-by node over two hosts: rank r is on host r % 2. Flat, the bcast's binomial tree
    // crosses twice (2 MiB) and the ring allreduce on every step (6 MiB).
    const across = (call: string) =>
      events
        .filter((e) => e.name === "send" && e.args.call === call && e.args.comm === "w!" && e.pid % 2 !== e.args.peer! % 2)
        .reduce((sum, e) => sum + e.args.bytes!, 0);
    const MiB = 1024 * 1024;
    expect(across("bcast")).toBeGreaterThanOrEqual(MiB);
    expect(across("bcast")).toBeLessThan(MiB + 1024);
    expect(across("allreduce")).toBeGreaterThanOrEqual(2 * MiB);
    expect(across("allreduce")).toBeLessThan(2 * MiB + 1024);
    expect(await leftovers(job)).toEqual({ processes: [], files: [] });
  });
});
