import { describe, expect, it } from "vitest";
import { fixture, leftovers, runJob } from "./helpers.js";

describe("collectives on the shared-memory board", () => {
  it.each([
    [2, "auto", "yes"],
    [3, "shm", "yes"],
    [4, "auto", "yes"],
    [3, "zmq", "no"],
  ])("agree with serial results at -n %i over --transport %s (board mapped: %s)", async (np, transport, mapped) => {
    const job = await runJob(np, fixture("board.ts"), [], { timeout: 120_000, launcherArgs: ["--transport", transport] });
    expect(job.exitCode, job.stderr).toBe(0);
    expect(job.stdout.match(/^ok /gm)).toHaveLength(11);
    expect(job.stdout).toContain(`board mapped: ${mapped}, stage mapped: ${mapped}`);
    expect(await leftovers(job)).toEqual({ processes: [], files: [] });
  });
});
