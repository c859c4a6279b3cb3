// One-sided communication (allocateWindow, and allocateShared's windows): the suite of
// test/fixtures/rma.ts at n = 1..5 over shared memory, ZeroMQ and tcp, and across
// network-namespace hosts, where parts on another host are served by the owner's progress
// thread while the owner computes.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fixture, leftovers, linesStarting, runJob, type JobResult } from "./helpers.js";
import { makeCluster, waitForSsh, type Cluster } from "./netns.js";

/** The errors rank 0 meets, in the fixture's order, at size `n`. */
function expectedErrors(n: number): string[] {
  const next = 1 % n;
  const epoch = `call win.fence() on every rank first, or win.lock(${next}) before and win.unlock(${next}) after`;
  return [
    `ArgumentError: put on rank 0: no access epoch to rank ${next} is open; ${epoch}`,
    `ArgumentError: put on rank 0: target must be an integer rank in [0, ${n}), got ${n}`,
    `ArgumentError: get on rank 0: targetIndex must be an integer in [0, ${8 + next}] for 2 elements in rank ${next}'s part of ${10 + next}, got ${9 + next}`,
    "ArgumentError: put on rank 0: origin must be a Float64Array (the window's element type), got Float32Array(1)",
    "OpError: accumulate on rank 0: op must be a built-in Op (SUM, PROD, MIN, MAX, LAND, LOR, LXOR, BAND, BOR, BXOR, REPLACE, NO_OP), got MAXLOC",
    `ArgumentError: fence on rank 0: this rank holds a lock on rank ${next}'s part; call win.unlock(${next}) first`,
    `ArgumentError: lock on rank 0: this rank already holds a lock on rank ${next}; call win.unlock(${next}) first`,
    `ArgumentError: unlock on rank 0: this rank holds no lock(${next}) to unlock; call win.lock(${next}) first`,
    `ArgumentError: flush on rank 0: flush needs a passive-target epoch; call win.lock(${next}) or win.lockAll() first`,
    "ArgumentError: createWindow on rank 0: array must be a typed array over a SharedArrayBuffer, got Float64Array(4); " +
      "pass a typed array over a SharedArrayBuffer, e.g. new Float64Array(new SharedArrayBuffer(8 * n)), which this rank's progress thread can serve while the rank computes; " +
      "or use comm.allocateWindow(Float64Array, n), whose memory host-mates also share",
  ]
    .map((line) => `errors: ${line}`)
    .sort();
}

async function expectSuitePassed(job: JobResult, n: number): Promise<void> {
  expect(job.exitCode, job.stderr).toBe(0);
  expect(linesStarting(job.stdout, "errors: ")).toEqual(expectedErrors(n));
  expect(linesStarting(job.stdout, "rank ")).toEqual([...Array(n).keys()].map((r) => `rank ${r} ok`).sort());
  expect(await leftovers(job)).toEqual({ processes: [], files: [] });
}

describe("one-sided communication on one host", () => {
  it.each([
    [1, "auto"],
    [2, "auto"],
    [3, "auto"],
    [4, "zmq"],
    [5, "tcp"],
    [2, "zmq"],
    [3, "tcp"],
  ])(
    "at -n %i with --transport %s: fence epochs, locks, atomics, createWindow, a counter taken while its owner computes, and every misuse",
    async (n, transport) => {
      const job = await runJob(n, fixture("rma.ts"), [], { launcherArgs: ["--transport", transport] });
      await expectSuitePassed(job, n);
    },
  );
});

describe("one-sided communication where memory cannot be shared", () => {
  it("at -n 3 on a platform without shared memory (macOS, simulated in the ranks): every part through progress threads", async () => {
    const PRETEND = fixture("lib/pretend.cjs");
    const launcherArgs = ["-x", `NODE_OPTIONS=--require=${PRETEND}`, "-x", "TSMPI_TEST_PRETEND=darwin"];
    const job = await runJob(3, fixture("rma.ts"), ["no-shm"], { launcherArgs });
    await expectSuitePassed(job, 3);
  });
});

describe("one-sided communication across hosts (network namespaces, ssh)", () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = makeCluster(2, 100 + (process.pid % 40));
    await waitForSsh(cluster);
  }, 30_000);
  afterAll(() => cluster?.teardown());

  it.each([
    [3, [2, 1]],
    [5, [3, 2]],
  ])("at -n %i over two hosts (%j ranks): remote parts through progress threads, host-mates' in shared memory", async (n, slots) => {
    const hosts = cluster.hosts.map((h, k) => `${h.ip}:${slots[k]}`).join(",");
    const job = await runJob(n, fixture("rma.ts"), [], {
      timeout: 90_000,
      wrap: cluster.on(0),
      launcherArgs: ["--rsh-agent", cluster.rshAgent, "-x", "TMPDIR", "--host", hosts],
    });
    await expectSuitePassed(job, n);
  });
});
