/**
 * Joining the job: `init()` binds this rank's inbox, says hello to the launcher and waits
 * for the addresses of its host's ranks (the launcher is the rendezvous; others' addresses
 * come on demand, see address-book.ts). Without a launcher it returns a
 * world of size 1, so a tsmpi script also runs under plain `node`.
 *
 * MPI_Init is per process, and so is the state here: the link to the launcher that the rank
 * bootstrap attached, the world once joined, and its transport (for abort).
 */
import { readFileSync } from "node:fs";
import process from "node:process";
import { availableParallelism, hostname } from "node:os";
import { Comm } from "../api/communicator.js";
import type { PeerAddress } from "../comm/transport/addresses.js";
import { CommEngine } from "../comm/engine/engine.js";
import { HostTransport, crowded } from "../comm/transport/host.js";
import { OnHost } from "../comm/transport/shm/on-host.js";
import type { Locality } from "../comm/transport/locality.js";
import { Runtime } from "../comm/engine/runtime.js";
import type { Transport } from "../comm/transport/port.js";
import { ZmqTransport } from "../comm/transport/zmq/zmq-transport.js";
import { InitError } from "../errors.js";
import { exchangeAddresses } from "./address-book.js";
import { ENV } from "./control.js";
import type { LauncherLink } from "./link.js";
import { directPath } from "./net.js";
import { report } from "./report.js";
import { seam } from "../comm/engine/seam.js";

interface RankProcess {
  link?: LauncherLink;
  world?: Promise<Comm>;
  transport?: Transport;
  network?: ZmqTransport;
}

const self: RankProcess = {};

/** Called once by the rank bootstrap, before the user's script runs. @internal */
export function attachLauncher(link: LauncherLink): void {
  self.link = link;
}

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
  const link = self.link;
  if (link === undefined) return (self.world ??= alone(process.env));
  const tracer = seam.tracer;
  return (self.world ??= tracer ? tracer.init(() => join(link)) : join(link));
}

/**
 * A world of size 1, unless this process is one of several tasks of an srun step or of another
 * PMI process manager's job (mpiexec): then each would be alone, silently.
 */
async function alone(env: NodeJS.ProcessEnv): Promise<Comm> {
  const tasks = Number(env.SLURM_STEP_NUM_TASKS);
  const script = process.argv[1] ?? "app.ts";
  if (env.SLURM_STEP_ID !== undefined && env.SLURM_PROCID !== undefined && tasks > 1) {
    throw new InitError(
      `init on task ${env.SLURM_PROCID} of Slurm step ${env.SLURM_JOB_ID}.${env.SLURM_STEP_ID}: srun started ${tasks} tasks without tsmpi, so each would be a world of size 1; ` +
        `make them one job with srun --mpi=pmi2 -n ${tasks} tsmpi --direct ${script}`,
    );
  }
  const size = Number(env.PMI_SIZE);
  if (env.PMI_RANK !== undefined && Number.isInteger(size) && size > 1) {
    const starter = env.FLUX_JOB_ID !== undefined ? "flux run" : "mpiexec";
    throw new InitError(
      `init on task ${env.PMI_RANK} of ${size} (PMI_RANK, PMI_SIZE): a process manager started ${size} tasks without tsmpi, so each would be a world of size 1; ` +
        `make them one job with ${starter} -n ${size} tsmpi --direct ${script}`,
    );
  }
  return world(new Runtime(0, 1), { node: 0, address: undefined, onHost: new OnHost() });
}

function world(runtime: Runtime, locality: Locality): Comm {
  return new Comm(
    new CommEngine(
      runtime,
      "w",
      Array.from({ length: runtime.size }, (_, i) => i),
      locality,
    ),
  );
}

function envInt(name: string): number {
  const value = Number(process.env[name]);
  if (!Number.isInteger(value) || value < 0)
    throw new InitError(
      `init: environment variable ${name} must be a non-negative integer, got ${JSON.stringify(process.env[name])}; start the script with the tsmpi launcher`,
    );
  return value;
}

/** This machine's kernel (its boot id, the same in every network namespace and container on it), else its host name. */
function machineId(): string {
  try {
    return readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
  } catch {
    return hostname();
  }
}

async function join(link: LauncherLink): Promise<Comm> {
  const rank = envInt(ENV.rank),
    size = envInt(ENV.size);
  const jobDir = process.env[ENV.jobDir];
  const { control, keys } = link.start;
  if (!jobDir) throw new InitError(`init on rank ${rank}: ${ENV.jobDir} must be set by the tsmpi launcher`);
  const runtime = new Runtime(rank, size);
  const mode = process.env[ENV.transport];
  const node = Number(process.env[ENV.node] ?? 0);
  // A host the launcher fills past what shared memory pays for stays on ZeroMQ (see connectShm):
  // it need not load koffi and libc at all (5-6 ms a rank: 4 % of a 64-rank job's time on 2 cores).
  const hostRanks = Number(process.env[ENV.hostRanks]);
  const skip = mode === undefined && Number.isInteger(hostRanks) && crowded(hostRanks, availableParallelism());
  const shm = (mode === undefined && !skip) || mode === "shm";
  const onHost = new OnHost(shm ? { peerReads: process.env[ENV.singleCopy] !== "0" } : undefined);
  const transport = new HostTransport(runtime.arrivals, onHost.yieldCpu);
  onHost.connect(transport);
  const address = process.env[ENV.address];
  const zmq = await ZmqTransport.bind(
    {
      local: `ipc://${jobDir}/rank-${rank}`,
      node,
      net: address ? { address, keys } : undefined,
      netOnly: mode === "tcp",
    },
    transport,
  );
  // Poll the direct path's sockets only while this host has a core per rank (Open MPI polls too; past that, pollers steal each other's time).
  const polls = shm && !skip && process.env[ENV.netPoll] !== "0" && !(hostRanks > availableParallelism());
  const direct = await directPath(rank, address, keys, runtime, zmq, polls ? onHost.receive : undefined);
  transport.attachNetwork(zmq, direct);
  self.network = zmq;
  runtime.attach(transport, transport);
  self.transport = transport;
  const published: PeerAddress = { ...zmq.address, cores: availableParallelism(), machine: machineId() };
  let unavailable = shm ? onHost.unavailable : undefined;
  if (shm && unavailable === undefined) {
    try {
      published.shm = transport.openShm(onHost, rank, size, published.cores!);
    } catch (error) {
      unavailable = (error as Error).message;
    }
  }
  // One line per host: its first rank speaks for it.
  if (unavailable && process.env[ENV.localRank] === "0")
    process.stderr.write(`tsmpi: shared memory is not available on ${hostname()} (${unavailable}); its ranks use ZeroMQ ipc\n`);
  link.listen({
    notice: (notice) => (notice.type === "rank-failed" ? void runtime.markFailed(notice.rank, notice.reason ?? "failed") : runtime.markExited(notice.rank)),
    reportState: () => report({ type: "state", rank, ...runtime.state(), initialized: true }),
  });
  const { peers, lookup, machineRanks } = await exchangeAddresses(rank, size, control, published, keys);
  zmq.setPeers(peers, lookup);
  // Peers of this host are all in the first table: any other goes by the direct path (every pair under --transport tcp).
  direct?.route((dest) => dest !== rank && (mode === "tcp" || peers[dest]?.node !== node));
  const local = peers.filter((peer) => peer.node === node);
  transport.connectShm(
    peers.map((peer) => (peer.node === node ? peer.shm : undefined)),
    published.cores!,
    Math.min(...local.map((peer) => peer.cores ?? Infinity)),
    (peer, reason) => process.stderr.write(`tsmpi: rank ${rank} reaches rank ${peer} through ZeroMQ ipc: its shared memory could not be mapped (${reason})\n`),
    mode === "shm",
  );
  // After connectShm: it sets the polling policy from this host's ranks alone.
  transport.shareMachine(machineRanks, published.cores!);
  return world(runtime, { node, address, onHost });
}
/**
 * Abort the whole job (MPI_Abort): the launcher terminates every rank and exits with `code`.
 * @param code exit status of the job @default 1
 */
export function abort(code = 1): never {
  const rank = Number(process.env[ENV.rank] ?? 0);
  report({ type: "abort", rank, code });
  self.transport?.close(true);
  process.exit(code);
}

/**
 * Nothing this rank sent can still be waiting in ZeroMQ's queues (it sent no data over ZeroMQ),
 * so the process may end without terminating ZeroMQ's context. @internal
 */
export function nothingQueued(): boolean {
  return !(self.network?.holdsData ?? false);
}

/** Wall-clock time in seconds, high resolution (MPI_Wtime). */
export function wtime(): number {
  return (performance.timeOrigin + performance.now()) / 1000;
}
