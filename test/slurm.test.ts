/**
 * tsmpi inside a real Slurm allocation (single node: munged, slurmctld and slurmd started by
 * the test): hosts and slots come from the allocation and ranks are started with srun, so
 * they run inside Slurm job steps. Needs root and Debian's slurm-wlm + munge (as in CI).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execa, execaSync } from "execa";
import { BIN, fixture, leftovers, survivors } from "./helpers.js";
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

/** `salloc <sallocArgs> tsmpi <args>`: the launcher runs inside a fresh allocation. */
async function inAllocation(sallocArgs: string[], args: string[]) {
  const marker = `--tsmpi-test-marker=${randomUUID()}`;
  const tmp = mkdtempSync(join(tmpdir(), "tsmpi-test-"));
  const result = await execa("salloc", ["--quiet", ...sallocArgs, "node", BIN, "-q", ...args, marker], {
    reject: false,
    env: { ...slurm.env, TMPDIR: tmp },
    timeout: 60_000,
    killSignal: "SIGKILL",
  });
  return { exitCode: result.exitCode, stdout: String(result.stdout), stderr: String(result.stderr), marker, tmp };
}

const steps = () => String(execaSync("squeue", ["-h", "-s"], { env: slurm.env }).stdout).trim();

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
    expect(job.stdout.match(/^ok /gm)).toHaveLength(14);
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
