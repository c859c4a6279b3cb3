// Steady-state loops with `into` allocate nothing that survives, on shared memory and ZeroMQ.
// Bounds, per rank, between two collected heaps around 1000 iterations (after 1000 of warm-up):
// - external and arrayBuffers grow by less than 1 MiB: a quarter of one 4 MiB message, so a
//   loop that kept even one received message in four would fail; what may legitimately
//   appear is one recycled 512 KiB frame (recycle.ts keeps up to 4 per size).
// - heapUsed grows by less than 1 MiB: under 1 KiB per iteration; what we see (tens to a few
//   hundred KiB, not growing with the iteration count) is V8's optimised code and feedback.
// - on shared memory, arrayBuffers never rise more than 4 MiB above the start during the
//   loop: a loop that allocated a fresh 4 MiB array per message (even one that the collector
//   takes back) would. ZeroMQ allocates each incoming message itself, so this is not
//   asserted there.
import { describe, expect, it } from "vitest";
import { fixture, runJob } from "./helpers.js";

interface Loop {
  loop: string;
  rank: number;
  growth: { heapUsed: number; external: number; arrayBuffers: number };
  peak: number;
}

const MiB = 2 ** 20;

describe("steady-state memory of into loops", () => {
  it.each(["auto", "zmq"])("1000 recv into of 4 MiB and 1000 in-place allreduce of 1 MiB grow no memory with --transport %s", async (transport) => {
    const job = await runJob(2, fixture("steady.ts"), [], {
      timeout: 150_000,
      launcherArgs: ["--transport", transport, "-x", "NODE_OPTIONS=--expose-gc"],
    });
    expect(job.exitCode, job.stderr).toBe(0);
    const loops = job.stdout
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as Loop);
    expect(loops.map((l) => `${l.loop} ${l.rank}`).sort()).toEqual(["allreduce 0", "allreduce 1", "recv 0", "recv 1"]);
    for (const l of loops) {
      const where = `${l.loop} on rank ${l.rank}: ${JSON.stringify(l)}`;
      expect(l.growth.external, where).toBeLessThan(MiB);
      expect(l.growth.arrayBuffers, where).toBeLessThan(MiB);
      expect(l.growth.heapUsed, where).toBeLessThan(MiB);
      if (transport === "auto") expect(l.peak, where).toBeLessThan(4 * MiB);
    }
  });
});
