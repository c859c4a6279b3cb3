/**
 * One job: plan where ranks run, make the private job directory, bundle the script, start
 * the ranks (on this host directly, on other hosts through a node agent started by ssh or
 * srun), be their rendezvous, forward their output, and end them all together: on the first
 * failure, on --timeout, or on SIGINT/SIGTERM. Nothing is left behind: each rank is a process
 * group that is killed as a whole, agents do the same on their hosts, and job directories
 * are removed.
 */
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { constants, hostname, tmpdir } from "node:os";
import { basename, join } from "node:path";
import type { JobKeys } from "../comm/addresses.js";
import type { PeerNotice, StartMessage } from "../rank/control.js";
import type { RankReport } from "../rank/report.js";
import type { FromAgent } from "./agent-protocol.js";
import { AGENT_MAIN, AgentLink, agentArgv } from "./agent-link.js";
import { collectStates, describeStates, watchForDeadlock, type Reporting } from "./hang.js";
import { planHosts, type PlannedHost } from "./hosts.js";
import { pickAddress, type Picked } from "./network.js";
import type { LaunchOptions } from "./options.js";
import { describeExit } from "./exits.js";
import { LineForwarder } from "./output.js";
import { AddressExchange } from "./address-exchange.js";
import { KILL_GRACE_MS, signalRank, spawnRank, tellRank, terminateRanks } from "./spawn.js";
import { prepareScript } from "./transpile.js";
import { tsmpiVersion } from "./version.js";

export const TIMEOUT_STATUS = 124;
/** Between telling the ranks that one died and terminating them: time to see a RankFailedError. */
const NOTICE_MS = 200;
/**
 * A rank that has finished its script but still holds messages for ranks that have all
 * exited (nobody can ever receive them) is ended this long after the last of them.
 */
const UNDELIVERABLE_MS = 1000;
/** Exit status when a host is lost or cannot start its ranks (as ssh's own failure status). */
const HOST_FAILED_STATUS = 255;

interface Host extends PlannedHost {
  link?: AgentLink;
}

interface Rank extends Reporting {
  report?: RankReport;
  /** Ended by the launcher while exiting with messages nobody could receive. */
  undeliverable?: boolean;
  host: Host;
  out: LineForwarder;
  err: LineForwarder;
  /** Local ranks: the process. */
  child?: ChildProcess;
}

// A reader that goes away (`tsmpi ... | head`) must not crash the launcher: output is dropped.
process.stdout.on("error", () => undefined);
process.stderr.on("error", () => undefined);
const say = (line: string) => process.stderr.write(`tsmpi: ${line}\n`);
const writeOut = (text: string) => process.stdout.write(text);
const writeErr = (text: string) => process.stderr.write(text);

/** Run the job; resolves with the launcher's exit status. */
export async function runJob(options: LaunchOptions): Promise<number> {
  const plan = await planHosts(options, process.env);
  if (plan.warning) say(`warning: ${plan.warning}`);
  const hosts: Host[] = plan.hosts;
  const np = hosts.reduce((sum, h) => sum + h.ranks.length, 0);
  const remote = hosts.some((h) => h.via !== "local");
  const needNet = remote || options.transport === "tcp";
  let picked: Picked | undefined;
  let keys: JobKeys | undefined;
  if (needNet) {
    picked = await pickAddress({ iface: options.iface, cidr: options.cidr }, hosts.find((h) => h.via !== "local")?.name ?? "127.0.0.1");
    if (!options.insecure) keys = (await import("zeromq")).curveKeyPair();
    const ranksHere = hosts.some((h) => h.via === "local" && h.ranks.length > 0); // else it uses no address
    if (remote && ranksHere && !options.quiet)
      say(`ranks on ${hostname()} use ${picked.address} (${picked.iface}) for tcp${keys ? "" : ", unencrypted (--insecure)"}`);
  }

  const jobDir = mkdtempSync(join(tmpdir(), "tsmpi-")); // mode 0700: only this user can open it
  const jobId = basename(jobDir);
  const ranks: Rank[] = new Array(np);
  // Ranks boot (Node + tsmpi) while the launcher loads esbuild and ZeroMQ and bundles the
  // script; they get the bundle's path over IPC once this rendezvous socket is bound.
  const control = new AddressExchange(needNet ? `tcp://${picked!.address}:*` : `ipc://${jobDir}/control`, keys);
  let status: number | undefined;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const live = () => ranks.filter((r) => !r.done);

  /** End the job with `code`, terminating every rank still running (after `delayMs`, to let them see a failure); `others`: a rank failed, the rest are "other" ranks. */
  const abortJob = (code: number, why: string, delayMs = 0, others = true) => {
    if (status !== undefined) return;
    status = code;
    const alive = live();
    if (why) say(alive.length > 0 ? `${why}; terminating ${alive.length}${others ? " other" : ""} rank${alive.length === 1 ? "" : "s"}` : why);
    const terminate = () => {
      terminateRanks(alive, (r, signal) => r.kill(signal, true));
      // A host whose agent does not report its ranks' ends in time is cut off (its agent then kills them).
      setTimeout(() => hosts.forEach((h) => h.link?.disconnect()), 4 * KILL_GRACE_MS).unref();
    };
    if (alive.length > 0) {
      if (delayMs > 0) setTimeout(terminate, delayMs).unref();
      else terminate();
    }
    checkDone();
  };
  /**
   * Tell the live ranks that `rank` died (their operations that depend on it reject with
   * RankFailedError) or finished (`reason` undefined: what they hold for it can be dropped).
   */
  const notifyPeers = (rank: number, reason?: string) => {
    const notice: PeerNotice = reason === undefined ? { type: "rank-exited", rank } : { type: "rank-failed", rank, reason };
    for (const h of hosts) {
      if (h.link) h.link.send({ type: "notice", notice });
      else for (const k of h.ranks) if (ranks[k]?.child) tellRank(ranks[k].child, notice);
    }
  };
  let firstFailure: { status: number } | undefined;
  const checkDone = () => {
    if (ranks.every((r) => r.done) && ranks.filter(Boolean).length === np) finish();
  };
  const exitedWithoutInit: number[] = [];
  const checkInit = () => {
    if (control.arrived.size > 0 && exitedWithoutInit.length > 0 && control.arrived.size + exitedWithoutInit.length <= np) {
      abortJob(1, `rank ${exitedWithoutInit[0]} exited without calling init() while rank ${[...control.arrived][0]} waits for it in init()`);
    }
  };
  const onRankExit = (r: Rank, code: number | null, signal: NodeJS.Signals | null) => {
    if (r.done) return;
    r.done = true;
    r.out.end();
    r.err.end();
    if (status === undefined) {
      const failure = describeExit({ ...r, where: r.host.via === "local" ? "" : r.host.name }, code, signal);
      if (failure !== undefined) {
        notifyPeers(r.rank, failure.reason);
        if (options.keepGoing) {
          firstFailure ??= failure;
          say(`${failure.message}; --keep-going: the other ranks go on`);
        } else abortJob(failure.status, failure.message, NOTICE_MS);
      } else {
        notifyPeers(r.rank);
        if (!r.joined && control.arrived.size < np) {
          exitedWithoutInit.push(r.rank);
          checkInit();
        }
      }
      checkUndeliverable();
    }
    checkDone();
  };
  /** Every rank still alive has finished its script: what they wait to send has no receiver left. */
  const checkUndeliverable = () => {
    if (status === undefined && live().every((r) => r.exiting !== undefined)) setTimeout(endUndeliverable, UNDELIVERABLE_MS).unref();
  };
  const endUndeliverable = () => {
    const stuck = live();
    if (stuck.length === 0 || !stuck.every((r) => r.exiting !== undefined)) return;
    for (const r of stuck) {
      say(`rank ${r.rank} finished with messages queued for ranks that had all exited; they were dropped`);
      r.undeliverable = true;
      r.kill("SIGKILL", true);
    }
  };
  /** A host failed as a whole (could not start, or its connection died): its ranks are lost. */
  const onHostLost = (host: Host, why: string) => {
    const lost = host.ranks.map((k) => ranks[k]!).filter((r) => !r.done);
    if (lost.length === 0) return;
    for (const r of lost) {
      r.done = true;
      notifyPeers(r.rank, why);
    }
    if (status === undefined)
      abortJob(HOST_FAILED_STATUS, `host ${host.name} (rank${lost.length === 1 ? "" : "s"} ${lost.map((r) => r.rank).join(", ")}): ${why}`);
    checkDone();
  };

  const onSignal = (signal: NodeJS.Signals) => abortJob(128 + constants.signals[signal], `received ${signal}`, 0, false);
  /** Print what every rank is blocked in (on --timeout, and on SIGQUIT without stopping the job). */
  const reportStates = async (headline: string) => {
    await collectStates(ranks);
    say(headline);
    for (const line of describeStates(ranks)) say(`  ${line}`);
  };
  const onQuit = () => void reportStates("SIGQUIT: what each rank is doing");
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  process.on("SIGQUIT", onQuit);
  let stopWatch = () => undefined as void;
  /** Cleared when the job ends: --timeout and each remote host's --launch-timeout. */
  const timers: NodeJS.Timeout[] = [];

  try {
    hosts.forEach((host, node) => {
      if (host.via === "local") startLocalHost(host, node);
      else startRemoteHost(host, node);
    });
    stopWatch =
      options.deadlockReport === undefined
        ? () => undefined
        : watchForDeadlock(ranks, options.deadlockReport, () =>
            reportStates(`possible deadlock: every rank has been blocked for ${options.deadlockReport} s with no message moving; what each rank waits in:`),
          );
    if (options.timeout !== undefined) {
      timers.push(
        setTimeout(async () => {
          const why = `job exceeded --timeout ${options.timeout} s`;
          await reportStates(`${why}; what each rank was doing:`);
          abortJob(TIMEOUT_STATUS, why, 0, false);
        }, options.timeout * 1000),
      );
    }
    const entry = Promise.all([prepareScript(options.script, jobDir, tsmpiVersion()), control.bind()]);
    entry.catch(() => undefined);
    try {
      const [path, address] = await entry;
      void control
        .run(np, (rank) => {
          ranks[rank]!.joined = true;
          checkInit();
        })
        .catch((error: Error) => abortJob(1, `rendezvous failed: ${error.message}`));
      const start: StartMessage = { type: "start", entry: path, control: address, keys };
      // Remote hosts get a bundle's code (it lives only here); a JavaScript script is at the same path there.
      const bundled = remote && path !== options.script ? readFileSync(path, "utf8") : undefined;
      for (const h of hosts) {
        if (h.link) h.link.send(bundled === undefined ? { type: "entry", path, control: address } : { type: "entry", code: bundled, control: address });
        else for (const k of h.ranks) if (!ranks[k]!.done) tellRank(ranks[k]!.child!, start);
      }
    } catch (error) {
      say((error as Error).message);
      abortJob(1, "");
    }
    await finished;
    return status ?? firstFailure?.status ?? 0;
  } catch (error) {
    abortJob(1, (error as Error).message);
    if (ranks.some(Boolean)) await finished;
    return status ?? 1;
  } finally {
    timers.forEach(clearTimeout);
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    process.off("SIGQUIT", onQuit);
    stopWatch();
    control.close();
    rmSync(jobDir, { recursive: true, force: true });
  }

  function makeRank(rank: number, host: Host, kill: Rank["kill"]): Rank {
    const tag = (stream: string) => (options.tagOutput ? `[1,${rank}]<${stream}>:` : "");
    const r: Rank = {
      rank,
      host,
      done: false,
      kill,
      out: new LineForwarder(writeOut, tag("stdout")),
      err: new LineForwarder(writeErr, tag("stderr"), (report) => {
        if (report.type === "exiting") {
          r.exiting = report.code;
          checkUndeliverable();
        } else if (report.type !== "state") r.report ??= report;
        else if (r.onState) {
          r.state = report;
          r.onState();
        }
      }),
    };
    return (ranks[rank] = r);
  }

  function startLocalHost(host: Host, node: number): void {
    host.ranks.forEach((rank, localRank) => {
      const child = spawnRank({
        rank,
        localRank,
        size: np,
        node,
        jobId,
        jobDir,
        script: options.script,
        args: options.args,
        env: { ...process.env, ...options.exportEnv },
        address: picked?.address,
        transport: options.transport,
      });
      const r = makeRank(rank, host, (signal, group) => signalRank(child, signal, group));
      r.child = child;
      child.stdout!.on("data", (chunk: Buffer) => r.out.push(chunk));
      child.stderr!.on("data", (chunk: Buffer) => r.err.push(chunk));
      if (rank === 0) {
        child.stdin!.on("error", () => undefined);
        process.stdin.pipe(child.stdin!);
      }
      child.on("error", (error) => say(`rank ${rank} could not start: ${error.message}`));
      child.on("close", (code, signal) => {
        if (rank === 0) process.stdin.unpipe(child.stdin!);
        onRankExit(r, code, signal);
      });
    });
  }

  function startRemoteHost(host: Host, node: number): void {
    const argv = agentArgv(host.name, {
      agent: host.via === "srun" ? "srun" : options.launchAgent,
      node: options.remoteNode ?? process.execPath,
      agentMain: options.prefix ? join(options.prefix, "dist/launcher/agent.js") : AGENT_MAIN,
      cwd: process.cwd(),
    });
    const onMessage = (message: FromAgent) => {
      switch (message.type) {
        case "ready":
          if (!options.quiet) say(`ranks on ${host.name} (${message.host}) use ${message.address} for tcp`);
          break;
        case "output": {
          const r = ranks[message.rank];
          if (r && r.host === host) (message.fd === 1 ? r.out : r.err).push(Buffer.from(message.data, "base64"));
          break;
        }
        case "exit": {
          const r = ranks[message.rank];
          if (r && r.host === host) onRankExit(r, message.code, message.signal);
          break;
        }
        case "failed":
          onHostLost(host, message.message);
          break;
      }
    };
    // An agent that never got ready had no connection to lose (ssh could not log in, or the agent not start).
    const onExit = (why: string) => onHostLost(host, `${link.ready ? "lost its connection" : "could not start its ranks"} (${why})`);
    const link = (host.link = new AgentLink(host.name, argv, onMessage, onExit));
    for (const rank of host.ranks) makeRank(rank, host, (signal, group) => link.send({ type: "signal", rank, signal, group }));
    link.send({
      type: "launch",
      ranks: host.ranks.map((rank, localRank) => ({ rank, localRank })),
      size: np,
      node,
      jobId,
      script: options.script,
      args: options.args,
      cwd: process.cwd(),
      env: options.exportEnv,
      network: { iface: options.iface, cidr: options.cidr, towards: picked!.address },
      transport: options.transport,
      keys,
    });
    if (host.ranks.includes(0)) {
      process.stdin.on("data", (data: Buffer) => link.send({ type: "stdin", data: data.toString("base64") }));
      process.stdin.on("end", () => link.send({ type: "stdin" }));
    }
    const limit = setTimeout(() => {
      if (!link.ready) onHostLost(host, `did not start its ranks within --launch-timeout ${options.launchTimeout} s`);
    }, options.launchTimeout * 1000);
    limit.unref();
    timers.push(limit);
  }
}
