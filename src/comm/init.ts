/**
 * Joining the job: `init()` binds this rank's inbox, says hello to the launcher and waits
 * for the address table (the launcher is the rendezvous). Without a launcher it returns a
 * world of size 1, so a tsmpi script also runs under plain `node`.
 */
import { hostname } from "node:os";
import { pack, unpack } from "msgpackr/pack";
import { Dealer } from "zeromq";
import { Comm } from "./communicator.js";
import { ENV, PEER_HOOK, KEYS_HOOK, STATE_HOOK, type ControlMessage, type JobKeys, type PeerNotice } from "./protocol.js";
import { secureClient } from "./security.js";
import { report } from "./report.js";
import { Runtime } from "./runtime.js";
import { Transport } from "./transport.js";
import { InitError } from "../errors.js";
import { probes } from "../trace/probes.js";
import { installProfiling } from "../trace/rank.js";

let world: Promise<Comm> | undefined;
let transport: Transport | undefined;

// --trace, --stats, --cpu-prof: the launcher says so in the environment of each rank.
installProfiling();

/**
 * Join the job and get the world communicator (MPI_Init + MPI_COMM_WORLD). Safe to call
 * more than once: every call returns the same communicator.
 *
 * @example
 * ```ts
 * import { init } from "tsmpi";
 * const comm = await init();
 * console.log(`hello from rank ${comm.rank} of ${comm.size}`);
 * ```
 * @returns the world communicator; size 1 when the script runs without the launcher.
 */
export function init(): Promise<Comm> {
  return (world ??= probes.init ? probes.init(join) : join());
}

function envInt(name: string): number {
  const value = Number(process.env[name]);
  if (!Number.isInteger(value) || value < 0)
    throw new InitError(
      `init: environment variable ${name} must be a non-negative integer, got ${JSON.stringify(process.env[name])}; start the script with the tsmpi launcher`,
    );
  return value;
}

async function join(): Promise<Comm> {
  if (process.env[ENV.rank] === undefined) return new Comm(new Runtime(0, 1, undefined), "w", [0]);
  const rank = envInt(ENV.rank),
    size = envInt(ENV.size);
  const jobDir = process.env[ENV.jobDir],
    control = process.env[ENV.control];
  if (!jobDir || !control) throw new InitError(`init on rank ${rank}: ${ENV.jobDir} and ${ENV.control} must be set by the tsmpi launcher`);
  // The transport delivers into the runtime, which needs the transport: tie the knot through a holder.
  const holder: { runtime?: Runtime } = {};
  // The rank bootstrap got the job keys from the launcher over IPC (absent with --insecure).
  const keys = (globalThis as Record<symbol, unknown>)[KEYS_HOOK] as JobKeys | undefined;
  const address = process.env[ENV.address];
  transport = await Transport.bind(
    {
      local: `ipc://${jobDir}/rank-${rank}`,
      node: Number(process.env[ENV.node] ?? 0),
      net: address ? { address, keys } : undefined,
      netOnly: process.env[ENV.transport] === "tcp",
    },
    (frames) => holder.runtime!.deliver(frames),
  );
  const runtime = (holder.runtime = new Runtime(rank, size, transport));
  // The rank bootstrap calls this when the launcher says a peer died or finished.
  (globalThis as Record<symbol, unknown>)[PEER_HOOK] = (notice: PeerNotice) =>
    notice.type === "rank-failed" ? void runtime.markFailed(notice.rank, notice.reason ?? "failed") : runtime.markExited(notice.rank);
  // The rank bootstrap calls this when the launcher asks for a hang report (SIGUSR2).
  (globalThis as Record<symbol, unknown>)[STATE_HOOK] = () => {
    const { count, bytes } = runtime.matcher.unexpectedSummary();
    report({
      type: "state",
      rank,
      waiting: runtime.describeWaits(),
      unexpected: count,
      unexpectedBytes: bytes,
      delivered: runtime.delivered,
      unread: transport?.unread,
      initialized: true,
    });
  };
  const dealer = new Dealer({ linger: 0 });
  try {
    if (keys && control.startsWith("tcp:")) secureClient(dealer, keys);
    dealer.connect(control);
    const hello: ControlMessage = { type: "hello", rank, address: transport.address, pid: process.pid, host: hostname() };
    await dealer.send(pack(hello));
    const [reply] = await dealer.receive();
    const table = unpack(reply!) as ControlMessage;
    if (table.type !== "table" || table.peers.length !== size) throw new InitError(`init on rank ${rank}: the launcher sent an unexpected reply`);
    transport.setPeers(table.peers);
  } finally {
    dealer.close();
  }
  return new Comm(
    runtime,
    "w",
    Array.from({ length: size }, (_, i) => i),
  );
}

/**
 * Abort the whole job (MPI_Abort): the launcher terminates every rank and exits with `code`.
 * @param code exit status of the job @default 1
 */
export function abort(code = 1): never {
  const rank = Number(process.env[ENV.rank] ?? 0);
  report({ type: "abort", rank, code });
  transport?.close(true);
  process.exit(code);
}

/** Wall-clock time in seconds, high resolution (MPI_Wtime). */
export function wtime(): number {
  return (performance.timeOrigin + performance.now()) / 1000;
}
