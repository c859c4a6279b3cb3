/**
 * Direct launch: a process manager starts one task per rank and each task runs this instead of
 * a whole launcher: `srun --mpi=pmi2 -n N tsmpi --direct app.ts` (Slurm), `mpiexec -n N tsmpi
 * --direct app.ts` (MPICH's Hydra), `flux run -n N tsmpi --direct app.ts`. Each task starts
 * exactly one rank, rank PMI_RANK of PMI_SIZE. The tasks find each other through the job's PMI
 * key-value space (see pmi.ts), with no outside launcher:
 *
 * 1. each task publishes its host's name, and task 0 the job's CURVE key pair; a barrier; every
 *    task reads them: the hosts give each rank its node and local rank, and say whether the job
 *    needs tcp (several hosts, or --transport tcp);
 * 2. each task's rank binds its inboxes and says hello to its own task (over ipc, as to a
 *    launcher); the task publishes the rank's addresses; a barrier; every task reads the
 *    table and hands it to its rank.
 *
 * Why the keys are safe there: only the job's own tasks reach its key-value space, through the
 * PMI socket the process manager hands them; between nodes the values travel in the process
 * manager's own messages (Slurm's are authenticated by munge, not encrypted; Hydra's are
 * neither): on an untrusted cluster network use ssh hosts instead (docs/slurm.md).
 *
 * A rank that fails ends the whole job: its task says why, then under Slurm signals every task
 * of the step with scancel (each ends its rank and cleans up), elsewhere asks the process
 * manager to abort the job through PMI.
 */
import { Buffer } from "node:buffer";
import process from "node:process";
import { execFile, type ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";
import { constants, hostname } from "node:os";
import { pack, unpack } from "msgpackr/pack";
import type { JobKeys, PeerAddress } from "../comm/transport/addresses.js";
import type { ControlMessage, StartMessage } from "../rank/control.js";
import type { RankReport } from "../rank/report.js";
import { UsageError } from "../errors.js";
import { describeExit } from "./exits.js";
import { makeJobDir } from "./job-dir.js";
import { pickAddress } from "./network.js";
import type { LaunchOptions } from "./options.js";
import { ProgressDisplay } from "./progress.js";
import { LineForwarder } from "./output.js";
import { Pmi } from "./pmi.js";
import { pmiEndpoint, slurmTask, starterOf } from "./process-manager.js";
import { spawnRank, signalRank, terminateRanks, tellRank } from "./spawn.js";
import { prepareScript } from "./transpile.js";
import { tsmpiVersion } from "./version.js";

/** This task's rank in the job and where it runs, from what every task published. */
interface DirectTask {
  rank: number;
  size: number;
  jobId: string;
  /** Index of this task's host among the job's hosts (in order of their first rank), its rank there, and how many ranks it runs. */
  node: number;
  localRank: number;
  hostRanks: number;
  /** The job's hosts, by node index. */
  hosts: string[];
  /** The job's keys, unless --insecure. */
  keys?: JobKeys;
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
const unb64 = <T>(text: string) => JSON.parse(Buffer.from(text, "base64url").toString()) as T;
const say = (line: string) => process.stderr.write(`tsmpi: ${line}\n`);

/** @throws UsageError naming the options that need the launcher, which --direct has not. */
function checkOptions(options: LaunchOptions, env: NodeJS.ProcessEnv): void {
  const launcherOnly = [
    [options.hosts !== undefined, "--host/--hostfile"],
    [options.timeout !== undefined, "--timeout"],
    [options.deadlockReport !== undefined, "--deadlock-report"],
    [options.keepGoing, "--keep-going"],
    [options.trace !== undefined || options.cpuProf !== undefined || options.stats !== undefined, "--trace/--cpu-prof/--stats"],
  ] as const;
  const given = launcherOnly.filter(([on]) => on).map(([, name]) => name);
  const limit = slurmTask(env) ? " (srun --time limits it)" : "";
  if (given.length > 0)
    throw new UsageError(
      `--direct: ${given.join(", ")} need${given.length === 1 ? "s" : ""} the launcher; the process manager places the ranks and ends the job${limit}`,
    );
}

/**
 * Meet the other tasks: publish this host's name (task 0 also the job's keys), a barrier, read
 * everyone's. The hosts, in the order of their first rank, are the job's nodes.
 */
async function meet(pmi: Pmi, options: LaunchOptions, env: NodeJS.ProcessEnv): Promise<DirectTask> {
  const { rank, size } = pmi;
  if (rank === 0) await pmi.put("keys", options.insecure ? "none" : b64((await import("zeromq")).curveKeyPair()));
  await pmi.put(`host-${rank}`, b64(hostname()));
  await pmi.barrier();
  const [keys, ...names] = await Promise.all([pmi.get("keys"), ...Array.from({ length: size }, (_, k) => pmi.get(`host-${k}`).then(unb64<string>))]);
  const hosts = [...new Set(names)];
  const here = names[rank]!;
  const slurm = slurmTask(env);
  return {
    rank,
    size,
    jobId: slurm ? `slurm-${slurm.step}` : `pmi-${pmi.kvsname}`,
    node: hosts.indexOf(here),
    localRank: names.slice(0, rank).filter((name) => name === here).length,
    hostRanks: names.filter((name) => name === here).length,
    hosts,
    keys: keys === "none" ? undefined : unb64<JobKeys>(keys),
  };
}

/** This task's rank process, its output forwarded like the launcher's, and its end. */
function startRank(options: LaunchOptions, task: DirectTask, env: NodeJS.ProcessEnv, jobDir: string, address: string | undefined) {
  const tag = (stream: string) => (options.tagOutput ? `[1,${task.rank}]<${stream}>:` : "");
  const state: { report?: RankReport } = {};
  const progress = new ProgressDisplay();
  const out = new LineForwarder((text) => process.stdout.write(text), tag("stdout"));
  const err = new LineForwarder(
    (text) => process.stderr.write(text),
    tag("stderr"),
    (r) => (r.type === "error" || r.type === "abort" ? (state.report ??= r) : r.type === "progress" ? progress.show(r) : undefined),
  );
  const { rank, localRank, hostRanks, size, node, jobId } = task;
  const child = spawnRank({
    rank,
    localRank,
    hostRanks,
    size,
    node,
    jobId,
    jobDir,
    script: options.script,
    args: options.args,
    env: { ...env, ...options.exportEnv },
    address,
    transport: options.transport,
  });
  child.stdout!.on("data", (chunk: Buffer) => out.push(chunk));
  child.stderr!.on("data", (chunk: Buffer) => err.push(chunk));
  if (task.rank === 0) {
    child.stdin!.on("error", () => undefined);
    process.stdin.pipe(child.stdin!);
  }
  const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.on("close", (code, signal) => {
      out.end();
      err.end();
      resolve([code, signal]);
    }),
  );
  return { child, exited, state };
}

/**
 * How this task and its job end together: the process manager signals the task (another rank
 * failed, scancel, Ctrl-C on mpiexec, a time limit) and the task ends its rank; or this task's
 * rank failed and it ends the job.
 */
function jobEnd(pmi: Pmi, jobDir: string, env: NodeJS.ProcessEnv) {
  let cancelling = false;
  const state: { signal?: NodeJS.Signals; child?: ChildProcess } = {};
  const onSignal = (signal: NodeJS.Signals) => {
    if (cancelling) return; // this task asked for it
    state.signal = signal;
    const child = state.child;
    if (child) terminateRanks([{ done: child.exitCode !== null || child.signalCode !== null }], (_, s) => signalRank(child, s));
    // If this task still waits on PMI (its rank has not joined), nothing else will end it.
    const exit = () => (rmSync(jobDir, { recursive: true, force: true }), process.exit(128 + constants.signals[signal]));
    setTimeout(exit, 1000).unref();
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  const slurm = slurmTask(env);
  /** End every task of the job: the others cannot go on without this one. */
  const endJob = async (why: string, status: number) => {
    say(`${why}; ${slurm ? `ending Slurm step ${slurm.step}` : "ending the job (PMI abort)"}`);
    cancelling = true;
    if (state.child) signalRank(state.child, "SIGKILL");
    if (slurm) {
      // SIGTERM to every task (not scancel's SIGKILL): each ends its rank and cleans up after it.
      await new Promise((resolve) => execFile("scancel", ["--quiet", "--signal=TERM", slurm.step], resolve));
    } else {
      rmSync(jobDir, { recursive: true, force: true }); // the process manager may kill this task at once
      pmi.abort(status);
      await new Promise((resolve) => setTimeout(resolve, 1000).unref());
    }
  };
  return { state, endJob };
}

/** Run this task's rank; resolves with the task's exit status. */
export async function runDirect(options: LaunchOptions, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  checkOptions(options, env);
  const pmi = await Pmi.connect(pmiEndpoint(env));
  if (options.np !== undefined && options.np !== pmi.size) {
    await pmi.finalize(); // every task says the same and exits 1: not a failure for the process manager to report
    pmi.close();
    throw new UsageError(
      `--direct: -n ${options.np} but ${starterOf(env).split(" ")[0]} started ${pmi.size} tasks, and each task is one rank; drop -n or start ${options.np} tasks`,
    );
  }
  const jobDir = makeJobDir().path; // this rank's ipc inbox and bundle, mode 0700
  const end = jobEnd(pmi, jobDir, env);
  const { Router } = await import("zeromq");
  const control = new Router({ linger: 0 });
  try {
    let task: DirectTask;
    let rank: ReturnType<typeof startRank>;
    let exchange: Promise<void>;
    try {
      task = await meet(pmi, options, env);
      const needNet = task.hosts.length > 1 || options.transport === "tcp";
      const towards = task.hosts.find((_, i) => i !== task.node) ?? "127.0.0.1";
      const address = needNet ? (await pickAddress({ iface: options.iface, cidr: options.cidr }, towards)).address : undefined;
      rank = startRank(options, task, env, jobDir, address);
      end.state.child = rank.child;
      const entry = await prepareScript(options.script, jobDir, tsmpiVersion());
      await control.bind(`ipc://${jobDir}/control`);
      tellRank(rank.child, { type: "start", entry, control: `ipc://${jobDir}/control`, keys: needNet ? task.keys : undefined } satisfies StartMessage);
      exchange = exchangeAddresses(pmi, task, control, rank.exited);
      exchange.catch(() => undefined); // awaited below, unless the rank fails first
    } catch (error) {
      await end.endJob(`rank ${pmi.rank} could not start: ${(error as Error).message}`, 1);
      return 1;
    }
    return await finish(pmi, task, rank, end, exchange);
  } finally {
    control.close();
    pmi.close();
    process.stdin.unpipe();
    rmSync(jobDir, { recursive: true, force: true });
  }
}

/** Wait for this task's rank to end; a failure ends the job. @returns the task's exit status. */
async function finish(
  pmi: Pmi,
  task: DirectTask,
  rank: ReturnType<typeof startRank>,
  end: ReturnType<typeof jobEnd>,
  exchange: Promise<void>,
): Promise<number> {
  const [code, signal] = await rank.exited;
  // The process manager signals every task of the job at once: a rank killed by a signal may
  // have got it from the job's end, in which case this task's own signal is on its way.
  if (signal !== null && end.state.signal === undefined) await new Promise((resolve) => setTimeout(resolve, 200));
  if (end.state.signal !== undefined) return 128 + constants.signals[end.state.signal];
  const failure = describeExit({ rank: task.rank, where: "", report: rank.state.report }, code, signal);
  if (failure !== undefined) {
    await end.endJob(failure.message, failure.status);
    return failure.status;
  }
  await exchange; // a rank that exited without init() still takes part in the address exchange's barrier
  await pmi.finalize();
  return 0;
}

/**
 * The address exchange a launcher would do, through PMI: publish the rank's hello (or that
 * it exited without one), a barrier, then give the rank every rank's address, or the reason
 * it cannot have them.
 */
async function exchangeAddresses(pmi: Pmi, task: DirectTask, control: import("zeromq").Router, exited: Promise<unknown>): Promise<void> {
  const hello = await Promise.race([control.receive().catch(() => undefined), exited.then(() => undefined)]).catch(() => undefined);
  const message = hello && (unpack(hello[1]!) as ControlMessage);
  await pmi.put(`addr-${task.rank}`, message?.type === "hello" ? b64(message.address) : "exited");
  await pmi.barrier();
  if (!hello) return;
  const values = await Promise.all(Array.from({ length: task.size }, (_, k) => pmi.get(`addr-${k}`)));
  const gone = values.findIndex((value) => value === "exited");
  const reply: ControlMessage =
    gone >= 0
      ? { type: "refused", reason: `rank ${gone} exited without calling init(), so the job cannot start` }
      : { type: "table", peers: values.map((value) => unb64<PeerAddress>(value)) };
  await control.send([hello[0]!, pack(reply)]);
}
