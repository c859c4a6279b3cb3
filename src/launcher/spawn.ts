/**
 * Starting and signalling rank processes, shared by the launcher (ranks on its own host) and
 * the node agent (ranks on a remote host): the same environment, the same process-group
 * discipline, the same start message.
 */
import process from "node:process";
import { spawn, type ChildProcess } from "node:child_process";
import type { Writable } from "node:stream";
import { availableParallelism } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ENV, type PeerNotice, type StartMessage, type TransportChoice } from "../rank/control.js";
import { profilingRequested } from "../rank/trace/types.js";
import { deathSignalPrefix } from "./death-signal.js";

const RANK_MAIN = join(dirname(fileURLToPath(import.meta.url)), "..", "rank", "main.js");

/**
 * glibc tuning for ranks, unless the user set these: large message buffers (ZeroMQ's and
 * ours) are reused from the heap instead of being fresh mmap()s, whose first-touch page
 * faults halved large-message bandwidth (4 MiB ping-pong: 1.4 -> 2.6 GB/s), and the heap is
 * backed by transparent huge pages (first touch of a fresh 1 GiB array: 1098 -> 94 ms here).
 * Freed memory stays with the process, as with MPI libraries' registration caches.
 */
const MALLOC_ENV = { MALLOC_MMAP_THRESHOLD_: String(2 ** 32), MALLOC_TRIM_THRESHOLD_: String(2 ** 33), GLIBC_TUNABLES: "glibc.malloc.hugetlb=1" };

/** After SIGTERM, ranks still alive this long later get SIGKILL (a job ends within a second). */
export const KILL_GRACE_MS = 300;

/** What every rank of one host shares. */
export interface HostShare {
  size: number;
  /** Index of this host in the job's host list. */
  node: number;
  jobId: string;
  /** This host's job directory. */
  jobDir: string;
  script: string;
  args: string[];
  /** IP address for the ranks' tcp inboxes, in jobs that need tcp. */
  address?: string;
  transport: TransportChoice;
  cwd?: string;
}

export interface RankSpec extends HostShare {
  rank: number;
  localRank: number;
  /** Ranks of the job on this host, when known (see {@link rankNodeFlags}). */
  hostRanks?: number;
  /** The environment the rank starts from (TSMPI_* variables are added). */
  env: NodeJS.ProcessEnv;
  /** --bind-to: the command words that start it bound (`taskset -c LIST`, see binding.ts). */
  bind?: string[];
}

/**
 * V8 flags for the ranks of a host. Where the job's ranks fill every core, V8's background
 * compiler threads can only run by preempting a rank, and a preempted rank holds up every
 * peer that waits on it: ranks then optimise their code on their own thread
 * (`--no-concurrent-recompilation`). Measured on 2 cores, 2 ranks: 8 B ping-pong median half
 * round trip 2.2 -> 1.7 us, Gray-Scott 1024² 4 % faster per step; a short FFT batch job pays
 * ~5 % (its compilation is no longer hidden on the spare threads). The garbage collector's
 * helper threads likewise (`--single-threaded-gc`): 4 ranks on 2 cores, alltoall of 8 B right
 * after allgather of 8 MiB (fresh arrays), one ~20 ms stall in 3 of 6 runs' timed calls (mean
 * 30-33 µs against 7-10) with them, none in 6 runs without (7.3-9.2 µs). With cores to spare,
 * V8's defaults stay.
 */
export function rankNodeFlags(hostRanks: number | undefined, cores = availableParallelism()): string[] {
  return hostRanks !== undefined && hostRanks >= cores ? ["--no-concurrent-recompilation", "--single-threaded-gc"] : [];
}

/**
 * `--enable-source-maps` from the start only for --trace/--stats/--cpu-prof, whose frames must
 * name tsmpi's own .ts lines: Node otherwise reads and indexes the 0.8 MB map of tsmpi's bundle
 * as it loads, ~25 ms of CPU per rank (a fifth of what loading tsmpi costs). Other ranks turn
 * source maps on just before the user's script loads, and map tsmpi's frames of a failure's
 * stack only when there is one (see rank/stack.ts).
 */
function sourceMapFlags(env: NodeJS.ProcessEnv): string[] {
  return profilingRequested(env) ? ["--enable-source-maps"] : [];
}

/**
 * Spawn one rank; it boots, then waits for its {@link StartMessage} on its start channel. It dies
 * with this process, even while it computes (see {@link deathSignalPrefix}).
 */
export function spawnRank(spec: RankSpec): ChildProcess {
  const prefix = deathSignalPrefix();
  const env: NodeJS.ProcessEnv = {
    ...MALLOC_ENV,
    ...spec.env,
    [ENV.rank]: String(spec.rank),
    [ENV.size]: String(spec.size),
    [ENV.localRank]: String(spec.localRank),
    [ENV.node]: String(spec.node),
    [ENV.jobId]: spec.jobId,
    [ENV.jobDir]: spec.jobDir,
    [ENV.parent]: String(process.pid),
    [ENV.deathSignal]: prefix.length > 0 ? "set" : "",
  };
  if (spec.address !== undefined) env[ENV.address] = spec.address;
  if (spec.hostRanks !== undefined) env[ENV.hostRanks] = String(spec.hostRanks);
  if (spec.transport !== "auto") env[ENV.transport] = spec.transport;
  const [command, ...args] = [
    ...prefix,
    ...(spec.bind ?? []),
    process.execPath,
    ...rankNodeFlags(spec.hostRanks),
    ...sourceMapFlags(spec.env),
    RANK_MAIN,
    spec.script,
    ...spec.args,
  ];
  const child = spawn(command!, args, {
    // fd 3: the start channel (rank/start-channel.ts), JSON lines from here to the rank.
    stdio: [spec.rank === 0 ? "pipe" : "ignore", "pipe", "pipe", "pipe"],
    detached: true, // own process group, so the whole tree of a rank can be killed
    cwd: spec.cwd,
    env,
  });
  child.stdio[3]?.on("error", () => undefined); // written to after the rank died: its end is gone
  return child;
}

/** Send a message over a rank's start channel: what to run, or that a peer died. */
export function tellRank(child: ChildProcess, message: StartMessage | PeerNotice): void {
  const channel = child.stdio[3] as Writable | null;
  if (channel === null || !channel.writable) return;
  channel.write(`${JSON.stringify(message)}\n`);
}

/** Signal a rank: its whole process group (`group`), or the rank process alone. */
export function signalRank(child: ChildProcess, signal: NodeJS.Signals, group = true): void {
  if (child.pid === undefined) return;
  try {
    process.kill(group ? -child.pid : child.pid, signal);
  } catch {
    // already gone
  }
}

/**
 * SIGTERM now, SIGKILL to whatever is still alive after {@link KILL_GRACE_MS}; `kill` signals
 * one rank's process group, wherever it runs.
 */
export function terminateRanks<R extends { done: boolean }>(ranks: R[], kill: (rank: R, signal: NodeJS.Signals) => void): void {
  for (const r of ranks) if (!r.done) kill(r, "SIGTERM");
  setTimeout(() => ranks.forEach((r) => r.done || kill(r, "SIGKILL")), KILL_GRACE_MS).unref();
}
