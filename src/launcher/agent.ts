/**
 * The node agent: what `ssh` (or `srun`) starts on each remote host of a job, like Open MPI's
 * orted. It starts that host's ranks with the launcher's own code ({@link startLocalRanks}),
 * and relays over its stdin/stdout (one JSON object per line, see {@link ToAgent} /
 * {@link FromAgent}): rank output and exits to the launcher, signals, notices and the script
 * to the ranks. When the launcher's side of the link closes (the launcher or ssh died), the
 * agent terminates its ranks and removes its job directory: nothing is left on the host. So it
 * does when it hears nothing from the launcher for the --heartbeat timeout (a cut network: no
 * close ever comes), while it beats in turn so that the launcher knows this host is alive.
 */
import { Buffer } from "node:buffer";
import { performance } from "node:perf_hooks";
import process from "node:process";
import { writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { JobKeys } from "../comm/transport/addresses.js";
import { flushAndExit } from "../rank/flush.js";
import type { FromAgent, ToAgent } from "./agent-protocol.js";
import { makeJobDir, type JobDir } from "./job-dir.js";
import { startLocalRanks, type LocalRanks } from "./local-ranks.js";
import { pickAddress } from "./network.js";
import { Heartbeat } from "./heartbeat.js";
import { KILL_GRACE_MS } from "./spawn.js";

type Launch = Extract<ToAgent, { type: "launch" }>;

let ranks: LocalRanks | undefined;
let keys: JobKeys | undefined;
let jobDir: JobDir | undefined;
let heartbeat: Heartbeat | undefined;
let ending = false;

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

async function start(message: Launch): Promise<void> {
  keys = message.keys;
  if (message.heartbeat) heartbeat = new Heartbeat(message.heartbeat, () => send({ type: "heartbeat" }), abandon);
  jobDir = makeJobDir(message.env.TMPDIR ?? tmpdir()); // -x TMPDIR=... moves it
  const { address } = await pickAddress(message.network, message.network.towards);
  send({ type: "ready", address, host: hostname() });
  const { ranks: placed, size, node, jobId, script, args, env, transport, cwd, bindTo, reportBindings } = message;
  ranks = startLocalRanks(
    { ranks: placed, size, node, jobId, jobDir: jobDir.path, script, args, env, address, transport, cwd, bindTo, reportBindings },
    {
      output: (rank, fd, chunk) => send({ type: "output", rank, fd, data: chunk.toString("base64") }),
      failed: (rank, error) => send({ type: "failed", message: `rank ${rank} could not start on ${hostname()}: ${error.message}` }),
      note: (line) => send({ type: "note", line }),
      exit: (rank, code, signal) => {
        send({ type: "exit", rank, code, signal });
        if (ranks?.allExited) void end(0);
      },
    },
  );
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
  if (ending) return;
  if (ranks === undefined) return void end(1);
  ranks.terminate();
  setTimeout(() => void end(ranks?.allExited ? 0 : 1), KILL_GRACE_MS + 100).unref();
}
lines.on("close", abandon);
// With the connection gone, writing to it fails: that too means the launcher is gone.
process.stdout.on("error", abandon);
process.on("exit", cleanup);
process.on("SIGTERM", abandon);
process.on("SIGHUP", abandon);
process.on("SIGINT", () => undefined); // ssh may forward a terminal's Ctrl-C: the launcher decides
