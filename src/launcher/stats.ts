/**
 * --stats: an mpiP-style summary of where each rank's time went, printed when the job ends.
 * Wall time runs from the end of init() to the rank's end; communication is the time spent
 * in blocking tsmpi calls (point-to-point, collectives, wait), overlapping calls counted
 * once; compute is the rest. Messages and bytes count every message, also those a
 * collective sends internally.
 */
import type { CallTotals, ProfileReport, RankStats } from "../rank/trace/types.js";

/** How many calls the "top calls" table lists. */
const TOP_CALLS = 10;

export interface StatsSummary {
  ranks: Array<
    { rank: number; host: string } & Omit<RankStats, "calls"> & {
        compute: number;
        /** comm / wall */
        commShare: number;
        calls: Record<string, CallTotals>;
      }
  >;
  /** Sums over the ranks (rank-seconds, messages, bytes). */
  total: { wall: number; comm: number; compute: number; commShare: number; sent: RankStats["sent"]; received: RankStats["received"] };
  /** Calls over all ranks, by time spent in them, longest first. */
  topCalls: Array<{ call: string; count: number; seconds: number; bytes: number; shareOfWall: number; shareOfComm: number }>;
  /** Ranks that sent no numbers (killed before they could). */
  missing: number[];
}

/** Gather the ranks' numbers into per-rank rows, totals and the top calls. */
export function summarize(reports: Array<ProfileReport | undefined>, hosts: string[]): StatsSummary {
  const ranks: StatsSummary["ranks"] = [];
  const missing: number[] = [];
  const calls = new Map<string, CallTotals>();
  reports.forEach((report, rank) => {
    const stats = report?.stats;
    if (stats === undefined) return void missing.push(rank);
    const compute = Math.max(0, stats.wall - stats.comm);
    ranks.push({ rank, host: report!.host ?? hosts[rank] ?? "?", ...stats, compute, commShare: share(stats.comm, stats.wall) });
    for (const [call, t] of Object.entries(stats.calls)) {
      const sum = calls.get(call) ?? { count: 0, seconds: 0, bytes: 0 };
      calls.set(call, { count: sum.count + t.count, seconds: sum.seconds + t.seconds, bytes: sum.bytes + t.bytes });
    }
  });
  const add = (pick: (r: StatsSummary["ranks"][number]) => number) => ranks.reduce((sum, r) => sum + pick(r), 0);
  const wall = add((r) => r.wall),
    comm = add((r) => r.comm);
  const total = {
    wall,
    comm,
    compute: add((r) => r.compute),
    commShare: share(comm, wall),
    sent: { messages: add((r) => r.sent.messages), bytes: add((r) => r.sent.bytes) },
    received: { messages: add((r) => r.received.messages), bytes: add((r) => r.received.bytes) },
  };
  const topCalls = [...calls]
    .filter(([call]) => call !== "init")
    .map(([call, t]) => ({ call, ...t, shareOfWall: share(t.seconds, wall), shareOfComm: share(t.seconds, comm) }))
    .sort((a, b) => b.seconds - a.seconds || b.count - a.count)
    .slice(0, TOP_CALLS);
  return { ranks, total, topCalls, missing };
}

function share(part: number, whole: number): number {
  return whole > 0 ? part / whole : 0;
}

/** The summary as text tables (for stderr). */
export function formatStats(summary: StatsSummary): string {
  const seconds = (x: number) => x.toFixed(3);
  const percent = (x: number) => `${(100 * x).toFixed(1)}%`;
  const rows: string[][] = [["rank", "host", "wall s", "comm s", "comm", "compute s", "init s", "msgs sent", "sent", "msgs recv", "received"]];
  for (const r of summary.ranks) {
    rows.push([
      String(r.rank),
      r.host,
      seconds(r.wall),
      seconds(r.comm),
      percent(r.commShare),
      seconds(r.compute),
      seconds(r.init),
      String(r.sent.messages),
      bytes(r.sent.bytes),
      String(r.received.messages),
      bytes(r.received.bytes),
    ]);
  }
  const t = summary.total;
  rows.push([
    "all",
    "",
    seconds(t.wall),
    seconds(t.comm),
    percent(t.commShare),
    seconds(t.compute),
    "",
    String(t.sent.messages),
    bytes(t.sent.bytes),
    String(t.received.messages),
    bytes(t.received.bytes),
  ]);
  const top: string[][] = [["call", "count", "time s", "of wall", "of comm", "bytes"]];
  for (const c of summary.topCalls) top.push([c.call, String(c.count), seconds(c.seconds), percent(c.shareOfWall), percent(c.shareOfComm), bytes(c.bytes)]);
  const lines = [
    "tsmpi: --stats: wall = end of init() to the rank's end; comm = time in blocking tsmpi calls; compute = the rest",
    ...table(rows, 2),
    "",
    'tsmpi: top calls by time, all ranks ("all" times are rank-seconds)',
    ...table(top, 1),
  ];
  lines.push(...poolLines(summary));
  if (summary.missing.length > 0)
    lines.push(`tsmpi: no numbers from rank${summary.missing.length === 1 ? "" : "s"} ${summary.missing.join(", ")} (killed before it could send them)`);
  return `${lines.join("\n")}\n`;
}

/** The pool section: tasks each rank ran and the time in them, and the root's counters. */
function poolLines(summary: StatsSummary): string[] {
  const ranks = summary.ranks.filter((r) => r.pool !== undefined);
  if (ranks.length === 0) return [];
  const rows = [["rank", "tasks run", "in tasks s", "of wall"]];
  for (const r of ranks) rows.push([String(r.rank), String(r.pool!.ran), r.pool!.seconds.toFixed(3), `${(100 * share(r.pool!.seconds, r.wall)).toFixed(1)}%`]);
  const lines = ["", "tsmpi: CommExecutor pool: tasks run on each rank", ...table(rows, 1)];
  for (const r of ranks) {
    const p = r.pool!;
    if (p.submitted === undefined) continue;
    const lost = p.lostRanks && p.lostRanks.length > 0 ? `, worker ranks lost: ${p.lostRanks.join(", ")}` : "";
    lines.push(
      `  root rank ${r.rank}: ${p.submitted} submitted, ${p.done} done, ${p.failed} failed, ${p.cancelled} cancelled, ${p.rerun} rerun, ${p.chunks} chunks${lost}`,
    );
  }
  return lines;
}

/** Align columns: the first `left` columns to the left, the others to the right. */
function table(rows: string[][], left: number): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  return rows.map((row) => `  ${row.map((cell, i) => (i < left ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  ")}`.trimEnd());
}

/** Bytes with a decimal unit (B, kB, MB, GB). */
export function bytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ["kB", "MB", "GB", "TB"];
  let value = n / 1000,
    unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(value >= 100 ? 0 : 1)} ${units[unit]}`;
}
