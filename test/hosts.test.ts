import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { execa } from "execa";
import { batchAllocation, expandNodeList, expandTasksPerNode, lsfHosts, pbsHosts, slurmHosts } from "../src/launcher/allocation.js";
import { mapRanks, parseHostfile, parseHostList, planHosts } from "../src/launcher/hosts.js";
import { inCidr } from "../src/launcher/network.js";
import { BIN, fixture, leftovers, runJob } from "./helpers.js";

describe("host lists and hostfiles", () => {
  it("reads --host with and without slots", () => {
    expect(parseHostList("a,b:4, c:2")).toEqual([
      { name: "a", slots: 1 },
      { name: "b", slots: 4 },
      { name: "c", slots: 2 },
    ]);
    expect(() => parseHostList("a:0")).toThrow(/--host a:0: slots must be a positive integer/);
    expect(() => parseHostList("a:b:c")).toThrow(/--host: cannot read "a:b:c"/);
    // IPv6 addresses: bare (one slot), or in brackets before `:slots`.
    expect(parseHostList("fd00:1::2,[fd00:1::3]:4,[::1]")).toEqual([
      { name: "fd00:1::2", slots: 1 },
      { name: "fd00:1::3", slots: 4 },
      { name: "::1", slots: 1 },
    ]);
  });

  it("reads Open MPI and MPICH hostfiles with comments, summing repeated hosts", () => {
    const text = "# cluster\nn1 slots=4\nn2:2  # MPICH form\n\n n3   # one slot\nn1 slots=2 max_slots=8\n";
    expect(parseHostfile(text, "hosts")).toEqual([
      { name: "n1", slots: 6 },
      { name: "n2", slots: 2 },
      { name: "n3", slots: 1 },
    ]);
    expect(parseHostfile("fd00:1::2 slots=2\n[fd00:1::3]:3\n[fd00:1::4] slots=1\n", "hosts")).toEqual([
      { name: "fd00:1::2", slots: 2 },
      { name: "fd00:1::3", slots: 3 },
      { name: "fd00:1::4", slots: 1 },
    ]);
    expect(() => parseHostfile("n1 slots=x\n", "hosts")).toThrow(/hostfile hosts:1: slots must be a positive integer, got "x"/);
    expect(() => parseHostfile("n1 n2 n3\n", "hosts")).toThrow(/hostfile hosts:1: cannot read "n1 n2 n3"/);
    expect(() => parseHostfile("# nothing\n", "hosts")).toThrow(/lists no host/);
  });

  it("maps ranks by slot and by node, oversubscribing in the same order", () => {
    const hosts = [
      { name: "a", slots: 2 },
      { name: "b", slots: 1 },
      { name: "c", slots: 2 },
    ];
    expect(mapRanks(hosts, 5, "slot", true)).toEqual({ placement: [0, 0, 1, 2, 2], oversubscribed: false });
    expect(mapRanks(hosts, 5, "node", true)).toEqual({ placement: [0, 1, 2, 0, 2], oversubscribed: false });
    expect(mapRanks(hosts, 7, "slot", true)).toEqual({ placement: [0, 0, 1, 2, 2, 0, 0], oversubscribed: true });
    expect(mapRanks(hosts, 7, "node", true)).toEqual({ placement: [0, 1, 2, 0, 2, 0, 1], oversubscribed: true });
    expect(() => mapRanks(hosts, 6, "slot", false)).toThrow(/-n 6 is more than the 5 slots of a:2,b:1,c:2 and --no-oversubscribe is set/);
  });

  it("expands Slurm node lists and task counts", () => {
    expect(expandNodeList("node[01-03,07],gpu5,r[1-2]-ib")).toEqual(["node01", "node02", "node03", "node07", "gpu5", "r1-ib", "r2-ib"]);
    expect(expandTasksPerNode("2(x3),1")).toEqual([2, 2, 2, 1]);
    expect(slurmHosts({ SLURM_JOB_ID: "7", SLURM_JOB_NODELIST: "n[1-2]", SLURM_TASKS_PER_NODE: "4,2" })).toEqual([
      { name: "n1", slots: 4 },
      { name: "n2", slots: 2 },
    ]);
    expect(slurmHosts({})).toBeUndefined();
  });

  it("reads a PBS node file, one line per slot", () => {
    const dir = mkdtempSync(join(tmpdir(), "tsmpi-pbs-"));
    const file = join(dir, "nodefile");
    writeFileSync(file, "n1\nn1\nn1\nn2\nn2\n\nn3\n");
    expect(pbsHosts({ PBS_NODEFILE: file })).toEqual([
      { name: "n1", slots: 3 },
      { name: "n2", slots: 2 },
      { name: "n3", slots: 1 },
    ]);
    writeFileSync(file, "\n");
    expect(() => pbsHosts({ PBS_NODEFILE: file })).toThrow(`PBS_NODEFILE ${file} lists no host`);
    expect(() => pbsHosts({ PBS_NODEFILE: join(dir, "missing") })).toThrow(`cannot read PBS_NODEFILE ${join(dir, "missing")}: ENOENT`);
    expect(pbsHosts({})).toBeUndefined();
    rmSync(dir, { recursive: true });
  });

  it("reads LSF's LSB_MCPU_HOSTS (host and slots), else LSB_HOSTS (one word per slot)", () => {
    const counted = [
      { name: "hostA", slots: 4 },
      { name: "hostB", slots: 2 },
    ];
    expect(lsfHosts({ LSB_MCPU_HOSTS: "hostA 4 hostB 2 " })).toEqual(counted);
    expect(lsfHosts({ LSB_HOSTS: "hostA hostA hostA hostA hostB hostB" })).toEqual(counted);
    expect(lsfHosts({ LSB_MCPU_HOSTS: "hostA 4 hostB 2", LSB_HOSTS: "hostA" })).toEqual(counted);
    expect(() => lsfHosts({ LSB_MCPU_HOSTS: "hostA four" })).toThrow(
      /cannot read LSB_MCPU_HOSTS="hostA four": expected "host slots host slots ...", got "four" for hostA/,
    );
    expect(lsfHosts({})).toBeUndefined();
  });

  it("takes the allocation of Slurm, else PBS, else LSF", () => {
    const dir = mkdtempSync(join(tmpdir(), "tsmpi-pbs-"));
    const file = join(dir, "nodefile");
    writeFileSync(file, "p1\np1\n");
    const slurm = { SLURM_JOB_ID: "7", SLURM_JOB_NODELIST: "s1", SLURM_TASKS_PER_NODE: "2" };
    const [pbs, lsf] = [{ PBS_NODEFILE: file }, { LSB_HOSTS: "l1 l1" }];
    expect(batchAllocation({ ...slurm, ...pbs, ...lsf })).toEqual({ system: "Slurm", hosts: [{ name: "s1", slots: 2 }] });
    expect(batchAllocation({ ...pbs, ...lsf })).toEqual({ system: "PBS", hosts: [{ name: "p1", slots: 2 }] });
    expect(batchAllocation(lsf)).toEqual({ system: "LSF", hosts: [{ name: "l1", slots: 2 }] });
    expect(batchAllocation({})).toBeUndefined();
    rmSync(dir, { recursive: true });
  });

  it("plans a job on a PBS or LSF allocation like one on --host: this host's ranks local, the others' over ssh, -n from the slots", async () => {
    const request = { hosts: undefined, np: undefined, mapBy: "slot" as const, oversubscribe: true };
    const plan = await planHosts(request, { LSB_MCPU_HOSTS: "localhost 2 tsmpi-test-node.invalid 1" });
    expect(plan.hosts).toEqual([
      { name: "localhost", slots: 2, via: "local", ranks: [0, 1] },
      { name: "tsmpi-test-node.invalid", slots: 1, via: "ssh", ranks: [2] },
    ]);
    // --host wins over the allocation, as over Slurm's.
    const given = await planHosts({ ...request, hosts: [{ name: "localhost", slots: 1 }] }, { LSB_HOSTS: "other other" });
    expect(given.hosts).toEqual([{ name: "localhost", slots: 1, via: "local", ranks: [0] }]);
  });

  it("matches addresses against a CIDR", () => {
    expect(inCidr("10.1.2.3", "10.1.0.0/16")).toBe(true);
    expect(inCidr("10.2.2.3", "10.1.0.0/16")).toBe(false);
    expect(inCidr("192.168.1.7", "0.0.0.0/0")).toBe(true);
    expect(() => inCidr("10.1.2.3", "ten/8")).toThrow(/--bind: "ten\/8" is not a CIDR such as 10.1.0.0\/16 or fd00:1::\/64/);
    expect(() => inCidr("10.1.2.3", "10.0.0.0/33")).toThrow(/is not a CIDR/);
    // IPv6: prefixes on and off group boundaries, `::` anywhere, an embedded IPv4 tail.
    expect(inCidr("fd00:217::2", "fd00:217::/64")).toBe(true);
    expect(inCidr("fd00:218::2", "fd00:217::/64")).toBe(false);
    expect(inCidr("2001:db8:0:0:8000::1", "2001:db8::/65")).toBe(false);
    expect(inCidr("2001:db8:0:0:7fff::1", "2001:db8::/65")).toBe(true);
    expect(inCidr("::ffff:10.1.2.3", "::ffff:10.1.0.0/112")).toBe(true);
    expect(inCidr("::1", "::/0")).toBe(true);
    expect(inCidr("10.1.2.3", "fd00::/8")).toBe(false);
    expect(inCidr("fd00::1", "10.0.0.0/8")).toBe(false);
    expect(() => inCidr("fd00::1", "fd00::/129")).toThrow(/is not a CIDR/);
  });
});

describe("placement options on one host", () => {
  it.each([
    ["a PBS node file", (file: string) => (writeFileSync(file, "localhost\nlocalhost\nlocalhost\n"), { PBS_NODEFILE: file })],
    ["LSF's LSB_MCPU_HOSTS", () => ({ LSB_MCPU_HOSTS: "localhost 3" })],
    ["LSF's LSB_HOSTS", () => ({ LSB_HOSTS: "localhost localhost localhost" })],
  ])("runs one rank per slot of %s when -n is not given", async (_what, allocate) => {
    const tmp = mkdtempSync(join(tmpdir(), "tsmpi-test-"));
    const env = { TMPDIR: tmp, ...allocate(join(tmp, "nodefile")) };
    const marker = `--tsmpi-test-marker=${randomUUID()}`;
    const result = await execa("node", [BIN, fixture("env.ts"), marker], { reject: false, env, timeout: 60_000 });
    expect(result.exitCode, String(result.stderr)).toBe(0);
    const seen = String(result.stdout)
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as Record<string, string | number>);
    expect(seen.map((s) => s.rank).sort()).toEqual([0, 1, 2]);
    for (const s of seen) expect(s.size).toBe(3);
    rmSync(join(tmp, "nodefile"), { force: true });
    expect(await leftovers({ marker, tmp })).toEqual({ processes: [], files: [] });
  });

  it("runs localhost ranks locally and warns when -n oversubscribes the slots", async () => {
    const job = await runJob(3, fixture("env.ts"), [], { launcherArgs: ["--host", "localhost:2"] });
    expect(job.exitCode, job.stderr).toBe(0);
    expect(job.stderr).toBe("tsmpi: warning: 3 ranks on localhost:2 oversubscribe its slots; ranks will share cores");
    expect(job.stdout.trim().split("\n")).toHaveLength(3);
    expect(await leftovers(job)).toEqual({ processes: [], files: [] });
  });

  it.each([
    [["--host", "localhost:2", "--no-oversubscribe", "-n", "3"], /-n 3 is more than the 2 slots of localhost:2 and --no-oversubscribe is set/],
    [["--host", "a:zero"], /--host: cannot read "a:zero"/],
    [["--hostfile", "/nonexistent/hosts"], /cannot read hostfile \/nonexistent\/hosts/],
    [["-x", "1BAD"], /-x 1BAD: "1BAD" is not a variable name/],
    [["-x", "TSMPI_SURELY_UNSET_VAR"], /-x TSMPI_SURELY_UNSET_VAR: TSMPI_SURELY_UNSET_VAR is not set here; write -x TSMPI_SURELY_UNSET_VAR=VALUE/],
    [["--iface", "nope0", "--transport", "tcp"], /--iface nope0: no such interface/],
    [["--iface", "lo", "--bind", "10.0.0.0/8"], /give --iface or --bind, not both/],
    [["--map-by", "core"], /--map-by must be slot, node or ppr:N:node \(N ranks on each host\), got "core"/],
  ])("rejects %j with a one-line error", async (args, message) => {
    const result = await execa("node", [BIN, ...args, fixture("env.ts")], { reject: false, timeout: 30_000 });
    expect(result.exitCode).toBe(1);
    const lines = String(result.stderr).trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(message);
  });
});
