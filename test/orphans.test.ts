// Nothing outlives a job: ranks die with the launcher or node agent that started them, even
// while they compute, and a job directory left by a killed launcher is removed by the next one.
import { execFileSync } from "node:child_process";
import { chownSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { execa } from "execa";
import { JOB_DIR_NAME, OWNER_FILE, ownerOf, removeStaleJobDirs, type Owner } from "../src/launcher/stale-jobs.js";
import { ROOT, fixture, follow, runJob, startJob } from "./helpers.js";

/** Live processes (zombies have no command line) whose command line holds `marker`, read from /proc. */
function pidsWith(marker: string): number[] {
  return readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(marker);
      } catch {
        return false; // gone meanwhile
      }
    })
    .map(Number);
}

/** The parent of process `pid` (field 4 of /proc/<pid>/stat). */
function parentOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
}

/** Poll until none of `pids` still runs with `marker`; @returns how long that took in ms from `since` (`limitMs` if never). */
async function goneAfter(pids: number[], marker: string, since: number, limitMs = 5000): Promise<number> {
  const running = () => pidsWith(marker).some((pid) => pids.includes(pid));
  while (running() && performance.now() - since < limitMs) await new Promise((resolve) => setTimeout(resolve, 5));
  return Math.round(performance.now() - since);
}

/** A test that fails must not leave ranks spinning forever on the test machine. */
function killAll(marker: string): void {
  for (const pid of pidsWith(marker)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

/** The rank's module that makes it die with its parent, as built. */
const PARENT_DEATH = join(ROOT, "dist/rank/parent-death.js");
const jobDirs = (dir: string) => readdirSync(dir).filter((name) => JOB_DIR_NAME.test(name));

describe("ranks die with whoever started them", () => {
  it("4 ranks computing in a tight loop are gone within 1 s of a SIGKILL to the launcher", async () => {
    const { proc, marker } = startJob(4, fixture("busy.ts"));
    try {
      const job = follow(proc);
      await job.until("4 ranks computing", () => (job.out.match(/computing/g) ?? []).length >= 4);
      const ranks = pidsWith(marker).filter((pid) => pid !== proc.pid);
      expect(ranks).toHaveLength(4);
      const killed = performance.now();
      proc.kill("SIGKILL");
      const ms = await goneAfter(ranks, marker, killed);
      console.log(`tight-loop ranks gone ${ms} ms after the launcher's SIGKILL`);
      expect(ms).toBeLessThan(1000);
    } finally {
      killAll(marker);
      await proc;
    }
  });

  it("ranks computing in a tight loop on another host are gone within 1 s of a SIGKILL to its node agent", async () => {
    // The "other host" is this one reached through a stand-in for ssh: its ranks are the agent's children.
    const launcherArgs = ["--rsh-agent", `sh ${fixture("here-agent.sh")}`, "--iface", "lo", "--host", "elsewhere.invalid:2"];
    const { proc, marker } = startJob(2, fixture("busy.ts"), [], { launcherArgs });
    try {
      const job = follow(proc);
      await job.until("2 ranks computing", () => (job.out.match(/computing/g) ?? []).length >= 2);
      const ranks = pidsWith(marker).filter((pid) => pid !== proc.pid);
      expect(ranks).toHaveLength(2);
      const agent = parentOf(ranks[0]!);
      expect(readFileSync(`/proc/${agent}/cmdline`, "utf8")).toContain("launcher/agent.js");
      const killed = performance.now();
      process.kill(agent, "SIGKILL");
      const ms = await goneAfter(ranks, marker, killed);
      expect((await proc).exitCode).toBe(255); // a lost host
      console.log(`tight-loop ranks gone ${ms} ms after their node agent's SIGKILL`);
      expect(ms).toBeLessThan(1000);
    } finally {
      killAll(marker);
      await proc;
    }
  });

  it("ranks waiting in their event loop die with a launcher killed by SIGKILL, and the next launcher removes the job directory", async () => {
    const { proc, marker, tmp } = startJob(3, fixture("sleep.ts"));
    const job = follow(proc);
    await job.until("3 ranks sleeping", () => (job.out.match(/sleeping/g) ?? []).length >= 3);
    const ranks = pidsWith(marker).filter((pid) => pid !== proc.pid);
    const killed = performance.now();
    proc.kill("SIGKILL");
    expect(await goneAfter(ranks, marker, killed)).toBeLessThan(1000);
    const next = await runJob(1, fixture("env.ts"), [], { env: { TMPDIR: tmp } });
    expect(next.exitCode).toBe(0);
    expect(readdirSync(tmp)).toEqual([]);
  });

  // How a rank sets it up itself when the launcher could not (no setpriv with --pdeathsig), and the last resort.
  // The watchdog looks every 200 ms once its thread has started, which took up to 1.9 s on the
  // test machine under a load of 11 on its 2 cores: its bound is looser.
  it.each([
    ["prctl through koffi", "m.dieWithParent(process.ppid)", 1000],
    ["a watchdog thread (where prctl cannot be used)", "m.startWatchdog(process.ppid)", 3000],
  ])("with %s (%s), a process computing in a tight loop dies within %i ms of its parent's SIGKILL", async (how, call, limit) => {
    const marker = `parent-death-test-${process.pid}-${Date.now()}`;
    const child = `import(${JSON.stringify(PARENT_DEATH)}).then((m) => { ${call}; console.log("computing"); for (;;); })`;
    // The marker reaches the child through the parent's environment: only the child's command line holds it.
    const parent = `require("node:child_process").spawn(process.execPath, ["-e", ${JSON.stringify(child)}, process.env.MARKER], { stdio: "inherit" }); setInterval(() => {}, 1000);`;
    const proc = execa("node", ["-e", parent], { reject: false, timeout: 30_000, env: { MARKER: marker } });
    try {
      const job = follow(proc);
      await job.until("the child computing", () => job.out.includes("computing"));
      await new Promise((resolve) => setTimeout(resolve, 200)); // a watchdog thread's start
      const computing = pidsWith(marker);
      expect(computing).toHaveLength(1);
      const killed = performance.now();
      proc.kill("SIGKILL");
      const ms = await goneAfter(computing, marker, killed);
      console.log(`tight-loop process gone ${ms} ms after its parent's SIGKILL (${how})`);
      expect(ms).toBeLessThan(limit);
    } finally {
      killAll(marker);
      await proc;
    }
  });

  it("a rank whose parent ended before it could set the death signal exits at once", async () => {
    const child = `import(${JSON.stringify(PARENT_DEATH)}).then((m) => { m.dieWithParent(process.ppid + 1); console.log("still running"); })`;
    const result = await execa("node", ["-e", child], { reject: false, timeout: 30_000 });
    expect([result.exitCode, String(result.stdout)]).toEqual([129, ""]);
  });
});

describe("job directories left by killed launchers", () => {
  it("kill -9 of the launcher and its ranks together leaves the job directory, and the next launcher removes it", async () => {
    const { proc, marker, tmp } = startJob(3, fixture("sleep.ts"));
    const job = follow(proc);
    await job.until("3 ranks sleeping", () => (job.out.match(/sleeping/g) ?? []).length >= 3);
    const all = pidsWith(marker);
    expect(all).toHaveLength(4);
    for (const pid of all) process.kill(pid, "SIGKILL");
    await proc;
    expect(await goneAfter(all, marker, performance.now())).toBeLessThan(1000);
    expect(jobDirs(tmp)).toHaveLength(1);
    const next = await runJob(1, fixture("env.ts"), [], { env: { TMPDIR: tmp } });
    expect(next.exitCode).toBe(0);
    expect(readdirSync(tmp)).toEqual([]);
  });

  it("removes only this user's job directories whose owner has ended on this machine", async () => {
    const parent = mkdtempSync(join(tmpdir(), "tsmpi-stale-test-"));
    const make = (name: string, owner?: Owner | string) => {
      mkdirSync(join(parent, name), { mode: 0o700 });
      writeFileSync(join(parent, name, "rank-0"), "");
      if (owner !== undefined) writeFileSync(join(parent, name, OWNER_FILE), typeof owner === "string" ? owner : JSON.stringify(owner));
      return name;
    };
    let reaper: ReturnType<typeof execa> | undefined;
    try {
      const alive = ownerOf();
      const dead: Owner = { ...alive, pid: Number(execFileSync("sh", ["-c", "echo $$"], { encoding: "utf8" })) }; // a shell that has ended
      const kept = [
        make("tsmpi-Live01", alive),
        make("tsmpi-NoRec1"),
        make("tsmpi-Torn01", '{"machine": "'),
        make("tsmpi-Other1", { ...dead, machine: "another-host boot x pid namespace y" }),
        make("tsmpi-test-Dead01", dead),
      ];
      if (process.getuid?.() === 0) {
        chownSync(join(parent, make("tsmpi-Chown1", dead)), 12345, 12345); // another user's
        kept.push("tsmpi-Chown1");
      }
      symlinkSync(join(parent, make("elsewhere", dead)), join(parent, "tsmpi-Link01"));
      // A zombie: ended, not yet reaped by its parent (a sleep that never waits for it; the child
      // outlives the shell's exec, so the shell cannot reap it first).
      reaper = execa("sh", ["-c", "sleep 0.2 & echo $!; exec sleep 5"], { reject: false });
      const zombie = await new Promise<number>((resolve) => reaper!.stdout!.once("data", (line: Buffer) => resolve(Number(String(line).trim()))));
      while (!/\) Z /.test(readFileSync(`/proc/${zombie}/stat`, "utf8"))) await new Promise((resolve) => setTimeout(resolve, 5));
      const zombieStart = readFileSync(`/proc/${zombie}/stat`, "utf8").split(") ")[1]!.split(" ")[19]!;
      const stale = [
        make("tsmpi-Dead01", dead),
        make("tsmpi-Reuse1", { ...alive, start: "1" }), // a pid now another process's
        make("tsmpi-Zombi1", { ...alive, pid: zombie, start: zombieStart }),
      ];
      expect(removeStaleJobDirs(parent).sort()).toEqual(stale.map((name) => join(parent, name)).sort());
      expect(readdirSync(parent).sort()).toEqual([...kept, "elsewhere", "tsmpi-Link01"].sort());
    } finally {
      rmSync(parent, { recursive: true, force: true });
      reaper?.kill("SIGKILL");
      await reaper;
    }
  });
});
