// mpirun's spellings and options (issue 32, part 1): -np, single-dash long options, --bind-to,
// --npernode / --map-by ppr:N:node, --wdir, --output-filename, --help in mpirun's sections,
// --launch-agent in Open MPI's meaning. Real jobs; a second "host" is this one reached through a
// stand-in for ssh (test/fixtures/here-agent.sh), so that its ranks are started by a node agent.
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { execa, execaSync } from "execa";
import { mapRanks, parseMapBy } from "../src/launcher/hosts.js";
import { mpirunSpellings } from "../src/launcher/usage.js";
import { BIN, ROOT, fixture, follow, leftovers, startJob } from "./helpers.js";

const scratch = mkdtempSync(join(tmpdir(), "tsmpi-mpirun-test-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Run `tsmpi ...args` exactly as given (the spellings under test are the launcher's own), in a TMPDIR of its own. */
async function tsmpi(args: string[], options: { cwd?: string; input?: string } = {}) {
  const tmp = mkdtempSync(join(scratch, "tmp-"));
  const result = await execa("node", [BIN, ...args], { reject: false, timeout: 60_000, killSignal: "SIGKILL", env: { TMPDIR: tmp }, ...options });
  return { exitCode: result.exitCode, stdout: String(result.stdout), stderr: String(result.stderr) };
}

/** The JSON lines of a job's stdout, by rank. */
const byRank = <T extends { rank: number }>(stdout: string): T[] =>
  stdout
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as T)
    .sort((a, b) => a.rank - b.rank);

/** Reach elsewhere.invalid through the ssh stand-in, which runs the node agent on this host. */
const viaAgent = ["-rsh-agent", `sh ${fixture("here-agent.sh")}`, "-iface", "lo", "-q"];
/** Two "hosts": this one (localhost) and elsewhere.invalid. */
const twoHosts = (slots: number) => ["-H", `localhost:${slots},elsewhere.invalid:${slots}`, ...viaAgent];

describe("mpirun's spellings", () => {
  it("runs -np 4, mpirun's most common spelling, as -n 4", async () => {
    const job = await tsmpi(["-np", "4", fixture("env.ts")]);
    expect(job.exitCode, job.stderr).toBe(0);
    expect(byRank<{ rank: number; size: number }>(job.stdout).map(({ rank, size }) => [rank, size])).toEqual([0, 1, 2, 3].map((r) => [r, 4]));
  });

  it("spells Open MPI's single-dash long options with two dashes, up to the script only", () => {
    const before = ["-np", "4", "-map-by", "node", "-bind-to", "core", "-host", "a:2", "-hostfile", "h", "-x", "A=1", "-wdir", "d", "-wd", "d"];
    const more = ["-npernode", "2", "-output-filename", "o", "-tag-output", "-oversubscribe", "-nooversubscribe", "--nooversubscribe", "-report-bindings"];
    const script = ["app.ts", "-np", "3", "-bind-to", "core", "--nooversubscribe"];
    expect(mpirunSpellings([...before, ...more, ...script])).toEqual([
      ...["--np", "4", "--map-by", "node", "--bind-to", "core", "--host", "a:2", "--hostfile", "h", "-x", "A=1", "--wdir", "d", "--wd", "d"],
      ...["--npernode", "2", "--output-filename", "o", "--tag-output", "--oversubscribe", "--no-oversubscribe", "--no-oversubscribe", "--report-bindings"],
      ...script,
    ]);
    // Values are never respelled, even when they start with a dash; short options stay short.
    expect(mpirunSpellings(["-n", "-2", "-H", "-host", "-n4", "-timeout", "-stats", "-mca", "x.ts"])).toEqual([
      "-n",
      "-2",
      "-H",
      "-host",
      "-n4",
      "--timeout",
      "-stats",
      "--mca",
      "x.ts",
    ]);
    expect(mpirunSpellings(["-stats=json", "-map-by=node", "--", "-np"])).toEqual(["--stats=json", "--map-by=node", "--", "-np"]);
  });

  it("runs a job given with single-dash options, and passes what follows the script to it untouched", async () => {
    const out = join(scratch, "single-dash-out");
    const job = await tsmpi([
      ...["-np", "2", "-host", "localhost:2", "-map-by", "node", "-x", "EXPORTED=yes", "-tag-output", "-nooversubscribe", "-timeout", "30"],
      ...["-bind-to", "none", "-report-bindings", "-wdir", scratch, "-output-filename", out, "-quiet", "-allow-run-as-root"],
      ...[fixture("env.ts"), "-np", "3", "-bind-to", "core"],
    ]);
    expect(job.exitCode, job.stderr).toBe(0);
    const lines = job.stdout.trim().split("\n").sort();
    expect(lines.map((line) => line.slice(0, "[1,0]<stdout>:".length))).toEqual(["[1,0]<stdout>:", "[1,1]<stdout>:"]);
    for (const [rank, line] of lines.entries()) {
      const seen = JSON.parse(line.slice("[1,0]<stdout>:".length)) as { rank: number; EXPORTED: string; args: string[] };
      expect(seen.rank).toBe(rank);
      expect(seen.EXPORTED).toBe("yes");
      expect(seen.args).toEqual(["-np", "3", "-bind-to", "core"]);
      expect(readFileSync(join(out, "1", `rank.${rank}`, "stdout"), "utf8")).toBe(`${line}\n`);
    }
    expect(job.stderr.split("\n").sort()).toEqual([0, 1].map((r) => expect.stringMatching(new RegExp(`^\\[${hostname()}:\\d+\\] MCW rank ${r} is not bound`))));
  });
});

/** This machine's cores in Open MPI's order, as lscpu (util-linux) numbers them: socket, core index, CPUs. */
function coresHere(): Array<{ socket: number; core: number; cpus: number[] }> {
  const allowed = /^Cpus_allowed_list:\s*(\S+)/m.exec(readFileSync("/proc/self/status", "utf8"))![1]!;
  const cores = new Map<number, { socket: number; core: number; cpus: number[] }>();
  for (const line of String(execaSync("lscpu", ["-p=CPU,CORE,SOCKET"]).stdout).split("\n")) {
    if (line.startsWith("#")) continue;
    const [cpu, core, socket] = line.split(",").map(Number) as [number, number, number];
    if (!cores.has(core)) cores.set(core, { socket, core, cpus: [] });
    cores.get(core)!.cpus.push(cpu);
  }
  return [...cores.values()].filter((core) => core.cpus.some((cpu) => cpuList(allowed).includes(cpu)));
}

/** Parse a Linux CPU list (`0-3,8`). */
const cpuList = (text: string) =>
  text.split(",").flatMap((part) => {
    const [from, to = from] = part.split("-").map(Number) as [number, number?];
    return Array.from({ length: to - from + 1 }, (_, i) => from + i);
  });

/** The CPUs every thread of process `pid` may run on, as /proc says. */
const affinity = (pid: number) =>
  readdirSync(`/proc/${pid}/task`).map((task) => cpuList(/^Cpus_allowed_list:\s*(\S+)/m.exec(readFileSync(`/proc/${pid}/task/${task}/status`, "utf8"))![1]!));

describe("--bind-to", () => {
  const cores = coresHere();

  it("binds each rank, every thread of it, to a core of its own before it runs, and --report-bindings says so as Open MPI does", async () => {
    const np = Math.min(2, cores.length);
    const { proc, marker, tmp } = startJob(np, fixture("where.ts"), ["hold"], { launcherArgs: ["--bind-to", "core", "--report-bindings"] });
    const job = follow(proc);
    await job.until(`${np} ranks`, () => byRank(job.out).length === np);
    const ranks = byRank<{ rank: number; pid: number }>(job.out);
    for (const { rank, pid } of ranks) for (const cpus of affinity(pid)) expect(cpus, `rank ${rank}`).toEqual(cores[rank]!.cpus);
    proc.stdin!.end();
    expect((await proc).exitCode).toBe(0);
    const bitmap = (bound: number[]) =>
      [...new Set(cores.map((c) => c.socket))]
        .map(
          (s) =>
            `[${cores
              .filter((c) => c.socket === s)
              .map((c) => c.cpus.map((cpu) => (bound.includes(cpu) ? "B" : ".")).join(""))
              .join("/")}]`,
        )
        .join("");
    const threads = (n: number) => (n === 1 ? "0" : `0-${n - 1}`);
    expect(job.err.trim().split("\n")).toEqual(
      ranks.map(({ rank }) => {
        const { socket, core, cpus } = cores[rank]!;
        return expect.stringMatching(
          new RegExp(
            `^\\[${hostname()}:\\d+\\] MCW rank ${rank} bound to socket ${socket}\\[core ${core}\\[hwt ${threads(cpus.length)}\\]\\]: ${bitmap(cpus).replace(/[[\]./]/g, "\\$&")}$`,
          ),
        );
      }),
    );
    expect(await leftovers({ marker, tmp })).toEqual({ processes: [], files: [] });
  });

  it("refuses more ranks than cores, as Open MPI does, unless :overload-allowed lets them share", async () => {
    const np = cores.length + 1;
    const refused = await tsmpi(["-n", String(np), "--bind-to", "core", fixture("env.ts")]);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toBe(
      `tsmpi: --bind-to core: ${np} ranks on ${hostname()}, which has ${cores.length} core${cores.length === 1 ? "" : "s"}; lower -n, or write --bind-to core:overload-allowed to let ranks share cores, or --bind-to none (see 'tsmpi --help')`,
    );
    const { proc } = startJob(np, fixture("where.ts"), ["hold"], { launcherArgs: ["--bind-to", "core:overload-allowed"] });
    const job = follow(proc);
    await job.until(`${np} ranks`, () => byRank(job.out).length === np);
    for (const { rank, pid } of byRank<{ rank: number; pid: number }>(job.out))
      expect(affinity(pid)[0], `rank ${rank}`).toEqual(cores[rank % cores.length]!.cpus);
    proc.stdin!.end();
    expect((await proc).exitCode).toBe(0);
  });

  it.each(["socket", "none"])("--bind-to %s leaves every rank on the CPUs of its socket (here: all of them)", async (policy) => {
    const sockets = new Set(cores.map((c) => c.socket)).size;
    const { proc } = startJob(2, fixture("where.ts"), ["hold"], { launcherArgs: ["--bind-to", policy, "--report-bindings"] });
    const job = follow(proc);
    await job.until("2 ranks", () => byRank(job.out).length === 2);
    const all = cores.flatMap((c) => c.cpus).sort((a, b) => a - b);
    for (const { pid } of byRank<{ rank: number; pid: number }>(job.out)) if (sockets === 1 || policy === "none") expect(affinity(pid)[0]).toEqual(all);
    proc.stdin!.end();
    expect((await proc).exitCode).toBe(0);
    if (sockets === 1 || policy === "none")
      expect(job.err).toMatch(/^\[.*\] MCW rank 0 is not bound \(or bound to all available processors\)\n\[.*\] MCW rank 1 is not bound/);
  });

  it("binds the ranks a node agent starts on another host, and relays its report", async () => {
    const job = await tsmpi([...twoHosts(1), "--bind-to", "core", "--report-bindings", fixture("env.ts")]);
    expect(job.exitCode, job.stderr).toBe(0);
    expect(job.stderr.split("\n").filter((line) => line !== "")).toEqual(
      [0, 1].map((r) => expect.stringMatching(new RegExp(`MCW rank ${r} bound to socket \\d+\\[core`))),
    );
  });
});

describe("--npernode and --map-by ppr:N:node", () => {
  const hosts = [
    { name: "a", slots: 2 },
    { name: "b", slots: 2 },
  ];

  it("places N ranks on each host in turn, refuses more, and oversubscribes a host with fewer slots", () => {
    expect(mapRanks(hosts, 4, { perNode: 2 }, true)).toEqual({ placement: [0, 0, 1, 1], oversubscribed: false });
    expect(mapRanks(hosts, 3, { perNode: 2 }, true)).toEqual({ placement: [0, 0, 1], oversubscribed: false });
    expect(mapRanks(hosts, 2, { perNode: 1 }, true)).toEqual({ placement: [0, 1], oversubscribed: false });
    expect(mapRanks(hosts, 6, { perNode: 3 }, true)).toEqual({ placement: [0, 0, 0, 1, 1, 1], oversubscribed: true });
    expect(() => mapRanks(hosts, 5, { perNode: 2 }, true)).toThrow(
      "-n 5 is more than the 4 ranks that --npernode 2 places on 2 hosts (a,b); lower -n or raise --npernode",
    );
    expect(() => mapRanks(hosts, 6, { perNode: 3 }, false)).toThrow(
      "--npernode 3 is more than the 2 slots of a and --no-oversubscribe is set; lower --npernode or give more slots",
    );
    expect(parseMapBy("ppr:3:node", undefined)).toEqual({ perNode: 3 });
    expect(parseMapBy(undefined, "2")).toEqual({ perNode: 2 });
    expect(parseMapBy(undefined, undefined)).toBe("slot");
  });

  it.each([
    [["-npernode", "1"], [0, 1], ""],
    [["--npernode", "2", "-np", "3"], [0, 0, 1], ""],
    [["-map-by", "ppr:2:node"], [0, 0, 1, 1], ""],
    [["-N", "3"], [0, 0, 0, 1, 1, 1], "tsmpi: warning: 6 ranks on localhost:2,elsewhere.invalid:2 oversubscribe its slots; ranks will share cores"],
  ])("%j on -H localhost:2,elsewhere.invalid:2 puts the ranks on hosts %j", async (args, nodes, warning) => {
    const job = await tsmpi([...twoHosts(2), ...args, fixture("where.ts")]);
    expect(job.exitCode, job.stderr).toBe(0);
    expect(byRank<{ rank: number; node: number }>(job.stdout).map((r) => r.node)).toEqual(nodes);
    expect(job.stderr).toBe(warning);
  });

  it("runs N ranks on this host alone", async () => {
    const job = await tsmpi(["--npernode", "3", fixture("where.ts")]);
    expect(job.exitCode, job.stderr).toBe(0);
    expect(byRank<{ rank: number; node: number }>(job.stdout).map((r) => r.node)).toEqual([0, 0, 0]);
  });
});

describe("--wdir", () => {
  it("starts every rank in the directory given, on this host and through a node agent, relative to the launcher's", async () => {
    const dir = join(scratch, "wdir");
    mkdirSync(dir);
    const job = await tsmpi([...twoHosts(1), "--wdir", "wdir", fixture("where.ts")], { cwd: scratch });
    expect(job.exitCode, job.stderr).toBe(0);
    expect(byRank<{ rank: number; node: number; cwd: string }>(job.stdout).map(({ node, cwd }) => [node, cwd])).toEqual([
      [0, dir],
      [1, dir],
    ]);
  });

  it("says which directory is missing, here and on another host", async () => {
    const here = await tsmpi(["-wdir", "/nonexistent/wdir", fixture("where.ts")]);
    expect([here.exitCode, here.stderr]).toEqual([1, `tsmpi: --wdir /nonexistent/wdir: no such directory on ${hostname()} (see 'tsmpi --help')`]);
    const there = await tsmpi(["-host", "elsewhere.invalid", ...viaAgent, "-wdir", "/nonexistent/wdir", fixture("where.ts")]);
    expect(there.exitCode).toBe(255);
    expect(there.stderr).toContain("tsmpi: no directory /nonexistent/wdir on");
    expect(there.stderr).toContain("--wdir must name a directory that exists on every host");
  });
});

describe("--output-filename", () => {
  it.each([
    [3, ["0", "1", "2"]],
    [10, ["00", "01", "02", "03", "04", "05", "06", "07", "08", "09"]],
  ])("writes each of %i ranks' output to DIR/1/rank.N/stdout and stderr, numbered as Open MPI 4 does, and still shows it", async (np, numbers) => {
    const dir = join(scratch, `out-${np}`);
    const job = await tsmpi(["-np", String(np), "--output-filename", dir, fixture("outputs.ts")]);
    expect(job.exitCode, job.stderr).toBe(0);
    expect(readdirSync(dir)).toEqual(["1"]);
    expect(readdirSync(join(dir, "1")).sort()).toEqual(numbers.map((n) => `rank.${n}`));
    for (const [rank, n] of numbers.entries()) {
      expect(readdirSync(join(dir, "1", `rank.${n}`)).sort()).toEqual(["stderr", "stdout"]);
      expect(readFileSync(join(dir, "1", `rank.${n}`, "stdout"), "utf8")).toBe(`out ${rank}\ntail ${rank}`);
      expect(readFileSync(join(dir, "1", `rank.${n}`, "stderr"), "utf8")).toBe(`err ${rank}\n`);
    }
    expect(job.stdout.split("\n").sort()).toEqual(numbers.flatMap((_, r) => [`out ${r}`, `tail ${r}`]).sort());
    expect(job.stderr.split("\n").sort()).toEqual(numbers.map((_, r) => `err ${r}`).sort());
  });

  it("with DIR:nocopy writes only the files, and with --tag-output tags their lines as Open MPI does", async () => {
    const job = await tsmpi(["-np", "2", "-tag-output", "-output-filename", "tagged:nocopy", fixture("outputs.ts")], { cwd: scratch });
    expect([job.exitCode, job.stdout, job.stderr]).toEqual([0, "", ""]);
    for (const rank of [0, 1]) {
      const file = (name: string) => readFileSync(join(scratch, "tagged", "1", `rank.${rank}`, name), "utf8");
      expect(file("stdout")).toBe(`[1,${rank}]<stdout>:out ${rank}\n[1,${rank}]<stdout>:tail ${rank}`);
      expect(file("stderr")).toBe(`[1,${rank}]<stderr>:err ${rank}\n`);
    }
  });
});

describe("the command line, as mpirun's", () => {
  it("groups --help in mpirun's sections", async () => {
    const help = await tsmpi(["--help"]);
    expect(help.exitCode).toBe(0);
    const sections = help.stdout.split("\n\n").filter((block) => /^[A-Z][a-z ]+ options:\n/.test(block));
    const options = (block: string) => [...block.matchAll(/^ {2}(?:-\w, )?( {4})?(--[\w-]+|-\w)/gm)].map((m) => m[2]);
    const expected: Record<string, string[]> = {
      "General options:": ["--np", "--quiet", "--help", "--version"],
      "Mapping options:": ["--host", "--map-by", "--npernode", "--oversubscribe"],
      "Binding options:": ["--bind-to", "--report-bindings"],
      "Output options:": ["--tag-output", "--output-filename"],
      "Launch options:": [
        "--hostfile",
        "-x",
        "--wdir",
        "--rsh-agent",
        "--launch-agent",
        "--launch-timeout",
        "--prefix",
        "--remote-node",
        "--direct",
        "--allow-run-as-root",
      ],
      "Network options:": ["--transport", "--iface", "--bind", "--insecure"],
      "Debugging and profiling options:": ["--timeout", "--deadlock-report", "--keep-going", "--trace", "--cpu-prof", "--stats"],
    };
    expect(sections.map((block) => block.split("\n")[0])).toEqual(Object.keys(expected));
    // Each option in its section, in this order (others may join a section).
    for (const block of sections) {
      const title = block.split("\n")[0]!;
      expect(
        options(block).filter((option) => expected[title]!.includes(option)),
        title,
      ).toEqual(expected[title]);
    }
  });

  it("takes --launch-agent in Open MPI's meaning: the command that starts the node agent on the other host", async () => {
    const agent = `${process.execPath} ${join(ROOT, "dist/launcher/agent.js")}`;
    const job = await tsmpi([...twoHosts(1), "--launch-agent", agent, fixture("where.ts")]);
    expect(job.exitCode, job.stderr).toBe(0);
    expect(byRank<{ rank: number; node: number }>(job.stdout).map((r) => r.node)).toEqual([0, 1]);
  });

  it.each([
    [
      ["--launch-agent", "ssh -p 2222"],
      `--launch-agent "ssh -p 2222": as in Open MPI, --launch-agent is the command that starts tsmpi's node agent on a remote host, not the login; write --rsh-agent "ssh -p 2222"`,
    ],
    [["--bind-to", "numa"], `--bind-to must be none, core or socket, optionally with :overload-allowed, got "numa"`],
    [["-bind-to", "core:sometimes"], `--bind-to must be none, core or socket, optionally with :overload-allowed, got "core:sometimes"`],
    [["--npernode", "0"], `-N/--npernode must be a positive integer, got "0"`],
    [["-map-by", "ppr:two:node"], `the N of --map-by ppr:N:node must be a positive integer, got "two"`],
    [["--map-by", "core"], `--map-by must be slot, node or ppr:N:node (N ranks on each host), got "core"`],
    [["--npernode", "2", "--map-by", "node"], "give --npernode or --map-by, not both (--npernode 2 is --map-by ppr:2:node)"],
    [["--npernode", "2", "-np", "3"], `-n 3 is more than the 2 ranks that --npernode 2 places on 1 host (${hostname()}); lower -n or raise --npernode`],
    [["--output-filename", ":nocopy"], `--output-filename needs a directory, e.g. --output-filename out, got ":nocopy"`],
    [
      ["--direct", "--bind-to", "core"],
      "--direct: the process manager starts the ranks, so --bind-to/--report-bindings cannot apply; use its own option (under Slurm: srun --cpu-bind)",
    ],
    [["--direct", "-wdir", "/tmp"], "--direct: the process manager starts the ranks, so --wdir cannot apply; use its own option (under Slurm: srun --chdir)"],
    [["-mca", "btl", "self"], "Unknown argument: mca"],
  ])("rejects %j with one line, a hint to --help and status 1", async (args, message) => {
    const job = await tsmpi([...args, fixture("env.ts")]);
    expect([job.exitCode, job.stdout, job.stderr]).toEqual([1, "", `tsmpi: ${message} (see 'tsmpi --help')`]);
  });
});
