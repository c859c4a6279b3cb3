import { describe, expect, it } from "vitest";
import { fixture, leftovers, runJob } from "./helpers.js";

const CHECKS = 14;

describe("collectives", () => {
  it.each([1, 2, 3, 4, 5, 8])("pass the whole suite at -n %i against serial results", async (np) => {
    const job = await runJob(np, fixture("collectives.ts"), [], { timeout: 170_000 });
    expect(job.exitCode, job.stderr).toBe(0);
    expect(job.stdout.match(/^ok /gm)).toHaveLength(CHECKS);
    expect(await leftovers(job)).toEqual({ processes: [], files: [] });
  });
});
