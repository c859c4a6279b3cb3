import { describe, expect, it } from "vitest";
import { fixture, leftovers, runJob } from "./helpers.js";

const CHECKS = 14;

describe("collectives", () => {
  it.each([
    [1, "auto"],
    [2, "auto"],
    [3, "auto"],
    [4, "auto"],
    [5, "shm"],
    [8, "shm"],
    [3, "zmq"],
  ])("pass the whole suite at -n %i over --transport %s against serial results", async (np, transport) => {
    const job = await runJob(np, fixture("collectives.ts"), [], { timeout: 170_000, launcherArgs: ["--transport", transport] });
    expect(job.exitCode, job.stderr).toBe(0);
    expect(job.stdout.match(/^ok /gm)).toHaveLength(CHECKS);
    expect(await leftovers(job)).toEqual({ processes: [], files: [] });
  });

  it.each([1, 2, 3, 5])("take plain functions and commutative user ops as ops, and refuse anything else, at -n %i", async (np) => {
    const job = await runJob(np, fixture("user-ops.ts"));
    expect(job.exitCode, job.stderr).toBe(0);
    expect(job.stdout.match(/^ok /gm)).toHaveLength(3);
    expect(await leftovers(job)).toEqual({ processes: [], files: [] });
  });
});
