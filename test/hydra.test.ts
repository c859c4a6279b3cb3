/**
 * Direct launch under MPICH's Hydra, a PMI process manager other than Slurm: `mpiexec.hydra -n
 * N tsmpi --direct app.ts` makes each task Hydra starts one rank, over the PMI socket Hydra
 * hands each task (PMI_FD) or Hydra's PMI port (`-pmi-port`: PMI_PORT, PMI_ID). Needs Debian's
 * mpich (as in CI), whose Hydra is called by its own name: `mpirun` and `mpiexec` stay Open MPI's.
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { execa } from "execa";
import { BIN, fixture, leftovers, runJob, P2P_CHECKS } from "./helpers.js";

const HYDRA = "mpiexec.hydra";

/** `mpiexec.hydra <hydraArgs> node <command...>`, run to completion; every task's command line carries a marker. */
async function underHydra(hydraArgs: string[], command: string[], env: Record<string, string> = {}) {
  const marker = `--tsmpi-test-marker=${randomUUID()}`;
  const tmp = mkdtempSync(join(tmpdir(), "tsmpi-test-"));
  const result = await execa(HYDRA, [...hydraArgs, "node", ...command, marker], {
    reject: false,
    env: { TMPDIR: tmp, ...env },
    timeout: 60_000,
    killSignal: "SIGKILL",
  });
  return { exitCode: result.exitCode, stdout: String(result.stdout), stderr: String(result.stderr), marker, tmp };
}

describe("direct launch under MPICH's Hydra (mpiexec.hydra -n N tsmpi --direct)", () => {
  it.each([
    ["over the PMI socket Hydra hands each task (PMI_FD)", [], []],
    ["over Hydra's PMI port (-pmi-port: PMI_PORT and PMI_ID)", ["-pmi-port"], []],
    ["over tcp, with the job's CURVE keys shared through PMI", [], ["--transport", "tcp"]],
  ])("makes 3 tasks one job that passes the point-to-point suite %s", async (_how, hydraArgs, tsmpiArgs) => {
    const job = await underHydra([...hydraArgs, "-n", "3"], [BIN, "--direct", ...tsmpiArgs, fixture("p2p.ts")]);
    expect(job.exitCode, job.stderr).toBe(0);
    expect(job.stdout.match(/^ok /gm)).toHaveLength(P2P_CHECKS);
    expect(job.stdout.match(/^rank \d done$/gm)).toHaveLength(3);
    expect(job.stderr).toBe("");
    expect(await leftovers(job)).toEqual({ processes: [], files: [] });
  });

  it("gives rank PMI_RANK of PMI_SIZE its place on the host and one job id for all", async () => {
    const job = await underHydra(["-n", "3"], [BIN, "--direct", fixture("env.ts")]);
    expect(job.exitCode, job.stderr).toBe(0);
    const seen = job.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as Record<string, string | number>)
      .sort((x, y) => Number(x.rank) - Number(y.rank));
    expect(seen.map((s) => [s.rank, s.size, s.TSMPI_LOCAL_RANK, s.TSMPI_NODE])).toEqual([
      [0, 3, "0", "0"],
      [1, 3, "1", "0"],
      [2, 3, "2", "0"],
    ]);
    expect(new Set(seen.map((s) => s.TSMPI_JOB_ID)).size).toBe(1);
    expect(seen[0]!.TSMPI_JOB_ID).toMatch(/^pmi-\S+$/);
    expect(await leftovers(job)).toEqual({ processes: [], files: [] });
  });

  it("ends the whole job when a rank fails, says which and why, and the next job on the host removes what the killed tasks left", async () => {
    const job = await underHydra(["-n", "3"], [BIN, "--direct", fixture("fail.ts"), "throw", "2"]);
    expect(job.exitCode).toBe(1);
    expect(job.stderr).toContain("tsmpi: rank 2 failed with an uncaught exception:\nError: boom from rank 2");
    expect(job.stderr).toMatch(/^tsmpi: job aborted because rank 2 failed; ending the job \(PMI abort\)$/m);
    // Hydra ends the other tasks with SIGKILL (their ranks die with them), so their job
    // directories are left to the next tsmpi job on the host, as a killed launcher's are.
    expect((await runJob(1, fixture("env.ts"), [], { env: { TMPDIR: job.tmp } })).exitCode).toBe(0);
    expect(await leftovers(job)).toEqual({ processes: [], files: [] });
  });

  it.each([
    [
      "a launcher started by mpiexec as several tasks without --direct",
      [BIN, "-q", fixture("env.ts")],
      /^tsmpi: mpiexec started this launcher as task 0 of 2 \(PMI_RANK 0, PMI_SIZE 2\), so each task would run a separate job\. To make the 2 tasks the ranks of one job, add --direct: mpiexec -n 2 tsmpi --direct \S*env\.ts; to let tsmpi start the ranks, run it once: tsmpi -n 2 \S*env\.ts$/m,
      1,
    ],
    [
      "a script started by mpiexec as several tasks without tsmpi",
      [fixture("plain.mjs")],
      /^InitError: init on task 0 of 2 \(PMI_RANK, PMI_SIZE\): a process manager started 2 tasks without tsmpi, so each would be a world of size 1; make them one job with mpiexec -n 2 tsmpi --direct \S*plain\.mjs/m,
      2,
    ],
    [
      "--direct with -n other than the number of tasks",
      [BIN, "-n", "3", "--direct", fixture("env.ts")],
      /^tsmpi: --direct: -n 3 but mpiexec started 2 tasks, and each task is one rank; drop -n or start 3 tasks/m,
      2,
    ],
  ])("stops %s with a message that says what to run instead", async (_what, command, message, times) => {
    const job = await underHydra(["-n", "2"], command);
    expect(job.exitCode, job.stderr).toBe(1);
    expect(job.stdout).toBe("");
    expect(job.stderr).toMatch(message);
    expect(job.stderr.match(/^(tsmpi|InitError): /gm)).toHaveLength(times); // the launcher says it once, not once per task
    expect(await leftovers(job)).toEqual({ processes: [], files: [] });
  });
});

describe("--direct without a PMI process manager", () => {
  it.each([
    [
      "no process manager at all",
      {},
      "tsmpi: --direct: no process manager started this process with PMI (neither PMI_FD nor PMI_PORT is set); start each rank under one: srun --mpi=pmi2 -n N tsmpi --direct app.ts, mpiexec -n N tsmpi --direct app.ts (MPICH's Hydra) or flux run -n N tsmpi --direct app.ts; or let tsmpi start the ranks: tsmpi -n N app.ts (see 'tsmpi --help')",
    ],
    [
      "a PMIx process manager (as Open MPI's mpirun sets it)",
      { PMIX_RANK: "0", OMPI_COMM_WORLD_RANK: "0" },
      "tsmpi: --direct: a PMIx process manager started this task (Open MPI's mpirun or prterun: PMIX_RANK is set), and tsmpi speaks PMI-1, not PMIx; start it with MPICH's mpiexec (mpiexec.hydra), srun --mpi=pmi2 or flux run, or let tsmpi start the ranks: tsmpi -n N app.ts (see 'tsmpi --help')",
    ],
    [
      "a PMI socket number without rank and size",
      { PMI_FD: "9" },
      "tsmpi: --direct: PMI_FD=\"9\" needs a socket number with PMI_RANK and PMI_SIZE (got undefined and undefined); start the job with a PMI-1 process manager, e.g. mpiexec -n N tsmpi --direct app.ts (see 'tsmpi --help')",
    ],
  ])("says what is missing under %s", async (_what, env, message) => {
    const result = await execa("node", [BIN, "--direct", fixture("env.ts")], { reject: false, env, timeout: 30_000 });
    expect(result.exitCode).toBe(1);
    expect(String(result.stderr)).toBe(message);
  });
});
