/**
 * Direct launch under Slurm: `srun --mpi=pmi2 -n N tsmpi --direct app.ts`. Each task of the
 * step runs this instead of a whole launcher and starts exactly one rank: rank SLURM_PROCID of
 * SLURM_NTASKS. The tasks find each other through the step's PMI key-value space (served by
 * slurmstepd, as for MPI libraries launched by srun), with no outside launcher:
 *
 * 1. task 0 makes the job's CURVE key pair and publishes it; a barrier; every task reads it
 *    (only when tcp is used: a step on several nodes, or --transport tcp);
 * 2. each task's rank binds its inboxes and says hello to its own task (over ipc, as to a
 *    launcher); the task publishes the rank's addresses; a barrier; every task reads the
 *    table and hands it to its rank.
 *
 * Why the keys are safe there: the key-value space is reachable only through the PMI socket
 * that slurmstepd hands to the step's own tasks, and travels between nodes in Slurm's own
 * messages, which munge authenticates (not encrypts: the same exposure as the keys of the
 * srun-started node agents; on an untrusted cluster network use ssh hosts instead).
 *
 * A rank that fails ends the whole step (its task says why, then signals every task of the
 * step with scancel; each ends its rank and cleans up).
 */
import { Buffer } from "node:buffer";
import process from "node:process";
import { execFile, type ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";
import { constants } from "node:os";
import { pack, unpack } from "msgpackr/pack";
import type { JobKeys, PeerAddress } from "../comm/addresses.js";
import type { ControlMessage, StartMessage } from "../rank/control.js";
import type { RankReport } from "../rank/report.js";
import { UsageError } from "../errors.js";
import { describeExit } from "./exits.js";
import { expandNodeList } from "./hosts.js";
import { makeJobDir } from "./job-dir.js";
import { pickAddress } from "./network.js";
import type { LaunchOptions } from "./options.js";
import { LineForwarder } from "./output.js";
import { Pmi } from "./pmi.js";
import { spawnRank, signalRank, terminateRanks, tellRank } from "./spawn.js";
import { prepareScript } from "./transpile.js";
import { tsmpiVersion } from "./version.js";

/** Where this process runs in a Slurm job step started by srun. */
export interface SlurmTask {
  /** `<job id>.<step id>`, as scancel and squeue -s name it. */
  step: string;
  rank: number;
  size: number;
  localRank: number;
  /** Index of this task's node in the step, and the step's nodes. */
  node: number;
  nodes: string[];
}

/** This process's task in an srun step, or undefined outside one (salloc, sbatch's script, a login shell). */
export function slurmTask(env: NodeJS.ProcessEnv): SlurmTask | undefined {
  const int = (name: string) => (/^\d+$/.test(env[name] ?? "") ? Number(env[name]) : undefined);
  const [step, rank, size] = [int("SLURM_STEP_ID"), int("SLURM_PROCID"), int("SLURM_STEP_NUM_TASKS") ?? int("SLURM_NTASKS")];
  if (step === undefined || rank === undefined || size === undefined || env.SLURM_JOB_ID === undefined) return undefined;
  const nodes = expandNodeList(env.SLURM_STEP_NODELIST ?? env.SLURM_NODELIST ?? "");
  const node = Math.max(0, nodes.indexOf(env.SLURMD_NODENAME ?? ""));
  return { step: `${env.SLURM_JOB_ID}.${step}`, rank, size, localRank: int("SLURM_LOCALID") ?? 0, node, nodes };
}

/**
 * A launcher started as one of several tasks of an srun step would run one separate job per
 * task: say what to run instead (task 0 says it, every task exits with status 1).
 * @returns the message to print, or undefined if this is no such task
 */
export function separateJobsMessage(options: LaunchOptions, env: NodeJS.ProcessEnv): string | undefined {
  const task = slurmTask(env);
  if (task === undefined || task.size < 2) return undefined;
  const script = options.script.startsWith(`${process.cwd()}/`) ? options.script.slice(process.cwd().length + 1) : options.script;
  return (
    `srun started this launcher as task ${task.rank} of ${task.size} of Slurm step ${task.step}, so each task would run a separate job. ` +
    `To make the ${task.size} tasks the ranks of one job, add --direct: srun --mpi=pmi2 -n ${task.size} tsmpi --direct ${script}; ` +
    `to let tsmpi start the ranks, run it once inside the allocation: tsmpi -n ${task.size} ${script}`
  );
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
const unb64 = <T>(text: string) => JSON.parse(Buffer.from(text, "base64url").toString()) as T;
const say = (line: string) => process.stderr.write(`tsmpi: ${line}\n`);

/** This task, if `options` fit direct launch; @throws UsageError saying what does not. */
function directTask(options: LaunchOptions, env: NodeJS.ProcessEnv): SlurmTask {
  const task = slurmTask(env);
  if (task === undefined) throw new UsageError("--direct: this is not a task of a Slurm step; start it with srun --mpi=pmi2 -n N tsmpi --direct app.ts");
  if (options.np !== undefined && options.np !== task.size)
    throw new UsageError(`--direct: -n ${options.np} but srun started ${task.size} tasks, and each task is one rank; drop -n or run srun -n ${options.np}`);
  const launcherOnly = [
    [options.hosts !== undefined, "--host/--hostfile"],
    [options.timeout !== undefined, "--timeout"],
    [options.deadlockReport !== undefined, "--deadlock-report"],
    [options.keepGoing, "--keep-going"],
    [options.trace !== undefined || options.cpuProf !== undefined || options.stats !== undefined, "--trace/--cpu-prof/--stats"],
  ] as const;
  const given = launcherOnly.filter(([on]) => on).map(([, name]) => name);
  if (given.length > 0)
    throw new UsageError(
      `--direct: ${given.join(", ")} need${given.length === 1 ? "s" : ""} the launcher; Slurm places the ranks and ends the step (srun --time limits it)`,
    );
  return task;
}

/** This task's rank process, its output forwarded like the launcher's, and its end. */
function startRank(options: LaunchOptions, task: SlurmTask, env: NodeJS.ProcessEnv, jobDir: string, address: string | undefined) {
  const tag = (stream: string) => (options.tagOutput ? `[1,${task.rank}]<${stream}>:` : "");
  const state: { report?: RankReport } = {};
  const out = new LineForwarder((text) => process.stdout.write(text), tag("stdout"));
  const err = new LineForwarder(
    (text) => process.stderr.write(text),
    tag("stderr"),
    (r) => (r.type === "error" || r.type === "abort" ? (state.report ??= r) : undefined),
  );
  const child = spawnRank({
    rank: task.rank,
    localRank: task.localRank,
    size: task.size,
    node: task.node,
    jobId: `slurm-${task.step}`,
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
 * How this task and its step end together: Slurm signals the step (another rank failed,
 * scancel, a time limit) and this task ends its rank; or this task's rank failed and it
 * signals the step.
 */
function stepEnd(task: SlurmTask, child: ChildProcess, jobDir: string) {
  let cancelling = false;
  const state: { signal?: NodeJS.Signals } = {};
  const onSignal = (signal: NodeJS.Signals) => {
    if (cancelling) return; // this task asked for it
    state.signal = signal;
    terminateRanks([{ done: child.exitCode !== null || child.signalCode !== null }], (_, s) => signalRank(child, s));
    // If this task still waits on PMI (its rank has not joined), nothing else will end it.
    const exit = () => (rmSync(jobDir, { recursive: true, force: true }), process.exit(128 + constants.signals[signal]));
    setTimeout(exit, 1000).unref();
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  /** End every task of the step: the others cannot go on without this one. */
  const endStep = async (why: string) => {
    say(`${why}; ending Slurm step ${task.step}`);
    cancelling = true;
    signalRank(child, "SIGKILL");
    // SIGTERM to every task (not scancel's SIGKILL): each ends its rank and cleans up after it.
    await new Promise((resolve) => execFile("scancel", ["--quiet", "--signal=TERM", task.step], resolve));
  };
  return { state, endStep };
}

/** Run this task's rank; resolves with the task's exit status. */
export async function runDirect(options: LaunchOptions, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const task = directTask(options, env);
  const pmi = await Pmi.connect(env, "--direct");
  const jobDir = makeJobDir().path; // this rank's ipc inbox and bundle, mode 0700
  const needNet = task.nodes.length > 1 || options.transport === "tcp";
  const towards = task.nodes.find((_, i) => i !== task.node) ?? "127.0.0.1";
  const address = needNet ? (await pickAddress({ iface: options.iface, cidr: options.cidr }, towards)).address : undefined;
  const rank = startRank(options, task, env, jobDir, address);
  const step = stepEnd(task, rank.child, jobDir);
  const { Router } = await import("zeromq");
  const control = new Router({ linger: 0 });
  try {
    let exchange: Promise<void>;
    try {
      const [keys, entry] = await Promise.all([shareKeys(pmi, task, needNet && !options.insecure), prepareScript(options.script, jobDir, tsmpiVersion())]);
      await control.bind(`ipc://${jobDir}/control`);
      tellRank(rank.child, { type: "start", entry, control: `ipc://${jobDir}/control`, keys } satisfies StartMessage);
      exchange = exchangeAddresses(pmi, task, control, rank.exited);
      exchange.catch(() => undefined); // awaited below, unless the rank fails first
    } catch (error) {
      await step.endStep(`rank ${task.rank} could not start: ${(error as Error).message}`);
      return 1;
    }
    const [code, signal] = await rank.exited;
    // Slurm signals every process of the step at once: a rank killed by a signal may have got
    // it from Slurm ending the step, in which case this task's own signal is on its way.
    if (signal !== null && step.state.signal === undefined) await new Promise((resolve) => setTimeout(resolve, 200));
    if (step.state.signal !== undefined) return 128 + constants.signals[step.state.signal];
    const failure = describeExit({ rank: task.rank, where: "", report: rank.state.report }, code, signal);
    if (failure !== undefined) {
      await step.endStep(failure.message);
      return failure.status;
    }
    await exchange; // a rank that exited without init() still takes part in the address exchange's barrier
    return 0;
  } finally {
    control.close();
    pmi.close();
    process.stdin.unpipe();
    rmSync(jobDir, { recursive: true, force: true });
  }
}

/** Task 0 makes the job's key pair and publishes it; every task reads it after a barrier. */
async function shareKeys(pmi: Pmi, task: SlurmTask, secure: boolean): Promise<JobKeys | undefined> {
  if (task.rank === 0) await pmi.put("keys", secure ? b64((await import("zeromq")).curveKeyPair()) : "none");
  await pmi.barrier();
  const value = await pmi.get("keys");
  return value === "none" ? undefined : unb64<JobKeys>(value);
}

/**
 * The address exchange a launcher would do, through PMI: publish the rank's hello (or that
 * it exited without one), a barrier, then give the rank every rank's address, or the reason
 * it cannot have them.
 */
async function exchangeAddresses(pmi: Pmi, task: SlurmTask, control: import("zeromq").Router, exited: Promise<unknown>): Promise<void> {
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
