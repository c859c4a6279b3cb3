/**
 * The merge behind --trace: every rank's spans become one Chrome trace-event JSON file
 * (Perfetto, chrome://tracing, speedscope). One process per rank, named `rank N (host)`;
 * spans that overlap without nesting (a request in flight during a blocking call) go to
 * further threads of the rank, so every thread's spans nest; the time between blocking calls
 * is shown as `compute`; each message gets a flow arrow from its send to its receive; a
 * rank's failure and the job's abort are instant events. Times are aligned to the launcher's
 * clock with each host's measured offset.
 */
import type { ProfileReport, Span, SpanKind } from "../rank/trace/types.js";

/** Gaps between blocking calls shorter than this are not shown as compute (ms). */
export const MIN_COMPUTE_MS = 0.1;

/** A rank's clock against the launcher's: rank time - offset = launcher time (ms), within ± error. */
export interface ClockOffset {
  offsetMs: number;
  errorMs: number;
}

/** Something the launcher saw happen, at a time on its own clock (ms since the epoch). */
export interface JobEvent {
  time: number;
  /** The rank it concerns; undefined: the whole job. */
  rank?: number;
  name: string;
  detail?: string;
}

export interface MergeInput {
  /** Each rank's report (undefined: the rank sent none, e.g. it was killed). */
  reports: Array<ProfileReport | undefined>;
  /** Host name of each rank as the launcher planned it. */
  hosts: string[];
  /** Clock of each rank's host against the launcher's. */
  clocks: ClockOffset[];
  events: JobEvent[];
  /** Launcher time (ms since the epoch) that becomes ts 0. */
  origin: number;
  /** Recorded as is in `otherData`. */
  about: Record<string, unknown>;
}

/** One trace event (the fields of the Chrome format used here). */
export interface TraceEvent {
  ph: "X" | "M" | "s" | "f" | "i";
  name: string;
  pid: number;
  tid: number;
  ts?: number;
  dur?: number;
  cat?: string;
  id?: number;
  bp?: "e";
  s?: "g" | "p" | "t";
  args?: Record<string, unknown>;
}

interface Placed {
  span: Span;
  /**
   * Whole µs since the trace origin. Viewers compute ends as ts + dur in floating point:
   * with integers, a span that ends where the next begins never seems to overlap it.
   */
  start: number;
  end: number;
  lane: number;
}

const BLOCKING: ReadonlySet<SpanKind> = new Set(["init", "p2p", "collective", "wait"]);

/** Build the trace-event JSON object. */
export function mergeTrace(input: MergeInput): { traceEvents: TraceEvent[]; displayTimeUnit: "ms"; otherData: Record<string, unknown> } {
  const events: TraceEvent[] = [];
  const flows = new Map<string, { out?: [number, Placed]; in?: [number, Placed] }>();
  const dropped: Record<number, number> = {};
  input.reports.forEach((report, rank) => {
    const host = report?.host ?? input.hosts[rank] ?? "?";
    events.push({ ph: "M", name: "process_name", pid: rank, tid: 0, args: { name: `rank ${rank} (${host})` } });
    events.push({ ph: "M", name: "process_sort_index", pid: rank, tid: 0, args: { sort_index: rank } });
    if (report?.spans === undefined) return;
    if (report.dropped > 0) dropped[rank] = report.dropped;
    const clock = input.clocks[rank] ?? { offsetMs: 0, errorMs: 0 };
    const toUs = (ms: number) => Math.round((report.origin + ms - clock.offsetMs - input.origin) * 1000);
    const spans = [...report.spans, ...computeSpans(report.spans, report.end)];
    const placed = placeInLanes(spans.map((span) => ({ span, start: toUs(span.start), end: toUs(span.start + span.ms), lane: 0 })));
    // A loop, not Math.max(...spans): a rank may keep a million spans, far more arguments than a call takes.
    const lanes = placed.reduce((most, p) => Math.max(most, p.lane), 0) + 1;
    for (let lane = 0; lane < lanes; lane++) {
      events.push({ ph: "M", name: "thread_name", pid: rank, tid: lane, args: { name: lane === 0 ? "calls" : `overlapping calls ${lane}` } });
      events.push({ ph: "M", name: "thread_sort_index", pid: rank, tid: lane, args: { sort_index: lane } });
    }
    for (const p of placed) {
      const { name, kind, args } = p.span;
      events.push({ ph: "X", name, cat: kind, pid: rank, tid: p.lane, ts: p.start, dur: p.end - p.start, args: { ...args } });
      const flow = p.span.flow;
      if (flow === undefined) continue;
      const key = flow.slice(flow.indexOf(":") + 1);
      const pair = flows.get(key) ?? {};
      pair[flow.startsWith("out:") ? "out" : "in"] = [rank, p];
      flows.set(key, pair);
    }
  });
  let id = 0;
  for (const [key, pair] of flows) {
    if (pair.out === undefined || pair.in === undefined) continue;
    const [from, send] = pair.out;
    const [to, receive] = pair.in;
    // Flow events bind to the slice that encloses them: keep them off the slices' edges, where
    // a neighbour touches. The arrow ends where the message arrived (waitedMs into the receive).
    const waited = receive.span.args.waitedMs;
    const arrival = waited === undefined ? receive.start : Math.round(receive.start + waited * 1000);
    const inside = (p: Placed, ts: number) => (p.end - p.start < 2 ? p.start : Math.min(Math.max(ts, p.start + 1), p.end - 1));
    id++;
    events.push({ ph: "s", name: "message", cat: "message", id, pid: from, tid: send.lane, ts: inside(send, send.start), args: { key } });
    events.push({ ph: "f", bp: "e", name: "message", cat: "message", id, pid: to, tid: receive.lane, ts: inside(receive, arrival), args: { key } });
  }
  for (const event of input.events) {
    const ts = Math.round((event.time - input.origin) * 1000);
    const args = event.detail === undefined ? undefined : { detail: event.detail };
    if (event.rank === undefined) events.push({ ph: "i", s: "g", name: event.name, pid: 0, tid: 0, ts, args });
    else events.push({ ph: "i", s: "p", name: event.name, pid: event.rank, tid: 0, ts, args });
  }
  const clocks = input.clocks.map((c, rank) => ({ rank, host: input.hosts[rank], offsetMs: c.offsetMs, errorMs: c.errorMs }));
  return { traceEvents: events, displayTimeUnit: "ms", otherData: { ...input.about, clocks, droppedSpans: dropped } };
}

/** The gaps between blocking calls (from the first span to the rank's end) as `compute` spans. */
export function computeSpans(spans: readonly Span[], end: number | undefined): Span[] {
  const blocking = spans.filter((s) => BLOCKING.has(s.kind)).sort((a, b) => a.start - b.start);
  const gaps: Span[] = [];
  let busyUntil = blocking[0]?.start ?? 0;
  const gap = (from: number, to: number) => {
    if (to - from >= MIN_COMPUTE_MS) gaps.push({ name: "compute", kind: "compute", start: from, ms: to - from, args: {} });
  };
  for (const s of blocking) {
    gap(busyUntil, s.start);
    busyUntil = Math.max(busyUntil, s.start + s.ms);
  }
  if (end !== undefined && blocking.length > 0) gap(busyUntil, end);
  return gaps;
}

/** Spans that other spans may nest in: a collective or sendrecv holds the messages it moves. */
const holds = (parent: Placed) => parent.span.kind === "collective" || parent.span.name === "sendrecv";

/**
 * Give each span a lane (a trace thread) such that spans on one lane nest: a span goes on
 * the first lane that has no span open, or whose innermost open span holds it (two receives
 * that overlap go on two lanes, not one inside the other). A span that
 * ends in the same µs as the span it nests in is made to end 1 µs earlier, so that viewers
 * (speedscope orders ends at equal times by when the spans began) close the inner one first.
 */
export function placeInLanes(placed: Placed[]): Placed[] {
  placed.sort((a, b) => a.start - b.start || b.end - a.end);
  const lanes: Placed[][] = [];
  for (const p of placed) {
    for (let lane = 0; ; lane++) {
      const open = (lanes[lane] ??= []);
      while (open.length > 0 && open[open.length - 1]!.end <= p.start) open.pop();
      const parent = open[open.length - 1];
      if (parent !== undefined && holds(parent) && parent.end === p.end && parent.end - 1 >= Math.max(p.start, parent.start + 1)) p.end = parent.end - 1;
      if (parent === undefined || (holds(parent) && parent.end > p.end)) {
        open.push(p);
        p.lane = lane;
        break;
      }
    }
  }
  return placed;
}
