/**
 * The ranks on another host: a node agent started there (ssh, --rsh-agent or srun) starts
 * them with {@link startLocalRanks} and relays their output and ends, which the launcher
 * handles as it does its own ranks'. The launcher logs in to the top hosts of the launch tree
 * only (launch-tree.ts); their agents start the rest and relay for them. A host that cannot
 * start its ranks, whose connection dies, or that goes silent (no heartbeat for the --heartbeat
 * timeout) is lost as a whole, and the hosts below it in the tree with it.
 */
import { Buffer } from "node:buffer";
import process from "node:process";
import { join } from "node:path";
import type { FromAgent, ToAgent } from "./agent-protocol.js";
import { launchTree, subtree } from "./launch-tree.js";
import { AGENT_MAIN, AgentLink, RETRY_MS, agentArgv, type LaunchRetry } from "./agent-link.js";
import { Heartbeat, formatHeartbeat, sshKeepAlive } from "./heartbeat.js";
import type { PlannedHost } from "./hosts.js";
import type { JobContext, JobHost } from "./job-host.js";
import type { LaunchOptions } from "./options.js";
import { say, writeErr } from "./output.js";
import type { Supervisor } from "./supervisor.js";

type Launch = Extract<ToAgent, { type: "launch" }>;

/** A remote host of the job and its index in the host list. */
export interface RemotePlanned {
  host: PlannedHost;
  node: number;
}

/**
 * Start the remote hosts' agents along the launch tree (launch-tree.ts): the launcher logs in to
 * the top of it, whose agents start the rest. @returns a handle per host, in the order given.
 */
export function startRemoteHosts(remote: RemotePlanned[], job: JobContext): JobHost[] {
  const { options } = job;
  // --launch-retry keeps every login with the launcher, which retries them.
  const tree = launchTree(
    remote.map(({ host, node }) => ({ node, via: host.via === "srun" ? "srun" : "ssh" })),
    options.launchRetry > 0 ? Infinity : options.launchFanout,
  );
  const byNode = new Map(remote.map((r) => [r.node, r.host]));
  const launchOf = (node: number): Launch => ({
    ...launchMessage(byNode.get(node)!, node, job),
    children: (tree.children.get(node) ?? []).map((child) => ({
      node: child,
      host: byNode.get(child)!.name,
      argv: argvFor(byNode.get(child)!, options),
      launch: launchOf(child),
    })),
  });
  const handles = new Map<number, JobHost>();
  for (const root of tree.children.get(-1) ?? []) {
    const members = subtree(tree, root).map((node) => ({ node, host: byNode.get(node)! }));
    startBranch(members, launchOf(root), job).forEach((handle, i) => handles.set(members[i]!.node, handle));
  }
  return remote.map((r) => handles.get(r.node)!);
}

/** The level (1: the launcher's own login) of each host of a branch. */
function levelsOf(launch: Launch, level = 1, into = new Map<number, number>()): Map<number, number> {
  into.set(launch.node, level);
  for (const child of launch.children ?? []) levelsOf(child.launch, level + 1, into);
  return into;
}

/** The command that starts a host's agent. */
function argvFor(host: PlannedHost, options: LaunchOptions): string[] {
  return agentArgv(host.name, {
    rsh: host.via === "srun" ? "srun" : sshKeepAlive(options.rshAgent, options.heartbeat),
    node: options.remoteNode ?? process.execPath,
    agentMain: options.prefix ? join(options.prefix, "dist/launcher/agent.js") : AGENT_MAIN,
    launchAgent: options.launchAgent,
    cwd: options.wdir ?? process.cwd(),
    wdir: options.wdir !== undefined,
  });
}

/**
 * One branch of the tree: the launcher logs in to its top host (`members[0]`), whose agent
 * starts the others; everything the branch says comes over that one link, marked with its host.
 */
function startBranch(members: RemotePlanned[], launch: Launch, job: JobContext): JobHost[] {
  const { options, supervisor } = job;
  const levels = levelsOf(launch);
  const [top] = members as [RemotePlanned];
  const ready = new Set<number>();
  const limits = new Map<number, NodeJS.Timeout>();
  /**
   * Each host has --launch-timeout seconds to start its ranks per level of the tree down to it
   * (its parents' logins come first), counted from its latest attempt (see --launch-retry).
   */
  const arm = (member: RemotePlanned) => {
    clearTimeout(limits.get(member.node));
    const seconds = options.launchTimeout * (levels.get(member.node) ?? 1);
    const limit = setTimeout(() => {
      const within =
        seconds === options.launchTimeout
          ? `--launch-timeout ${seconds} s`
          : `${seconds} s (--launch-timeout ${options.launchTimeout} s per level of the launch tree)`;
      if (!ready.has(member.node)) supervisor.hostLost(member.host, `did not start its ranks within ${within}`);
    }, seconds * 1000);
    limits.set(member.node, limit.unref());
  };
  let heartbeat: Heartbeat | undefined;
  const byNode = new Map(members.map((m) => [m.node, m]));
  const link: AgentLink = new AgentLink(
    top.host.name,
    argvFor(top.host, options),
    (message) => {
      heartbeat?.heard();
      const member = byNode.get(message.node ?? top.node);
      if (member === undefined) return;
      if (message.type === "ready") {
        ready.add(member.node);
        if (member === top) heartbeat = watch(top.host, job, link);
      }
      relay(message, member.host, supervisor, options, (ask) => link.send({ ...ask, to: member.node } as ToAgent));
    },
    // An agent that never got ready had no connection to lose (ssh could not log in, or the agent not start).
    (why) => {
      heartbeat?.stop();
      const lost = `${link.ready ? "lost its connection" : "could not start its ranks"} (${why})`;
      for (const m of members)
        supervisor.hostLost(m.host, m === top ? lost : `lost with the node agent on ${top.host.name}, which started its agent (${lost})`);
    },
    top.host.via === "ssh" && options.launchRetry > 0 ? retrying(top.host, options.launchRetry, () => arm(top)) : undefined,
  );
  for (const { host, node } of members) {
    for (const rank of host.ranks) supervisor.addRank(rank, host, (signal, group) => link.send({ type: "signal", rank, signal, group, to: node }));
    if (host.ranks.includes(0)) {
      process.stdin.on("data", (data: Buffer) => link.send({ type: "stdin", data: data.toString("base64"), to: node }));
      process.stdin.on("end", () => link.send({ type: "stdin", to: node }));
    }
  }
  link.send(launch);
  members.forEach(arm);
  return members.map(({ node }) =>
    node === top.node
      ? {
          // The agent writes a bundle's code into its own job directory, and passes it down the tree.
          start: ({ path, code, control }) => link.send(code === undefined ? { type: "entry", path, control } : { type: "entry", code, control }),
          notify: (notice) => link.send({ type: "notice", notice }),
          disconnect: () => link.disconnect(),
          close: () => (limits.forEach((limit) => clearTimeout(limit)), heartbeat?.stop()),
          settled: () => link.settled(),
        }
      : { start: () => undefined, notify: () => undefined, disconnect: () => undefined, close: () => undefined, settled: () => Promise.resolve() },
  );
}

/**
 * Beat towards a host whose agent is ready, and lose the host when it goes silent: its network
 * or power is gone, or its agent is stopped. The connection is then dropped (ssh would wait on
 * it for minutes); the agent, if it runs, ends its ranks when it hears no beat in turn.
 */
function watch(host: PlannedHost, { options, supervisor }: JobContext, link: AgentLink): Heartbeat | undefined {
  const setting = options.heartbeat;
  if (setting === undefined) return undefined;
  return new Heartbeat(
    setting,
    () => link.send({ type: "heartbeat" }),
    (silentMs) => {
      const why = `nothing heard from its node agent for ${(silentMs / 1000).toFixed(1)} s (--heartbeat ${formatHeartbeat(setting)}): its network or power is gone, or the agent is stopped`;
      supervisor.hostLost(host, why);
      link.disconnect();
    },
  );
}

/** What the agent needs to start the host's ranks. */
function launchMessage(host: PlannedHost, node: number, { options, plan, jobDir, supervisor }: JobContext): Launch {
  return {
    type: "launch",
    ranks: host.ranks.map((rank, localRank) => ({ rank, localRank })),
    size: plan.np,
    node,
    jobId: jobDir.id,
    script: options.script,
    args: options.args,
    cwd: options.wdir ?? process.cwd(),
    env: { ...options.exportEnv, ...supervisor.profile?.env(true) },
    network: { iface: options.iface, cidr: options.cidr, towards: plan.picked!.address },
    transport: options.transport,
    bindTo: options.bindTo,
    reportBindings: options.reportBindings,
    keys: plan.keys,
    heartbeat: options.heartbeat,
  };
}

/** What the host's agent says, handled like the launcher's own ranks' output and ends. */
function relay(message: FromAgent, host: PlannedHost, supervisor: Supervisor, options: LaunchOptions, send: (message: ToAgent) => void): void {
  const r = "rank" in message ? supervisor.ranks[message.rank] : undefined;
  switch (message.type) {
    case "ready":
      if (!options.quiet) say(`ranks on ${host.name} (${message.host}) use ${message.address} for tcp`);
      supervisor.profile?.measureClock(host.name, send);
      break;
    case "clock":
      supervisor.profile?.clockAnswer(host.name, message.id, message.time);
      break;
    case "output":
      if (r && r.host === host) (message.fd === 1 ? r.out : r.err).push(Buffer.from(message.data, "base64"));
      break;
    case "exit":
      if (r && r.host === host) supervisor.rankExited(r, message.code, message.signal);
      break;
    case "failed":
      supervisor.hostLost(host, message.message);
      break;
    case "note":
      writeErr(`${message.line}\n`);
      break;
    case "heartbeat":
      break; // heard, like any line
  }
}

/**
 * --launch-retry: a host that ssh cannot log in to yet (its sshd not listening, its name not
 * resolvable yet, as while Kubernetes pods start) is tried again every {@link RETRY_MS} ms until
 * `seconds` after the launcher started, and says so once; each attempt restarts its --launch-timeout.
 */
function retrying(host: PlannedHost, seconds: number, rearm: () => void): LaunchRetry {
  let said = false;
  return {
    until: performance.timeOrigin + seconds * 1000, // from the launcher's start, as for the route in plan.ts
    onRetry: (why) => {
      rearm();
      if (!said) say(`host ${host.name}: ${why}; --launch-retry: trying again every ${RETRY_MS / 1000} s for up to ${seconds} s`);
      said = true;
    },
  };
}
