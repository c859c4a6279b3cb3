// The collective variants of issue 31 (test/fixtures/variants.ts) at n = 1…5 on shared memory
// and ZeroMQ, and at n = 2 and 5 over tcp: in-place scan/exscan/reduceScatter, REPLACE/NO_OP,
// reduceLocal, complex numbers and booleans, displacements in the v-collectives, alltoallw.
import { describe, expect, it } from "vitest";
import { fixture, leftovers, runJob } from "./helpers.js";

const CHECKS = 9;

describe("collective variants", () => {
  // tcp (every pair over tcp, even on one host) where there are pairs, at a small and the largest size.
  for (const [transport, sizes] of [
    ["shm", [1, 2, 3, 4, 5]],
    ["zmq", [1, 2, 3, 4, 5]],
    ["tcp", [2, 5]],
  ] as const) {
    it.each(sizes)(`pass at -n %i over --transport ${transport} against serial results`, async (np) => {
      const job = await runJob(np, fixture("variants.ts"), [], { timeout: 120_000, launcherArgs: ["--transport", transport] });
      expect(job.exitCode, job.stderr).toBe(0);
      expect(job.stdout.match(/^ok /gm)).toHaveLength(CHECKS);
      expect(await leftovers(job)).toEqual({ processes: [], files: [] });
    });
  }
});
