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

/** Kinds of data-plane messages; only user/collective data exists so far. */
export const enum MessageKind {
  Data = 0,
}

/**
 * Header of a data message: kind, communicator context id, source rank within that
 * communicator, tag, and the value (with typed arrays as placeholders).
 */
export type DataHeader = [kind: MessageKind.Data, context: string, source: number, tag: number, value: unknown];

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

/** Launcher <-> rank control messages. */
export type ControlMessage = { type: "hello"; rank: number; endpoint: string; pid: number; host: string } | { type: "table"; endpoints: string[] };

/** What a rank tells the launcher just before it dies on purpose or by accident. */
export type RankReport =
  | { type: "error"; rank: number; name: string; message: string; stack: string; origin: "exception" | "rejection" }
  | { type: "abort"; rank: number; code: number }
  | { type: "exiting"; rank: number; code: number }
  | { type: "state"; rank: number; waiting: WaitState[]; unexpected: number; unexpectedBytes: number; delivered: number; initialized: boolean };

/** One operation a rank is blocked in, for hang reports. */
export interface WaitState {
  call: string;
  /** communicator context id ("w" is the world; a trailing "!" marks collective traffic) */
  context: string;
  source: number;
  tag: number;
  seconds: number;
}

/** Launcher -> rank notice over the IPC channel: a peer died. */
export interface RankFailedNotice {
  type: "rank-failed";
  rank: number;
  reason: string;
}

/** Global hook through which the rank bootstrap passes a RankFailedNotice to the runtime (set by init). */
export const FAILED_HOOK = Symbol.for("tsmpi.rank-failed");

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
  control: "TSMPI_CONTROL",
} as const;
