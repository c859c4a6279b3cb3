/**
 * The one typed wire protocol of tsmpi.
 *
 * Data plane (rank -> rank, one ZeroMQ multipart message per MPI message):
 *   frame 0     msgpack of a {@link DataHeader} tuple; the user value sits inside it with
 *               every typed array replaced by a small placeholder {@link ArrayRef}
 *   frames 1..  the raw bytes of each typed array, in placeholder order, each array split
 *               into frames of at most {@link MAX_FRAME_BYTES}
 *
 * Control plane (rank <-> launcher, msgpack over a DEALER/ROUTER pair): {@link ControlMessage}.
 *
 * Reports (rank -> launcher, one line on the rank's stderr starting with {@link REPORT_MARKER},
 * then JSON): {@link RankReport}. stderr is used because it survives a rank that dies right
 * after writing it (pipe writes are synchronous on Linux) and travels through ssh unchanged.
 */
import type { ProfileReport } from "../trace/types.js";

/**
 * Kinds of data-plane messages. Data travels eagerly while the receiver has room for it
 * (see {@link FLOW_WINDOW_BYTES}); otherwise the sender announces it (Rts), the receiver asks
 * for it once a receive matches (Cts), and the sender sends it (Payload). Credit returns
 * the window as the receiver consumes eager data.
 */
export const enum MessageKind {
  Data = 0,
  Rts = 1,
  Cts = 2,
  Payload = 3,
  Credit = 4,
}

/**
 * Header of a data message: kind, communicator context id, source rank within that
 * communicator, tag, the value (with typed arrays as placeholders), and the sender's world rank.
 */
export type DataHeader = [kind: MessageKind.Data, context: string, source: number, tag: number, value: unknown, from: number];

/** Flow-control messages: each is one frame (Payload is followed by the data message's frames). */
export type FlowHeader =
  /** "I have `bytes` for you on (context, source, tag); ask for `id` when a receive matches." */
  | [kind: MessageKind.Rts, context: string, source: number, tag: number, bytes: number, from: number, id: number]
  /** "Send me `id` now." */
  | [kind: MessageKind.Cts, from: number, id: number]
  /** "Here is `id`" (the data message follows). */
  | [kind: MessageKind.Payload, from: number, id: number]
  /** "I have consumed `bytes` of your eager data." */
  | [kind: MessageKind.Credit, from: number, bytes: number];

/**
 * Eager data a sender may have outstanding to one receiver (sent, not yet received there).
 * Past it, messages go by rendezvous: a receiver never holds more than this much unexpected
 * data per peer, plus a small announcement per further message.
 */
export const FLOW_WINDOW_BYTES = 64 * 1024 * 1024;

/** What a typed-array placeholder carries: which constructor, how many bytes, in how many frames. */
export type ArrayRef = [kind: ArrayKind, byteLength: number, frames: number];

/** Typed-array kinds carried as raw bytes, in wire order. Never reorder: it is the wire code. */
export const ARRAY_KINDS = [
  "Buffer",
  "Int8Array",
  "Uint8Array",
  "Uint8ClampedArray",
  "Int16Array",
  "Uint16Array",
  "Int32Array",
  "Uint32Array",
  "Float32Array",
  "Float64Array",
  "BigInt64Array",
  "BigUint64Array",
] as const;
export type ArrayKind = number;

/** Largest single ZeroMQ frame we emit; larger arrays are split (receivers reassemble). */
export const MAX_FRAME_BYTES = 1 << 30;

/**
 * Where a rank's inboxes are: `local` (ipc, for ranks on the same node) and, in jobs that
 * span hosts or use `--transport tcp`, `net` (tcp). `node` is the index of the rank's host
 * in the job's host list: peers on the same node use `local`, others `net`.
 */
export interface PeerAddress {
  node: number;
  local: string;
  net?: string;
}

/** Launcher <-> rank control messages. */
export type ControlMessage = { type: "hello"; rank: number; address: PeerAddress; pid: number; host: string } | { type: "table"; peers: PeerAddress[] };

/**
 * The job's CURVE key pair (z85): every member of the job holds it, nobody else does.
 * Each tcp inbox is a CURVE server with it, and its ZAP handler admits only clients that
 * present the job's public key. Travels over the launcher's IPC channel and inside ssh, never
 * in the environment or on a command line.
 */
export interface JobKeys {
  publicKey: string;
  secretKey: string;
}

/** Launcher (or node agent) -> rank, over the IPC channel, once the script is bundled. */
export interface StartMessage {
  type: "start";
  /** Path of the bundled script. */
  entry: string;
  /** Address of the launcher's rendezvous socket. */
  control: string;
  /** Present unless the job runs with `--insecure` or uses no tcp at all. */
  keys?: JobKeys;
}

/** What a rank tells the launcher just before it dies on purpose or by accident (or its profile as it ends). */
export type RankReport =
  | ProfileReport
  | { type: "error"; rank: number; name: string; message: string; stack: string; origin: "exception" | "rejection" }
  | { type: "abort"; rank: number; code: number }
  | { type: "exiting"; rank: number; code: number }
  | {
      type: "state";
      rank: number;
      waiting: WaitState[];
      unexpected: number;
      unexpectedBytes: number;
      delivered: number;
      initialized: boolean;
      /** Messages have arrived that the rank has not read yet (it is busy, not stuck). */
      unread?: boolean;
    };

/** One operation a rank is blocked in, for hang reports. */
export interface WaitState {
  call: string;
  /** communicator context id ("w" is the world; a trailing "!" marks collective traffic) */
  context: string;
  source: number;
  tag: number;
  seconds: number;
}

/** Launcher -> rank notice over the IPC channel: a peer died, or finished (then `reason` is undefined). */
export interface PeerNotice {
  type: "rank-failed" | "rank-exited";
  rank: number;
  reason?: string;
}

/** Global hook through which the rank bootstrap passes a PeerNotice to the runtime (set by init). */
export const PEER_HOOK = Symbol.for("tsmpi.peer-notice");

/** Global hook through which the rank bootstrap hands the job keys to init(). */
export const KEYS_HOOK = Symbol.for("tsmpi.keys");

/** Global hook through which the rank bootstrap asks the runtime for its state (set by init). */
export const STATE_HOOK = Symbol.for("tsmpi.state");

/** Prefix of a report line on stderr; a control character so no user output starts with it by accident. */
export const REPORT_MARKER = "\u001etsmpi-report ";

/** Environment variables the launcher sets in every rank (documented in the README). */
export const ENV = {
  rank: "TSMPI_RANK",
  size: "TSMPI_SIZE",
  localRank: "TSMPI_LOCAL_RANK",
  jobId: "TSMPI_JOB_ID",
  jobDir: "TSMPI_JOB_DIR",
  /** Set by the rank bootstrap from the start message. */
  control: "TSMPI_CONTROL",
  /** Index of this rank's host in the job's host list. */
  node: "TSMPI_NODE",
  /** IP address to bind the tcp inbox on; absent when the job needs no tcp. */
  address: "TSMPI_ADDRESS",
  /** "tcp" when every peer, even on the same host, is reached over tcp (--transport tcp). */
  transport: "TSMPI_TRANSPORT",
} as const;

/**
 * Launcher <-> node agent (one agent per remote host, started by ssh or srun), one JSON
 * object per line over the agent's stdin/stdout. Byte payloads are base64.
 */
export type ToAgent =
  | {
      type: "launch";
      /** World ranks to start on this node, with their local ranks. */
      ranks: Array<{ rank: number; localRank: number }>;
      size: number;
      node: number;
      jobId: string;
      script: string;
      args: string[];
      cwd: string;
      /** Variables named with -x, set in every rank on top of the node's own environment. */
      env: Record<string, string>;
      /** How to pick this node's address: an interface name, a CIDR, or the route to the launcher. */
      network: { iface?: string; cidr?: string; towards: string };
      transport: "auto" | "tcp";
      /** The job's keys, unless --insecure. */
      keys?: JobKeys;
    }
  /** What the ranks run: a JavaScript file at the same path on every host, or the bundle's code. */
  | { type: "entry"; path?: string; code?: string; control: string }
  /** Signal a rank (`group`: its whole process group). */
  | { type: "signal"; rank: number; signal: NodeJS.Signals; group: boolean }
  | { type: "notice"; notice: PeerNotice }
  | { type: "stdin"; data?: string }
  /** --trace: answer with this host's clock (see src/launcher/clock.ts). */
  | { type: "clock"; id: number };

export type FromAgent =
  | { type: "ready"; address: string; host: string }
  | { type: "output"; rank: number; fd: 1 | 2; data: string }
  | { type: "exit"; rank: number; code: number | null; signal: NodeJS.Signals | null }
  | { type: "failed"; message: string }
  | { type: "clock"; id: number; time: number };
