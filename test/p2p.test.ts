import { describe, expect, it } from "vitest";
import { fixture, leftovers, runJob } from "./helpers.js";

const CHECKS = 14;

describe("point-to-point", () => {
  it.each([1, 2, 3, 4])("passes the whole suite at -n %i", async (np) => {
    const job = await runJob(np, fixture("p2p.ts"));
    expect(job.exitCode, job.stderr).toBe(0);
    expect(job.stdout.match(/^ok /gm)).toHaveLength(CHECKS);
    expect(job.stdout.match(/^rank \d+ done$/gm)).toHaveLength(np);
    expect(await leftovers(job)).toEqual({ processes: [], files: [] });
  });
});
