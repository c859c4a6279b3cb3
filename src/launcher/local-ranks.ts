/**
 * The ranks of one host, started by whoever runs there: the launcher for its own host, the
 * node agent for a remote one. Both start, feed and end them the same way; only where their
 * output and exits go differs ({@link RankEvents}: the launcher's terminal and supervisor, or
 * the agent's link to the launcher).
 */
import { Buffer } from "node:buffer";
import type { ChildProcess } from "node:child_process";
import type { Writable } from "node:stream";
import type { PeerNotice, StartMessage } from "../rank/control.js";
import { hostBindings, type BindTo } from "./binding.js";
import { signalRank, spawnRank, tellRank, terminateRanks, type HostShare } from "./spawn.js";

/** One host's part of a job: what its ranks share. */
export interface HostJob extends HostShare {
  /** World ranks to start on this host, with their local ranks. */
  ranks: Array<{ rank: number; localRank: number }>;
  /** Variables named with -x, set in every rank on top of this process's environment. */
  env: Record<string, string>;
  bindTo: BindTo;
  /** --report-bindings: say how each rank is bound ({@link RankEvents.note}). */
  reportBindings: boolean;
}

/** Where a host's ranks' output and ends go. */
export interface RankEvents {
  output(rank: number, fd: 1 | 2, chunk: Buffer): void;
  /** The rank process could not be started (its exit follows). */
  failed(rank: number, error: Error): void;
  exit(rank: number, code: number | null, signal: NodeJS.Signals | null): void;
  /** A line of the starter's own for the launcher's stderr (--report-bindings). */
  note(line: string): void;
}

interface LocalRank {
  child: ChildProcess;
  done: boolean;
}

/**
 * Start the ranks of `job` on this host. Per-host setup that they all share (made before any
 * of them starts, e.g. a segment they map) belongs here: launcher and node agents both start
 * ranks through this function.
 */
export function startLocalRanks(job: HostJob, events: RankEvents): LocalRanks {
  const env: NodeJS.ProcessEnv = { ...process.env, ...job.env };
  const ranks = new LocalRanks(job.ranks.length);
  const hostRanks = job.ranks.length;
  const bindings = hostBindings(job.bindTo, job.ranks, job.reportBindings); // before any rank starts: it may refuse
  for (const [i, { rank, localRank }] of job.ranks.entries()) {
    const { size, node, jobId, jobDir, script, args, address, transport, cwd } = job;
    const { bind, report } = bindings[i]!;
    if (report !== undefined) events.note(report);
    ranks.add(rank, spawnRank({ rank, localRank, hostRanks, size, node, jobId, jobDir, script, args, env, address, transport, cwd, bind }), events);
  }
  return ranks;
}

/** The rank processes of this host: what the launcher or agent does to them. */
export class LocalRanks {
  private readonly ranks = new Map<number, LocalRank>();

  constructor(private readonly expected: number) {}

  /** Forward a spawned rank's output and report its end. */
  add(rank: number, child: ChildProcess, events: RankEvents): void {
    const r: LocalRank = { child, done: false };
    this.ranks.set(rank, r);
    child.stdout!.on("data", (chunk: Buffer) => events.output(rank, 1, chunk));
    child.stderr!.on("data", (chunk: Buffer) => events.output(rank, 2, chunk));
    child.stdin?.on("error", () => undefined); // rank 0 may exit without reading its input
    child.on("error", (error) => events.failed(rank, error));
    child.on("close", (code, signal) => {
      r.done = true;
      events.exit(rank, code, signal);
    });
  }

  /** Rank 0's stdin, if rank 0 runs here. */
  get stdin(): Writable | undefined {
    return this.ranks.get(0)?.child.stdin ?? undefined;
  }

  /** Every rank has started and ended. */
  get allExited(): boolean {
    return this.ranks.size === this.expected && [...this.ranks.values()].every((r) => r.done);
  }

  /** Tell the live ranks what to run (the script is ready and the rendezvous bound). */
  start(message: StartMessage): void {
    for (const r of this.ranks.values()) if (!r.done) tellRank(r.child, message);
  }

  /** Tell the live ranks that a peer failed or finished. */
  notify(notice: PeerNotice): void {
    for (const r of this.ranks.values()) if (!r.done) tellRank(r.child, notice);
  }

  /** Signal one live rank (`group`: its whole process group). */
  signal(rank: number, signal: NodeJS.Signals, group = true): void {
    const r = this.ranks.get(rank);
    if (r && !r.done) signalRank(r.child, signal, group);
  }

  /** SIGTERM every live rank, SIGKILL what is left after the grace period. */
  terminate(): void {
    terminateRanks([...this.ranks.values()], (r, signal) => signalRank(r.child, signal));
  }
}
