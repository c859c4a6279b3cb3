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

/**
 * A rank's record, its output going to the launcher's stdout/stderr (tagged with --tag-output;
 * also, or only, to its --output-filename `files`) and its reports taken out of stderr;
 * `onExiting` hears that it has finished its script.
 */
export function makeRank(
  rank: number,
  host: PlannedHost,
  kill: Rank["kill"],
  tagOutput: boolean,
  onExiting: () => void,
  profile?: JobProfile,
  files?: OutputFiles,
): Rank {
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
