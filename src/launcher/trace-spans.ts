/**
 * One rank's spans while the merge writes them: in columns (typed arrays) rather than an
 * object or two per span, which made a rank's 262 144 spans ~75 MB of objects (and, as V8
 * collects garbage lazily, several ranks' worth at once). A span here is its times, its lane,
 * the number of its name and kind, its args as the JSON the trace shows, and for a message
 * the channel and number of its flow key. The merge adds the compute gaps and places the
 * spans in lanes (trace threads) such that the spans of each lane nest.
 */
import type { Span } from "../rank/trace/types.js";
import { splitKey, type FlowIndex } from "./trace-flows.js";

/** Gaps between blocking calls shorter than this are not shown as compute (ms). */
export const MIN_COMPUTE_MS = 0.1;

/** Kinds of call the rank blocks in: the time between them is compute. */
const BLOCKING: ReadonlySet<string> = new Set(["init", "p2p", "collective", "wait"]);

/** A name and kind of span: the start of its events' JSON, and how it takes part in placing. */
export interface Label {
  /** `"name":...,"cat":...` */
  json: string;
  blocking: boolean;
  /** Other spans may nest in it: a collective or sendrecv holds the messages it moves. */
  holds: boolean;
}

export class RankSpans {
  count = 0;
  /** Start and end: ms on the rank's clock as added, µs on the trace's after {@link place}. */
  start = new Float64Array(1024);
  end = new Float64Array(1024);
  /** Receives: `waitedMs` (NaN: none). */
  waited = new Float64Array(1024);
  lane = new Int32Array(1024);
  label = new Int32Array(1024);
  /** Messages: the flow key's channel (see {@link FlowIndex.channel}; -1: not a message), number, direction (1: sent). */
  channel = new Int32Array(1024);
  seq = new Int32Array(1024);
  out = new Uint8Array(1024);
  /** Each span's args as JSON. */
  readonly args: string[] = [];
  readonly labels: Label[] = [];
  private readonly labelIds = new Map<string, Map<string, number>>();

  constructor(private readonly flows: FlowIndex) {}

  /** Keep a span as the rank reported it. */
  add(span: Span): void {
    const i = this.push(span.name, span.kind, span.start, span.start + span.ms, JSON.stringify(span.args ?? {}));
    this.waited[i] = span.args?.waitedMs ?? NaN;
    const flow = span.flow;
    if (flow === undefined) return;
    const [channel, n] = splitKey(flow.slice(flow.indexOf(":") + 1));
    this.channel[i] = this.flows.channel(channel);
    this.seq[i] = n;
    this.out[i] = flow.startsWith("out:") ? 1 : 0;
  }

  /**
   * Add the compute gaps (up to `end`, the rank's end, in ms), convert times to the trace's µs
   * with `toUs`, and place every span in a lane.
   * @returns the spans' indices in the order the trace lists them (by start, longest first)
   */
  place(end: number | undefined, toUs: (ms: number) => number): Uint32Array {
    this.addComputeGaps(end);
    for (let i = 0; i < this.count; i++) {
      this.start[i] = toUs(this.start[i]!);
      this.end[i] = toUs(this.end[i]!);
    }
    return this.placeInLanes();
  }

  /** The gaps between blocking calls (from the first one to the rank's end) as `compute` spans. */
  private addComputeGaps(end: number | undefined): void {
    const blocking: number[] = [];
    for (let i = 0; i < this.count; i++) if (this.labels[this.label[i]!]!.blocking) blocking.push(i);
    blocking.sort((a, b) => this.start[a]! - this.start[b]!);
    const gaps: Array<[number, number]> = [];
    let busyUntil = blocking.length > 0 ? this.start[blocking[0]!]! : 0;
    const gap = (from: number, to: number) => {
      if (to - from >= MIN_COMPUTE_MS) gaps.push([from, to - from]);
    };
    for (const i of blocking) {
      gap(busyUntil, this.start[i]!);
      busyUntil = Math.max(busyUntil, this.end[i]!);
    }
    if (end !== undefined && blocking.length > 0) gap(busyUntil, end);
    // As start + duration, the way the rank's own spans give their end.
    for (const [from, ms] of gaps) this.waited[this.push("compute", "compute", from, from + ms, "{}")] = NaN;
  }

  /**
   * Give each span a lane (a trace thread) such that spans on one lane nest: a span goes on
   * the first lane that has no span open, or whose innermost open span holds it (two receives
   * that overlap go on two lanes, not one inside the other). A span that
   * ends in the same µs as the span it nests in is made to end 1 µs earlier, so that viewers
   * (speedscope orders ends at equal times by when the spans began) close the inner one first.
   */
  private placeInLanes(): Uint32Array {
    const { start, end } = this;
    const order = new Uint32Array(this.count).map((_, i) => i).sort((a, b) => start[a]! - start[b]! || end[b]! - end[a]!);
    const lanes: number[][] = [];
    for (const i of order) {
      for (let lane = 0; ; lane++) {
        const open = (lanes[lane] ??= []);
        while (open.length > 0 && end[open[open.length - 1]!]! <= start[i]!) open.pop();
        const parent = open[open.length - 1];
        const holds = parent !== undefined && this.labels[this.label[parent]!]!.holds;
        if (holds && end[parent]! === end[i]! && end[parent]! - 1 >= Math.max(start[i]!, start[parent]! + 1)) end[i] = end[parent]! - 1;
        if (parent === undefined || (holds && end[parent]! > end[i]!)) {
          open.push(i);
          this.lane[i] = lane;
          break;
        }
      }
    }
    return order;
  }

  /** A new span with no lane and no flow; returns its index. */
  private push(name: string, kind: string, start: number, end: number, args: string): number {
    const i = this.count++;
    if (i === this.start.length) this.grow();
    this.start[i] = start;
    this.end[i] = end;
    this.label[i] = this.labelOf(name, kind);
    this.channel[i] = -1;
    this.args.push(args);
    return i;
  }

  private labelOf(name: string, kind: string): number {
    let byName = this.labelIds.get(kind);
    if (byName === undefined) this.labelIds.set(kind, (byName = new Map()));
    let id = byName.get(name);
    if (id === undefined) {
      const json = JSON.stringify({ name, cat: kind }).slice(1, -1);
      id = this.labels.push({ json, blocking: BLOCKING.has(kind), holds: kind === "collective" || name === "sendrecv" }) - 1;
      byName.set(name, id);
    }
    return id;
  }

  /** Twice the room in every column. */
  private grow(): void {
    const twice = <T extends Float64Array | Int32Array | Uint8Array>(a: T): T => {
      const grown = new (a.constructor as new (length: number) => T)(2 * a.length);
      grown.set(a);
      return grown;
    };
    this.start = twice(this.start);
    this.end = twice(this.end);
    this.waited = twice(this.waited);
    this.lane = twice(this.lane);
    this.label = twice(this.label);
    this.channel = twice(this.channel);
    this.seq = twice(this.seq);
    this.out = twice(this.out);
  }
}
