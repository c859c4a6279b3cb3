/**
 * A host that goes silent: three network-namespace hosts with sshd (the launcher on host 1),
 * two ranks each. Host 2's link is cut at the bridge in the middle of allreduces, as a pulled
 * cable: the job must end naming the host (or, with --keep-going, the others must get
 * RankFailedError and finish), and nothing of the job may be left running on host 2 while its
 * link is still down. A stopped node agent is a lost host too; ranks computing for several
 * heartbeat timeouts are not. Needs root (as in CI). Times are measured and printed, not asserted
 * (the execa timeout only turns a hang into a failure).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fixture, follow, leftovers, startJob } from "./helpers.js";
import { makeCluster, waitForSsh, type Cluster } from "./netns.js";

let cluster: Cluster;

beforeAll(async () => {
  cluster = makeCluster(3);
  await waitForSsh(cluster);
}, 30_000);

afterAll(() => cluster?.teardown());

const ips = () => cluster.hosts.map((h) => h.ip);
const escaped = (ip: string) => ip.replace(/\./g, "\\.");
/** What of a job runs on host `i`: its ranks (their command lines hold the marker) and node agents. */
const jobOn = (i: number, marker: string) => cluster.processes(i).filter((line) => line.includes(marker) || line.includes("launcher/agent.js"));
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** Start heartbeat.ts on `perHost` ranks per host with `launcherArgs`; resolves once `until` holds of its output. */
async function started(mode: string[], launcherArgs: string[], until: (out: string) => boolean, perHost = 2) {
  const job = startJob(3 * perHost, fixture("heartbeat.ts"), mode, {
    timeout: 60_000, // a job that hangs is killed, and the test fails on its status
    wrap: cluster.on(0),
    launcherArgs: [
      "--rsh-agent",
      cluster.rshAgent,
      "-x",
      "TMPDIR",
      "-q",
      "--host",
      ips()
        .map((ip) => `${ip}:${perHost}`)
        .join(","),
      ...launcherArgs,
    ],
  });
  const output = follow(job.proc);
  await output.until("every rank running", () => until(output.out));
  return { ...job, output };
}
const allreducing = (np: number) => (out: string) => (out.match(/allreduces/g) ?? []).length === np;

/** Poll until host `i` runs nothing of the job; @returns when (Date.now()), or undefined after `limitMs`. */
async function emptied(i: number, marker: string, limitMs = 30_000): Promise<number | undefined> {
  for (const deadline = Date.now() + limitMs; Date.now() < deadline; await pause(50)) if (jobOn(i, marker).length === 0) return Date.now();
  return undefined;
}

/** Cut host 2's link, await the job, watch host 2 empty itself with its link down, then restore it. */
async function cutHost2(job: Awaited<ReturnType<typeof started>>) {
  const cutAt = Date.now();
  cluster.cutLink(1);
  try {
    const empty = emptied(1, job.marker);
    const result = await job.proc;
    const endedAt = Date.now();
    await pause(endedAt + 5000 - Date.now());
    return { result, cutAt, endedAt, fiveSecondsLater: jobOn(1, job.marker), emptyAt: await empty };
  } finally {
    cluster.restoreLink(1);
  }
}

describe("a host that goes silent (three namespace hosts, ssh)", () => {
  it("ends the job naming the host when its link is cut, and the cut-off host ends its ranks and agent while its link is down", async () => {
    const job = await started(["loop", "2,3"], [], allreducing(6));
    const { result, cutAt, endedAt, fiveSecondsLater, emptyAt } = await cutHost2(job);
    console.log(`link cut: job ended after ${seconds(endedAt - cutAt)}, host 2 empty after ${emptyAt ? seconds(emptyAt - cutAt) : "never"}`);
    const stderr = String(result.stderr);
    expect(result.exitCode, stderr).toBe(255);
    expect(stderr).toMatch(
      new RegExp(
        `tsmpi: host ${escaped(ips()[1]!)} \\(ranks 2, 3\\): nothing heard from its node agent for [\\d.]+ s \\(--heartbeat 1s,5s\\): its network or power is gone, or the agent is stopped; terminating 4 other ranks`,
      ),
    );
    expect(fiveSecondsLater, "5 s after the job ended").toEqual([]);
    expect(emptyAt).toBeDefined();
    expect(await leftovers(job)).toEqual({ processes: [], files: [] });
  }, 90_000);

  it("with --keep-going, every other rank gets RankFailedError for both ranks of the cut-off host and finishes", async () => {
    const job = await started(["loop", "2,3"], ["--keep-going"], allreducing(6));
    const { result, cutAt, endedAt, fiveSecondsLater, emptyAt } = await cutHost2(job);
    const stdout = String(result.stdout);
    const lines = stdout.split("\n");
    const failedAt = [...stdout.matchAll(/allreduce failed at (\d+)/g)].map((m) => Number(m[1]) - cutAt);
    console.log(
      `link cut, --keep-going: RankFailedError after ${failedAt.map(seconds).join(", ")}; job ended after ${seconds(endedAt - cutAt)}, host 2 empty after ${emptyAt ? seconds(emptyAt - cutAt) : "never"}`,
    );
    expect(result.exitCode, String(result.stderr)).toBe(255);
    expect(String(result.stderr)).toMatch(
      new RegExp(`tsmpi: host ${escaped(ips()[1]!)} \\(ranks 2, 3\\): nothing heard from its node agent .*; --keep-going: the other ranks go on`),
    );
    for (const rank of [0, 1, 4, 5]) {
      expect(stdout).toMatch(new RegExp(`rank ${rank}: allreduce failed at \\d+: RankFailedError \\(failedRank [23]\\)`));
      expect(lines).toContain(`rank ${rank}: RankFailedError for rank 2`);
      expect(lines).toContain(`rank ${rank}: RankFailedError for rank 3`);
      expect(lines).toContain(`rank ${rank} done: rank ${{ 0: 5, 1: 0, 4: 1, 5: 4 }[rank]} passed it on`);
    }
    expect(stdout).not.toMatch(/rank [23] done/);
    expect(fiveSecondsLater, "5 s after the job ended").toEqual([]);
    expect(await leftovers(job)).toEqual({ processes: [], files: [] });
  }, 90_000);

  it("loses a host whose node agent is stopped (SIGSTOP), and that agent ends its ranks once it runs again", async () => {
    const job = await started(["loop", "2"], ["--heartbeat", "500ms,2s"], allreducing(3), 1);
    const agent = cluster.processes(2).find((line) => /^\d+ \S*node \S*launcher\/agent\.js/.test(line));
    expect(agent).toBeDefined();
    const pid = Number(agent!.split(" ")[0]);
    const stoppedAt = Date.now();
    process.kill(pid, "SIGSTOP");
    try {
      const result = await job.proc;
      console.log(`agent stopped: job ended after ${seconds(Date.now() - stoppedAt)}`);
      expect(result.exitCode, String(result.stderr)).toBe(255);
      expect(String(result.stderr)).toMatch(
        new RegExp(`tsmpi: host ${escaped(ips()[2]!)} \\(rank 2\\): nothing heard from its node agent for [\\d.]+ s \\(--heartbeat 500ms,2s\\)`),
      );
    } finally {
      process.kill(pid, "SIGCONT");
    }
    expect(await emptied(2, job.marker)).toBeDefined();
    expect(await leftovers(job)).toEqual({ processes: [], files: [] });
  }, 90_000);

  it("does not lose a host whose ranks all compute for 3 heartbeat timeouts at a stretch, six ranks on two cores", async () => {
    const job = await started(["compute", "3", "2"], ["--heartbeat", "250ms,1s"], (out) => (out.match(/pid \d+/g) ?? []).length === 6);
    const result = await job.proc;
    expect(String(result.stderr)).not.toContain("nothing heard");
    expect(result.exitCode, String(result.stderr)).toBe(0);
    const lines = String(result.stdout).split("\n");
    for (let rank = 0; rank < 6; rank++) expect(lines).toEqual(expect.arrayContaining([`rank ${rank} round 1: 6`, `rank ${rank} done`]));
    expect(await leftovers(job)).toEqual({ processes: [], files: [] });
  }, 90_000);
});
