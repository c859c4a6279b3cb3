import { describe, expect, it } from "vitest";
import { fixture, leftovers, runJob } from "./helpers.js";

describe("large messages", () => {
  it("carries a single 3 GiB Float64Array intact", async () => {
    const job = await runJob(2, fixture("large.ts"), [], { timeout: 170_000 });
    expect(job.exitCode, job.stderr).toBe(0);
    expect(JSON.parse(job.stdout)).toEqual({ bytes: 3 * 2 ** 30, bad: 0, type: "Float64Array", length: (3 * 2 ** 30) / 8 });
    expect(await leftovers(job)).toEqual({ processes: [], files: [] });
  });
});
