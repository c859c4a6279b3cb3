// Idiomatic waiting (test/fixtures/signals.ts): `{ signal }` withdraws recv, irecv and probe
// cleanly (an AbortError; the message goes to the next receive), `for await` over incoming
// messages ends with its signal, and `await using` frees a window; on every transport.
import { describe, expect, it } from "vitest";
import { fixture, leftovers, runJob } from "./helpers.js";

const CHECKS = 6;

describe("AbortSignal, for await and await using", () => {
  it.each([
    [1, "auto"],
    [2, "auto"],
    [4, "auto"],
    [3, "zmq"],
  ])("pass their checks at -n %i with --transport %s", async (np, transport) => {
    const job = await runJob(np, fixture("signals.ts"), [], { timeout: 60_000, launcherArgs: ["--transport", transport] });
    expect(job.exitCode, job.stderr).toBe(0);
    expect(job.stdout.match(/^ok /gm)).toHaveLength(CHECKS);
    expect(await leftovers(job)).toEqual({ processes: [], files: [] });
  });
});
