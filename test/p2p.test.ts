import { describe, expect, it } from "vitest";
import { fixture, leftovers, runJob } from "./helpers.js";

const CHECKS = 14;

describe("point-to-point", () => {
  it.each([
    [1, "auto"],
    [2, "auto"],
    [3, "auto"],
    [4, "auto"],
    [2, "zmq"],
    [3, "zmq"],
  ])("passes the whole suite at -n %i over --transport %s", async (np, transport) => {
    const job = await runJob(np, fixture("p2p.ts"), [], { launcherArgs: ["--transport", transport] });
    expect(job.exitCode, job.stderr).toBe(0);
    expect(job.stdout.match(/^ok /gm)).toHaveLength(CHECKS);
    expect(job.stdout.match(/^rank \d+ done$/gm)).toHaveLength(np);
    expect(await leftovers(job)).toEqual({ processes: [], files: [] });
  });
});
