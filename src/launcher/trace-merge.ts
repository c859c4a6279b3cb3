/**
 * The merge behind --trace: every rank's spans become one Chrome trace-event JSON file
 * (Perfetto, chrome://tracing, speedscope). One process per rank, named `rank N (host)`;
 * spans that overlap without nesting (a request in flight during a blocking call) go to
 * further threads of the rank, so every thread's spans nest; the time between blocking calls
 * is shown as `compute`; each message gets a flow arrow from its send to its receive; a
 * rank's failure and the job's abort are instant events. Times are aligned to the launcher's
 * clock with each host's measured offset.
 *
 * The file is written as it is made, a rank at a time: the launcher holds one rank's spans (in
 * columns, see trace-spans.ts) and, for the arrows, a small index of where each message's two
 * ends are; never the whole trace, as objects or as one string (V8's longest is ~512 MB).
 */
import type { ProfileReport, Span } from "../rank/trace/types.js";
import { FlowIndex } from "./trace-flows.js";
import { RankSpans } from "./trace-spans.js";

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
  /** Number of ranks. */
  np: number;
  /**
   * Rank `rank`'s report (undefined: the rank sent none, e.g. it was killed); its spans, if it
   * has any (`spans` is then defined, maybe emptied), go to `onSpan` one at a time before it
   * returns. Called once per rank, in order, when the merge comes to the rank.
   */
  report(rank: number, onSpan: (span: Span) => void): ProfileReport | undefined;
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

/**
 * Write the trace-event JSON, `{"traceEvents":[...],"displayTimeUnit":"ms","otherData":{...}}`,
 * through `write`, an event at a time: each rank's tracks and spans once its report is read,
 * then the arrows, the job's events and `otherData`.
 * @param write receives the JSON in order, in pieces (see trace-file.ts)
 */
export function mergeTrace(input: MergeInput, write: (text: string) => void): void {
  write('{"traceEvents":[');
  const events = new EventWriter(write);
  const flows = new FlowIndex();
  const dropped: Record<number, number> = {};
  for (let rank = 0; rank < input.np; rank++) {
    const spans = new RankSpans(flows);
    const report = input.report(rank, (span) => spans.add(span));
    const host = report?.host ?? input.hosts[rank] ?? "?";
    events.event({ ph: "M", name: "process_name", pid: rank, tid: 0, args: { name: `rank ${rank} (${host})` } });
    events.event({ ph: "M", name: "process_sort_index", pid: rank, tid: 0, args: { sort_index: rank } });
    if (report?.spans === undefined) continue;
    if (report.dropped > 0) dropped[rank] = report.dropped;
    writeRank(rank, report, spans, input, events, flows);
  }
  writeFlows(flows, events);
  for (const event of input.events) {
    const ts = Math.round((event.time - input.origin) * 1000);
    const args = event.detail === undefined ? undefined : { detail: event.detail };
    if (event.rank === undefined) events.event({ ph: "i", s: "g", name: event.name, pid: 0, tid: 0, ts, args });
    else events.event({ ph: "i", s: "p", name: event.name, pid: event.rank, tid: 0, ts, args });
  }
  const clocks = input.clocks.map((c, rank) => ({ rank, host: input.hosts[rank], offsetMs: c.offsetMs, errorMs: c.errorMs }));
  write(`],"displayTimeUnit":"ms","otherData":${JSON.stringify({ ...input.about, clocks, droppedSpans: dropped })}}`);
}

/** One rank's threads and spans (with the compute between its calls); each message end goes into `flows`. */
function writeRank(rank: number, report: ProfileReport, spans: RankSpans, input: MergeInput, events: EventWriter, flows: FlowIndex): void {
  const clock = input.clocks[rank] ?? { offsetMs: 0, errorMs: 0 };
  const order = spans.place(report.end, (ms) => Math.round((report.origin + ms - clock.offsetMs - input.origin) * 1000));
  const { start, end, lane } = spans;
  // A loop, not Math.max(...lanes): a rank may keep a million spans, far more arguments than a call takes.
  let lanes = 1;
  for (let i = 0; i < spans.count; i++) lanes = Math.max(lanes, lane[i]! + 1);
  for (let tid = 0; tid < lanes; tid++) {
    events.event({ ph: "M", name: "thread_name", pid: rank, tid, args: { name: tid === 0 ? "calls" : `overlapping calls ${tid}` } });
    events.event({ ph: "M", name: "thread_sort_index", pid: rank, tid, args: { sort_index: tid } });
  }
  for (const i of order) {
    const ts = start[i]!;
    const dur = end[i]! - ts;
    events.json(`{"ph":"X",${spans.labels[spans.label[i]!]!.json},"pid":${rank},"tid":${lane[i]},"ts":${num(ts)},"dur":${num(dur)},"args":${spans.args[i]}}`);
    if (spans.channel[i]! < 0) continue;
    const out = spans.out[i] === 1;
    // Flow events bind to the slice that encloses them: keep them off the slices' edges, where
    // a neighbour touches. The arrow ends where the message arrived (waitedMs into the receive).
    const waited = spans.waited[i]!;
    const at = out || Number.isNaN(waited) ? ts : Math.round(ts + waited * 1000);
    flows.note(spans.channel[i]!, spans.seq[i]!, out, rank, lane[i]!, dur < 2 ? ts : Math.min(Math.max(at, ts + 1), end[i]! - 1));
  }
}

/** The `traceEvents` array, an element at a time. */
class EventWriter {
  private first = true;

  constructor(private readonly write: (text: string) => void) {}

  event(event: TraceEvent): void {
    this.json(JSON.stringify(event));
  }

  /** An event already in JSON (most events are written so, without an object each). */
  json(text: string): void {
    this.write(this.first ? text : `,${text}`);
    this.first = false;
  }
}

/** A number as JSON.stringify writes it (not finite: null). */
const num = (n: number) => (Number.isFinite(n) ? String(n) : "null");

/** An arrow (a flow start and end, as JSON.stringify writes them) for each message whose send and receive are both in the trace. */
function writeFlows(flows: FlowIndex, events: EventWriter): void {
  let id = 0;
  for (const { key, from, fromLane, fromTs, to, toLane, toTs } of flows.pairs()) {
    id++;
    const args = `"args":{"key":${JSON.stringify(key)}}}`;
    events.json(`{"ph":"s","name":"message","cat":"message","id":${id},"pid":${from},"tid":${fromLane},"ts":${num(fromTs)},${args}`);
    events.json(`{"ph":"f","bp":"e","name":"message","cat":"message","id":${id},"pid":${to},"tid":${toLane},"ts":${num(toTs)},${args}`);
  }
}
