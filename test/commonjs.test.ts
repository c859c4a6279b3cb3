// CommonJS in scripts, as Node runs it: `.cts` and `.cjs` scripts, and require() in `.ts` ones.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { fixture, runJob } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "tsmpi-commonjs-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Each rank's line, in rank order. */
const lines = (stdout: string) => stdout.trim().split("\n").sort();

describe("CommonJS in scripts", () => {
  it("runs a .cts script as CommonJS, as the main module, with require() and its own __filename, first and from the cache", async () => {
    const cache = join(dir, "cache");
    for (const run of ["bundled", "cached"]) {
      const job = await runJob(3, fixture("commonjs.cts"), [], { env: { TSMPI_CACHE_DIR: cache } });
      expect(job.exitCode, `${run}: ${job.stderr}`).toBe(0);
      expect(lines(job.stdout), run).toEqual([0, 1, 2].map((r) => `rank ${r}/3: twice 12 from lib/helper.cjs, function (commonjs.cts)`));
    }
    expect(
      readdirSync(cache)
        .filter((file) => !file.startsWith("launcher-"))
        .sort(),
    ).toEqual([expect.stringMatching(/^[0-9a-f]{16}\.cjs$/), expect.stringMatching(/^[0-9a-f]{16}\.json$/)]);
  });

  it("lets a .ts script require() a Node built-in and a local CommonJS file, which keeps its own __dirname and __filename", async () => {
    const job = await runJob(3, fixture("requires.ts"));
    expect(job.exitCode, job.stderr).toBe(0);
    expect(lines(job.stdout)).toEqual([0, 1, 2].map((r) => `rank ${r}/3: twice 12 from lib/helper.cjs, function`));
  });

  it("runs a .cjs script as it is", async () => {
    const job = await runJob(3, fixture("plain.cjs"));
    expect(job.exitCode, job.stderr).toBe(0);
    expect(lines(job.stdout)).toEqual([0, 1, 2].map((r) => `rank ${r}/3: sum 6 (plain.cjs)`));
  });

  it("says how to fix top-level await in a .cts script, and exits with status 1", async () => {
    const script = join(dir, "awaits.cts");
    writeFileSync(script, "await Promise.resolve();\n");
    const job = await runJob(1, script);
    expect(job.exitCode).toBe(1);
    expect(job.stderr.trim()).toMatch(
      /^tsmpi: cannot compile .*awaits\.cts: .*awaits\.cts:1:0: Top-level await .* \(a \.cts script is CommonJS: await inside an async function, or name it \.mts\)$/,
    );
  });
});
