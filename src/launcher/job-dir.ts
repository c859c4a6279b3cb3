/**
 * The private directory of a job on one host (the launcher's, a node agent's or a `--direct`
 * task's): bundles, ipc sockets and whatever ranks put in TSMPI_JOB_DIR live there, and it is
 * removed at the end. One whose owner was killed before it could remove it is removed by the
 * next one made in the same place ({@link removeStaleJobDirs}).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { recordOwner, removeStaleJobDirs } from "./stale-jobs.js";

export interface JobDir {
  path: string;
  /** The job's id: the directory's name (the launcher's names the job on every host). */
  id: string;
  /** Remove it and all it holds; safe to call twice. */
  remove(): void;
}

/**
 * Make a job directory in `parent` (mode 0700: only this user can open it), recording this
 * process as its owner; first remove the job directories there whose owners have ended.
 */
export function makeJobDir(parent = tmpdir()): JobDir {
  removeStaleJobDirs(parent);
  const path = mkdtempSync(join(parent, "tsmpi-"));
  recordOwner(path);
  return { path, id: basename(path), remove: () => rmSync(path, { recursive: true, force: true }) };
}
