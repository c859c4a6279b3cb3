/**
 * What the pool's manager and workers say to each other, on a communicator of their own (a
 * `dup()` of the user's, so pool traffic never matches the user's receives). One tag; the
 * messages are a discriminated union on `t`.
 */

/** The tag of every pool message. */
export const POOL_TAG = 1;

/** A chunk to run: its tasks in order (`fn[i]` is the task name of `args[i]`). */
export interface ChunkRun {
  /** The chunk's id, echoed in its {@link ChunkDone}. */
  chunk: number;
  fn: string[];
  args: unknown[][];
}

/** Manager -> worker: run these chunks in order (several at once while the queue is long: fewer messages). */
export interface RunMessage {
  t: "run";
  chunks: ChunkRun[];
}

/** Manager -> worker: leave the serving loop (shutdown). */
export interface StopMessage {
  t: "stop";
}

/** A task that threw on a worker: its index in the chunk and what the error said. */
export type TaskFailure = [index: number, name: string, message: string, stack: string];

/** A chunk that ran; `values[i]` is task i's result (undefined where it threw). */
export interface ChunkDone {
  chunk: number;
  values: unknown[];
  failures?: TaskFailure[];
  /** Milliseconds the worker spent running the chunk (for the automatic chunk size). */
  ms: number;
}

/** Worker -> manager: chunks done, sent at least every {@link REPLY_MS} while a message's chunks run. */
export interface DoneMessage {
  t: "done";
  chunks: ChunkDone[];
}

/** A worker running the chunks of one message sends what is done once this much time has passed (ms). */
export const REPLY_MS = 1;

export type ToWorker = RunMessage | StopMessage;
export type ToManager = DoneMessage;
