/**
 * The job's plan, made before anything starts: which hosts run which ranks, and, when ranks
 * talk over tcp (several hosts, or --transport tcp), the launcher's address for it and the
 * job's key pair (unless --insecure).
 */
import process from "node:process";
import { existsSync, statSync } from "node:fs";
import { hostname } from "node:os";
import type { JobKeys } from "../comm/transport/addresses.js";
import { UsageError } from "../errors.js";
import { hostBindings } from "./binding.js";
import { RETRY_MS } from "./agent-link.js";
import { planHosts, type PlannedHost } from "./hosts.js";
import { pickAddress, type Picked } from "./network.js";
import type { LaunchOptions } from "./options.js";
import { say } from "./output.js";

export interface JobPlan {
  hosts: PlannedHost[];
  np: number;
  /** Some hosts are not this one: their ranks are started by node agents. */
  remote: boolean;
  /** The launcher's tcp address, in jobs that need tcp. */
  picked?: Picked;
  /** The job's keys, in jobs that need tcp, unless --insecure. */
  keys?: JobKeys;
}

/** Plan the job; says so if it oversubscribes its slots, or which address a multi-host job uses here. */
export async function planJob(options: LaunchOptions): Promise<JobPlan> {
  const { hosts, warning } = await planHosts(options, process.env);
  const here = hosts.find((h) => h.via === "local");
  if (here) checkThisHost(options, here);
  if (warning) say(`warning: ${warning}`);
  const np = hosts.reduce((sum, h) => sum + h.ranks.length, 0);
  const remote = hosts.some((h) => h.via !== "local");
  if (!remote && options.transport !== "tcp") return { hosts, np, remote };
  const picked = await pickRetrying(options, hosts.find((h) => h.via !== "local")?.name ?? "127.0.0.1");
  const keys = options.insecure ? undefined : (await import("zeromq")).curveKeyPair();
  const ranksHere = hosts.some((h) => h.via === "local" && h.ranks.length > 0); // else this host uses no address
  if (remote && ranksHere && !options.quiet)
    say(`ranks on ${hostname()} use ${picked.address} (${picked.iface}) for tcp${keys ? "" : ", unencrypted (--insecure)"}`);
  return { hosts, np, remote, picked, keys };
}

/**
 * What can be checked before anything starts, for the ranks of this host: they fit --bind-to,
 * and --wdir is a directory here. (Other hosts check the same when their agent starts.)
 * @throws UsageError
 */
function checkThisHost(options: LaunchOptions, host: PlannedHost): void {
  hostBindings(
    options.bindTo,
    host.ranks.map((rank, localRank) => ({ rank, localRank })),
    false,
  );
  if (options.wdir !== undefined && !(existsSync(options.wdir) && statSync(options.wdir).isDirectory()))
    throw new UsageError(`--wdir ${options.wdir}: no such directory on ${hostname()}`);
}

/**
 * This host's tcp address, by the route towards `towards` (or as --iface/--bind say). Under
 * --launch-retry, a host with no route yet (a Kubernetes pod whose name does not resolve until
 * it runs) is looked up again every {@link RETRY_MS} ms while it lasts.
 */
async function pickRetrying(options: LaunchOptions, towards: string): Promise<Picked> {
  const until = performance.timeOrigin + options.launchRetry * 1000; // from the launcher's start, as for ssh (remote-host.ts)
  for (let said = false; ; said = true) {
    try {
      return await pickAddress({ iface: options.iface, cidr: options.cidr }, towards);
    } catch (error) {
      const byRoute = options.iface === undefined && options.cidr === undefined;
      if (!byRoute || Date.now() + RETRY_MS > until) throw error;
      if (!said) say(`no route to ${towards} yet; --launch-retry: trying again every ${RETRY_MS / 1000} s for up to ${options.launchRetry} s`);
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    }
  }
}
