/**
 * The private directory of a job on one host (the launcher's, or a node agent's): bundles,
 * ipc sockets and whatever ranks put in TSMPI_JOB_DIR live there, and it is removed at the end.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";

export interface JobDir {
  path: string;
  /** The job's id: the directory's name (the launcher's names the job on every host). */
  id: string;
  /** Remove it and all it holds; safe to call twice. */
  remove(): void;
}

/** Make a job directory in `parent` (mode 0700: only this user can open it). */
export function makeJobDir(parent = tmpdir()): JobDir {
  const path = mkdtempSync(join(parent, "tsmpi-"));
  return { path, id: basename(path), remove: () => rmSync(path, { recursive: true, force: true }) };
}
