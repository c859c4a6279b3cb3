import { describe, expect, it } from "vitest";
import { availableParallelism, hostname } from "node:os";
import { fixture, leftovers, P2P_CHECKS, runJob } from "./helpers.js";

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
    expect(job.stdout.match(/^ok /gm)).toHaveLength(P2P_CHECKS);
    expect(job.stdout.match(/^rank \d+ done$/gm)).toHaveLength(np);
    expect(await leftovers(job)).toEqual({ processes: [], files: [] });
  });

  it.each(["auto", "zmq"])("carries typed arrays of every size around its thresholds intact, however received, over --transport %s", async (transport) => {
    const job = await runJob(2, fixture("p2p-sizes.ts"), [], { launcherArgs: ["--transport", transport] });
    expect(job.exitCode, job.stderr).toBe(0);
    expect(job.stdout).toBe("ok 32 sizes, 66 kinds");
    expect(await leftovers(job)).toEqual({ processes: [], files: [] });
  });

  it.each(["auto", "zmq"])(
    "hands over messages beyond the flow window intact, to a receiver that waits or comes late, over --transport %s",
    async (transport) => {
      const job = await runJob(2, fixture("rendezvous.ts"), [], { launcherArgs: ["--transport", transport] });
      expect(job.exitCode, job.stderr).toBe(0);
      expect(job.stdout.split("\n")).toEqual(["ok receiver waiting", "ok receiver waiting, into", "ok receiver late", "ok receiver late, into", "ok bounced"]);
      expect(job.stderr).toBe("");
      expect(await leftovers(job)).toEqual({ processes: [], files: [] });
    },
  );

  it.each(["auto", "zmq"])("delivers to a rank that waited seconds in recv (its inbox's idle timeout grown to 1 s), over --transport %s", async (transport) => {
    const job = await runJob(2, fixture("patient.ts"), [], { launcherArgs: ["--transport", transport] });
    expect(job.exitCode, job.stderr).toBe(0);
    expect(job.stdout.split("\n").sort()).toEqual([
      "rank 0 got thanks 1",
      "rank 0 got thanks 2",
      "rank 1 got round 1, 1, an intact array",
      "rank 1 got round 2, 2, an intact array",
    ]);
    expect(await leftovers(job)).toEqual({ processes: [], files: [] });
  });

  it.each([
    ["auto", 2 * availableParallelism(), "shared memory"],
    ["auto", 2 * availableParallelism() + 1, "ZeroMQ ipc"],
    ["shm", 2 * availableParallelism() + 1, "shared memory"],
  ])("--transport %s with %i ranks on this host's cores uses %s", async (transport, np, path) => {
    const job = await runJob(np, fixture("inboxes.ts"), [], { launcherArgs: ["--transport", transport] });
    expect(job.exitCode, job.stderr).toBe(0);
    // Over shared memory every rank maps its own inbox, and part of each peer's it writes into;
    // on a host too crowded for it (auto), no rank even makes one.
    const counts = /^inbox mappings: ([\d ]+)$/m.exec(job.stdout)![1]!.split(" ").map(Number);
    expect(counts).toHaveLength(np);
    expect(
      counts.every((count) => (path === "shared memory" ? count > 1 : count === 0)),
      `inbox mappings per rank: ${counts.join(" ")}`,
    ).toBe(true);
    expect(await leftovers(job)).toEqual({ processes: [], files: [] });
  });

  it("falls back to ZeroMQ ipc with one notice line when the kernel refuses the shared segment (file size limit: ftruncate fails)", async () => {
    // prlimit --fsize: the kernel refuses to grow the memfd (EFBIG), as a host whose shared memory is capped would.
    const job = await runJob(3, fixture("p2p.ts"), [], { wrap: ["prlimit", `--fsize=${64 << 10}`, "--"] });
    expect(job.exitCode, job.stderr).toBe(0);
    expect(job.stdout.match(/^ok /gm)).toHaveLength(P2P_CHECKS);
    expect(job.stderr).toBe(`tsmpi: shared memory is not available on ${hostname()} (ftruncate failed (errno 27)); its ranks use ZeroMQ ipc`);
    expect(await leftovers(job)).toEqual({ processes: [], files: [] });
  });
});
