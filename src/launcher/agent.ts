/**
 * The node agent: what `ssh` (or `srun`) starts on each remote host of a job, like Open MPI's
 * orted. It starts that host's ranks exactly as the launcher starts local ones, and relays
 * over its stdin/stdout (one JSON object per line, see {@link ToAgent} / {@link FromAgent}):
 * rank output and exits to the launcher, signals, notices and the script to the ranks.
 * When the launcher's side of the link closes (the launcher or ssh died), the agent
 * terminates its ranks and removes its job directory: nothing is left on the host.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { ChildProcess } from "node:child_process";
import { flushAndExit } from "../rank/flush.js";
import type { FromAgent, ToAgent } from "./agent-protocol.js";
import { pickAddress } from "./network.js";
import { KILL_GRACE_MS, signalRank, spawnRank, tellRank, terminateRanks } from "./spawn.js";

type Launch = Extract<ToAgent, { type: "launch" }>;

const ranks = new Map<number, { child: ChildProcess; done: boolean }>();
let launch: Launch | undefined;
let jobDir: string | undefined;
let ending = false;

const send = (message: FromAgent) => process.stdout.write(`${JSON.stringify(message)}\n`);

function cleanup(): void {
  if (jobDir) rmSync(jobDir, { recursive: true, force: true });
  jobDir = undefined;
}

async function end(code: number): Promise<never> {
  ending = true;
  cleanup();
  return flushAndExit(code);
}

function allDone(): boolean {
  return launch !== undefined && [...ranks.values()].every((r) => r.done) && ranks.size === launch.ranks.length;
}

async function start(message: Launch): Promise<void> {
  launch = message;
  jobDir = mkdtempSync(join(message.env.TMPDIR ?? tmpdir(), "tsmpi-")); // mode 0700; -x TMPDIR=... moves it
  const { address } = await pickAddress(message.network, message.network.towards);
  send({ type: "ready", address, host: hostname() });
  for (const { rank, localRank } of message.ranks) {
    const child = spawnRank({
      rank,
      localRank,
      size: message.size,
      node: message.node,
      jobId: message.jobId,
      jobDir,
      script: message.script,
      args: message.args,
      env: { ...process.env, ...message.env },
      address,
      transport: message.transport,
      cwd: message.cwd,
    });
    const r = { child, done: false };
    ranks.set(rank, r);
    child.stdout!.on("data", (chunk: Buffer) => send({ type: "output", rank, fd: 1, data: chunk.toString("base64") }));
    child.stderr!.on("data", (chunk: Buffer) => send({ type: "output", rank, fd: 2, data: chunk.toString("base64") }));
    child.stdin?.on("error", () => undefined);
    child.on("error", (error) => send({ type: "failed", message: `rank ${rank} could not start on ${hostname()}: ${error.message}` }));
    child.on("close", (code, signal) => {
      r.done = true;
      send({ type: "exit", rank, code, signal });
      if (allDone()) void end(0);
    });
  }
}

async function handle(message: ToAgent): Promise<void> {
  switch (message.type) {
    case "launch":
      await start(message).catch((error: Error) => {
        send({ type: "failed", message: `${hostname()}: ${error.message}` });
        void end(1);
      });
      break;
    case "entry": {
      let entry = message.path;
      if (message.code !== undefined && jobDir) writeFileSync((entry = join(jobDir, "script.mjs")), message.code);
      for (const r of ranks.values()) if (entry) tellRank(r.child, { type: "start", entry, control: message.control, keys: launch!.keys });
      break;
    }
    case "signal": {
      const r = ranks.get(message.rank);
      if (r && !r.done) signalRank(r.child, message.signal, message.group);
      break;
    }
    case "notice":
      for (const r of ranks.values()) if (!r.done) tellRank(r.child, message.notice);
      break;
    case "stdin": {
      const stdin = ranks.get(0)?.child.stdin;
      if (message.data === undefined) stdin?.end();
      else stdin?.write(Buffer.from(message.data, "base64"));
      break;
    }
  }
}

// Messages are handled in order: the ranks must exist before the script is handed to them.
let handled: Promise<unknown> = Promise.resolve();
const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
lines.on("line", (line) => {
  if (line.trim() === "") return;
  handled = handled
    .then(() => handle(JSON.parse(line) as ToAgent))
    .catch((error: Error) => send({ type: "failed", message: `${hostname()}: bad message from the launcher: ${error.message}` }));
});
/** The launcher (or the ssh connection) is gone, or Slurm/ssh ends us: end this host's part of the job. */
function abandon(): void {
  if (ending) return;
  terminateRanks([...ranks.values()], (r, signal) => signalRank(r.child, signal));
  setTimeout(() => void end(allDone() ? 0 : 1), KILL_GRACE_MS + 100).unref();
  if (ranks.size === 0) void end(1);
}
lines.on("close", abandon);
// With the connection gone, writing to it fails: that too means the launcher is gone.
process.stdout.on("error", abandon);
process.on("exit", cleanup);
process.on("SIGTERM", abandon);
process.on("SIGHUP", abandon);
process.on("SIGINT", () => undefined); // ssh may forward a terminal's Ctrl-C: the launcher decides
