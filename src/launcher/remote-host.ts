/**
 * The ranks on another host: a node agent started there (ssh, --rsh-agent or srun) starts
 * them with {@link startLocalRanks} and relays their output and ends, which the launcher
 * handles as it does its own ranks'. A host that cannot start its ranks, whose connection
 * dies, or that goes silent (no heartbeat for the --heartbeat timeout) is lost as a whole.
 */
import { Buffer } from "node:buffer";
import { performance } from "node:perf_hooks";
import process from "node:process";
import { join } from "node:path";
import type { FromAgent, ToAgent } from "./agent-protocol.js";
import { AGENT_MAIN, AgentLink, RETRY_MS, agentArgv, type LaunchRetry } from "./agent-link.js";
import { Heartbeat, formatHeartbeat, sshKeepAlive } from "./heartbeat.js";
import type { PlannedHost } from "./hosts.js";
import type { JobContext, JobHost } from "./job-host.js";
import type { LaunchOptions } from "./options.js";
import { say, writeErr } from "./output.js";
import type { Supervisor } from "./supervisor.js";

export function startRemoteHost(host: PlannedHost, node: number, job: JobContext): JobHost {
  const { options, supervisor } = job;
  const argv = agentArgv(host.name, {
    rsh: host.via === "srun" ? "srun" : sshKeepAlive(options.rshAgent, options.heartbeat),
    node: options.remoteNode ?? process.execPath,
    agentMain: options.prefix ? join(options.prefix, "dist/launcher/agent.js") : AGENT_MAIN,
    launchAgent: options.launchAgent,
    cwd: options.wdir ?? process.cwd(),
    wdir: options.wdir !== undefined,
  });
  let limit: NodeJS.Timeout | undefined;
  /** The host has --launch-timeout seconds to start its ranks, counted from its latest attempt (see --launch-retry). */
  const arm = () => {
    clearTimeout(limit);
    limit = setTimeout(() => {
      if (!link.ready) supervisor.hostLost(host, `did not start its ranks within --launch-timeout ${options.launchTimeout} s`);
    }, options.launchTimeout * 1000);
    limit.unref();
  };
  let heartbeat: Heartbeat | undefined;
  const link: AgentLink = new AgentLink(
    host.name,
    argv,
    (message) => {
      heartbeat?.heard();
      if (message.type === "ready") heartbeat = watch(host, job, link);
      relay(message, host, supervisor, options, (ask) => link.send(ask));
    },
    // An agent that never got ready had no connection to lose (ssh could not log in, or the agent not start).
    (why) => {
      heartbeat?.stop();
      supervisor.hostLost(host, `${link.ready ? "lost its connection" : "could not start its ranks"} (${why})`);
    },
    host.via === "ssh" && options.launchRetry > 0 ? retrying(host, options.launchRetry, arm) : undefined,
  );
  for (const rank of host.ranks) supervisor.addRank(rank, host, (signal, group) => link.send({ type: "signal", rank, signal, group }));
  link.send(launchMessage(host, node, job));
  if (host.ranks.includes(0)) {
    process.stdin.on("data", (data: Buffer) => link.send({ type: "stdin", data: data.toString("base64") }));
    process.stdin.on("end", () => link.send({ type: "stdin" }));
  }
  arm();
  return {
    // The agent writes a bundle's code into its own job directory.
    start: ({ path, code, control }) => link.send(code === undefined ? { type: "entry", path, control } : { type: "entry", code, control }),
    notify: (notice) => link.send({ type: "notice", notice }),
    disconnect: () => link.disconnect(),
    close: () => (clearTimeout(limit), heartbeat?.stop()),
    settled: () => link.settled(),
  };
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
function launchMessage(host: PlannedHost, node: number, { options, plan, jobDir, supervisor }: JobContext): ToAgent {
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
