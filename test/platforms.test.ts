// Where the shared-memory mechanism is missing, simulated on this machine: a kernel without
// memfd_create (a seccomp filter the ranks install before init makes it fail with ENOSYS).
// The job falls back to ZeroMQ with one notice line, never an exception.
import { hostname } from "node:os";
import { describe, expect, it } from "vitest";
import { fixture, leftovers, runJob } from "./helpers.js";

describe.runIf(process.arch === "x64")("platforms without shared memory", () => {
  it("a kernel without memfd_create: one notice line, ZeroMQ, right results at -n 3", async () => {
    const job = await runJob(3, fixture("no-memfd.ts"), [], { timeout: 60_000 });
    expect(job.exitCode, job.stderr).toBe(0);
    expect(job.stdout.trim()).toBe("ok");
    expect(job.stderr.trim()).toBe(`tsmpi: shared memory is not available on ${hostname()} (memfd_create failed (errno 38)); its ranks use ZeroMQ ipc`);
    expect(await leftovers(job)).toEqual({ processes: [], files: [] });
  });
});

describe("platforms simulated in the ranks (a preloaded script changes what they see)", () => {
  const PRETEND = fixture("lib/pretend.cjs");
  it.each([
    [
      "musl",
      "libc.so.6 cannot be used through koffi (Failed to load shared library: Error loading shared library libc.so.6: No such file or directory); glibc 2.27 or later is needed",
    ],
    ["darwin", "shared memory needs Linux (this is darwin)"],
  ])("on %s: one notice line, ZeroMQ, right results at -n 3", async (platform, reason) => {
    const launcherArgs = ["-x", `NODE_OPTIONS=--require=${PRETEND}`, "-x", `TSMPI_TEST_PRETEND=${platform}`];
    const job = await runJob(3, fixture("ring-check.ts"), [], { timeout: 60_000, launcherArgs });
    expect(job.exitCode, job.stderr).toBe(0);
    expect(job.stdout.trim()).toBe("ok");
    expect(job.stderr.trim()).toBe(`tsmpi: shared memory is not available on ${hostname()} (${reason}); its ranks use ZeroMQ ipc`);
    expect(await leftovers(job)).toEqual({ processes: [], files: [] });
  });
});
