/**
 * A real single-node Slurm cluster for tests: munged, slurmctld and slurmd from Debian's
 * slurm-wlm and munge packages, with a configuration, key and spool of their own in a
 * temporary directory (nothing in /etc is touched). Clients find it through SLURM_CONF.
 * `stop()` ends the daemons and removes the directory, and is safe to call twice.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";

export interface SlurmCluster {
  /** Environment for Slurm clients (salloc, srun, squeue). */
  env: Record<string, string>;
  stop(): void;
}

const run = (cmd: string, args: string[], env?: Record<string, string>) =>
  execFileSync(cmd, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } }).toString();

/** Is process `pid` still there? */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function startSlurm(cpus = 8): Promise<SlurmCluster> {
  const dir = mkdtempSync(join(tmpdir(), "tsmpi-slurm-"));
  const conf = join(dir, "slurm.conf");
  const pidFiles = ["munged.pid", "slurmctld.pid", "slurmd.pid"].map((f) => join(dir, f));
  const env = { SLURM_CONF: conf };
  const stop = () => {
    for (const file of pidFiles.reverse()) {
      try {
        process.kill(Number(readFileSync(file, "utf8").trim()), "SIGKILL");
      } catch {
        // not started, or gone
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const sub of ["ctld", "d"]) mkdirSync(join(dir, sub));
    writeFileSync(join(dir, "munge.key"), randomBytes(1024), { mode: 0o600 });
    const socket = join(dir, "munge.sock");
    run("munged", [
      "--force",
      `--key-file=${join(dir, "munge.key")}`,
      `--socket=${socket}`,
      `--pid-file=${pidFiles[0]}`,
      `--log-file=${join(dir, "munged.log")}`,
      `--seed-file=${join(dir, "munged.seed")}`,
    ]);
    const port = 17000 + (process.pid % 1000) * 2;
    const node = hostname();
    writeFileSync(
      conf,
      [
        "ClusterName=tsmpitest",
        `SlurmctldHost=${node}`,
        "SlurmUser=root",
        "SlurmdUser=root",
        "AuthType=auth/munge",
        `AuthInfo=socket=${socket}`,
        "CredType=cred/munge",
        "ProctrackType=proctrack/linuxproc",
        "TaskPlugin=task/none",
        "MpiDefault=none",
        "SchedulerType=sched/builtin",
        "SelectType=select/cons_tres",
        "SelectTypeParameters=CR_Core",
        "JobAcctGatherType=jobacct_gather/none",
        "AccountingStorageType=accounting_storage/none",
        `StateSaveLocation=${join(dir, "ctld")}`,
        `SlurmdSpoolDir=${join(dir, "d")}`,
        `SlurmctldPidFile=${pidFiles[1]}`,
        `SlurmdPidFile=${pidFiles[2]}`,
        `SlurmctldLogFile=${join(dir, "slurmctld.log")}`,
        `SlurmdLogFile=${join(dir, "slurmd.log")}`,
        `SlurmctldPort=${port}`,
        `SlurmdPort=${port + 1}`,
        "ReturnToService=2",
        // More CPUs than the machine has, so that a test can allocate 4 tasks on 2 cores.
        "SlurmdParameters=config_overrides",
        `NodeName=${node} CPUs=${cpus} State=UNKNOWN`,
        "PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP",
        "",
      ].join("\n"),
    );
    run("slurmctld", ["-f", conf], env);
    run("slurmd", ["-f", conf], env);
    // Wait until the node is idle (ready to run jobs); a daemon that died fails at once.
    const deadline = Date.now() + 20_000;
    for (;;) {
      const state = run("sinfo", ["-h", "-o", "%T"], env).trim();
      if (state === "idle") break;
      const dead = pidFiles.filter((file) => existsSync(file) && !alive(Number(readFileSync(file, "utf8").trim())));
      if (dead.length > 0) throw new Error(`Slurm daemon exited (${dead.join(", ")}); node state ${JSON.stringify(state)}`);
      if (Date.now() > deadline) throw new Error(`Slurm node did not become idle within 20 s (state ${JSON.stringify(state)}); see ${dir}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } catch (error) {
    const logs = ["slurmctld.log", "slurmd.log", "munged.log"]
      .map((f) => join(dir, f))
      .filter(existsSync)
      .map((f) => `${f}:\n${readFileSync(f, "utf8").split("\n").slice(-5).join("\n")}`)
      .join("\n");
    stop();
    throw new Error(`could not start Slurm: ${(error as Error).message}\n${logs}`, { cause: error });
  }
  return { env, stop };
}
