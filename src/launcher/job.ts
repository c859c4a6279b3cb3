/**
 * One job, step by step: plan where ranks run, make the private job directory, start the
 * ranks (on this host directly, on other hosts through node agents started by ssh or srun,
 * along a launch tree),
 * hand them the script and be their rendezvous, then supervise them until they have all
 * ended: together on the first failure, on --timeout, or on SIGINT/SIGTERM. Nothing is left
 * behind: each rank is a process group that is killed as a whole, agents do the same on their
 * hosts, and job directories are removed.
 */
import process from "node:process";
import { AddressExchange } from "./address-exchange.js";
import { tcpAnyPort } from "../comm/transport/addresses.js";
import { Cleanup } from "./cleanup.js";
import { handOutScript } from "./entry.js";
import { makeJobDir } from "./job-dir.js";
import type { JobContext, JobHost } from "./job-host.js";
import { startLocalHost } from "./local-host.js";
import type { LaunchOptions } from "./options.js";
import { planJob } from "./plan.js";
import { OutputFiles } from "./output-files.js";
import { JobProfile } from "./profiling.js";
import { startRemoteHosts } from "./remote-host.js";
import { Supervisor } from "./supervisor.js";
import { say, writeErr } from "./output.js";
import { watchJob } from "./watchers.js";

// A reader that goes away (`tsmpi ... | head`) must not crash the launcher: output is dropped.
process.stdout.on("error", () => undefined);
process.stderr.on("error", () => undefined);

/** Run the job; resolves with the launcher's exit status. */
export async function runJob(options: LaunchOptions): Promise<number> {
  const plan = await planJob(options);
  const cleanup = new Cleanup();
  const files = options.outputFilename ? new OutputFiles(options.outputFilename, plan.np) : undefined;
  if (files) cleanup.defer(() => files.close());
  const jobDir = makeJobDir();
  cleanup.defer(jobDir.remove);
  const control = new AddressExchange(plan.picked ? tcpAnyPort(plan.picked.address) : `ipc://${jobDir.path}/control`, plan.keys);
  cleanup.defer(() => control.close());
  const profile = JobProfile.for(options, plan.np, jobDir.path);
  const supervisor = new Supervisor(plan.np, options, control.arrived, profile, files);
  const job: JobContext = { options, plan, jobDir, supervisor };
  const hosts: JobHost[] = [];
  cleanup.defer(() => hosts.forEach((host) => host.close()));
  if (profile) cleanup.defer(() => profile.finish(supervisor.ranks, writeErr, say));
  try {
    cleanup.defer(watchJob(supervisor, options));
    const remote = plan.hosts.flatMap((host, node) => (host.via === "local" ? [] : [{ host, node }]));
    hosts.push(...plan.hosts.flatMap((host, node) => (host.via === "local" ? [startLocalHost(host, node, job)] : [])));
    hosts.push(...startRemoteHosts(remote, job));
    hosts.forEach((host) => supervisor.addHost(host));
    await handOutScript(job, control, hosts);
    await supervisor.finished;
  } catch (error) {
    supervisor.abort(1, (error as Error).message);
    if (supervisor.started) await supervisor.finished;
  } finally {
    await Promise.all(hosts.map((host) => host.settled()));
    cleanup.run();
  }
  return supervisor.exitStatus;
}
