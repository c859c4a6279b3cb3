// Communicators' shared memory over their lifetime (test/fixtures/lifetimes.ts): free() and
// `await using` let go of it, a freed communicator refuses every call, the backstop frees
// garbage, 1 000 × (dup + collective + free) at n = 4 end with nothing more mapped than one
// communicator, and the stage never passes 64 MiB (large collectives go in rounds).
import { describe, expect, it } from "vitest";
import { fixture, leftovers, runJob } from "./helpers.js";

const CHECKS = 7;

describe("communicator lifetimes", () => {
  it.each([
    [1, 100],
    [2, 200],
    [3, 100],
    [4, 1000],
  ])("free, await using, the backstop and the bounded stage pass their checks at -n %i (%i dup + free rounds)", async (np, rounds) => {
    const job = await runJob(np, fixture("lifetimes.ts"), [String(rounds)], { timeout: 170_000 });
    expect(job.exitCode, job.stderr).toBe(0);
    expect(job.stdout.match(/^ok /gm)).toHaveLength(CHECKS);
    expect(await leftovers(job)).toEqual({ processes: [], files: [] });
  });
});
