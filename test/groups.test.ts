// Communicators and groups (issue 31): COMM_SELF, compare, idup, Group, create, createGroup and
// splitType in real jobs at n = 1…5 over every transport, against set arithmetic done in the
// fixture on plain arrays.
import { describe, expect, it } from "vitest";
import { fixture, leftovers, runJob } from "./helpers.js";

const CHECKS = 7;

describe("communicators and groups", () => {
  it.each([
    [1, "auto"],
    [2, "shm"],
    [3, "zmq"],
    [4, "auto"],
    [5, "tcp"],
  ])("pass the groups suite at -n %i over --transport %s", async (np, transport) => {
    const job = await runJob(np, fixture("groups.ts"), [], { timeout: 120_000, launcherArgs: ["--transport", transport] });
    expect(job.exitCode, job.stderr).toBe(0);
    expect(job.stdout.match(/^ok /gm)).toHaveLength(CHECKS);
    expect(await leftovers(job)).toEqual({ processes: [], files: [] });
  });
});
