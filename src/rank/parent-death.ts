/**
 * A rank dies with the process that started it (the launcher, a node agent, or a `--direct`
 * task), even while it computes: a rank in a tight loop never returns to its event loop, so it
 * would never see its start channel close and would run on, an orphan, until its loop ends.
 *
 * On Linux the kernel does it: with `PR_SET_PDEATHSIG` set to SIGKILL, the rank is killed the
 * moment its parent ends, whatever it is doing. The launcher sets it where it can
 * (../launcher/death-signal.ts); otherwise the rank sets it itself through koffi. Where neither
 * can (not Linux, no koffi binary for the platform), a watchdog thread checks the parent every
 * {@link WATCHDOG_MS} ms and kills the rank once it is gone.
 */
import process from "node:process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const PR_SET_PDEATHSIG = 1;
const SIGKILL = 9;
/** How often the watchdog thread looks for the parent (where prctl is not available). */
export const WATCHDOG_MS = 200;

/**
 * Make this process die when `parent`, the process that spawned it, ends.
 * @param parent pid of the spawning process, as it told the rank (the pid of the parent read now
 * could already be that of whoever adopted the rank)
 * @param alreadySet the rank was started with the death signal set (setpriv --pdeathsig)
 * @returns how: `"prctl"` (the kernel sends SIGKILL), or `"watchdog"` (a thread polls)
 */
export function dieWithParent(parent: number, alreadySet = false): "prctl" | "watchdog" {
  if (!alreadySet && !setDeathSignal()) {
    startWatchdog(parent);
    return "watchdog";
  }
  // The parent ended before the signal was set (the rank was adopted): nobody will send it.
  const now = parentNow();
  if (now !== undefined && now !== parent) process.exit(129);
  return "prctl";
}

/**
 * Ask the kernel for SIGKILL when the parent thread ends (the spawning thread: the main thread of
 * a launcher or agent). The symbol comes from the process's own libc, glibc or musl alike.
 * @returns whether it is set
 */
function setDeathSignal(): boolean {
  if (process.platform !== "linux") return false;
  try {
    const koffi = createRequire(import.meta.url)("koffi") as typeof import("koffi");
    const prctl = koffi.load(null).func("int prctl(int option, unsigned long arg2, unsigned long arg3, unsigned long arg4, unsigned long arg5)");
    return (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) as number) === 0;
  } catch {
    return false;
  }
}

/** This process's parent now (field 4 of /proc/self/stat, after the command name, which may hold spaces). */
function parentNow(): number | undefined {
  try {
    const stat = readFileSync("/proc/self/stat", "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return undefined; // no /proc: nothing to check against
  }
}

/**
 * The fallback: a thread that keeps running while the main thread computes and kills the process
 * with SIGKILL once `parent` has ended. On Linux it reads the parent from /proc/self/stat (changed
 * once the process is adopted); elsewhere it asks whether the parent's pid still exists.
 * @param parent pid of the process to die with
 */
export function startWatchdog(parent: number): void {
  const code = `
    const { workerData: parent } = require("node:worker_threads");
    const { readFileSync } = require("node:fs");
    const parentGone = () => {
      try {
        const stat = readFileSync("/proc/self/stat", "utf8");
        return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) !== parent;
      } catch {
        try { process.kill(parent, 0); return false; } catch (error) { return error.code === "ESRCH"; }
      }
    };
    const check = () => parentGone() && process.kill(process.pid, "SIGKILL");
    check();
    setInterval(check, ${WATCHDOG_MS});
  `;
  try {
    // node:worker_threads is loaded only here: importing it (with node:stream, which it loads) was ~17 ms of every rank's start.
    const { Worker } = process.getBuiltinModule("node:worker_threads");
    new Worker(code, { eval: true, workerData: parent, stdout: true, stderr: true }).unref();
  } catch {
    // no threads either: the rank still exits when its start channel closes, if it gets to see it
  }
}
