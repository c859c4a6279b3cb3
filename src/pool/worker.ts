/**
 * A worker rank's side of the pool: take chunks from the manager, run their tasks in order,
 * send the results back, until the manager says stop. Also runs chunks on the manager itself
 * when the pool has no other rank (a job of one rank, or `node script.ts`).
 */
import type { Comm } from "../api/communicator.js";
import { SerializationError } from "../errors.js";
import { POOL_TAG, type DoneMessage, type RunMessage, type TaskFailure, type ToWorker } from "./protocol.js";
import type { TaskNames } from "./tasks.js";
import { seam } from "../comm/engine/seam.js";

/** Serve the manager at `root` until it sends stop. */
export async function serve(comm: Comm, root: number, tasks: TaskNames): Promise<void> {
  for (;;) {
    const message = await comm.recv<ToWorker>(root, POOL_TAG);
    if (message.t === "stop") return;
    const done = await runChunk(message, tasks, comm.rank);
    try {
      await comm.send(done, root, POOL_TAG);
    } catch (error) {
      if (!(error instanceof SerializationError)) throw error;
      // A result that cannot travel (a function, a symbol): each task of the chunk fails with why.
      const failures = message.fn.map((_, i): TaskFailure => [i, "SerializationError", `its result cannot be sent back: ${error.message}`, ""]);
      await comm.send({ ...done, values: [], failures }, root, POOL_TAG);
    }
  }
}

/** Run the tasks of a chunk in order; a task that throws becomes a failure entry and the next one runs. */
export async function runChunk(message: RunMessage, tasks: TaskNames, rank: number): Promise<DoneMessage> {
  const started = performance.now();
  const count = message.fn.length;
  const values = new Array<unknown>(count);
  let failures: TaskFailure[] | undefined;
  const traced = seam.tracer; // --trace or --stats: each task is a span
  for (let i = 0; i < count; i++) {
    const start = traced ? performance.now() : 0;
    try {
      const fn = tasks.get(message.fn[i]!);
      if (fn === undefined) throw new Error(`rank ${rank} has no task named "${message.fn[i]}": every rank must make the pool with the same tasks`);
      let value = fn(...message.args[i]!);
      if (isThenable(value)) value = await value;
      values[i] = value;
      traced?.task(message.fn[i]!, start);
    } catch (error) {
      const failed = failure(i, error);
      (failures ??= []).push(failed);
      traced?.task(message.fn[i]!, start, `${failed[1]}: ${failed[2]}`);
    }
  }
  const done: DoneMessage = { t: "done", chunk: message.chunk, values, ms: performance.now() - started };
  if (failures) done.failures = failures;
  return done;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === "object" || typeof value === "function") && typeof (value as { then?: unknown }).then === "function";
}

function failure(index: number, error: unknown): TaskFailure {
  if (error instanceof Error) return [index, error.name, error.message, error.stack ?? ""];
  return [index, "Error", `threw a non-Error value: ${String(error)}`, ""];
}
