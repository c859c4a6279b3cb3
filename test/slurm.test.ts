/**
 * tsmpi inside a real Slurm allocation (single node: munged, slurmctld and slurmd started by
 * the test): hosts and slots come from the allocation and ranks are started with srun, so
 * they run inside Slurm job steps; and direct launch, where srun starts the ranks itself
 * (`srun --mpi=pmi2 -n N tsmpi --direct`). Needs root and Debian's slurm-wlm + munge (as in CI).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execa, execaSync } from "execa";
import { BIN, fixture, leftovers, linesStarting, survivors, P2P_CHECKS } from "./helpers.js";
import { startSlurm, type SlurmCluster } from "./slurm.js";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomUUID } from "node:crypto";

let slurm: SlurmCluster;
beforeAll(async () => {
  slurm = await startSlurm();
}, 30_000);
afterAll(() => slurm?.stop());

/** `salloc <sallocArgs> [srun <srunArgs>] node tsmpi <args>`: a command inside a fresh allocation, without waiting. */
function startInAllocation(sallocArgs: string[], args: string[], srunArgs?: string[]) {
  const marker = `--tsmpi-test-marker=${randomUUID()}`;
  const tmp = mkdtempSync(join(tmpdir(), "tsmpi-test-"));
  const srun = srunArgs === undefined ? [] : ["srun", ...srunArgs];
  const proc = execa("salloc", ["--quiet", ...sallocArgs, ...srun, "node", ...args, marker], {
    reject: false,
    env: { ...slurm.env, TMPDIR: tmp },
    timeout: 60_000,
    killSignal: "SIGKILL",
  });
  return { proc, marker, tmp };
}

/** `salloc <sallocArgs> [srun <srunArgs>] tsmpi <args>`, run to completion. */
async function inAllocation(sallocArgs: string[], args: string[], srunArgs?: string[], script: string[] = [BIN, "-q"]) {
  const { proc, marker, tmp } = startInAllocation(sallocArgs, [...script, ...args], srunArgs);
  const result = await proc;
  return { exitCode: result.exitCode, stdout: String(result.stdout), stderr: String(result.stderr), marker, tmp };
}

/** Ids (`job.step`) of the job steps Slurm runs now, one per line. */
const steps = () => String(execaSync("squeue", ["-h", "-s", "-o", "%i"], { env: slurm.env }).stdout).trim();

describe("inside a Slurm allocation", () => {
  it("takes the ranks from the allocation and starts them in Slurm job steps with srun", async () => {
    const job = await inAllocation(["-n", "4"], [fixture("env.ts")]);
    expect(job.exitCode, job.stderr).toBe(0);
    const seen = job.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as Record<string, string | number>);
    expect(seen.map((s) => s.rank).sort()).toEqual([0, 1, 2, 3]);
    for (const s of seen) {
      expect(s.size).toBe(4);
      expect(s.SLURM_STEP_ID).toMatch(/^\d+$/); // set by srun, not by salloc
    }
    expect(await leftovers(job)).toEqual({ processes: [], files: [] });
  });

  it("runs the point-to-point suite with -n 3 in a 3-task allocation", async () => {
    const job = await inAllocation(["-n", "3"], ["-n", "3", fixture("p2p.ts")]);
    expect(job.exitCode, job.stderr).toBe(0);
    expect(job.stdout.match(/^ok /gm)).toHaveLength(P2P_CHECKS);
    expect(await leftovers(job)).toEqual({ processes: [], files: [] });
  });

  it("runs the task pool in a 4-task allocation, ranks in Slurm steps, with its progress line", async () => {
    const job = await inAllocation(["-n", "4"], [fixture("pool.ts")]);
    expect(job.exitCode, job.stderr).toBe(0);
    expect(job.stdout.match(/^ok /gm)).toHaveLength(8);
    expect(job.stderr).toMatch(/^tsmpi: tasks (\d+)\/\1 \(100%\)/m);
    expect(await leftovers(job)).toEqual({ processes: [], files: [] });
  });

  it("aborts the job when a rank fails and leaves no step or process behind", async () => {
    const job = await inAllocation(["-n", "3"], [fixture("fail.ts"), "throw", "2"]);
    expect(job.exitCode).toBe(1);
    expect(job.stderr).toContain("with an uncaught exception:\nError: boom from rank 2");
    expect(survivors(job.marker)).toEqual([]);
    for (let i = 0; i < 20 && steps() !== ""; i++) await new Promise((r) => setTimeout(r, 100));
    expect(steps()).toBe("");
    expect(await leftovers(job)).toEqual({ processes: [], files: [] });
  });
});

describe("direct launch: srun starts the ranks (srun --mpi=pmi2 -n N tsmpi --direct)", () => {
  it("runs one 4-rank job in one Slurm step, with more tasks than the allocation's CPUs under -O", async () => {
    // 2 CPUs allocated, 4 tasks: srun needs -O (--overcommit), as on a node with fewer CPUs than tasks.
    const { proc, marker, tmp } = startInAllocation(["-n", "2"], [BIN, "--direct", fixture("step.ts")], ["--mpi=pmi2", "-O", "-n", "4"]);
    let out = "";
    let ended = false;
    proc.stdout!.on("data", (chunk: Buffer) => (out += chunk));
    proc.on("exit", () => (ended = true));
    try {
      for (const deadline = Date.now() + 30_000; (out.match(/^\{/gm) ?? []).length < 4 && !ended && Date.now() < deadline;)
        await new Promise((r) => setTimeout(r, 50));
      const seen = out
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line) as Record<string, string | number>);
      expect(seen.map((s) => s.rank).sort()).toEqual([0, 1, 2, 3]);
      const [job] = seen.map((s) => s.SLURM_JOB_ID);
      for (const s of seen) {
        expect(s).toMatchObject({ size: 4, SLURM_PROCID: String(s.rank), SLURM_JOB_ID: job, SLURM_STEP_ID: "0", TSMPI_JOB_ID: `slurm-${job}.0` });
      }
      // While it runs, Slurm shows one step of the job, holding all 4 tasks.
      expect(steps()).toBe(`${job}.0`);
      expect(String(execaSync("scontrol", ["show", "step", `${job}.0`], { env: slurm.env }).stdout)).toMatch(/\bTasks=4\b/);
    } finally {
      proc.stdin!.end("go\n"); // rank 0 reads it: the job finishes
    }
    const result = await proc;
    expect(result.exitCode, String(result.stderr)).toBe(0);
    expect(linesStarting(String(result.stdout), "rank ")).toEqual([0, 1, 2, 3].map((r) => `rank ${r}: allreduce over 4 ranks`));
    expect(await leftovers({ marker, tmp })).toEqual({ processes: [], files: [] });
  });

  it.each([
    ["over tcp, with the job's CURVE keys shared through PMI", ["--transport", "tcp"]],
    ["over shared memory (the default)", []],
  ])("passes the point-to-point suite %s", async (_how, transport) => {
    const job = await inAllocation(["-n", "3"], ["--direct", ...transport, fixture("p2p.ts")], ["--mpi=pmi2", "-n", "3"]);
    expect(job.exitCode, job.stderr).toBe(0);
    expect(job.stdout.match(/^ok /gm)).toHaveLength(P2P_CHECKS);
    expect(job.stdout.match(/^rank \d done$/gm)).toHaveLength(3);
    expect(await leftovers(job)).toEqual({ processes: [], files: [] });
  });

  it("runs the task pool under direct launch, with its progress line", async () => {
    const job = await inAllocation(["-n", "3"], ["--direct", fixture("pool.ts")], ["--mpi=pmi2", "-n", "3"]);
    expect(job.exitCode, job.stderr).toBe(0);
    expect(job.stdout.match(/^ok /gm)).toHaveLength(8);
    expect(job.stderr).toMatch(/^tsmpi: tasks (\d+)\/\1 \(100%\)/m);
    expect(await leftovers(job)).toEqual({ processes: [], files: [] });
  });

  it("ends the whole step when a rank fails, says which and why, and leaves nothing behind", async () => {
    const job = await inAllocation(["-n", "3"], ["--direct", fixture("fail.ts"), "throw", "2"], ["--mpi=pmi2", "-n", "3"]);
    expect(job.exitCode).not.toBe(0);
    expect(job.stderr).toContain("tsmpi: rank 2 failed with an uncaught exception:\nError: boom from rank 2");
    expect(job.stderr).toMatch(/tsmpi: job aborted because rank 2 failed; ending Slurm step \d+\.0\n/);
    expect(survivors(job.marker)).toEqual([]);
    for (let i = 0; i < 20 && steps() !== ""; i++) await new Promise((r) => setTimeout(r, 100));
    expect(steps()).toBe("");
    expect(await leftovers(job)).toEqual({ processes: [], files: [] });
  });

  it.each([
    [
      "a launcher started by srun as several tasks without --direct",
      [BIN, "-q", fixture("env.ts")],
      ["-n", "3"],
      /^tsmpi: srun started this launcher as task 0 of 3 of Slurm step \d+\.0, so each task would run a separate job\. To make the 3 tasks the ranks of one job, add --direct: srun --mpi=pmi2 -n 3 tsmpi --direct \S*env\.ts; to let tsmpi start the ranks, run it once inside the allocation: tsmpi -n 3 \S*env\.ts$/m,
    ],
    [
      "a script started by srun as several tasks without tsmpi",
      [fixture("plain.mjs")],
      ["-n", "2"],
      /^InitError: init on task 0 of Slurm step \d+\.0: srun started 2 tasks without tsmpi, so each would be a world of size 1; make them one job with srun --mpi=pmi2 -n 2 tsmpi --direct \S*plain\.mjs/m,
    ],
    [
      "--direct in a step without PMI",
      [BIN, "--direct", fixture("env.ts")],
      ["-n", "2"],
      /^tsmpi: --direct: srun gave this task no PMI \(PMI_FD is not set\): start the step with srun --mpi=pmi2 \(or set MpiDefault=pmi2 in slurm\.conf\)/m,
    ],
  ])("stops %s with a message that says what to run instead", async (_what, command, srunArgs, message) => {
    const job = await inAllocation(["-n", "3"], [], srunArgs, command);
    expect(job.exitCode, job.stderr).toBe(1);
    expect(job.stdout).toBe("");
    expect(job.stderr).toMatch(message);
    if (command.includes("-q")) expect(job.stderr.match(/separate job/g)).toHaveLength(1); // said once, not once per task
    expect(await leftovers(job)).toEqual({ processes: [], files: [] });
  });
});
