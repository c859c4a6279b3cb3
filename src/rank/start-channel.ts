/**
 * The launcher's (or node agent's) messages to a rank: JSON lines on the rank's fd 3, a pipe
 * its starter keeps the other end of (see ../launcher/spawn.ts). Node's own IPC channel did
 * the same but made every rank load `child_process` and its dependencies as Node booted
 * (~15-25 ms of each rank's start on 2 cores); a socket on fd 3 needs only `net`, which a rank
 * whose stdout is a pipe has loaded anyway.
 */
import { Socket } from "node:net";
import type { PeerNotice, StartMessage } from "./control.js";

/** The file descriptor of the pipe from the starter. */
export const START_FD = 3;

/** The channel as the rank sees it. */
export interface StartChannel {
  /** The first message: what to run. */
  start: Promise<StartMessage>;
  /** Hear the notices that follow it (none is lost: they queue until then). */
  onNotice(hear: (notice: PeerNotice) => void): void;
  /** From now on the channel does not keep the rank alive. */
  unref(): void;
}

/** Read the starter's messages; `closed` runs once when its end closes (it ended or died). */
export function readStartChannel(closed: () => void): StartChannel {
  const socket = new Socket({ fd: START_FD, readable: true, writable: false });
  let started: (message: StartMessage) => void = () => undefined;
  const start = new Promise<StartMessage>((resolve) => (started = resolve));
  const queued: PeerNotice[] = [];
  let hear = (notice: PeerNotice): void => void queued.push(notice);
  let pending = "";
  socket.setEncoding("utf8");
  socket.on("data", (chunk: string) => {
    pending += chunk;
    for (let end = pending.indexOf("\n"); end >= 0; end = pending.indexOf("\n")) {
      const message = JSON.parse(pending.slice(0, end)) as StartMessage | PeerNotice;
      pending = pending.slice(end + 1);
      if (message.type === "start") started(message);
      else hear(message);
    }
  });
  socket.once("close", closed);
  socket.on("error", () => undefined); // then "close"
  return {
    start,
    onNotice: (listener) => {
      hear = listener;
      queued.splice(0).forEach(listener);
    },
    unref: () => void socket.unref(),
  };
}
