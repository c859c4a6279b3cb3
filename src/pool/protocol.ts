/**
 * What the pool's manager and workers say to each other, on a communicator of their own (a
 * `dup()` of the user's, so pool traffic never matches the user's receives). One tag; the
 * messages are a discriminated union on `t`.
 */

/** The tag of every pool message. */
export const POOL_TAG = 1;

/** Manager -> worker: run these tasks in order (`fn[i]` is the task name of `args[i]`). */
export interface RunMessage {
  t: "run";
  /** The chunk's id, echoed in its {@link DoneMessage}. */
  chunk: number;
  fn: string[];
  args: unknown[][];
}

/** Manager -> worker: leave the serving loop (shutdown). */
export interface StopMessage {
  t: "stop";
}

/** A task that threw on a worker: its index in the chunk and what the error said. */
export type TaskFailure = [index: number, name: string, message: string, stack: string];

/** Worker -> manager: a chunk ran; `values[i]` is task i's result (undefined where it threw). */
export interface DoneMessage {
  t: "done";
  chunk: number;
  values: unknown[];
  failures?: TaskFailure[];
  /** Milliseconds the worker spent running the chunk (for the automatic chunk size). */
  ms: number;
}

export type ToWorker = RunMessage | StopMessage;
export type ToManager = DoneMessage;
