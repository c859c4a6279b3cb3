// The Gray-Scott example: the parallel result equals the serial one bit for bit at several
// world sizes (the example's --check runs the whole grid serially at rank 0 and compares, and
// every run's checksum must equal the -n 1 run's), on one host and across three
// network-namespace hosts; and its PNG snapshots decode to pictures of V.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decode } from "fast-png";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, leftovers, runJob, type JobOptions } from "./helpers.js";
import { makeCluster, waitForSsh, type Cluster } from "./netns.js";

const script = join(ROOT, "examples/gray-scott/gray-scott.ts");
/** A small non-square grid that every tested world size splits unevenly somewhere. */
const SMALL = ["--size", "50x38", "--steps", "150", "--every", "0", "--check"];
const checksum = (stdout: string) => /checksum ([0-9a-f]{16})/.exec(stdout)?.[1];

let serial: string | undefined;
beforeAll(async () => {
  const job = await runJob(1, script, SMALL);
  expect(job.exitCode, job.stderr).toBe(0);
  serial = checksum(job.stdout);
  expect(serial).toMatch(/^[0-9a-f]{16}$/);
});

describe("the Gray-Scott example", () => {
  it.each([1, 2, 3, 4, 6])("at -n %i equals the serial run bit for bit", async (np) => {
    const job = await runJob(np, script, SMALL, { timeout: 120_000 });
    expect(job.exitCode, job.stderr).toBe(0);
    expect(job.stdout).toMatch(
      new RegExp(
        `^gray-scott 50×38 on ${np} ranks \\(\\d × \\d grid\\), 150 steps: [\\d.]+ ms per step \\(median [\\d.]+ ms, halo wait [\\d.]+ ms\\), checksum`,
        "m",
      ),
    );
    expect(job.stdout).toContain("parallel U and V equal the serial run bit for bit: yes");
    expect(checksum(job.stdout)).toBe(serial);
    expect(await leftovers(job)).toEqual({ processes: [], files: [] });
  });

  it("writes PNG snapshots of V at the output interval, with the spots and stripes in them", async () => {
    const out = mkdtempSync(join(tmpdir(), "tsmpi-gray-scott-"));
    try {
      const job = await runJob(3, script, ["--size", "64x48", "--steps", "1200", "--every", "400", "--out", out]);
      expect(job.exitCode, job.stderr).toBe(0);
      expect(readdirSync(out).sort()).toEqual(["v-000400.png", "v-000800.png", "v-001200.png"]);
      const png = decode(readFileSync(join(out, "v-001200.png")));
      expect([png.width, png.height, png.channels, png.depth]).toEqual([48, 64, 3, 8]);
      // a pattern, not a flat field: many distinct colours, dark (low V) and bright (high V) cells
      const colours = new Set<number>();
      for (let p = 0; p < png.width * png.height; p++) colours.add((png.data[3 * p]! << 16) | (png.data[3 * p + 1]! << 8) | png.data[3 * p + 2]!);
      expect(colours.size).toBeGreaterThan(50);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});

describe("the Gray-Scott example across three hosts (network namespaces, ssh)", () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = makeCluster(3);
    await waitForSsh(cluster);
  }, 30_000);
  afterAll(() => cluster?.teardown());

  const onCluster = (launcherArgs: string[]): JobOptions => ({
    timeout: 120_000,
    wrap: cluster.on(0),
    launcherArgs: ["--rsh-agent", cluster.rshAgent, "-x", "TMPDIR", ...launcherArgs],
  });

  it("at -n 6, two ranks per host, equals the serial run bit for bit", async () => {
    const hosts = cluster.hosts.map((h) => `${h.ip}:2`).join(",");
    const job = await runJob(6, script, SMALL, onCluster(["--host", hosts]));
    expect(job.exitCode, job.stderr).toBe(0);
    expect(job.stdout).toContain("on 6 ranks (3 × 2 grid)");
    expect(job.stdout).toContain("parallel U and V equal the serial run bit for bit: yes");
    expect(checksum(job.stdout)).toBe(serial);
    for (const host of cluster.hosts) expect(job.stderr).toContain(`use ${host.ip}`);
    expect(await leftovers(job)).toEqual({ processes: [], files: [] });
  });
});
