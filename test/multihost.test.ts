/**
 * Jobs across real hosts: three Linux network namespaces on one bridge, each with its own
 * sshd; the launcher runs on host 1 and starts ranks on hosts 2 and 3 over ssh. Needs root
 * (as in CI): without it these tests fail rather than skip.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fixture, follow, leftovers, linesStarting, runJob, startJob, type JobOptions, P2P_CHECKS } from "./helpers.js";
import { makeCluster, waitForSsh, type Cluster } from "./netns.js";

let cluster: Cluster;

beforeAll(async () => {
  cluster = makeCluster(3);
  await waitForSsh(cluster);
}, 30_000);

afterAll(() => cluster?.teardown());

const ips = () => cluster.hosts.map((h) => h.ip);
/** Options that run the launcher on host 1 and let it log in to the others with the test key. */
const onCluster = (launcherArgs: string[], options: JobOptions = {}): JobOptions => ({
  timeout: 60_000,
  ...options,
  wrap: cluster.on(0),
  launcherArgs: ["--rsh-agent", cluster.rshAgent, "-x", "TMPDIR", ...launcherArgs],
});
/**
 * Node agents and their ssh connections still running on the test hosts (processes in the
 * hosts' namespaces; other test files' jobs, e.g. Slurm's, run outside them).
 */
const agents = () => cluster.hosts.flatMap((_, i) => cluster.processes(i)).filter((line) => line.includes("launcher/agent.js"));

/**
 * Start spin.ts (each rank prints its pid, then allreduces forever) with 2 ranks on each of the
 * first `hosts` hosts, bounded by --timeout; resolves once every rank runs.
 */
async function spinning(np: number, hosts: number) {
  const job = startJob(
    np,
    fixture("spin.ts"),
    [],
    onCluster(
      [
        "--host",
        ips()
          .slice(0, hosts)
          .map((ip) => `${ip}:2`)
          .join(","),
        "--timeout",
        "60",
      ],
      { timeout: 90_000 },
    ),
  );
  const output = follow(job.proc);
  await output.until(`${np} ranks running`, () => (output.out.match(/pid \d+/g) ?? []).length >= np);
  return { ...job, pidOf: (rank: number) => Number(new RegExp(`rank ${rank} pid (\\d+)`).exec(output.out)![1]) };
}

describe("a job across three hosts (network namespaces, ssh)", () => {
  it("passes the point-to-point suite at -n 6, two ranks per host", async () => {
    const job = await runJob(
      6,
      fixture("p2p.ts"),
      [],
      onCluster([
        "--host",
        ips()
          .map((ip) => `${ip}:2`)
          .join(","),
      ]),
    );
    expect(job.exitCode, job.stderr).toBe(0);
    expect(job.stdout.match(/^ok /gm)).toHaveLength(P2P_CHECKS);
    expect(job.stdout.match(/^rank \d+ done$/gm)).toHaveLength(6);
    // It says which address each host's ranks use.
    for (const ip of ips()) expect(job.stderr).toContain(`use ${ip}`);
    expect(await leftovers(job)).toEqual({ processes: [], files: [] });
    expect(agents()).toEqual([]);
  });

  it("passes the collectives suite at -n 5 mapped round-robin over the hosts", async () => {
    const job = await runJob(5, fixture("collectives.ts"), [], onCluster(["--host", ips().join(","), "--map-by", "node"]));
    expect(job.exitCode, job.stderr).toBe(0);
    expect(job.stdout).toContain("ok misuse fails on every rank");
    expect(job.stdout).not.toMatch(/^not ok/m);
    expect(await leftovers(job)).toEqual({ processes: [], files: [] });
  });

  it("runs the task pool with its root on another host than the launcher's, and reruns a killed remote worker's tasks", async () => {
    const hosts = [
      "--host",
      ips()
        .map((ip) => `${ip}:2`)
        .join(","),
    ];
    // Rank 3 (on host 2) is the root: its progress line reaches the launcher through ssh.
    const pool = await runJob(6, fixture("pool.ts"), [], onCluster([...hosts, "-x", "POOL_ROOT=3"]));
    expect(pool.exitCode, pool.stderr).toBe(0);
    expect(pool.stdout.match(/^ok /gm)).toHaveLength(8);
    expect(pool.stderr).toMatch(/^tsmpi: tasks (\d+)\/\1 \(100%\)/m);
    // Rank 2 (on host 2) kills itself mid-task.
    const dies = await runJob(6, fixture("pool-dies.ts"), [], onCluster([...hosts, "--keep-going"]));
    expect(dies.exitCode, dies.stderr).toBe(137);
    expect(dies.stdout).toMatch(/^results 300, each item once: true, from rank 2 after it died: 0, reran [1-9]\d* \(\d+ in stats\), done 300, lost ranks 2$/m);
    expect(await leftovers(dies)).toEqual({ processes: [], files: [] });
    expect(agents()).toEqual([]);
  });

  it("places ranks from a hostfile, forwards -x variables and tags remote output", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tsmpi-hostfile-"));
    const hostfile = join(dir, "hosts");
    const [a, b, c] = ips();
    writeFileSync(hostfile, `# Open MPI and MPICH forms\n${a} slots=1\n${b}:2   # two slots\n${c} slots=1 max_slots=4\n`);
    const job = await runJob(
      4,
      fixture("env.ts"),
      [],
      onCluster(["--hostfile", hostfile, "-x", "EXPORTED=across hosts", "--tag-output", "-q"], { env: { TSMPI_TEST: "1" } }),
    );
    expect(job.exitCode, job.stderr).toBe(0);
    expect(job.stderr).toBe("");
    const lines = job.stdout.trim().split("\n");
    expect(lines).toHaveLength(4);
    const seen = lines.map((line) => {
      const match = /^\[1,(\d+)\]<stdout>:(.*)$/.exec(line);
      expect(match, line).not.toBeNull();
      const s = JSON.parse(match![2]!) as Record<string, string | number>;
      expect(s.rank).toBe(Number(match![1]));
      return s;
    });
    const byRank = seen.sort((x, y) => Number(x.rank) - Number(y.rank));
    expect(byRank.map((s) => [s.TSMPI_NODE, s.TSMPI_LOCAL_RANK])).toEqual([
      ["0", "0"],
      ["1", "0"],
      ["1", "1"],
      ["2", "0"],
    ]);
    for (const s of byRank) {
      expect(s.EXPORTED).toBe("across hosts");
      expect(s.TSMPI_SIZE).toBe("4");
    }
    expect(await leftovers(job)).toEqual({ processes: [], files: [] });
    rmSync(dir, { recursive: true });
  });

  it("reports a rank that throws on a remote host like a local one and ends every host", async () => {
    const job = await runJob(
      4,
      fixture("fail.ts"),
      ["throw", "3"],
      onCluster([
        "--host",
        ips()
          .map((ip) => `${ip}:2`)
          .join(","),
      ]),
    );
    expect(job.exitCode).toBe(1);
    expect(job.stderr).toContain(`rank 3 failed on ${ips()[1]} with an uncaught exception:\nError: boom from rank 3`);
    expect(job.stderr).toContain("tsmpi: job aborted because rank 3 failed; terminating 3 other ranks");
    expect(await leftovers(job)).toEqual({ processes: [], files: [] });
    expect(agents()).toEqual([]);
  });

  // Both ranks on host 3 in turn; --timeout (status 124) bounds the job, not a timed assertion.
  it.each([4, 5])("ends every rank on every host when rank %i, on host 3, is killed with SIGKILL", async (victim) => {
    const { proc, marker, tmp, pidOf } = await spinning(6, 3);
    await new Promise((r) => setTimeout(r, 200));
    process.kill(pidOf(victim), "SIGKILL");
    const result = await proc;
    expect(result.exitCode, String(result.stderr)).toBe(128 + 9);
    expect(String(result.stderr)).toContain(`rank ${victim} was killed by signal SIGKILL on ${ips()[2]}; terminating 5 other ranks`);
    expect(await leftovers({ marker, tmp })).toEqual({ processes: [], files: [] });
    expect(agents()).toEqual([]);
  });

  it.each([
    [
      "the node agent on the remote host",
      (line: string) => /^\S+\s+\S*node /.test(line.trim()),
      128 + 15,
      "rank [23] was killed by signal SIGTERM on %IP%; terminating 3 other ranks",
    ],
    [
      "the launcher's ssh connection",
      (line: string) => /^\S+\s+ssh /.test(line.trim()),
      255,
      "host %IP% \\(ranks 2, 3\\): lost its connection \\(ssh to %IP% exited with status 255\\)",
    ],
  ])("aborts the whole job when %s is terminated", async (_what, pick, status, message) => {
    const { proc, marker, tmp } = await spinning(4, 2);
    const victim = agents().find(pick);
    expect(victim).toBeDefined();
    process.kill(Number(victim!.trim().split(/\s+/)[0]), "SIGTERM");
    const result = await proc;
    expect(result.exitCode).toBe(status);
    expect(String(result.stderr)).toMatch(new RegExp(message.replace(/%IP%/g, ips()[1]!.replace(/\./g, "\\."))));
    expect(await leftovers({ marker, tmp })).toEqual({ processes: [], files: [] });
    expect(agents()).toEqual([]);
  });

  it("leaves nothing running on any host when the launcher itself is killed with SIGKILL, and the next launcher removes its job directory", async () => {
    const { proc, marker, tmp } = await spinning(6, 3);
    process.kill(proc.pid!, "SIGKILL");
    await proc;
    // Its own ranks die with it (the kernel kills them) and cannot remove its job directory.
    expect((await runJob(1, fixture("env.ts"), [], { env: { TMPDIR: tmp } })).exitCode).toBe(0);
    expect(await leftovers({ marker, tmp })).toEqual({ processes: [], files: [] });
    expect(agents()).toEqual([]);
  });

  it("ends every host's ranks when the launcher gets Ctrl-C", async () => {
    const { proc, marker, tmp } = await spinning(6, 3);
    // `ip netns exec` execs node: the launcher is the process execa started.
    process.kill(proc.pid!, "SIGINT");
    const result = await proc;
    expect(result.exitCode).toBe(130);
    expect(String(result.stderr)).toContain("received SIGINT; terminating 6 ranks");
    expect(await leftovers({ marker, tmp })).toEqual({ processes: [], files: [] });
    expect(agents()).toEqual([]);
  });

  it("prints a hang report for ranks on every host on --timeout", async () => {
    const job = await runJob(3, fixture("deadlock.ts"), [], onCluster(["--host", ips().join(","), "--timeout", "10", "-q"]));
    expect(job.exitCode).toBe(124);
    // Rank 2's barrier, the world's first collective across hosts, first learns every member's
    // host (an allgather: its first message goes to rank 1, then it waits on rank 0), so rank 1
    // holds that message beside rank 0's unmatched one.
    expect(job.stderr).toMatch(/rank 0: waiting in recv\(source rank 1, tag 7\) on the world communicator for [\d.]+ s; no unmatched messages/);
    expect(job.stderr).toMatch(/rank 1: waiting in recv\(source rank 2, tag 7\) on the world communicator for [\d.]+ s; 2 unmatched messages/);
    expect(job.stderr).toMatch(/rank 2: waiting in barrier \(waiting for rank 0\) on the world communicator \(collective traffic\)/);
    expect(await leftovers(job)).toEqual({ processes: [], files: [] });
    expect(agents()).toEqual([]);
  });

  it("fails fast with a clear error when a host is unreachable, and leaves nothing running", async () => {
    const [a] = ips();
    const dead = a!.replace(/\.1$/, ".99");
    const startedAt = Date.now();
    const job = await runJob(3, fixture("spin.ts"), [], onCluster(["--host", `${a}:2,${dead}:1`]));
    expect(Date.now() - startedAt).toBeLessThan(15_000);
    expect(job.exitCode).toBe(255);
    expect(job.stderr).toMatch(
      new RegExp(
        `tsmpi: host ${dead.replace(/\./g, "\\.")} \\(rank 2\\): could not start its ranks \\(ssh to ${dead.replace(/\./g, "\\.")} exited with status 255: .*(No route to host|timed out)`,
      ),
    );
    expect(await leftovers(job)).toEqual({ processes: [], files: [] });
    expect(agents()).toEqual([]);
  });

  it("uses the network that --bind or --iface names on every host, with the login command from TSMPI_RSH_AGENT", async () => {
    const [a, b] = ips();
    const subnet = a!.replace(/\.1$/, ".0/24");
    for (const choice of [
      ["--bind", subnet],
      ["--iface", "eth0"],
    ]) {
      const options = onCluster(["--host", `${a},${b}`, ...choice], { env: { TSMPI_RSH_AGENT: cluster.rshAgent } });
      options.launcherArgs = options.launcherArgs!.slice(2); // no --rsh-agent: the variable says it
      const job = await runJob(2, fixture("p2p.ts"), [], options);
      expect(job.exitCode, job.stderr).toBe(0);
      expect(job.stderr).toContain(`use ${a} (eth0) for tcp`);
      expect(job.stderr).toContain(`use ${b} for tcp`);
      expect(await leftovers(job)).toEqual({ processes: [], files: [] });
    }
  });

  it("names the tcp address only of hosts that run ranks, not of the launcher's host when it runs none", async () => {
    const [, b, c] = ips();
    const job = await runJob(2, fixture("env.ts"), [], onCluster(["--host", `${b},${c}`]));
    expect(job.exitCode, job.stderr).toBe(0);
    expect(linesStarting(job.stderr, "tsmpi: ranks on ").map((line) => line.replace(/ \(.*\)/, ""))).toEqual([
      `tsmpi: ranks on ${b} use ${b} for tcp`,
      `tsmpi: ranks on ${c} use ${c} for tcp`,
    ]);
    expect(await leftovers(job)).toEqual({ processes: [], files: [] });
  });

  it("says so when tsmpi is missing on a remote host", async () => {
    const job = await runJob(2, fixture("spin.ts"), [], onCluster(["--host", ips().slice(1).join(","), "--prefix", "/opt/no-tsmpi-here"]));
    expect(job.exitCode).toBe(255);
    expect(job.stderr).toMatch(
      /exited with status 127: tsmpi: no tsmpi at \/opt\/no-tsmpi-here\/dist\/launcher\/agent\.js on .*; install tsmpi at the same path or give --prefix/,
    );
    expect(await leftovers(job)).toEqual({ processes: [], files: [] });
  });

  it("says so when node is missing on a remote host", async () => {
    const job = await runJob(2, fixture("spin.ts"), [], onCluster(["--host", ips().slice(1).join(","), "--remote-node", "/opt/no-such-node/bin/node"]));
    expect(job.exitCode).toBe(255);
    expect(job.stderr).toMatch(
      /exited with status 127: (.* \| )?tsmpi: no node at \/opt\/no-such-node\/bin\/node on .*; install Node.js at the same path or give --remote-node/,
    );
    expect(await leftovers(job)).toEqual({ processes: [], files: [] });
  });
});

describe("hosts from a batch system's allocation or the Kubernetes MPI Operator's hostfile (namespace hosts)", () => {
  /** [TSMPI_NODE, TSMPI_LOCAL_RANK] of each rank of env.ts, by rank. */
  const placement = (stdout: string) =>
    stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as Record<string, string | number>)
      .sort((x, y) => Number(x.rank) - Number(y.rank))
      .map((s) => [s.TSMPI_NODE, s.TSMPI_LOCAL_RANK]);
  const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  /** Node agents still running once they have had a moment to see their connection close (one cut off before it was ready has to start first). */
  const agentsLeft = async () => {
    for (let i = 0; i < 100 && agents().length > 0; i++) await new Promise((resolve) => setTimeout(resolve, 50));
    return agents();
  };

  it.each([
    [
      "a PBS node file (one line per slot)",
      (a: string, b: string, c: string, file: string) => (writeFileSync(file, `${a}\n${b}\n${b}\n${c}\n`), { PBS_NODEFILE: file }),
    ],
    ["LSF's LSB_MCPU_HOSTS", (a: string, b: string, c: string) => ({ LSB_MCPU_HOSTS: `${a} 1 ${b} 2 ${c} 1` })],
  ])("places ranks on the hosts and slots of %s, starting the other hosts' over ssh", async (_what, allocate) => {
    const dir = mkdtempSync(join(tmpdir(), "tsmpi-allocation-"));
    const [a, b, c] = ips();
    const job = await runJob(4, fixture("env.ts"), [], onCluster(["-q"], { env: allocate(a!, b!, c!, join(dir, "nodefile")) }));
    expect(job.exitCode, job.stderr).toBe(0);
    expect(placement(job.stdout)).toEqual([
      ["0", "0"],
      ["1", "0"],
      ["1", "1"],
      ["2", "0"],
    ]);
    expect(await leftovers(job)).toEqual({ processes: [], files: [] });
    expect(await agentsLeft()).toEqual([]);
    rmSync(dir, { recursive: true });
  });

  it("runs from the operator's hostfile while a worker's sshd starts 3 s late, trying it again under --launch-retry", async () => {
    const [, b, c] = ips();
    const dir = mkdtempSync(join(tmpdir(), "tsmpi-operator-"));
    const hostfile = join(dir, "hostfile");
    // As the MPI Operator (v2beta1) writes /etc/mpi/hostfile: the workers only, one `host slots=N` line each.
    writeFileSync(hostfile, `${b} slots=2\n${c} slots=2\n`);
    cluster.stopSshd(2);
    let restarted = false;
    const late = setTimeout(() => ((restarted = true), cluster.startSshd(2)), 3000);
    try {
      const startedAt = Date.now();
      const job = await runJob(4, fixture("p2p.ts"), [], onCluster(["--hostfile", hostfile, "--launch-retry", "30"]));
      expect(job.exitCode, job.stderr).toBe(0);
      expect(Date.now() - startedAt).toBeGreaterThanOrEqual(3000);
      expect(job.stdout.match(/^ok /gm)).toHaveLength(P2P_CHECKS);
      // Said once, however many attempts it took.
      expect(linesStarting(job.stderr, `tsmpi: host ${c}: `)).toHaveLength(1);
      expect(job.stderr).toMatch(
        new RegExp(
          `^tsmpi: host ${escaped(c!)}: ssh to ${escaped(c!)} exited with status 255: .*Connection refused.*; --launch-retry: trying again every 1 s for up to 30 s$`,
          "m",
        ),
      );
      expect(await leftovers(job)).toEqual({ processes: [], files: [] });
      expect(await agentsLeft()).toEqual([]);
    } finally {
      clearTimeout(late);
      if (!restarted) cluster.startSshd(2);
      await waitForSsh(cluster);
      rmSync(dir, { recursive: true });
    }
  });

  it("gives up on a worker whose sshd never comes up once --launch-retry has passed, and says how long it tried", async () => {
    const [, b, c] = ips();
    cluster.stopSshd(2);
    try {
      const startedAt = Date.now();
      const job = await runJob(2, fixture("env.ts"), [], onCluster(["--host", `${b},${c}`, "--launch-retry", "5"]));
      const took = Date.now() - startedAt;
      expect(job.exitCode).toBe(255);
      expect(job.stderr).toMatch(
        new RegExp(
          `tsmpi: host ${escaped(c!)} \\(rank 1\\): could not start its ranks \\(ssh to ${escaped(c!)} exited with status 255: .*Connection refused; tried \\d+ times in [\\d.]+ s under --launch-retry\\)`,
        ),
      );
      expect(took).toBeGreaterThanOrEqual(2000);
      expect(took).toBeLessThan(25_000);
      expect(await leftovers(job)).toEqual({ processes: [], files: [] });
      expect(await agentsLeft()).toEqual([]);
    } finally {
      cluster.startSshd(2);
      await waitForSsh(cluster);
    }
  });
});
