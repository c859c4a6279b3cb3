/**
 * Jobs on an IPv6-only network, as on an IPv6-only Kubernetes cluster: three network-namespace
 * hosts with `fd00:…` addresses and no IPv4 but loopback, whose names (`w<i>.tsmpi.test`)
 * resolve to those addresses only. The launcher runs on host 1, as the MPI Operator's launcher
 * pod, and reads a hostfile of the workers in the operator's format. Needs root.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fixture, leftovers, runJob, type JobOptions, P2P_CHECKS } from "./helpers.js";
import { makeCluster, waitForSsh, type Cluster } from "./netns.js";

let cluster: Cluster;
let dir: string;

beforeAll(async () => {
  cluster = makeCluster(3, 100 + (process.pid % 50), { ipv6: true });
  dir = mkdtempSync(join(tmpdir(), "tsmpi-ipv6-"));
  await waitForSsh(cluster);
}, 30_000);

afterAll(() => {
  cluster?.teardown();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const onCluster = (launcherArgs: string[]): JobOptions => ({
  timeout: 60_000,
  wrap: cluster.on(0),
  launcherArgs: ["--rsh-agent", cluster.rshAgent, "-x", "TMPDIR", ...launcherArgs],
});

describe("an IPv6-only network", () => {
  it("runs the point-to-point suite from the operator's hostfile of host names, encrypted, each host's ranks on its IPv6 address", async () => {
    const hostfile = join(dir, "hostfile");
    writeFileSync(hostfile, "w2.tsmpi.test slots=2\nw3.tsmpi.test slots=2\n");
    const job = await runJob(4, fixture("p2p.ts"), [], onCluster(["--hostfile", hostfile]));
    expect(job.exitCode, job.stderr).toBe(0);
    expect(job.stdout.match(/^ok /gm)).toHaveLength(P2P_CHECKS);
    for (const host of cluster.hosts.slice(1)) expect(job.stderr).toContain(`use ${host.ip}`);
    expect(await leftovers(job)).toEqual({ processes: [], files: [] });
  });

  it("runs the collectives suite from --host with bracketed addresses, --bind to an IPv6 network and --insecure", async () => {
    const [a, b, c] = cluster.hosts.map((h) => h.ip);
    const network = `${a!.replace(/::\d+$/, "::")}/64`;
    const job = await runJob(5, fixture("collectives.ts"), [], onCluster(["--host", `[${a}]:1,[${b}]:2,${c}`, "--bind", network, "--insecure"]));
    expect(job.exitCode, job.stderr).toBe(0);
    expect(job.stdout).toContain("ok misuse fails on every rank");
    expect(job.stdout).not.toMatch(/^not ok/m);
    expect(await leftovers(job)).toEqual({ processes: [], files: [] });
  });
});
