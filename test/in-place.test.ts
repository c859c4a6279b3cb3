// The randomized property of test/fixtures/in-place.ts (fast-check: calls × sizes around every
// threshold × into apart, exactly in place, or overlapping) on every transport at n = 1…5. The
// seed changes every run and is in the test's title, so a failure can be replayed:
// `npx tsmpi -n 3 test/fixtures/in-place.ts <seed> 40`.
import { describe, expect, it } from "vitest";
import { fixture, leftovers, runJob } from "./helpers.js";

const SEED = Number(process.env.TSMPI_TEST_SEED ?? Math.floor(Math.random() * 2 ** 31));
const CASES = 40;
const TRANSPORTS = [
  { name: "shared memory", args: [] },
  { name: "shared memory without single copy", args: ["-x", "TSMPI_SINGLE_COPY=0"] },
  { name: "ZeroMQ", args: ["--transport", "zmq"] },
];

describe(`no call that takes into returns a wrong result (seed ${SEED})`, () => {
  for (const { name, args } of TRANSPORTS) {
    it.each([1, 2, 3, 4, 5])(`over ${name} at -n %i`, async (np) => {
      const job = await runJob(np, fixture("in-place.ts"), [String(SEED + np), String(CASES)], { timeout: 150_000, launcherArgs: args });
      expect(job.exitCode, job.stderr).toBe(0);
      expect(job.stdout.trim()).toBe(`ok ${CASES}`);
      expect(await leftovers(job)).toEqual({ processes: [], files: [] });
    });
  }
});
