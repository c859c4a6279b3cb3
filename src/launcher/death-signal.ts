/**
 * Ranks start with the kernel set to kill them when their starter (launcher, node agent or
 * `--direct` task) ends: util-linux's `setpriv --pdeathsig KILL` sets that and then execs the
 * rank's node, so no process stands in between and the rank's parent is its starter. Where
 * there is no setpriv that knows the option (it came in util-linux 2.33), each rank sets it
 * itself through koffi (see ../rank/parent-death.ts), which costs ranks that would not load
 * koffi anyway ~16 ms of CPU each: 64 ranks on 2 cores took 1.0 s more CPU (+5 %) with koffi
 * in every rank, and no measurable more through setpriv.
 */
import process from "node:process";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import { cacheDir } from "./cache-dir.js";

let found: string[] | undefined;

/**
 * The command words to put before a rank's `node`: `[setpriv, --pdeathsig, KILL, --]`, or none
 * where setpriv is not there or does not know the option. Looked up once per process.
 */
export function deathSignalPrefix(): string[] {
  return (found ??= lookUp());
}

function lookUp(): string[] {
  if (process.platform !== "linux") return [];
  const dirs = (process.env.PATH ?? "").split(delimiter).filter((dir) => dir !== "");
  const setpriv = [...dirs, "/usr/bin", "/bin"].map((dir) => join(dir, "setpriv")).find((path) => existsSync(path));
  if (setpriv === undefined) return [];
  return knowsPdeathsig(setpriv) ? [setpriv, "--pdeathsig", "KILL", "--"] : [];
}

/**
 * Whether this setpriv knows `--pdeathsig`. The answer is kept in the cache directory while the
 * binary is the same file (path, size, mtime, inode): the probe (a process) took ~12-20 ms of
 * every launcher's and node agent's start, before its first rank could be started.
 */
function knowsPdeathsig(setpriv: string): boolean {
  const dir = cacheDir();
  const { size, mtimeMs, ino } = statSync(setpriv);
  const identity = JSON.stringify({ setpriv, size, mtimeMs, ino });
  const record = dir && join(dir, "launcher-setpriv.json");
  try {
    const kept = JSON.parse(readFileSync(record!, "utf8")) as { identity: string; knows: boolean };
    if (kept.identity === identity) return kept.knows;
  } catch {
    // no record (or no cache): probe
  }
  // --help after the option: it is checked, nothing is run.
  const probe = spawnSync(setpriv, ["--pdeathsig", "KILL", "--help"], { stdio: "ignore", timeout: 5000 });
  const knows = probe.status === 0;
  if (record && probe.status !== null) {
    try {
      // Renamed into place: a concurrent launcher never reads half a record.
      const temp = `${record}.${process.pid}`;
      writeFileSync(temp, JSON.stringify({ identity, knows }), { mode: 0o600 });
      renameSync(temp, record);
    } catch {
      // a cache that cannot be written is no cache
    }
  }
  return knows; // (a probe killed by its timeout is not kept: asked again next time)
}
