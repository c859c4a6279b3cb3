// Synchronous sends, waitSome/testAll/testAny/testSome, cancel, persistent requests and
// sendrecvReplace (test/fixtures/requests.ts) at -n 1…5 over shared memory, ZeroMQ ipc and tcp.
// A lone rank talks only to itself, whatever the transport: -n 1 runs once. One job sends an
// ssend past the 64 MiB flow window (a rendezvous; 65 MiB, so only there). And synchronous sends
// to a rank that exits without receiving them (test/fixtures/ssend-exit.ts) fail, never hang.
import { describe, expect, it } from "vitest";
import { fixture, leftovers, runJob } from "./helpers.js";

/** Checks the fixture passes. */
const CHECKS = 9;

const JOBS: Array<[number, string, string[]]> = [
  [1, "shm", []],
  [2, "shm", ["--rendezvous"]],
  ...[3, 4, 5].map((np): [number, string, string[]] => [np, "shm", []]),
  ...[2, 3, 4, 5].map((np): [number, string, string[]] => [np, "zmq", []]),
  ...[2, 3, 4, 5].map((np): [number, string, string[]] => [np, "tcp", []]),
];

describe("synchronous sends, request calls and persistent requests", () => {
  it.each(JOBS)("pass their suite at -n %i over --transport %s %j", async (np, transport, args) => {
    const job = await runJob(np, fixture("requests.ts"), args, { launcherArgs: ["--transport", transport] });
    expect(job.exitCode, job.stderr).toBe(0);
    expect(job.stdout.match(/^ok /gm)).toHaveLength(CHECKS);
    expect(job.stdout.match(/^rank \d+ done$/gm)).toHaveLength(np);
    expect(job.stderr).toBe("");
    expect(await leftovers(job)).toEqual({ processes: [], files: [] });
  });
});

const EXIT_LINES = [
  "ssend received: completed",
  "issend received before the exit: completed",
  ...["issend pending at the exit", "ssend after the exit", "issend of an array after the exit"].map(
    (what) => `${what}: ${what.split(" ")[0]} on rank 0: rank 1 has failed (it exited without receiving the message); the operation cannot complete`,
  ),
];

describe("a synchronous send to a rank that exits without receiving it", () => {
  it.each(["shm", "tcp"])("fails with RankFailedError instead of waiting forever, over --transport %s", async (transport) => {
    const job = await runJob(2, fixture("ssend-exit.ts"), [], { launcherArgs: ["--transport", transport, "--timeout", "30"] });
    expect(job.exitCode, job.stderr).toBe(0);
    expect(job.stdout.trim().split("\n")).toEqual(EXIT_LINES);
    expect(job.stderr).toBe("");
    expect(await leftovers(job)).toEqual({ processes: [], files: [] });
  });
});
