/**
 * The launcher's side of --trace, --stats and --cpu-prof for one job: the environment that
 * turns them on in the ranks, the ranks' reports as they arrive, the clock offset of each
 * remote host, what went wrong and when, and at the end the trace file and the tables.
 */
import process from "node:process";
import { mkdirSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { PROFILE_ENV, type ProfileReport, type Span } from "../rank/trace/types.js";
import { ClockProbe, epochMs } from "./clock.js";
import type { LaunchOptions } from "./options.js";
import { readReportFile } from "./report-file.js";
import { formatStats, summarize } from "./stats.js";
import { writeInPieces } from "./trace-file.js";
import { mergeTrace, type ClockOffset, type JobEvent, type MergeInput } from "./trace-merge.js";
import { tsmpiVersion } from "./version.js";

type Options = Pick<LaunchOptions, "trace" | "cpuProf" | "stats" | "script" | "args">;

export class JobProfile {
  private readonly reports: Array<ProfileReport | undefined>;
  private readonly events: JobEvent[] = [];
  private readonly clocks = new Map<string, ClockProbe>();
  private readonly started = epochMs();
  private readonly reportDir: string;

  /** A profile for the job if any option asks for one. */
  static for(options: Options, np: number, jobDir: string): JobProfile | undefined {
    return options.trace || options.stats || options.cpuProf ? new JobProfile(options, np, jobDir) : undefined;
  }

  private constructor(
    private readonly options: Options,
    np: number,
    jobDir: string,
  ) {
    this.reports = new Array<ProfileReport | undefined>(np);
    this.reportDir = join(jobDir, "profile");
    if (options.trace) mkdirSync(this.reportDir, { mode: 0o700 });
  }

  /** Variables for ranks on this host (`remote`: on another host, which cannot reach the job directory). */
  env(remote: boolean): Record<string, string> {
    const env: Record<string, string> = {};
    if (this.options.trace) env[PROFILE_ENV.trace] = remote ? "1" : this.reportDir;
    if (this.options.stats) env[PROFILE_ENV.stats] = "1";
    if (this.options.cpuProf) env[PROFILE_ENV.cpuProf] = this.options.cpuProf;
    return env;
  }

  /** A rank's report arrived (the content may be in a file in the job directory). */
  add(report: ProfileReport): void {
    this.reports[report.rank] = report.spans === undefined || !this.options.trace ? report : this.keepOnDisk(report);
  }

  /** Note something that happened now: a rank failed, the job was aborted. */
  note(name: string, rank?: number, detail?: string): void {
    this.events.push({ time: epochMs(), rank, name, detail });
  }

  /** A remote host's agent is up: measure its clock (traces only). */
  measureClock(host: string, ask: (message: { type: "clock"; id: number }) => void): void {
    if (!this.options.trace || this.clocks.has(host)) return;
    const probe = new ClockProbe(ask);
    this.clocks.set(host, probe);
    void probe.measure();
  }

  /** A host answered a clock request. */
  clockAnswer(host: string, id: number, time: number): void {
    this.clocks.get(host)?.answer(id, time);
  }

  /**
   * The job is over: write the trace and print the statistics. Reports are read one at a
   * time, as the trace's merge comes to each, and only their small part (the statistics) is kept.
   * @param ranks the job's ranks, with the host each ran on as planned (a hole: it never started)
   * @param write where the tables go (stderr)
   */
  finish(ranks: ReadonlyArray<{ host: { via: string; name: string } } | undefined>, write: (text: string) => void, say: (line: string) => void): void {
    const hosts = Array.from(ranks, (r) => (r === undefined || r.host.via === "local" ? "" : r.host.name));
    const names = hosts.map((host) => host || hostname());
    const kept = new Array<ProfileReport | undefined>(this.reports.length);
    const read = new Set<number>();
    // A rank's spans go to `onSpan` (the trace's merge) as its report is read; only the rest is kept.
    const load = (rank: number, onSpan: (span: Span) => void = () => undefined): ProfileReport | undefined => {
      const arrived = this.reports[rank];
      let report = arrived;
      if (arrived?.file !== undefined) report = this.readReport(arrived.file, onSpan, say);
      else arrived?.spans?.forEach(onSpan);
      if (report === undefined) say(`no trace or statistics from rank ${rank}: it ended before it could send them`);
      read.add(rank);
      kept[rank] = report && { ...report, spans: undefined };
      return report;
    };
    const written = this.options.trace !== undefined && this.writeTrace(hosts, names, load, say);
    // Ranks the trace did not come to (it could not be written): their statistics.
    for (let rank = 0; rank < this.reports.length; rank++) if (!read.has(rank)) load(rank);
    if (written) this.sayAboutTrace(kept, hosts, say);
    if (this.options.stats) {
      const summary = summarize(kept, names);
      write(this.options.stats === "json" ? `${JSON.stringify(summary, null, 2)}\n` : formatStats(summary));
    }
  }

  /** Clock of each rank's host against the launcher's. */
  private clockOffsets(hosts: string[]): ClockOffset[] {
    return hosts.map((host) => (host === "" ? { offsetMs: 0, errorMs: 0 } : (this.clocks.get(host)?.result ?? { offsetMs: 0, errorMs: Infinity })));
  }

  /** Merge the ranks' spans into the trace file, reading each rank's report with `load` when the merge comes to it; false if it failed. */
  private writeTrace(hosts: string[], names: string[], load: MergeInput["report"], say: (line: string) => void): boolean {
    const np = this.reports.length;
    const about = { tsmpi: tsmpiVersion(), script: this.options.script, args: this.options.args, np, started: new Date(this.started).toISOString() };
    const input = { np, report: load, hosts: names, clocks: this.clockOffsets(hosts), events: this.events, origin: this.started, about };
    try {
      writeInPieces(this.options.trace!, (out) => mergeTrace(input, out));
      return true;
    } catch (error) {
      say(`cannot write the trace to ${this.options.trace}: ${(error as Error).message}`);
      return false;
    }
  }

  /** Once the trace is written: spans the ranks could not keep, and how well the clocks were aligned. */
  private sayAboutTrace(reports: Array<ProfileReport | undefined>, hosts: string[], say: (line: string) => void): void {
    const lost = reports.reduce((sum, r) => sum + (r?.dropped ?? 0), 0);
    if (lost > 0) say(`trace: ${lost} spans were not kept (each rank keeps at most ${process.env[PROFILE_ENV.limit] ?? "262144"}); --stats still counts them`);
    const worst = Math.max(0, ...this.clockOffsets(hosts).map((c) => c.errorMs));
    if (worst > 0) say(`trace: clocks of other hosts aligned within ±${worst === Infinity ? "?" : worst.toFixed(3)} ms`);
  }

  /**
   * A report that came with its spans (from another host, on stderr) waits in the job directory
   * like those of this host's ranks, so that the launcher holds one rank's spans at a time.
   */
  private keepOnDisk(report: ProfileReport): ProfileReport {
    const file = join(this.reportDir, `rank-${report.rank}.json`);
    try {
      writeFileSync(file, JSON.stringify(report));
    } catch {
      return report; // The directory is gone or full: the spans stay in memory.
    }
    const { type, rank, host, origin, end, dropped, cpuProfile } = report;
    return { type, rank, host, origin, end, dropped, cpuProfile, file };
  }

  private readReport(file: string, onSpan: (span: Span) => void, say: (line: string) => void): ProfileReport | undefined {
    try {
      return readReportFile(file, onSpan);
    } catch (error) {
      say(`cannot read a rank's trace ${file}: ${(error as Error).message}`);
      return undefined;
    }
  }
}
