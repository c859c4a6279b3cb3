// The one-host collectives where they change path between the stage and single copy
// (test/fixtures/stage-threshold.ts), at world sizes 1 to 5, with single copy and without.
import { describe, expect, it } from "vitest";
import { fixture, leftovers, runJob } from "./helpers.js";

describe("one-host collectives around the single-copy threshold", () => {
  it.each([
    [1, "1"],
    [2, "1"],
    [3, "0"],
    [5, "1"],
  ])("alltoallv, allgatherv and bcast agree with the serial results at -n %i (single copy: %s)", async (np, single) => {
    const job = await runJob(np, fixture("stage-threshold.ts"), [], { timeout: 120_000, launcherArgs: ["-x", `TSMPI_SINGLE_COPY=${single}`] });
    expect(job.exitCode, job.stderr).toBe(0);
    expect(job.stdout.match(/^ok /gm)).toHaveLength(6);
    expect(await leftovers(job)).toEqual({ processes: [], files: [] });
  });
});
