/**
 * One job: make the private job directory, bundle the script, start N ranks, be their
 * rendezvous, forward their output, and end them all together: on the first failure, on
 * --timeout, or on SIGINT/SIGTERM. Nothing is left behind: each rank is a process group
 * that is killed as a whole, and the job directory is removed.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { constants } from "node:os";
import { fileURLToPath } from "node:url";
import { ENV, type RankFailedNotice, type RankReport } from "../comm/protocol.js";
import type { LaunchOptions } from "./options.js";
import { LineForwarder } from "./output.js";
import { Rendezvous } from "./rendezvous.js";
import { prepareScript } from "./transpile.js";
import { collectStates, describeStates, watchForDeadlock, type Reporting } from "./hang.js";

const RANK_MAIN = join(dirname(fileURLToPath(import.meta.url)), "rank-main.js");

/**
 * glibc tuning for ranks, unless the user set these: large message buffers (ZeroMQ's and
 * ours) are reused from the heap instead of being fresh mmap()s, whose first-touch page
 * faults halved large-message bandwidth (4 MiB ping-pong: 1.4 -> 2.6 GB/s). Freed memory
 * stays with the process, as with MPI libraries' registration caches.
 */
const MALLOC_ENV = { MALLOC_MMAP_THRESHOLD_: String(2 ** 32), MALLOC_TRIM_THRESHOLD_: String(2 ** 33) };
/** After SIGTERM, ranks still alive this long later get SIGKILL (the issue asks for < 1 s). */
const KILL_GRACE_MS = 300;
export const TIMEOUT_STATUS = 124;
/** Between telling the ranks that one died and terminating them: time to see a RankFailedError. */
const NOTICE_MS = 200;

interface Rank extends Reporting {
  report?: RankReport;
}

const say = (line: string) => process.stderr.write(`tsmpi: ${line}\n`);
const writeOut = (text: string) => process.stdout.write(text);
const writeErr = (text: string) => process.stderr.write(text);

/** Run the job; resolves with the launcher's exit status. */
export async function runJob(options: LaunchOptions): Promise<number> {
  const jobDir = mkdtempSync(join(tmpdir(), "tsmpi-")); // mode 0700: only this user can open it
  const ranks: Rank[] = [];
  // Ranks boot (Node + tsmpi) while the launcher loads esbuild and ZeroMQ and bundles the
  // script; they get the bundle's path over IPC once this rendezvous socket is bound.
  const control = new Rendezvous(`ipc://${jobDir}/control`);
  let status: number | undefined;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));

  /** End the job with `code`, terminating every rank still running (after `delayMs`, to let them see a failure). */
  const abortJob = (code: number, why: string, delayMs = 0) => {
    if (status !== undefined) return;
    status = code;
    const alive = ranks.filter((r) => !r.done);
    if (why) say(alive.length > 0 ? `${why}; terminating ${alive.length} other rank${alive.length === 1 ? "" : "s"}` : why);
    const terminate = () => {
      for (const r of alive) if (!r.done) signalGroup(r.child, "SIGTERM");
      setTimeout(() => alive.forEach((r) => r.done || signalGroup(r.child, "SIGKILL")), KILL_GRACE_MS).unref();
    };
    if (alive.length > 0) {
      if (delayMs > 0) setTimeout(terminate, delayMs).unref();
      else terminate();
    }
    checkDone();
  };
  /** Tell the live ranks that `rank` died: their operations that depend on it reject with RankFailedError. */
  const notifyFailure = (rank: number, reason: string) => {
    const notice: RankFailedNotice = { type: "rank-failed", rank, reason };
    for (const r of ranks) if (!r.done && r.child.connected) r.child.send(notice, () => undefined);
  };
  let firstFailure: { status: number } | undefined;
  const checkDone = () => {
    if (ranks.every((r) => r.done) && ranks.length === options.np) finish();
  };

  const onSignal = (signal: NodeJS.Signals) => abortJob(128 + constants.signals[signal], `received ${signal}`);
  /** Print what every rank is blocked in (on --timeout, and on SIGQUIT without stopping the job). */
  const reportStates = async (headline: string) => {
    await collectStates(ranks);
    say(headline);
    for (const line of describeStates(ranks)) say(`  ${line}`);
  };
  const onQuit = () => void reportStates("SIGQUIT: what each rank is doing");
  const stopWatch =
    options.deadlockReport === undefined
      ? () => undefined
      : watchForDeadlock(ranks, options.deadlockReport, () =>
          reportStates(`possible deadlock: every rank has been blocked for ${options.deadlockReport} s with no message moving; what each rank waits in:`),
        );
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  process.on("SIGQUIT", onQuit);
  const timer =
    options.timeout === undefined
      ? undefined
      : setTimeout(async () => {
          const why = `job exceeded --timeout ${options.timeout} s`;
          await reportStates(`${why}; what each rank was doing:`);
          abortJob(TIMEOUT_STATUS, why);
        }, options.timeout * 1000);

  try {
    const exitedWithoutInit: number[] = [];
    const checkInit = () => {
      if (control.arrived.size > 0 && exitedWithoutInit.length > 0 && control.arrived.size + exitedWithoutInit.length <= options.np) {
        abortJob(1, `rank ${exitedWithoutInit[0]} exited without calling init() while rank ${[...control.arrived][0]} waits for it in init()`);
      }
    };
    for (let rank = 0; rank < options.np; rank++) {
      ranks.push(
        startRank(rank, jobDir, options, (r, code, signal) => {
          r.done = true;
          if (status === undefined) {
            const failure = describeExit(r, code, signal);
            if (failure !== undefined) {
              notifyFailure(r.rank, failure.reason);
              if (options.keepGoing) {
                firstFailure ??= failure;
                say(`${failure.message}; --keep-going: the other ranks go on`);
              } else abortJob(failure.status, failure.message, NOTICE_MS);
            } else if (!r.joined && control.arrived.size < options.np) {
              exitedWithoutInit.push(r.rank);
              checkInit();
            }
          }
          checkDone();
        }),
      );
    }
    const entry = Promise.all([prepareScript(options.script, jobDir), control.bind()]);
    entry.catch(() => undefined);
    try {
      const [path] = await entry;
      void control
        .run(options.np, (rank) => {
          ranks[rank]!.joined = true;
          checkInit();
        })
        .catch((error: Error) => abortJob(1, `rendezvous failed: ${error.message}`));
      for (const r of ranks) if (!r.done) r.child.send({ entry: path });
    } catch (error) {
      say((error as Error).message);
      abortJob(1, "");
    }
    await finished;
    return status ?? firstFailure?.status ?? 0;
  } catch (error) {
    abortJob(1, (error as Error).message);
    if (ranks.length > 0) await finished;
    return status ?? 1;
  } finally {
    if (timer) clearTimeout(timer);
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    process.off("SIGQUIT", onQuit);
    stopWatch();
    control.close();
    rmSync(jobDir, { recursive: true, force: true });
  }
}

function startRank(rank: number, jobDir: string, options: LaunchOptions, onExit: (r: Rank, code: number | null, signal: NodeJS.Signals | null) => void): Rank {
  const child = spawn(process.execPath, ["--enable-source-maps", RANK_MAIN, options.script, ...options.args], {
    stdio: [rank === 0 ? "pipe" : "ignore", "pipe", "pipe", "ipc"],
    detached: true, // own process group, so the whole tree of a rank can be killed
    env: {
      ...MALLOC_ENV,
      ...process.env,
      [ENV.rank]: String(rank),
      [ENV.size]: String(options.np),
      [ENV.localRank]: String(rank),
      [ENV.jobId]: basename(jobDir),
      [ENV.jobDir]: jobDir,
      [ENV.control]: `ipc://${jobDir}/control`,
    },
  });
  const r: Rank = { rank, child, done: false };
  const tag = (stream: string) => (options.tagOutput ? `[1,${rank}]<${stream}>:` : "");
  const out = new LineForwarder(writeOut, tag("stdout"));
  const err = new LineForwarder(writeErr, tag("stderr"), (report) => {
    if (report.type === "exiting") r.exiting = report.code;
    else if (report.type !== "state") r.report ??= report;
    else if (r.onState) {
      r.state = report;
      r.onState();
    }
  });
  child.stdout!.on("data", (chunk: Buffer) => out.push(chunk)).on("end", () => out.end());
  child.stderr!.on("data", (chunk: Buffer) => err.push(chunk)).on("end", () => err.end());
  if (rank === 0) {
    child.stdin!.on("error", () => undefined);
    process.stdin.pipe(child.stdin!);
  }
  child.on("error", (error) => {
    say(`rank ${rank} could not start: ${error.message}`);
  });
  child.on("close", (code, signal) => {
    if (rank === 0) process.stdin.unpipe(child.stdin!);
    onExit(r, code, signal);
  });
  return r;
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

/** Why a rank's exit fails the job, or undefined if it succeeded. */
function describeExit(r: Rank, code: number | null, signal: NodeJS.Signals | null): { status: number; message: string; reason: string } | undefined {
  const fail = (status: number, reason: string, message = `rank ${r.rank} ${reason}`) => ({ status, reason, message });
  const report = r.report;
  if (report?.type === "abort") return fail(report.code === 0 ? 1 : report.code, `called abort(${report.code})`);
  if (report?.type === "error") {
    const how = report.origin === "rejection" ? "an unhandled promise rejection" : "an uncaught exception";
    return fail(
      code || 1,
      `failed with ${how}: ${report.name}: ${report.message}`,
      `rank ${r.rank} failed with ${how}:\n${report.stack}\ntsmpi: job aborted because rank ${r.rank} failed`,
    );
  }
  // A hang-report SIGUSR2 can race with a rank's own exit; the exit code it announced stands.
  if (signal === "SIGUSR2" && r.exiting !== undefined) return r.exiting === 0 ? undefined : fail(r.exiting, `exited with status ${r.exiting}`);
  if (signal !== null) return fail(128 + constants.signals[signal], `was killed by signal ${signal}`);
  if (code !== 0 && code !== null) return fail(code, `exited with status ${code}`);
  return undefined;
}
