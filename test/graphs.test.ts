// Topologies (issue 31): Cartesian sub and map, graph and distributed-graph communicators, and
// the neighbourhood collectives (v forms too) on each, at n = 1…5 over every transport.
import { describe, expect, it } from "vitest";
import { fixture, leftovers, runJob } from "./helpers.js";

const CHECKS = 5;

describe("graph topologies and Cartesian sub-grids", () => {
  it.each([
    [1, "auto"],
    [2, "zmq"],
    [3, "shm"],
    [4, "tcp"],
    [5, "auto"],
  ])("pass the topology suite at -n %i over --transport %s against the edge lists", async (np, transport) => {
    const job = await runJob(np, fixture("graphs.ts"), [], { timeout: 120_000, launcherArgs: ["--transport", transport] });
    expect(job.exitCode, job.stderr).toBe(0);
    expect(job.stdout.match(/^ok /gm)).toHaveLength(CHECKS);
    expect(await leftovers(job)).toEqual({ processes: [], files: [] });
  });
});
