// Shared windows (splitShared + allocateShared): on one host with either transport, across
// network-namespace hosts (a rank on another host is never a host-mate), and what is left
// when a rank dies with a window mapped (nothing: memfd, no file in /dev/shm).
import { readdirSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fixture, leftovers, linesStarting, runJob } from "./helpers.js";
import { makeCluster, waitForSsh, type Cluster } from "./netns.js";

/** Entries of /dev/shm, without Open MPI's (other jobs on the machine may make them). */
const devShm = () => readdirSync("/dev/shm").filter((name) => !/^(vader|sm_segment|psm2|ompi)/.test(name));

describe("shared windows on one host", () => {
  it.each([
    [1, "auto"],
    [3, "auto"],
    [4, "zmq"],
    [2, "tcp"],
  ])("at -n %i with --transport %s every rank reads and writes every part, and free unmaps it", async (np, transport) => {
    const before = devShm();
    const job = await runJob(np, fixture("window.ts"), [], { launcherArgs: ["--transport", transport] });
    expect(job.exitCode, job.stderr).toBe(0);
    const all = JSON.stringify([...Array(np).keys()]);
    expect(linesStarting(job.stdout, "rank ")).toEqual([...Array(np).keys()].map((r) => `rank ${r} host-mates ${all} ok`).sort());
    expect(await leftovers(job)).toEqual({ processes: [], files: [] });
    expect(devShm().filter((name) => !before.includes(name))).toEqual([]);
  });

  it.each([2, 3])("at -n %i with Float32Array on even ranks and Float64Array on odd ones, every rank gets an ArgumentError (no SIGBUS)", async (np) => {
    const job = await runJob(np, fixture("window-mismatch.ts"));
    expect(job.exitCode, job.stderr).toBe(0);
    const reason =
      "rank 0 passed Float32Array (4 bytes per element) but rank 1 passed Float64Array (8 bytes); " +
      "a window has one element type: pass the same typed array class on every rank";
    expect(linesStarting(job.stdout, "rank ")).toEqual(
      [...Array(np).keys()].flatMap((r) => [`rank ${r} ArgumentError: allocateShared on rank ${r}: ${reason}`, `rank ${r} then allocated ${np} parts`]).sort(),
    );
    expect(await leftovers(job)).toEqual({ processes: [], files: [] });
  });

  it("leaves no process and nothing in /dev/shm when a rank dies with a window mapped", async () => {
    const before = devShm();
    const job = await runJob(3, fixture("window.ts"), ["die"]);
    expect(job.exitCode).toBe(3);
    expect(job.stdout).toContain("rank 1 dies with the window mapped");
    expect(job.stderr).toContain("rank 1 exited with status 3");
    expect(await leftovers(job)).toEqual({ processes: [], files: [] });
    expect(devShm().filter((name) => !before.includes(name))).toEqual([]);
  });
});

describe("shared windows across hosts (network namespaces, ssh)", () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = makeCluster(2, 150 + (process.pid % 40));
    await waitForSsh(cluster);
  }, 30_000);
  afterAll(() => cluster?.teardown());

  it("splitShared and splitType(COMM_TYPE_SHARED) at -n 4 over two hosts give each host its own two ranks", async () => {
    const ips = cluster.hosts.map((h) => h.ip);
    const job = await runJob(4, fixture("window.ts"), [], {
      timeout: 60_000,
      wrap: cluster.on(0),
      launcherArgs: ["--rsh-agent", cluster.rshAgent, "-x", "TMPDIR", "--host", ips.map((ip) => `${ip}:2`).join(",")],
    });
    expect(job.exitCode, job.stderr).toBe(0);
    expect(linesStarting(job.stdout, "rank ")).toEqual([
      "rank 0 host-mates [0,1] ok",
      "rank 1 host-mates [0,1] ok",
      "rank 2 host-mates [2,3] ok",
      "rank 3 host-mates [2,3] ok",
    ]);
    expect(await leftovers(job)).toEqual({ processes: [], files: [] });
  });

  it("allocateShared on a world of ranks on two hosts is an ArgumentError on every rank", async () => {
    const ips = cluster.hosts.map((h) => h.ip);
    const job = await runJob(4, fixture("window-mismatch.ts"), ["hosts"], {
      timeout: 60_000,
      wrap: cluster.on(0),
      launcherArgs: ["--rsh-agent", cluster.rshAgent, "-x", "TMPDIR", "--host", ips.map((ip) => `${ip}:2`).join(",")],
    });
    expect(job.exitCode, job.stderr).toBe(0);
    const reason =
      "rank 0 and rank 2 run on different hosts, and memory is shared only within a host; " +
      "allocate on the communicator of one host's ranks: comm.splitShared(), or use comm.allocateWindow";
    expect(linesStarting(job.stdout, "rank ")).toEqual(
      [0, 1, 2, 3].flatMap((r) => [`rank ${r} ArgumentError: allocateShared on rank ${r}: ${reason}`, `rank ${r} then allocated 2 parts`]).sort(),
    );
    expect(await leftovers(job)).toEqual({ processes: [], files: [] });
  });
});
