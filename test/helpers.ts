/** Start real tsmpi jobs (real processes, real ZeroMQ sockets) and inspect what they leave behind. */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { execa, execaSync, type ResultPromise } from "execa";
import { afterAll } from "vitest";

export const ROOT = new URL("..", import.meta.url).pathname;
export const BIN = join(ROOT, "bin/tsmpi.js");
export const fixture = (name: string) => join(ROOT, "test/fixtures", name);
/** Checks in the point-to-point suite (test/fixtures/p2p.ts): its "ok" lines on rank 0. */
export const P2P_CHECKS = 15;

export interface JobResult {
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
  /** Unique marker passed as the script's last argument; every rank's command line contains it. */
  marker: string;
  /** TMPDIR of the job: the job directory is created in it and must be gone afterwards. */
  tmp: string;
}

export interface JobOptions {
  input?: string;
  env?: Record<string, string>;
  /** Kill the launcher after this many ms if it has not finished: a hang fails the test. */
  timeout?: number;
  launcherArgs?: string[];
  /** Command prefix for the launcher, e.g. `ip netns exec host1` to run it on a test host. */
  wrap?: string[];
}

/** Job TMPDIRs made by this test file; whatever `leftovers()` did not inspect is removed at the end. */
const made = new Set<string>();
afterAll(() => made.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** Start `tsmpi [launcherArgs] -n np script args... marker` without waiting. */
export function startJob(np: number, script: string, args: string[] = [], options: JobOptions = {}): { proc: ResultPromise; marker: string; tmp: string } {
  const marker = `--tsmpi-test-marker=${randomUUID()}`;
  const tmp = mkdtempSync(join(tmpdir(), "tsmpi-test-"));
  made.add(tmp);
  const [command, ...prefix] = [...(options.wrap ?? []), "node"];
  const proc = execa(command!, [...prefix, BIN, ...(options.launcherArgs ?? []), "-n", String(np), script, ...args, marker], {
    reject: false,
    input: options.input,
    env: { TMPDIR: tmp, ...options.env },
    timeout: options.timeout ?? 60_000,
    killSignal: "SIGKILL",
  });
  return { proc, marker, tmp };
}

/** Run a job to completion. */
export async function runJob(np: number, script: string, args: string[] = [], options: JobOptions = {}): Promise<JobResult> {
  const { proc, marker, tmp } = startJob(np, script, args, options);
  const result = await proc;
  return { exitCode: result.exitCode, stdout: String(result.stdout), stderr: String(result.stderr), marker, tmp };
}

/** A started job's output so far, and a wait for it to show something. */
export interface Followed {
  readonly out: string;
  readonly err: string;
  /**
   * Wait until `ready()` holds. Fails at once, with the job's output, if the job ends first,
   * and after `limitMs` (then the launcher gets SIGTERM and ends its ranks).
   */
  until(what: string, ready: () => boolean, limitMs?: number): Promise<void>;
}

/** Follow the output of a job from {@link startJob} as it arrives. */
export function follow(proc: ResultPromise): Followed {
  let out = "";
  let err = "";
  let ended: string | undefined;
  proc.stdout!.on("data", (chunk: Buffer) => (out += chunk));
  proc.stderr!.on("data", (chunk: Buffer) => (err += chunk));
  void proc.then((result) => (ended = result.signal ? `was killed by ${result.signal}` : `exited with status ${result.exitCode}`));
  const failure = (why: string) => new Error(`${why}\n--- stdout:\n${out}\n--- stderr:\n${err}`);
  return {
    get out() {
      return out;
    },
    get err() {
      return err;
    },
    async until(what, ready, limitMs = 60_000) {
      const deadline = Date.now() + limitMs;
      while (!ready()) {
        if (ended !== undefined) throw failure(`the job ${ended} before ${what}`);
        if (Date.now() > deadline) {
          proc.kill("SIGTERM");
          throw failure(`still no ${what} after ${limitMs} ms`);
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
  };
}

/** Processes still running whose command line contains the job's marker. */
export function survivors(marker: string): string[] {
  const ps = execaSync("ps", ["-eo", "pid,args"], { reject: false });
  return String(ps.stdout)
    .split("\n")
    .filter((line) => line.includes(marker) && !line.includes("ps -eo"));
}

/** Assert-friendly: the job left no process and no file behind; cleans the TMPDIR. */
export async function leftovers(job: Pick<JobResult, "marker" | "tmp">): Promise<{ processes: string[]; files: string[] }> {
  // A killed process group can take a moment to be reaped by the kernel, and a node agent cut
  // off from the launcher a moment to clean up on its host. Shared memory is anonymous (memfd):
  // it goes with the last process that maps it, and must never appear in /dev/shm.
  const files = () => [...readdirSync(job.tmp), ...readdirSync("/dev/shm").filter((name) => name.includes("tsmpi"))];
  let processes = survivors(job.marker);
  let left = files();
  for (let i = 0; i < 40 && (processes.length > 0 || left.length > 0); i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    processes = survivors(job.marker);
    left = files();
  }
  rmSync(job.tmp, { recursive: true, force: true });
  return { processes, files: left };
}

/** Lines of `text` that start with `prefix`, sorted. */
export function linesStarting(text: string, prefix: string): string[] {
  return text
    .split("\n")
    .filter((line) => line.startsWith(prefix))
    .sort();
}
