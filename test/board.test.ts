import { describe, expect, it } from "vitest";
import { fixture, leftovers, runJob } from "./helpers.js";

describe("collectives on the shared-memory board", () => {
  // TSMPI_SINGLE_COPY=0: large bcast and alltoallv copy through the stage and messages, as on a host that forbids reading peers.
  it.each([
    [2, "auto", "yes", "1"],
    [3, "shm", "yes", "0"],
    [4, "auto", "yes", "1"],
    [3, "zmq", "no", "1"],
  ])("agree with serial results at -n %i over --transport %s (board mapped: %s, single copy: %s)", async (np, transport, mapped, single) => {
    const launcherArgs = ["--transport", transport, "-x", `TSMPI_SINGLE_COPY=${single}`];
    const job = await runJob(np, fixture("board.ts"), [], { timeout: 120_000, launcherArgs });
    expect(job.exitCode, job.stderr).toBe(0);
    expect(job.stdout.match(/^ok /gm)).toHaveLength(11);
    // The fixture's first bcast (160 kB) is below single copy's threshold (512 KiB): it stages at n > 2 whatever the variable says.
    const staged = mapped === "yes" && np > 2 ? "yes" : "no";
    expect(job.stdout).toContain(`board mapped: ${mapped}, stage mapped: ${mapped}, bcast staged: ${staged}`);
    expect(await leftovers(job)).toEqual({ processes: [], files: [] });
  });
});
