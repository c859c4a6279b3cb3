/**
 * What the launcher knows about each rank of the job, wherever it runs: its host, how to
 * signal it, its forwarded output, and what it reported (an error, an abort, that it is
 * exiting, what it waits in).
 */
import type { RankReport } from "../rank/report.js";
import type { Reporting } from "./hang.js";
import type { PlannedHost } from "./hosts.js";
import { LineForwarder, writeErr, writeOut } from "./output.js";
import type { OutputFiles } from "./output-files.js";
import type { JobProfile } from "./profiling.js";
import { ProgressDisplay } from "./progress.js";

export interface Rank extends Reporting {
  /** Its last error or abort report. */
  report?: RankReport;
  /** Ended by the launcher while exiting with messages nobody could receive. */
  undeliverable?: boolean;
  host: PlannedHost;
  out: LineForwarder;
  err: LineForwarder;
}

/** Where every rank's output and reports go: one per job, shared by its ranks' records. */
export interface RankOutputs {
  /** --tag-output: each line prefixed with `[1,rank]<stream>:`. */
  tagOutput: boolean;
  /** Hears that a rank has finished its script. */
  onExiting: () => void;
  /** --trace/--stats/--cpu-prof: hears profile reports. */
  profile?: JobProfile;
  /** --output-filename: where each rank's output is also, or only, written. */
  files?: OutputFiles;
}

/**
 * A rank's record, its output going to the launcher's stdout/stderr (or `outputs.files`) and
 * its reports taken out of stderr.
 */
export function makeRank(rank: number, host: PlannedHost, kill: Rank["kill"], outputs: RankOutputs): Rank {
  const { tagOutput, onExiting, profile, files } = outputs;
  const tag = (stream: string) => (tagOutput ? `[1,${rank}]<${stream}>:` : "");
  const progress = new ProgressDisplay();
  const r: Rank = {
    rank,
    host,
    done: false,
    kill,
    out: new LineForwarder(files ? files.writer(rank, 1, writeOut) : writeOut, tag("stdout")),
    err: new LineForwarder(files ? files.writer(rank, 2, writeErr) : writeErr, tag("stderr"), (report) => {
      if (report.type === "profile") profile?.add(report);
      else if (report.type === "progress") progress.show(report);
      else if (report.type === "exiting") {
        r.exiting = report.code;
        onExiting();
      } else if (report.type !== "state") r.report ??= report;
      else if (r.onState) {
        r.state = report;
        r.onState();
      }
    }),
  };
  return r;
}
