/**
 * A job over 16 hosts (network namespaces with sshd, test/netns.ts), two ranks on each, started
 * along a launch tree of fan-out 4 (the launcher logs in to 4 hosts, their agents to the other
 * 11: 2 levels): output, exits, --stats reports and failures travel up the tree, a failure deep
 * in it ends the job, and an ssh failure deep in it names the host.
 * Needs root (as in CI).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchTree } from "../src/launcher/launch-tree.js";
import { fixture, leftovers, runJob, type JobOptions } from "./helpers.js";
import { makeCluster, waitForSsh, type Cluster } from "./netns.js";

const HOSTS = 16;
const NP = 2 * HOSTS;
let cluster: Cluster;

beforeAll(async () => {
  cluster = makeCluster(HOSTS, 180 + (process.pid % 20));
  await waitForSsh(cluster, 90_000);
}, 120_000);

afterAll(() => cluster?.teardown());

const hostList = () => cluster.hosts.map((h) => `${h.ip}:2`).join(",");
const onCluster = (launcherArgs: string[]): JobOptions => ({
  timeout: 60_000,
  wrap: cluster.on(0),
  launcherArgs: ["--rsh-agent", cluster.rshAgent, "-x", "TMPDIR", "-q", "--host", hostList(), "--launch-fanout", "4", ...launcherArgs],
});
const agents = () => cluster.hosts.flatMap((_, i) => cluster.processes(i)).filter((line) => line.includes("launcher/agent.js"));

describe("the launch tree", () => {
  it("is the complete fan-out tree over the remote hosts, in host-list order", () => {
    const ssh = (nodes: number[]) => nodes.map((node) => ({ node, via: "ssh" as const }));
    const tree = launchTree(ssh([1, 2, 3, 4, 5, 6, 7]), 2);
    expect(tree.children.get(-1)).toEqual([1, 2]);
    expect(tree.children.get(1)).toEqual([3, 4]);
    expect(tree.children.get(2)).toEqual([5, 6]);
    expect(tree.children.get(3)).toEqual([7]);
    expect(tree.depth).toBe(3);
    expect(launchTree(ssh([1, 2, 3]), 16).depth).toBe(1);
    // srun starts every host itself, with Slurm's own tree.
    expect(
      launchTree(
        [
          { node: 1, via: "srun" },
          { node: 2, via: "srun" },
          { node: 3, via: "srun" },
        ],
        2,
      ).children.get(-1),
    ).toEqual([1, 2, 3]);
  });
});

describe(`a job over ${HOSTS} namespace hosts, 2 ranks each, launch fan-out 4`, () => {
  it("runs an allreduce on every rank, relays every rank's output and --stats report, and leaves nothing behind", async () => {
    const job = await runJob(NP, fixture("tree.ts"), [], onCluster(["--stats=json"]));
    expect(job.exitCode, job.stderr).toBe(0);
    const said = job.stdout.split("\n").filter((line) => line.startsWith("rank "));
    expect(said.sort()).toEqual(Array.from({ length: NP }, (_, r) => `rank ${r} on node ${Math.floor(r / 2)} allreduce ok`).sort());
    const stats = JSON.parse(job.stderr.slice(job.stderr.indexOf("{"), job.stderr.lastIndexOf("}") + 1)) as { ranks: Array<{ rank: number }> };
    expect(stats.ranks.map((r) => r.rank).sort((a, b) => a - b)).toEqual(Array.from({ length: NP }, (_, r) => r));
    expect(await leftovers(job)).toEqual({ processes: [], files: [] });
    expect(agents()).toEqual([]);
  });

  it("ends the whole job with the status of a rank that aborts on the deepest host", async () => {
    const job = await runJob(NP, fixture("tree.ts"), ["abort", String(NP - 1)], onCluster([]));
    expect(job.exitCode, job.stderr).toBe(7);
    expect(job.stderr).toContain(`rank ${NP - 1} called abort(7) on ${cluster.hosts[HOSTS - 1]!.ip}`);
    expect(await leftovers(job)).toEqual({ processes: [], files: [] });
  });

  it("names the host whose ssh fails deep in the tree, ends the job with 255 and leaves nothing behind", async () => {
    cluster.stopSshd(HOSTS - 1);
    try {
      const job = await runJob(NP, fixture("tree.ts"), [], onCluster([]));
      expect(job.exitCode, job.stderr).toBe(255);
      const ip = cluster.hosts[HOSTS - 1]!.ip;
      expect(job.stderr).toContain(`host ${ip} (ranks ${NP - 2}, ${NP - 1}): could not start its ranks (ssh to ${ip} exited with status 255`);
      expect(await leftovers(job)).toEqual({ processes: [], files: [] });
    } finally {
      cluster.startSshd(HOSTS - 1);
    }
  });
});
