/**
 * What each rank process runs: install the failure reporters, link the library to the
 * launcher, make the script see its own path and arguments, then import it. A rank exits when
 * its script is done, dies with a report on stderr when it throws, and dies at once if the
 * launcher (or node agent) goes away, even in the middle of a computation.
 */
import process from "node:process";
import { rmSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { ENV } from "./control.js";
import { flushAndExit } from "./flush.js";
import { attachLauncher, nothingQueued } from "./init.js";
import { LauncherLink } from "./link.js";
import { dieWithParent } from "./parent-death.js";
import { report } from "./report.js";
import { readStartChannel } from "./start-channel.js";
import { mapScriptsFromHere, mapStack } from "./stack.js";
import { installProfiling } from "./trace/rank.js";

const parent = Number(process.env[ENV.parent]);
if (Number.isInteger(parent) && parent > 0) dieWithParent(parent, process.env[ENV.deathSignal] === "set");
const [script, ...args] = process.argv.slice(2);
const rank = Number(process.env[ENV.rank]);
process.argv = [process.argv[0]!, script!, ...args];

function die(origin: "exception" | "rejection", reason: unknown): void {
  const error = reason instanceof Error ? reason : new Error(`non-Error value thrown: ${String(reason)}`);
  report({ type: "error", rank, origin, name: error.name, message: error.message, stack: mapStack(error.stack ?? String(error)) });
  void flushAndExit(1);
}

process.on("uncaughtException", (error) => die("exception", error));
process.on("unhandledRejection", (reason) => die("rejection", reason));
const channel = readStartChannel(
  // The launcher (or node agent) closed the channel: it cannot clean up any more, so the ranks
  // remove the job directory on their way out (whichever comes first; the others find it gone).
  // When it died, the kernel's SIGKILL (dieWithParent) usually comes first: then the next launcher
  // on this host removes the directory (see ../launcher/stale-jobs.ts).
  () => {
    const jobDir = process.env[ENV.jobDir];
    if (jobDir) rmSync(jobDir, { recursive: true, force: true });
    process.exit(129);
  },
);
// Past this point Node resets signal handlers: tell the launcher to stop sending SIGUSR2.
const exiting = (code: number) => report({ type: "exiting", rank, code });
process.on("exit", exiting);

const start = await channel.start;
const link = new LauncherLink(start, () => report({ type: "state", rank, waiting: [], unexpected: 0, unexpectedBytes: 0, delivered: 0, initialized: false }));
attachLauncher(link);
// Hang reports: the launcher sends SIGUSR2 and reads what this rank is waiting in.
process.on("SIGUSR2", () => link.reportState());
// From here the channel carries only notices of dead peers and the launcher's own death: it
// must not keep the rank alive.
channel.onNotice((notice) => link.notice(notice));
channel.unref();
// The script is done and the event loop empty. A rank that sent no data over ZeroMQ ends here,
// without terminating ZeroMQ's context as the process ends: that joins ZeroMQ's threads, which on
// a host with many more ranks than cores (all ending at once) can wait over 0.5 s for a core, and
// then ZeroMQ prints "WARNING: Waiting for queued ZeroMQ messages to be delivered" though none
// are. A rank whose data may still be queued ends the usual way, which delivers it.
process.on("beforeExit", (code) => nothingQueued() && process.exit(code));
installProfiling();
// Say "exiting" after the trace report is written (its exit hook is now registered first): a
// rank that has said it is exiting and still runs looks stuck to the launcher after a second,
// and writing a full trace on a loaded machine can take longer than that.
process.off("exit", exiting);
process.on("exit", exiting);
// The public API (dist/index.js, next to this bundle's folder), which the script imports, is
// loaded before source maps are turned on: Node would otherwise read and index its 150 KB
// source map at the import, ~10 ms of every rank's start (its frames are mapped on failure
// like the rest of tsmpi's, see stack.ts).
await import(new URL("../index.js", import.meta.url).href);
mapScriptsFromHere();
await import(pathToFileURL(start.entry).href);
