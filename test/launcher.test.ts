import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { execa } from "execa";
import { BIN, ROOT, fixture, follow, leftovers, linesStarting, runJob, startJob, survivors } from "./helpers.js";

const cli = (args: string[]) => execa("node", [BIN, ...args], { reject: false, timeout: 30_000 });

describe("command line", () => {
  it.each([
    [["-n", "0", fixture("env.ts")], /-n\/--np must be a positive integer, got "0"/],
    [["-n", "abc", fixture("env.ts")], /-n\/--np must be a positive integer, got "abc"/],
    [["-n", "-2", fixture("env.ts")], /-n\/--np must be a positive integer, got "-2"/],
    [["-n", "2"], /no script given/],
    [["-n", "2", "missing-script.ts"], /script not found: missing-script.ts/],
    [["--frobnicate", fixture("env.ts")], /Unknown argument: frobnicate/],
    [["--timeout", "soon", fixture("env.ts")], /--timeout must be a positive number of seconds/],
    [["--deadlock-report", "0", fixture("env.ts")], /--deadlock-report must be a positive number of seconds, got "0"/],
    [["--heartbeat", "5s", fixture("env.ts")], /--heartbeat must be INTERVAL,TIMEOUT \(e.g. --heartbeat 1s,5s, or 500ms,3s\) or off, got "5s"/],
    [["--heartbeat", "2s,3s", fixture("env.ts")], /--heartbeat 2s,3s: the timeout must be at least twice the interval.*e.g. --heartbeat 2s,10s/],
  ])("rejects %j with a one-line error, a hint to --help and status 1", async (args, message) => {
    const result = await cli(args);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toBe("");
    const lines = String(result.stderr).trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(message);
    expect(lines[0]).toMatch(/see 'tsmpi --help'/);
  });

  it("reports a script that does not compile with its file, line and column, and status 1", async () => {
    const result = await cli([fixture("syntax-error.ts")]);
    expect(result.exitCode).toBe(1);
    expect(String(result.stderr).trim()).toMatch(/^tsmpi: cannot compile .*syntax-error\.ts: .*syntax-error\.ts:1:18: Unexpected ";"$/);
  });

  it("prints help with every option and exits 0", async () => {
    const result = await cli(["--help"]);
    expect(result.exitCode).toBe(0);
    for (const option of [
      "--np",
      "--tag-output",
      "--timeout",
      "--deadlock-report",
      "--keep-going",
      "--host",
      "--hostfile",
      "--map-by",
      "--oversubscribe",
      "--launch-agent",
      "--launch-timeout",
      "--heartbeat",
      "-x",
      "--iface",
      "--bind",
      "--transport",
      "--insecure",
      "--quiet",
      "--remote-node",
      "--prefix",
      "--help",
      "--version",
    ])
      expect(result.stdout).toContain(option);
  });

  it("prints the package version", async () => {
    const result = await cli(["--version"]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/^tsmpi \d+\.\d+\.\d+$/);
  });
});

/** The files of the script bundle cache in `dir`, not the launcher's own (launcher-*: its compiled code, the setpriv probe). */
const scriptFiles = (dir: string) => readdirSync(dir).filter((file) => !file.startsWith("launcher-"));

describe("running a job", () => {
  it.each([1, 2, 3, 4])("gives each of %i ranks its rank, size, environment and arguments", async (np) => {
    const job = await runJob(np, fixture("env.ts"), ["--alpha", "x y"], { env: { FROM_PARENT: "inherited" } });
    expect(job.exitCode).toBe(0);
    const seen = job.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(seen.map((s) => s.rank).sort()).toEqual([...Array(np).keys()]);
    for (const s of seen) {
      expect(s.size).toBe(np);
      expect(s.TSMPI_RANK).toBe(String(s.rank));
      expect(s.TSMPI_LOCAL_RANK).toBe(String(s.rank));
      expect(s.TSMPI_SIZE).toBe(String(np));
      expect(s.TSMPI_JOB_ID).toMatch(/^tsmpi-/);
      expect(s.FROM_PARENT).toBe("inherited");
      expect(s.args).toEqual(["--alpha", "x y", job.marker]);
      expect(s.url).toBe(`file://${fixture("env.ts")}`);
    }
    expect(await leftovers(job)).toEqual({ processes: [], files: [] });
  });

  it("reuses a cached bundle until a file that went into it changes, in a private cache directory", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tsmpi-cache-test-"));
    const cache = join(dir, "cache");
    const script = join(dir, "main.ts");
    const lib = join(dir, "value.ts");
    const past = (seconds: number) => new Date(Date.now() - seconds * 1000);
    writeFileSync(
      script,
      `import { init } from ${JSON.stringify(join(ROOT, "dist/index.js"))};\nimport { value } from "./value.js";\nawait init();\nconsole.log(value);\n`,
    );
    const setValue = (text: string, age: number) => {
      writeFileSync(lib, `export const value: string = ${JSON.stringify(text)};\n`);
      utimesSync(lib, past(age), past(age));
    };
    utimesSync(script, past(100), past(100));
    setValue("first", 100);
    const run = async () => (await runJob(1, script, [], { env: { TSMPI_CACHE_DIR: cache } })).stdout.trim();
    expect(await run()).toBe("first");
    const cached = readdirSync(cache).sort();
    expect(scriptFiles(cache)).toHaveLength(2); // the bundle and what it was made from (launcher-*: the launcher's own)
    expect(statSync(cache).mode & 0o777).toBe(0o700);
    for (const file of cached) expect(statSync(join(cache, file)).mode & 0o777).toBe(0o600);
    // Same files: the cached bundle runs (proved by editing it behind the cache's back).
    const bundle = join(
      cache,
      cached.find((f) => f.endsWith(".mjs"))!,
    );
    writeFileSync(bundle, readFileSync(bundle, "utf8").replace('"first"', '"from the cache"'));
    expect(await run()).toBe("from the cache");
    // A record made from something else under the same file name (names are a short hash): not reused.
    const record = join(
      cache,
      cached.find((f) => f.endsWith(".json"))!,
    );
    const made = JSON.parse(readFileSync(record, "utf8")) as { made: string };
    writeFileSync(record, JSON.stringify({ ...made, made: `${made.made}\0another` }), { mode: 0o600 });
    expect(await run()).toBe("first");
    writeFileSync(bundle, readFileSync(bundle, "utf8").replace('"first"', '"from the cache"'));
    expect(await run()).toBe("from the cache");
    // An imported file changes: rebuilt.
    setValue("second", 50);
    expect(await run()).toBe("second");
    // A cache directory others can write to is not trusted: bundles are made afresh in the job.
    chmodSync(cache, 0o777);
    writeFileSync(bundle, readFileSync(bundle, "utf8").replace('"second"', '"planted"'));
    expect(await run()).toBe("second");
    rmSync(dir, { recursive: true, force: true });
  });

  it("points stack traces at the script's own lines on the first run and on every cached run", async () => {
    // The cache sits in a different directory from the script, so a path resolved against it is wrong.
    const dir = mkdtempSync(join(tmpdir(), "tsmpi-trace-test-"));
    const cache = join(dir, "elsewhere", "cache");
    const script = join(dir, "project", "app.ts");
    mkdirSync(join(dir, "project"));
    writeFileSync(
      script,
      `import { init } from ${JSON.stringify(join(ROOT, "dist/index.js"))};\nconst comm = await init();\nthrow new Error(\`boom on rank \${comm.rank}\`);\n`,
    );
    utimesSync(script, new Date(Date.now() - 100_000), new Date(Date.now() - 100_000)); // old enough to be cached
    const frames: string[] = [];
    for (const run of ["first", "cached", "cached again"]) {
      const job = await runJob(1, script, [], { env: { TSMPI_CACHE_DIR: cache } });
      expect(job.exitCode, run).toBe(1);
      expect(job.stderr, run).toContain("Error: boom on rank 0");
      frames.push(job.stderr.match(/^ {4}at .*$/m)?.[0] ?? `no stack frame in: ${job.stderr}`);
      expect(scriptFiles(cache), run).toHaveLength(2); // the bundle is in the cache from the first run on
    }
    expect(frames).toEqual(Array(3).fill(`    at <anonymous> (${script}:3:7)`));
    rmSync(dir, { recursive: true, force: true });
  });

  it("bundles local TypeScript imports and keeps import.meta of the script", async () => {
    const job = await runJob(2, fixture("imports.ts"));
    expect(job.exitCode, job.stderr).toBe(0);
    expect(job.stdout.trim().split("\n").sort()).toEqual([0, 1].map((r) => `rank ${r}/2 imported a local .ts module (imports.ts)`));
  });

  it("has ranks that fill the host's cores optimise and collect garbage on their own thread, and leaves V8's threads alone with cores to spare", async () => {
    const cores = availableParallelism();
    for (const np of new Set([1, Math.min(cores, 8)])) {
      const job = await runJob(np, fixture("env.ts"));
      expect(job.exitCode, job.stderr).toBe(0);
      const ranks = linesStarting(job.stdout, "{").map((line) => JSON.parse(line) as { execArgv: string[] });
      expect(ranks).toHaveLength(np);
      for (const rank of ranks) {
        expect(rank.execArgv.includes("--no-concurrent-recompilation"), `${np} ranks on ${cores} cores`).toBe(np >= cores);
        expect(rank.execArgv.includes("--single-threaded-gc"), `${np} ranks on ${cores} cores`).toBe(np >= cores);
      }
    }
  });

  it("runs 64 ranks on this 2-core machine: barrier, allreduce, clean exit, nothing on stderr", async () => {
    const job = await runJob(64, fixture("many.ts"), [], { timeout: 120_000 });
    expect(job.exitCode, job.stderr).toBe(0);
    expect(job.stdout.trim()).toBe(`size 64 sum ${(64 * 63) / 2}`);
    expect(job.stderr, "no stray warning (ZeroMQ's at exit, Node's)").toBe("");
    expect(await leftovers(job)).toEqual({ processes: [], files: [] });
  });

  it("runs a JavaScript script as it is", async () => {
    const job = await runJob(3, fixture("plain.mjs"));
    expect(job.exitCode, job.stderr).toBe(0);
    expect(job.stdout.trim().split("\n").sort()).toEqual([0, 1, 2].map((r) => `rank ${r}: sum 6`));
  });

  it("runs a script with plain node as a world of size 1", async () => {
    const mjs = await execa(
      "node",
      [
        "--input-type=module",
        "-e",
        "import { init } from 'tsmpi'; const c = await init(); console.log(c.rank, c.size); await c.send(5, 0); console.log(await c.recv(0));",
      ],
      { reject: false },
    );
    expect(mjs.stdout).toBe("0 1\n5");
  });

  it("forwards stdin to rank 0 only", async () => {
    const job = await runJob(3, fixture("stdin.ts"), [], { input: "alpha\nbeta\n" });
    expect(job.exitCode).toBe(0);
    expect(job.stdout).toContain("rank 0 read: alpha|beta");
    expect(job.stdout).toMatch(/^rank 1 read: $/m);
    expect(job.stdout).toMatch(/^rank 2 read: $/m);
  });

  it("forwards whole lines only, and --tag-output prefixes each with its rank and stream", async () => {
    const job = await runJob(4, fixture("lines.ts"), [], { launcherArgs: ["--tag-output"] });
    expect(job.exitCode).toBe(0);
    const lines = job.stdout.trim().split("\n");
    expect(lines).toHaveLength(800);
    for (const line of lines) {
      const match = /^\[1,(\d)\]<stdout>:(\d+):(\d+)$/.exec(line);
      expect(match, line.slice(0, 60)).not.toBeNull();
      expect(match![2]).toBe(match![1]!.repeat(3000));
    }
    expect(linesStarting(job.stderr, "[1,")).toEqual([0, 1, 2, 3].map((r) => `[1,${r}]<stderr>:err ${r} no newline at end`));
  });

  it("writes untagged lines without a prefix", async () => {
    const job = await runJob(2, fixture("lines.ts"));
    expect(
      job.stdout
        .trim()
        .split("\n")
        .every((line) => /^(0{3000}|1{3000}):\d+$/.test(line)),
    ).toBe(true);
  });

  it("keeps going quietly when its reader goes away (tsmpi ... | head -1)", async () => {
    const result = await execa("bash", ["-c", `set -o pipefail; node ${BIN} -n 2 ${fixture("lines.ts")} | head -c 10`], { reject: false, timeout: 30_000 });
    expect(result.exitCode, String(result.stderr)).toBe(0);
    expect(String(result.stdout)).toHaveLength(10);
    expect(String(result.stderr)).not.toContain("EPIPE");
  });
});

describe("failures abort the whole job", () => {
  const cases: Array<[mode: string, status: number, message: RegExp]> = [
    ["throw", 1, /rank %R% failed with an uncaught exception:\nError: boom from rank %R%\n\s+at .*fail\.ts:\d+:\d+/],
    ["reject", 1, /rank %R% failed with an unhandled promise rejection:\nRangeError: rejected on rank %R%/],
    ["abort", 7, /rank %R% called abort\(7\)/],
    ["exit", 3, /rank %R% exited with status 3/],
    ["signal", 128 + 9, /rank %R% was killed by signal SIGKILL/],
  ];
  for (const [mode, status, message] of cases) {
    // -n 3 adds nothing -n 2 and 4 do not cover (a first, a middle and a last rank) and cost CI 50 s.
    for (const np of [1, 2, 4]) {
      it(`a rank that does '${mode}' at -n ${np} ends every rank, in turn for each rank`, async () => {
        for (let rank = 0; rank < np; rank++) {
          const job = await runJob(np, fixture("fail.ts"), [mode, String(rank)], { timeout: 20_000 });
          expect(job.exitCode, job.stderr).toBe(status);
          expect(job.stderr).toMatch(new RegExp(message.source.replaceAll("%R%", String(rank))));
          if (np > 1) expect(job.stderr).toContain(`terminating ${np - 1} other rank`);
          expect(job.stdout).not.toContain("finished");
          expect(await leftovers(job)).toEqual({ processes: [], files: [] });
        }
      });
    }
  }

  it("a rank that exits without init() while others wait in init() aborts the job", async () => {
    const job = await runJob(2, fixture("noinit.ts"), [], { timeout: 20_000 });
    expect(job.exitCode).toBe(1);
    expect(job.stderr).toContain("rank 1 exited without calling init() while rank 0 waits for it in init()");
    expect(await leftovers(job)).toEqual({ processes: [], files: [] });
  });

  it("--timeout aborts a job that runs too long and says so", async () => {
    const started = Date.now();
    const job = await runJob(3, fixture("sleep.ts"), [], { launcherArgs: ["--timeout", "1.5"] });
    expect(job.exitCode).toBe(124);
    expect(job.stderr).toContain("job exceeded --timeout 1.5 s; terminating 3 ranks");
    expect(Date.now() - started).toBeGreaterThanOrEqual(1500);
    expect(await leftovers(job)).toEqual({ processes: [], files: [] });
  });

  it("--timeout reports what each rank was waiting in, so a deadlock shows at a glance", async () => {
    const job = await runJob(3, fixture("deadlock.ts"), [], { launcherArgs: ["--timeout", "4"] });
    expect(job.exitCode).toBe(124);
    expect(job.stderr).toContain("tsmpi: job exceeded --timeout 4 s; what each rank was doing:");
    expect(job.stderr).toMatch(/rank 0: waiting in recv\(source rank 1, tag 7\) on the world communicator for [\d.]+ s; no unmatched messages queued/);
    expect(job.stderr).toMatch(/rank 1: waiting in recv\(source rank 2, tag 7\) on the world communicator for [\d.]+ s; 1 unmatched message/);
    // The ranks share a host: the barrier meets on the shared-memory board, where rank 0 is the first missing.
    expect(job.stderr).toMatch(/rank 2: waiting in barrier \(waiting for rank 0\) on the world communicator \(collective traffic\)/);
    expect(await leftovers(job)).toEqual({ processes: [], files: [] });
  });

  it("--deadlock-report reports a job whose ranks are all blocked with no message moving, and lets it go on", async () => {
    const job = await runJob(3, fixture("deadlock.ts"), [], { launcherArgs: ["--deadlock-report", "0.5", "--timeout", "5"] });
    expect(job.exitCode).toBe(124);
    expect(job.stderr).toMatch(
      /possible deadlock: every rank has been blocked for 0.5 s with no message moving; what each rank waits in:\n.*rank 0: waiting in recv\(source rank 1, tag 7\)/,
    );
    expect(job.stderr.indexOf("possible deadlock")).toBeLessThan(job.stderr.indexOf("job exceeded --timeout 5 s"));
    expect(job.stderr.match(/possible deadlock/g)).toHaveLength(1);
  });

  it("--deadlock-report shows a collective root waiting for a peer to take its rendezvous data", async () => {
    const job = await runJob(2, fixture("handover.ts"), ["--deadlock"], {
      // Time enough for rank 0 to fill its 192 MiB on a loaded machine before the deadlock starts.
      launcherArgs: ["--deadlock-report", "0.5", "--timeout", "15"],
      timeout: 30_000,
    });
    expect(job.exitCode).toBe(124);
    expect(job.stderr).toMatch(/possible deadlock: every rank has been blocked/);
    expect(job.stderr).toMatch(/rank 0: waiting in scatterv \(waiting for rank 1\) on the world communicator \(collective traffic\)/);
    expect(job.stderr).toMatch(/rank 1: waiting in recv\(source rank 0, tag 9\) on the world communicator/);
    expect(await leftovers(job)).toEqual({ processes: [], files: [] });
  });

  it("--deadlock-report stays quiet while messages keep moving", async () => {
    const job = await runJob(4, fixture("stress.ts"), ["3000", "65536"], { launcherArgs: ["--deadlock-report", "0.2"] });
    expect(job.exitCode, job.stderr).toBe(0);
    expect(job.stderr).not.toContain("possible deadlock");
  });

  it("SIGQUIT to the launcher prints the hang report and the job goes on", async () => {
    const { proc, marker, tmp } = startJob(2, fixture("sleep.ts"));
    const job = follow(proc);
    await job.until("2 ranks sleeping", () => (job.out.match(/sleeping/g) ?? []).length >= 2);
    proc.kill("SIGQUIT");
    await job.until("hang report for rank 1", () => job.err.includes("rank 1: waiting"));
    expect(job.err).toMatch(/SIGQUIT: what each rank is doing\n.*rank 0: waiting in recv\(source ANY_SOURCE, tag ANY_TAG\)/);
    expect(survivors(marker).length).toBeGreaterThanOrEqual(2);
    proc.kill("SIGTERM");
    expect((await proc).exitCode).toBe(143);
    expect(await leftovers({ marker, tmp })).toEqual({ processes: [], files: [] });
  });

  it.each([
    ["SIGINT", 130],
    ["SIGTERM", 143],
  ] as const)("%s to the launcher ends every rank", async (signal, status) => {
    const { proc, marker, tmp } = startJob(4, fixture("sleep.ts"));
    const job = follow(proc);
    await job.until("4 ranks sleeping", () => (job.out.match(/sleeping/g) ?? []).length >= 4);
    expect(survivors(marker).length).toBeGreaterThanOrEqual(4);
    proc.kill(signal);
    const result = await proc;
    expect(result.exitCode).toBe(status);
    expect(String(result.stderr)).toContain(`received ${signal}; terminating 4 ranks`);
    expect(await leftovers({ marker, tmp })).toEqual({ processes: [], files: [] });
  });
  // A launcher killed with SIGKILL: see orphans.test.ts.
});
