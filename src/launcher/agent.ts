/**
 * The node agent: what `ssh` (or `srun`) starts on each remote host of a job, like Open MPI's
 * orted. It starts that host's ranks with the launcher's own code ({@link startLocalRanks}),
 * and relays over its stdin/stdout (one JSON object per line, see {@link ToAgent} /
 * {@link FromAgent}): rank output and exits to the launcher, signals, notices and the script
 * to the ranks. When the launcher's side of the link closes (the launcher or ssh died), the
 * agent terminates its ranks and removes its job directory: nothing is left on the host. So it
 * does when it hears nothing from the launcher for the --heartbeat timeout (a cut network: no
 * close ever comes), while it beats in turn so that the launcher knows this host is alive.
 * In a launch tree it also starts the agents of the hosts below it and relays for them
 * ({@link ChildAgents}); it exits once its ranks and their agents have all ended.
 */
import { Buffer } from "node:buffer";
import process from "node:process";
import { writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { JobKeys } from "../comm/transport/addresses.js";
import { flushAndExit } from "../rank/flush.js";
import { ChildAgents } from "./agent-children.js";
import type { FromAgent, ToAgent } from "./agent-protocol.js";
import { makeJobDir, type JobDir } from "./job-dir.js";
import { startLocalRanks, type LocalRanks } from "./local-ranks.js";
import { pickAddress } from "./network.js";
import { Heartbeat, formatHeartbeat } from "./heartbeat.js";
import { KILL_GRACE_MS } from "./spawn.js";

type Launch = Extract<ToAgent, { type: "launch" }>;

let ranks: LocalRanks | undefined;
let children: ChildAgents | undefined;
let keys: JobKeys | undefined;
let jobDir: JobDir | undefined;
let heartbeat: Heartbeat | undefined;
let ending = false;
let abandoned = false;
/** How long an agent that is ending waits for the agents below it before it cuts them off. */
const HANG_UP_MS = 2000;

const send = (message: FromAgent) => process.stdout.write(`${JSON.stringify(message)}\n`);

function cleanup(): void {
  heartbeat?.stop();
  jobDir?.remove();
  jobDir = undefined;
}

async function end(code: number): Promise<never> {
  ending = true;
  cleanup();
  return flushAndExit(code);
}

/** This host's ranks and the agents below it have all ended: so does this agent. */
function endWhenDone(): void {
  if (ranks?.allExited && (children?.allExited ?? true)) void end(0);
}

async function start(message: Launch): Promise<void> {
  keys = message.keys;
  // The hosts below first: their logins are the longest part of the launch.
  children = new ChildAgents(message.children ?? [], send, message.heartbeat, endWhenDone);
  jobDir = makeJobDir(message.env.TMPDIR ?? tmpdir()); // -x TMPDIR=... moves it
  const { address } = await pickAddress(message.network, message.network.towards);
  const { ranks: placed, size, node, jobId, script, args, env, transport, cwd, bindTo, reportBindings } = message;
  ranks = startLocalRanks(
    { ranks: placed, size, node, jobId, jobDir: jobDir.path, script, args, env, address, transport, cwd, bindTo, reportBindings },
    {
      output: (rank, fd, chunk) => send({ type: "output", rank, fd, data: chunk.toString("base64") }),
      failed: (rank, error) => send({ type: "failed", message: `rank ${rank} could not start on ${hostname()}: ${error.message}` }),
      note: (line) => send({ type: "note", line }),
      exit: (rank, code, signal) => {
        send({ type: "exit", rank, code, signal });
        endWhenDone();
      },
    },
  );
  // Ready once the ranks are spawned: the launcher watches this host's heartbeats from here, and
  // spawning blocks this process (fork and exec, ~15 ms of CPU a rank): 16 namespace hosts x 16
  // ranks booting on 2 cores (load ~190) kept an agent in its spawn loop past the 5 s timeout.
  // The launcher beats towards this host from its ready on, so this side's watch starts here too.
  send({ type: "ready", address, host: hostname() });
  const setting = message.heartbeat;
  if (setting)
    heartbeat = new Heartbeat(
      setting,
      () => send({ type: "heartbeat" }),
      (silentMs) => {
        // Said upwards, in case only the way down is cut: the job's error then names the cause.
        send({
          type: "note",
          line: `tsmpi: node agent on ${hostname()}: nothing heard from the launcher for ${(silentMs / 1000).toFixed(1)} s (--heartbeat ${formatHeartbeat(setting)}); ending its ranks`,
        });
        abandon();
      },
    );
}

async function handle(message: ToAgent): Promise<void> {
  if (children?.route(message)) return; // for a host below this one
  switch (message.type) {
    case "launch":
      await start(message).catch((error: Error) => {
        send({ type: "failed", message: `${hostname()}: ${error.message}` });
        void end(1);
      });
      break;
    case "entry": {
      let entry = message.path;
      if (message.code !== undefined && jobDir) writeFileSync((entry = join(jobDir.path, "script.mjs")), message.code);
      if (entry) ranks?.start({ type: "start", entry, control: message.control, keys });
      break;
    }
    case "signal":
      ranks?.signal(message.rank, message.signal, message.group);
      break;
    case "notice":
      ranks?.notify(message.notice);
      break;
    case "clock":
      send({ type: "clock", id: message.id, time: performance.timeOrigin + performance.now() });
      break;
    case "stdin":
      if (message.data === undefined) ranks?.stdin?.end();
      else ranks?.stdin?.write(Buffer.from(message.data, "base64"));
      break;
    case "heartbeat":
      break; // heard, like any line
  }
}

// Messages are handled in order: the ranks must exist before the script is handed to them.
let handled: Promise<unknown> = Promise.resolve();
const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
lines.on("line", (line) => {
  heartbeat?.heard();
  if (line.trim() === "") return;
  handled = handled
    .then(() => handle(JSON.parse(line) as ToAgent))
    .catch((error: Error) => send({ type: "failed", message: `${hostname()}: bad message from the launcher: ${error.message}` }));
});
/** The launcher (or the ssh connection) is gone or silent, or Slurm/ssh ends us: end this host's part of the job. */
function abandon(): void {
  if (ending || abandoned) return;
  abandoned = true;
  children?.drop(HANG_UP_MS);
  ranks?.terminate();
  // Exit once the ranks and the agents below have ended (they may take a hop each), or at the latest after HANG_UP_MS.
  const until = Date.now() + HANG_UP_MS + 200;
  const check = () => {
    const done = (ranks?.allExited ?? true) && (children?.allExited ?? true);
    if (done || Date.now() > until) void end(done && ranks !== undefined ? 0 : 1);
    else setTimeout(check, 50).unref();
  };
  setTimeout(check, ranks === undefined ? 0 : KILL_GRACE_MS + 100).unref();
}
lines.on("close", abandon);
// With the connection gone, writing to it fails: that too means the launcher is gone.
process.stdout.on("error", abandon);
process.on("exit", cleanup);
process.on("SIGTERM", abandon);
process.on("SIGHUP", abandon);
process.on("SIGINT", () => undefined); // ssh may forward a terminal's Ctrl-C: the launcher decides
