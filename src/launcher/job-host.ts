/**
 * The launcher's handle on one host of the job, the launcher's own ({@link startLocalHost}) or
 * a remote one ({@link startRemoteHost}): what the job does to all ranks of a host at once.
 */
import type { JobKeys } from "../comm/transport/addresses.js";
import type { JobDir } from "./job-dir.js";
import type { LaunchOptions } from "./options.js";
import type { JobPlan } from "./plan.js";
import type { SupervisedHost, Supervisor } from "./supervisor.js";

/** What the ranks run, once the script is ready and the rendezvous bound. */
export interface Entry {
  /** The script or its bundle, on this host. */
  path: string;
  /** The bundle's code, for hosts that cannot read `path` (undefined: a JavaScript script, at the same path everywhere). */
  code?: string;
  /** The rendezvous address. */
  control: string;
  keys?: JobKeys;
}

export interface JobHost extends SupervisedHost {
  /** Hand the script over: the host's ranks start running it. */
  start(entry: Entry): void;
  /** The job is over: stop what still waits on this host (its --launch-timeout). */
  close(): void;
  /**
   * Resolves once what the launcher started for this host has exited (a remote host's ssh, which
   * ends just after its agent reports the ranks' ends), so that the launcher leaves no process behind.
   */
  settled(): Promise<void>;
}

/** What starting a host needs to know of the job. */
export interface JobContext {
  options: LaunchOptions;
  plan: JobPlan;
  jobDir: JobDir;
  supervisor: Supervisor;
}
