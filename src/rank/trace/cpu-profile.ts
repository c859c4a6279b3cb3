/**
 * --cpu-prof: a V8 CPU profile of the whole rank, taken with the inspector from inside the
 * rank, written as `DIR/rank-N.cpuprofile` when the rank ends (also when the job is aborted).
 * Frames of the bundled script are mapped back to the user's TypeScript through the
 * bundle's inline source map (and tsmpi's own frames to its sources), so Chrome DevTools and
 * speedscope show `.ts` lines.
 */
import process from "node:process";
import { findSourceMap, type SourceMap } from "node:module";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/** Sampling interval in µs (node --cpu-prof's default). */
const SAMPLING_US = 1000;

interface CallFrame {
  functionName: string;
  scriptId: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  positionTicks?: Array<{ line: number; ticks: number }>;
}
export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

/** Start profiling this process; the returned function stops and returns the profile. */
export function startCpuProfile(): () => CpuProfile | undefined {
  // node:inspector is loaded only under --cpu-prof: it is part of every rank's start-up otherwise.
  const session = new (process.getBuiltinModule("node:inspector").Session)();
  session.connect();
  session.post("Profiler.enable");
  session.post("Profiler.setSamplingInterval", { interval: SAMPLING_US });
  session.post("Profiler.start");
  return () => {
    // Same-thread inspector sessions answer synchronously, so this works in an exit handler.
    let profile: CpuProfile | undefined;
    session.post("Profiler.stop", (error, result) => {
      if (!error) profile = result.profile as CpuProfile;
    });
    session.disconnect();
    return profile;
  };
}

/** The source map of a loaded module (Node keeps them with --enable-source-maps, as ranks run). */
function sourceMapOf(url: string): SourceMap | undefined {
  if (!url.startsWith("file:")) return undefined;
  try {
    return findSourceMap(url) ?? findSourceMap(fileURLToPath(url));
  } catch {
    return undefined;
  }
}

/**
 * Rewrite every frame of a file that has a source map (the user's bundled script, tsmpi's
 * own bundle) to its original source, line and column. Frames without a mapping (esbuild's
 * helpers) are left as they are.
 */
export function mapToSources(profile: CpuProfile): CpuProfile {
  const maps = new Map<string, SourceMap | undefined>();
  // One script id per original file, so viewers do not group frames of different files.
  const scriptIds = new Map<string, string>();
  for (const node of profile.nodes) {
    const frame = node.callFrame;
    if (!maps.has(frame.url)) maps.set(frame.url, sourceMapOf(frame.url));
    const map = maps.get(frame.url);
    if (map === undefined || frame.lineNumber < 0) continue;
    const entry = map.findEntry(frame.lineNumber, frame.columnNumber) as { originalSource?: string; originalLine?: number; originalColumn?: number };
    if (entry.originalSource === undefined || entry.originalLine === undefined) continue;
    const url = entry.originalSource.startsWith("file:") ? entry.originalSource : pathToFileURL(entry.originalSource).href;
    if (!scriptIds.has(url)) scriptIds.set(url, String(900_000 + scriptIds.size));
    frame.url = url;
    frame.scriptId = scriptIds.get(url)!;
    frame.lineNumber = entry.originalLine;
    frame.columnNumber = entry.originalColumn ?? 0;
    // Line ticks are 1-based lines of the bundle: map each line through its last mapping.
    node.positionTicks = node.positionTicks
      ?.map(({ line, ticks }) => {
        const at = map.findEntry(line - 1, Number.MAX_SAFE_INTEGER) as { originalSource?: string; originalLine?: number };
        return at.originalSource === entry.originalSource && at.originalLine !== undefined ? { line: at.originalLine + 1, ticks } : undefined;
      })
      .filter((tick): tick is { line: number; ticks: number } => tick !== undefined);
  }
  return profile;
}

/** Write `DIR/rank-N.cpuprofile`; returns its path. */
export function writeCpuProfile(dir: string, rank: number, profile: CpuProfile): string {
  const path = join(dir, `rank-${rank}.cpuprofile`);
  writeFileSync(path, JSON.stringify(profile));
  return path;
}
