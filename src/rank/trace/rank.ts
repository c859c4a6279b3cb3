/**
 * Turns --trace, --stats and --cpu-prof on in a rank (the launcher says which in the
 * environment) and hands the results back when the rank ends, however it ends: its script
 * finished, it threw, or the launcher terminated it because another rank failed.
 */
import { Buffer } from "node:buffer";
import process from "node:process";
import { writeFileSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { ENV } from "../control.js";
import { REPORT_MARKER } from "../report.js";
import { mapToSources, startCpuProfile, writeCpuProfile } from "./cpu-profile.js";
import { interpose } from "./interpose.js";
import { Recorder } from "./recorder.js";
import { DEFAULT_SPAN_LIMIT, PROFILE_ENV, profilingRequested, type ProfileReport } from "./types.js";

/**
 * Install what the environment asks for; the rank bootstrap calls it before it imports the
 * user's script. Does nothing (and costs nothing later) when no option is on.
 */
export function installProfiling(env: NodeJS.ProcessEnv = process.env): void {
  if (!profilingRequested(env)) return;
  const rank = Number(env[ENV.rank]);
  const trace = env[PROFILE_ENV.trace];
  const stats = env[PROFILE_ENV.stats] === "1";
  const cpuDir = env[PROFILE_ENV.cpuProf];
  const limit = Number(env[PROFILE_ENV.limit] ?? DEFAULT_SPAN_LIMIT);
  const recorder = trace || stats ? new Recorder(rank, Boolean(trace), limit) : undefined;
  if (recorder) interpose(recorder);
  const stopProfile = cpuDir ? startCpuProfile() : undefined;

  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    const report: ProfileReport = { type: "profile", rank, host: hostname(), origin: performance.timeOrigin, end: performance.now(), dropped: 0 };
    if (recorder) report.stats = recorder.finish();
    if (recorder?.keep) report.spans = recorder.spans;
    report.dropped = recorder?.dropped ?? 0;
    const profile = stopProfile?.();
    if (profile && cpuDir) report.cpuProfile = writeCpuProfile(cpuDir, rank, mapToSources(profile));
    // A rank on the launcher's host writes its report into the job directory (fast, even
    // for a large trace); a rank on another host sends it inline on stderr.
    if (trace && trace !== "1") {
      const file = join(trace, `rank-${rank}.json`);
      writeFileSync(file, JSON.stringify(report));
      send({ type: "profile", rank, host: report.host, origin: report.origin, end: report.end, dropped: report.dropped, file });
    } else send(report);
  };
  process.on("exit", finish);
  // Terminated by the launcher (another rank failed, --timeout, Ctrl-C): exit through the
  // handler above so the trace shows where this rank was blocked.
  process.on("SIGTERM", () => process.exit(143));
}

/** One report line on stderr; waits while the pipe is full, for up to ~5 s. */
function send(report: ProfileReport): void {
  const line = Buffer.from(`${REPORT_MARKER}${JSON.stringify(report)}\n`);
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let offset = 0, tries = 0; offset < line.length && tries < 5000;) {
    try {
      offset += writeSync(2, line, offset);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EAGAIN") return;
      tries++;
      Atomics.wait(pause, 0, 0, 1);
    }
  }
}
