import { describe, expect, it } from "vitest";
import { fixture, leftovers, runJob } from "./helpers.js";

const CHECKS = 9;

describe("into: results in the caller's arrays", () => {
  it.each([
    [1, "auto"],
    [2, "auto"],
    [3, "auto"],
    [4, "auto"],
    [3, "zmq"],
  ])("every call that takes into passes its checks at -n %i with --transport %s", async (np, transport) => {
    const job = await runJob(np, fixture("into.ts"), [], { timeout: 120_000, launcherArgs: ["--transport", transport] });
    expect(job.exitCode, job.stderr).toBe(0);
    expect(job.stdout.match(/^ok /gm)).toHaveLength(CHECKS);
    expect(await leftovers(job)).toEqual({ processes: [], files: [] });
  });
});
