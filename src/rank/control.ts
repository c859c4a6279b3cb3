/**
 * The control protocol between a rank and its launcher (or node agent):
 * - environment variables the launcher sets in every rank ({@link ENV});
 * - over the rank's start channel (JSON lines on fd 3, see start-channel.ts): the
 *   {@link StartMessage}, then {@link PeerNotice}s;
 * - over the launcher's rendezvous socket (msgpack, DEALER/ROUTER): {@link ControlMessage}.
 */
import type { JobKeys, PeerAddress } from "../comm/transport/addresses.js";

/**
 * Launcher <-> rank address exchange: each rank says hello; the launcher answers with the
 * addresses of the ranks of its host (`host-table`; `table`, every rank's, under --direct), and
 * later with any other rank's when the rank first sends to it (`lookup` -> `addresses`).
 */
export type ControlMessage =
  | { type: "hello"; rank: number; address: PeerAddress; pid: number; host: string }
  | { type: "table"; peers: PeerAddress[] }
  /** `machineRanks`: ranks of the job on the machine of this host (see PeerAddress.machine). */
  | { type: "host-table"; ranks: number[]; peers: PeerAddress[]; machineRanks?: number }
  | { type: "lookup"; ranks: number[] }
  | { type: "addresses"; ranks: number[]; peers: PeerAddress[] }
  /** The job cannot start (under `--direct`: a rank exited without calling init()). */
  | { type: "refused"; reason: string };

/** Launcher (or node agent) -> rank, over the start channel, once the script is bundled. */
export interface StartMessage {
  type: "start";
  /** Path of the bundled script. */
  entry: string;
  /** Address of the launcher's rendezvous socket. */
  control: string;
  /** Present unless the job runs with `--insecure` or uses no tcp at all. */
  keys?: JobKeys;
}

/** Launcher -> rank notice over the start channel: a peer died, or finished (then `reason` is undefined). */
export interface PeerNotice {
  type: "rank-failed" | "rank-exited";
  rank: number;
  reason?: string;
}

/** How ranks reach each other (`--transport`): auto (shared memory on a host, tcp between hosts), zmq (ZeroMQ ipc on a host), tcp (everywhere). */
export type TransportChoice = "auto" | "shm" | "zmq" | "tcp";

/** Environment variables the launcher sets in every rank (documented in docs/api.md). */
export const ENV = {
  rank: "TSMPI_RANK",
  size: "TSMPI_SIZE",
  localRank: "TSMPI_LOCAL_RANK",
  /** Ranks the launcher started on this rank's host (absent when it cannot know: srun --direct). */
  hostRanks: "TSMPI_HOST_RANKS",
  jobId: "TSMPI_JOB_ID",
  jobDir: "TSMPI_JOB_DIR",
  /** Pid of the process that spawned the rank (launcher, node agent or --direct task): the rank dies with it. */
  parent: "TSMPI_PARENT_PID",
  /** "set": the rank was started with the kernel already set to kill it when its parent ends (setpriv --pdeathsig). */
  deathSignal: "TSMPI_PDEATHSIG",
  /** Index of this rank's host in the job's host list. */
  node: "TSMPI_NODE",
  /** IP address to bind the tcp inbox on; absent when the job needs no tcp. */
  address: "TSMPI_ADDRESS",
  /** "shm": shared memory on a host however many ranks it runs (--transport shm); "zmq": ZeroMQ ipc even on the same host (--transport zmq); "tcp": tcp everywhere (--transport tcp). */
  transport: "TSMPI_TRANSPORT",
  /**
   * "0": collectives between the ranks of a host never read each other's memory (process_vm_readv)
   * and copy through shared segments instead, as Open MPI's `btl_vader_single_copy_mechanism none`.
   * Set by the user (`-x TSMPI_SINGLE_COPY=0`), not the launcher.
   */
  singleCopy: "TSMPI_SINGLE_COPY",
  /** "zmq": data between hosts over ZeroMQ tcp, not the direct TCP path (the fallback, and the benchmarks' twin; set by the user with `-x TSMPI_NET=zmq`). */
  net: "TSMPI_NET",
  /** "0": a blocked receive never polls the direct TCP path's sockets (by default it does, adaptively, where the host has a core per rank; see tcp/polling.ts); set by the user. */
  netPoll: "TSMPI_NET_POLL",
  /** "node": the direct TCP path seals through node:crypto, not OpenSSL's EVP API through koffi (the fallback where koffi cannot load it; see tcp/gcm.ts); set by the user. */
  netCipher: "TSMPI_NET_CIPHER",
} as const;
