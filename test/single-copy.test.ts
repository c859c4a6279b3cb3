// Single copy decided by trying, and agreed (test/fixtures/refused-reads.ts): a rank whose
// process_vm_readv the kernel refuses (a seccomp filter it installs on itself), before the
// board is set up or after, or a rank that turns single copy off alone: large bcasts and
// alltoallvs still give every rank the right data, with no hang and no error.
import { describe, expect, it } from "vitest";
import { fixture, leftovers, runJob } from "./helpers.js";

describe.runIf(process.arch === "x64")("single copy where the kernel refuses it", () => {
  it.each([
    ["start", 2],
    ["start", 3],
    ["later", 2],
    ["later", 4],
    ["disagree", 3],
  ])("large bcast and alltoallv are right when reads are refused (%s) at -n %i", async (mode, np) => {
    const job = await runJob(np as number, fixture("refused-reads.ts"), [mode as string], { timeout: 60_000 });
    expect(job.exitCode, job.stderr).toBe(0);
    expect(job.stdout.trim()).toBe(`ok ${mode}`);
    expect(await leftovers(job)).toEqual({ processes: [], files: [] });
  });
});
