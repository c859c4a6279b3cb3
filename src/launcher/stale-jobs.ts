/**
 * Job directories whose owner is gone. A launcher, node agent or `--direct` task that is killed
 * with SIGKILL (its ranks die with it, see ../rank/parent-death.ts) cannot remove its job
 * directory; the next one started on the host does, as Open MPI's mpirun removes the session
 * directories of jobs that are no longer running.
 *
 * Each job directory holds an {@link Owner} record: the process that made it, named so that
 * another process given the same pid later is not taken for it (its start time), on which host,
 * boot and pid namespace. A directory is removed only if it is named like a job directory, is a
 * directory of this user (not a link), and its record says its owner ran here and has ended; a
 * directory of another host sharing the temporary directory, of another container, of before a
 * reboot, or without a readable record is left alone.
 */
import process from "node:process";
import { lstatSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";

/** Who made a job directory. */
export interface Owner {
  /** Host name, boot id and pid namespace: the pid means something only where all three match. */
  machine: string;
  pid: number;
  /** The process's start time (clock ticks after boot), or null where there is no /proc. */
  start: string | null;
}

/** The record's name in a job directory (a dot file: ranks may put files of their own there). */
export const OWNER_FILE = ".tsmpi-owner";
/** Names of job directories: `tsmpi-` and mkdtemp's six random letters and digits. */
export const JOB_DIR_NAME = /^tsmpi-[A-Za-z0-9]{6}$/;

/** The owner record of process `pid` (this process by default), on this machine. */
export function ownerOf(pid = process.pid): Owner {
  return { machine: thisMachine(), pid, start: startTime(pid) };
}

/** Write this process's owner record into the job directory `dir`. */
export function recordOwner(dir: string): void {
  writeFileSync(join(dir, OWNER_FILE), JSON.stringify(ownerOf()), { mode: 0o600 });
}

/** Has the owner of a job directory ended? False when it cannot be known from here. */
function ownerGone(owner: Owner, machine = thisMachine()): boolean {
  if (owner.machine !== machine) return false;
  if (owner.start !== null) return startTime(owner.pid) !== owner.start;
  try {
    process.kill(owner.pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ESRCH";
  }
}

/**
 * Remove the job directories in `parent` whose owner has ended (see the module's comment for
 * which). Never throws: a directory that cannot be read or removed is left.
 * @returns the directories removed
 */
export function removeStaleJobDirs(parent: string): string[] {
  let names: string[];
  try {
    names = readdirSync(parent).filter((name) => JOB_DIR_NAME.test(name));
  } catch {
    return [];
  }
  const machine = thisMachine();
  const removed: string[] = [];
  for (const name of names) {
    const dir = join(parent, name);
    const owner = readOwner(dir);
    if (owner === undefined || !ownerGone(owner, machine)) continue;
    try {
      rmSync(dir, { recursive: true, force: true });
      removed.push(dir);
    } catch {
      // another launcher removing it too, or not ours to remove after all
    }
  }
  return removed;
}

/** The owner record of `dir` if it is a directory of this user with a well-formed record. */
function readOwner(dir: string): Owner | undefined {
  try {
    const stat = lstatSync(dir);
    if (!stat.isDirectory() || (process.getuid && stat.uid !== process.getuid())) return undefined;
    const owner = JSON.parse(readFileSync(join(dir, OWNER_FILE), "utf8")) as Partial<Owner>;
    const wellFormed =
      typeof owner.machine === "string" && Number.isInteger(owner.pid) && owner.pid! > 0 && (owner.start === null || typeof owner.start === "string");
    return wellFormed ? (owner as Owner) : undefined;
  } catch {
    return undefined; // no record (yet: its launcher may be writing it), or not readable
  }
}

/**
 * Field 22 of /proc/<pid>/stat (after the command name, which may hold spaces and parentheses);
 * null when there is no such process or it has ended (a zombie its parent has not reaped yet).
 */
function startTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return fields[0] === "Z" || fields[0] === "X" ? null : (fields[19] ?? null);
  } catch {
    return null;
  }
}

/** Where a pid means this process's pids: this host, since its last boot, in this pid namespace ("?" where unknown). */
function thisMachine(): string {
  const read = (what: () => string) => {
    try {
      return what().trim();
    } catch {
      return "?";
    }
  };
  const boot = read(() => readFileSync("/proc/sys/kernel/random/boot_id", "utf8"));
  return `${hostname()} boot ${boot} pid namespace ${read(() => readlinkSync("/proc/self/ns/pid"))}`;
}
