/**
 * What the launcher and the ranks share about --trace, --stats and --cpu-prof: the
 * environment that turns them on in a rank, and the report a rank sends back when it exits.
 */
import type { PoolCounters } from "../../comm/engine/seam.js";

/** Environment variables the launcher sets in every rank when an option is on. */
export const PROFILE_ENV = {
  /** Record a span for every call (--trace): "1", or a directory to write the report into. */
  trace: "TSMPI_TRACE",
  /** "1": count calls, time and bytes (--stats). */
  stats: "TSMPI_STATS",
  /** Directory to write `rank-N.cpuprofile` into (--cpu-prof). */
  cpuProf: "TSMPI_CPU_PROF",
  /** Spans a rank keeps at most (default {@link DEFAULT_SPAN_LIMIT}). */
  limit: "TSMPI_TRACE_LIMIT",
} as const;

/**
 * Spans a rank buffers at most: about 120 bytes each in memory and in the report, so a
 * rank holds at most ~30 MB. Later spans are counted as dropped; --stats still counts them.
 */
export const DEFAULT_SPAN_LIMIT = 262_144;

/**
 * Kinds of span. `p2p`, `collective` and `wait` are calls the rank blocks in while they
 * run (they count as communication time), as is `init`; `request` is the life of an
 * isend/irecv request; `message` is one message a collective or sendrecv sends or receives;
 * `compute` is a gap between blocking calls (made by the merge, not by ranks); `task` is one
 * task of a CommExecutor pool, run on a worker rank (src/pool/).
 */
export type SpanKind = "init" | "p2p" | "collective" | "wait" | "request" | "message" | "compute" | "task";

/** Arguments of a span, as the trace shows them. */
export interface SpanArgs {
  /** World rank of the peer. */
  peer?: number;
  tag?: number;
  bytes?: number;
  /** Communicator context id ("w": the world; a trailing "!" marks a collective's traffic). */
  comm?: string;
  root?: number;
  /** The call a message belongs to (a collective or sendrecv). */
  call?: string;
  /** Receives: milliseconds between the call and the arrival of the message (or its announcement). */
  waitedMs?: number;
  /** Still running when the rank ended (it was blocked in it). */
  unfinished?: boolean;
  error?: string;
}

/** A finished span: name, kind, start and duration (ms, rank clock), args, and a flow key for messages. */
export interface Span {
  name: string;
  kind: SpanKind;
  /** Start, in ms since the rank's `performance.timeOrigin`. */
  start: number;
  /** Duration in ms. */
  ms: number;
  args: SpanArgs;
  /** Sends: "out:<key>", receives: "in:<key>"; equal keys are one message. */
  flow?: string;
}

/** Totals for one call name on one rank. */
export interface CallTotals {
  count: number;
  /** Seconds spent in the call (0 for isend/irecv, which return at once). */
  seconds: number;
  /** Payload bytes passed to the call. */
  bytes: number;
}

/** One rank's --stats numbers. */
export interface RankStats {
  /** Seconds from the end of init() to the end of the rank. */
  wall: number;
  /** Seconds in init(). */
  init: number;
  /** Seconds in blocking calls (union of their intervals, so overlapping calls count once). */
  comm: number;
  sent: { messages: number; bytes: number };
  received: { messages: number; bytes: number };
  calls: Record<string, CallTotals>;
  /** What a CommExecutor pool did on this rank, if it made one. */
  pool?: PoolTotals;
}

/** A rank's pool numbers: the tasks it ran (a worker), and the pool's counters (its root, once the pool shut down). */
export interface PoolTotals extends PoolCounters {
  /** Tasks this rank ran, and the seconds it spent in them. */
  ran: number;
  seconds: number;
}

/** A rank's report at exit (one marked line on stderr, see src/comm/report.ts). */
export interface ProfileReport {
  type: "profile";
  rank: number;
  host: string;
  /** The rank's `performance.timeOrigin` (ms since the epoch, on its host's clock). */
  origin: number;
  /** When the rank ended, in ms since `origin`. */
  end?: number;
  stats?: RankStats;
  spans?: Span[];
  /** Spans not kept because the buffer was full. */
  dropped: number;
  /** Where the CPU profile went, if --cpu-prof. */
  cpuProfile?: string;
  /** The full report (with stats and spans) is in this file instead (ranks on the launcher's host). */
  file?: string;
}

/** Whether the environment turns on any of --trace, --stats, --cpu-prof. */
export function profilingRequested(env: NodeJS.ProcessEnv): boolean {
  return Boolean(env[PROFILE_ENV.trace] || env[PROFILE_ENV.stats] || env[PROFILE_ENV.cpuProf]);
}
