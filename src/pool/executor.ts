/**
 * The task pool on a job's existing ranks (mpi4py.futures' MPICommExecutor): the root rank
 * hands tasks to the other ranks of a communicator, which run them until the root shuts the
 * pool down. See docs/pool.md.
 */
import process from "node:process";
import type { Comm } from "../api/communicator.js";
import type { SignalOptions } from "../api/abort.js";
import { AbortError, ArgumentError, RankFailedError, callError } from "../errors.js";
import { MapResults } from "./results.js";
import { ProgressLine } from "./progress.js";
import type { Task } from "./queue.js";
import { Scheduler, type PoolStats } from "./scheduler.js";
import { TaskNames, type TaskFunction, type TaskTable } from "./tasks.js";
import { serve } from "./worker.js";
import { seam } from "../comm/engine/seam.js";

/** Options of {@link CommExecutor.start}; every rank passes the same. */
export interface ExecutorOptions {
  /** The functions tasks may run, by name: `{ simulate, fit }` (functions travel by name, see {@link TaskTable}). */
  tasks: TaskTable;
  /** The rank that submits tasks (the others run them). @default 0 */
  root?: number;
  /** Show a progress line on the launcher's stderr (done/total, rate, ETA); a string labels it. @default false */
  progress?: boolean | string;
}

/** Options of {@link CommExecutor.map} and {@link CommExecutor.starmap}. */
export interface MapOptions extends SignalOptions {
  /** Items per message to a worker: a number, or "auto" (grows while tasks are short, shrinks towards the end). @default "auto" */
  chunksize?: number | "auto";
  /** Results in the order of the items (true) or as they finish (false, mpi4py's `unordered=True`). @default true */
  ordered?: boolean;
}

/** Options of {@link CommExecutor.shutdown} (as mpi4py's). */
export interface ShutdownOptions {
  /** Wait until every task has finished and the workers have left. @default true */
  wait?: boolean;
  /** Withdraw the tasks that have not started (their promises reject with an AbortError). @default false */
  cancelFutures?: boolean;
}

type Result<F extends TaskFunction> = Awaited<ReturnType<F>>;

/**
 * A pool of the ranks of a communicator. Every rank calls {@link CommExecutor.start}; the root
 * gets the executor, the others serve tasks inside `start` and get `undefined` once the root
 * shuts the pool down (mpi4py: `with MPICommExecutor(comm, root) as executor: if executor is not None: ...`).
 * @example
 * ```ts
 * export function simulate(seed: number): number { ... } // top level: every rank has it
 * const comm = await init();
 * await using pool = await CommExecutor.start(comm, { tasks: { simulate } });
 * if (pool) {
 *   const results = await pool.map(simulate, seeds); // in order
 *   const one = await pool.submit(simulate, 42);
 * }
 * ```
 */
export class CommExecutor {
  readonly #comm: Comm;
  readonly #names: TaskNames;
  readonly #scheduler: Scheduler;
  readonly #progress: ProgressLine | undefined;
  #closing: Promise<void> | undefined;

  private constructor(comm: Comm, names: TaskNames, options: ExecutorOptions) {
    this.#comm = comm;
    this.#names = names;
    const root = comm.rank;
    const workers = Array.from({ length: comm.size }, (_, r) => r).filter((r) => r !== root);
    this.#progress = options.progress ? new ProgressLine(typeof options.progress === "string" ? options.progress : "tasks", root) : undefined;
    this.#scheduler = new Scheduler(comm, workers, names, {
      progress: (settled, submitted) => this.#progress?.update(settled, submitted),
      lost: (rank, rerun) =>
        process.stderr.write(
          `tsmpi: CommExecutor on rank ${root}: worker rank ${rank} died; ${rerun} unfinished task${rerun === 1 ? "" : "s"} ` +
            `run${rerun === 1 ? "s" : ""} again on the other ranks\n`,
        ),
    });
  }

  /**
   * Make the pool: collective over `comm`. On the root, resolves to the executor at once; on
   * every other rank, serves tasks and resolves to `undefined` when the root shuts down.
   * @param comm the ranks of the pool (it works on a `dup()` of it)
   * @param options the task table (the same on every rank), the root, progress
   * @returns the executor on the root, `undefined` elsewhere
   * @throws ArgumentError (rejects) for a bad task table or root
   */
  static async start(comm: Comm, options: ExecutorOptions): Promise<CommExecutor | undefined> {
    const call = "CommExecutor.start";
    if (options === null || typeof options !== "object")
      throw callError(ArgumentError, call, comm.rank, `options must be an object such as { tasks: { simulate } }, got ${String(options)}`);
    const root = options.root ?? 0;
    if (!Number.isInteger(root) || root < 0 || root >= comm.size)
      throw callError(ArgumentError, call, comm.rank, `options.root must be an integer rank in [0, ${comm.size}), got ${String(root)}`);
    const names = new TaskNames(options.tasks, call, comm.rank);
    const own = await comm.dup();
    if (comm.rank === root) return new CommExecutor(own, names, options);
    await serve(own, root, names);
    await freeQuietly(own);
    return undefined;
  }

  /**
   * Run `fn(...args)` on a worker rank (mpi4py `executor.submit`).
   * @param fn a function of the pool's task table, or its name
   * @returns its result; rejects with a TaskError (the worker's rank and stack) if it threw
   * @throws ArgumentError if `fn` is not in the task table or the pool is shut down
   */
  submit<F extends TaskFunction>(fn: F | string, ...args: Parameters<F>): Promise<Result<F>> {
    return this.submitWith(fn, args);
  }

  /** {@link submit} with options: `{ signal }` withdraws the task (an AbortError) unless it has finished. */
  submitWith<F extends TaskFunction>(fn: F | string, args: Parameters<F>, options: SignalOptions = {}): Promise<Result<F>> {
    const name = this.#check("submit", fn);
    const signal = options.signal;
    return new Promise<Result<F>>((resolve, reject) => {
      if (signal?.aborted) return reject(this.#aborted("submit", signal.reason));
      const onAbort = () => this.#scheduler.cancel(task, this.#aborted("submit", signal!.reason));
      const settled = () => signal?.removeEventListener("abort", onAbort);
      const task: Task = {
        fn: name,
        args,
        state: "queued",
        runs: 0,
        resolve: (value) => (settled(), resolve(value as Result<F>)),
        reject: (error) => (settled(), reject(error)),
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#scheduler.add([task]);
    });
  }

  /**
   * `fn(item)` for every item, spread over the workers (mpi4py `executor.map`): await it for all
   * results in order, or `for await` over it to take each as soon as it is there.
   * @param options `chunksize` ("auto"), `ordered` (true), `signal`
   * @returns the results; the first task that threw rejects it (or throws from the loop), and the tasks not started are withdrawn
   */
  map<F extends TaskFunction>(fn: F | string, items: Iterable<Parameters<F>[0]>, options: MapOptions = {}): MapResults<Result<F>> {
    return this.#map(
      "map",
      fn,
      Array.from(items, (item) => [item]),
      options,
    );
  }

  /** {@link map} with each item spread as the arguments: `fn(...item)` (mpi4py `executor.starmap`). */
  starmap<F extends TaskFunction>(fn: F | string, items: Iterable<Parameters<F>>, options: MapOptions = {}): MapResults<Result<F>> {
    return this.#map(
      "starmap",
      fn,
      Array.from(items, (item) => [...(item as unknown[])]),
      options,
    );
  }

  /**
   * Stop the pool (mpi4py `executor.shutdown`): waits for the tasks submitted (unless
   * `cancelFutures`), then the workers leave `start`. Idempotent; `await using` calls it.
   */
  shutdown(options: ShutdownOptions = {}): Promise<void> {
    if (options.cancelFutures) this.#scheduler.cancelQueued(this.#aborted("shutdown", undefined));
    this.#closing ??= (async () => {
      await this.#scheduler.drained();
      await this.#scheduler.stop();
      this.#progress?.end();
      const { lostRanks, ...counters } = this.#scheduler.stats;
      seam.tracer?.pool({ ...counters, lostRanks: [...lostRanks] });
      await freeQuietly(this.#comm);
    })();
    return options.wait === false ? Promise.resolve() : this.#closing;
  }

  /** `await using pool = await CommExecutor.start(...)`: shuts down at the end of the block. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown();
  }

  /** The pool's counters so far: tasks submitted, done, failed, cancelled, rerun; chunks; worker ranks lost. */
  get stats(): PoolStats {
    const s = this.#scheduler.stats;
    return { ...s, lostRanks: [...s.lostRanks] };
  }

  /** Worker ranks (all but the root, or none at size 1: then the root runs the tasks itself). */
  get size(): number {
    return Math.max(1, this.#comm.size - 1);
  }

  #map<R>(call: string, fn: TaskFunction | string, argLists: unknown[][], options: MapOptions): MapResults<R> {
    const name = this.#check(call, fn);
    const chunksize = options.chunksize ?? "auto";
    if (chunksize !== "auto" && (!Number.isInteger(chunksize) || chunksize < 1))
      throw callError(ArgumentError, call, this.#comm.rank, `options.chunksize must be a positive integer or "auto", got ${String(chunksize)}`);
    const tasks: Task[] = [];
    const cancel = (reason: unknown) => {
      const error = this.#aborted(call, reason);
      for (const task of tasks) this.#scheduler.cancel(task, error);
    };
    const results = new MapResults<R>(argLists.length, options.ordered ?? true, () => cancel("the loop over the results was left early"));
    argLists.forEach((args, index) => {
      tasks.push({
        fn: name,
        args,
        state: "queued",
        runs: 0,
        resolve: (value) => results.settle(index, { ok: true, value: value as R }, tasks[index]!.runs > 1),
        reject: (error) => results.settle(index, { ok: false, error }, tasks[index]!.runs > 1),
      });
    });
    if (options.signal?.aborted) {
      for (const task of tasks) task.reject(this.#aborted(call, options.signal.reason));
      return results;
    }
    options.signal?.addEventListener("abort", () => cancel(options.signal!.reason), { once: true });
    this.#scheduler.add(chunksize === "auto" ? tasks : chunks(tasks, chunksize));
    return results;
  }

  #check(call: string, fn: unknown): string {
    if (this.#closing)
      throw callError(ArgumentError, call, this.#comm.rank, "the pool is shut down; submit tasks before shutdown() (or the end of its `await using` block)");
    return this.#names.nameOf(fn, call, this.#comm.rank);
  }

  #aborted(call: string, reason: unknown): AbortError {
    return callError(AbortError, call, this.#comm.rank, "the task was withdrawn before it finished", reason);
  }
}

/** Free the pool's communicator; after a worker died its barrier cannot complete, and the garbage backstop frees it. */
async function freeQuietly(comm: Comm): Promise<void> {
  try {
    await comm.free();
  } catch (error) {
    if (!(error instanceof RankFailedError)) throw error;
  }
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
