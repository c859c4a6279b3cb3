/**
 * The manager's side of the pool: a queue of tasks handed out in chunks to the worker ranks as
 * they finish (dynamic balancing), the automatic chunk size, and what happens when a task
 * throws (its own promise rejects, the pool goes on) or a worker rank dies (its unfinished
 * tasks run once more on the others).
 *
 * While the queue is long, each worker holds a few chunks (about AHEAD_MS of work, at least
 * two), so that it never waits for the root's answer; near the end of the queue it holds one,
 * so that no task waits behind a long one. A receive from a worker is posted while it
 * has chunks; a receive from a rank that dies rejects (RankFailedError), which is how a death
 * is noticed.
 */
import type { Comm } from "../api/communicator.js";
import { AbortError, RankFailedError, SerializationError, TaskError } from "../errors.js";
import { POOL_TAG, type DoneMessage, type RunMessage } from "./protocol.js";
import { TaskQueue, type Task } from "./queue.js";
import type { TaskNames } from "./tasks.js";
import { runChunk } from "./worker.js";

interface Chunk {
  id: number;
  worker: number;
  tasks: Task[];
}

/** The pool's counters (see CommExecutor.stats). */
export interface PoolStats {
  /** Tasks submitted so far. */
  submitted: number;
  /** Tasks that returned a value. */
  done: number;
  /** Tasks that threw, or could not be sent. */
  failed: number;
  /** Tasks withdrawn by an AbortSignal, a `break` out of a map, or shutdown({ cancelFutures }). */
  cancelled: number;
  /** Tasks run a second time because the rank that had them died. */
  rerun: number;
  /** Chunks sent to workers. */
  chunks: number;
  /** Worker ranks that died. */
  lostRanks: number[];
}

/** What the scheduler tells its executor. */
export interface SchedulerEvents {
  /** A chunk finished (or tasks were cancelled): `settled` of `submitted`. */
  progress(settled: number, submitted: number): void;
  /** Worker `rank` died; `rerun` of its tasks run again elsewhere. */
  lost(rank: number, rerun: number): void;
}

export class Scheduler {
  private readonly queue = new TaskQueue();
  /** Tasks handed to a rank and not settled. */
  private running = 0;
  private readonly inflight = new Map<number, Chunk[]>();
  private readonly receiving = new Set<number>();
  private nextChunk = 0;
  private scheduled = false;
  private localBusy = false;
  private lastLoss = "";
  private idle: Array<() => void> = [];
  /** The pool had no worker rank from the start: the manager runs the tasks. */
  private readonly local: boolean;
  readonly stats: PoolStats = { submitted: 0, done: 0, failed: 0, cancelled: 0, rerun: 0, chunks: 0, lostRanks: [] };

  constructor(
    private readonly comm: Comm,
    /** Worker ranks alive; none: the manager runs the tasks itself. */
    private readonly workers: number[],
    private readonly tasks: TaskNames,
    private readonly events: SchedulerEvents,
  ) {
    for (const w of workers) this.inflight.set(w, []);
    this.local = workers.length === 0;
  }

  /** Queue tasks: single ones, or fixed chunks. */
  add(work: Array<Task | Task[]>): void {
    for (const item of work) {
      this.stats.submitted += Array.isArray(item) ? item.length : 1;
      this.queue.add(item);
    }
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(() => this.dispatch());
    }
  }

  /** Withdraw a task: taken out of the queue, or its result ignored if it is running. */
  cancel(task: Task, error: AbortError): void {
    if (task.state === "settled") return;
    if (task.state === "queued") this.queue.withdrawn();
    else this.running--;
    task.state = "settled";
    this.stats.cancelled++;
    task.reject(error);
    this.settled();
  }

  /** Withdraw every task that has not started. */
  cancelQueued(error: AbortError): void {
    for (const task of this.queue.waiting()) this.cancel(task, error);
  }

  /** Resolves once no task is queued or running. */
  drained(): Promise<void> {
    if (this.busy() === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  /** Tell every live worker to leave its serving loop. */
  async stop(): Promise<void> {
    await Promise.all(this.workers.map((w) => this.comm.send({ t: "stop" }, w, POOL_TAG).catch(() => undefined)));
  }

  /** Hand out chunks to the workers with room for one. */
  private dispatch(): void {
    this.scheduled = false;
    if (this.workers.length === 0) return this.local ? void this.runLocally() : this.failAll();
    // Round 0 gives every idle worker a chunk before round 1 gives anyone a second.
    const depth = this.queue.depth(this.workers.length);
    for (let round = 0; round < depth; round++) {
      for (const w of [...this.workers]) {
        const chunks = this.inflight.get(w)!;
        if (chunks.length > round) continue;
        const tasks = this.take();
        if (tasks === undefined) return;
        this.send(w, tasks);
      }
    }
  }

  /** The next chunk's tasks, marked running; undefined when nothing is queued. */
  private take(): Task[] | undefined {
    const tasks = this.queue.take(this.workers.length);
    if (tasks === undefined) return undefined;
    this.running += tasks.length;
    for (const task of tasks) {
      task.state = "running";
      task.runs++;
    }
    return tasks;
  }

  private send(worker: number, tasks: Task[]): void {
    const chunk: Chunk = { id: this.nextChunk++, worker, tasks };
    const message: RunMessage = { t: "run", chunk: chunk.id, fn: tasks.map((t) => t.fn), args: tasks.map((t) => t.args) };
    this.inflight.get(worker)!.push(chunk);
    this.stats.chunks++;
    this.comm.send(message, worker, POOL_TAG).catch((error: unknown) => this.unsent(chunk, error));
    if (!this.receiving.has(worker)) this.receive(worker);
  }

  /** A chunk could not be sent: a bad argument fails its own task only; a dead rank is lost. */
  private unsent(chunk: Chunk, error: unknown): void {
    if (!(error instanceof SerializationError)) return this.lost(chunk.worker, error);
    const chunks = this.inflight.get(chunk.worker);
    chunks?.splice(chunks.indexOf(chunk), 1);
    for (const task of chunk.tasks) task.runs--;
    if (chunk.tasks.length === 1) {
      this.settle(chunk.tasks[0]!, error, undefined, true);
    } else {
      // Which argument cannot travel? Each task again on its own.
      this.running -= chunk.tasks.length;
      this.queue.retry(
        chunk.tasks.map((t) => [t]),
        true,
      );
    }
    this.dispatch();
  }

  private receive(worker: number): void {
    this.receiving.add(worker);
    this.comm.recv<DoneMessage>(worker, POOL_TAG).then(
      (message) => {
        this.receiving.delete(worker);
        const chunks = this.inflight.get(worker);
        const at = chunks?.findIndex((c) => c.id === message.chunk) ?? -1;
        if (at >= 0) this.finish(chunks!.splice(at, 1)[0]!, message);
        this.dispatch();
        if ((this.inflight.get(worker)?.length ?? 0) > 0 && !this.receiving.has(worker)) this.receive(worker);
      },
      (error: unknown) => {
        this.receiving.delete(worker);
        this.lost(worker, error);
      },
    );
  }

  /** Settle the tasks of a chunk that ran. */
  private finish(chunk: Chunk, message: DoneMessage): void {
    const n = chunk.tasks.length;
    this.queue.learn(message.ms / n);
    const failures = new Map(message.failures?.map((f) => [f[0], f]));
    chunk.tasks.forEach((task, i) => {
      const failed = failures.get(i);
      if (failed === undefined) return this.settle(task, undefined, message.values[i], false);
      const [, name, text, stack] = failed;
      const error = new TaskError(`task ${task.fn} failed on rank ${chunk.worker}: ${name}: ${text}`, chunk.worker, stack, task.runs > 1);
      error.stack = `${error.name}: ${error.message}\n--- on rank ${chunk.worker}:\n${stack}`;
      this.settle(task, error, undefined, true);
    });
  }

  private settle(task: Task, error: unknown, value: unknown, failed: boolean): void {
    if (task.state !== "running") return; // cancelled meanwhile
    task.state = "settled";
    this.running--;
    if (failed) {
      this.stats.failed++;
      task.reject(error);
    } else {
      this.stats.done++;
      task.resolve(value);
    }
    this.settled();
  }

  private settled(): void {
    const s = this.stats;
    this.events.progress(s.done + s.failed + s.cancelled, s.submitted);
    if (this.busy() === 0) for (const resolve of this.idle.splice(0)) resolve();
  }

  private busy(): number {
    return this.queue.count + this.running;
  }

  /** Worker `worker` died (or cannot be reached): its unfinished tasks run again on the others, once. */
  private lost(worker: number, error: unknown): void {
    const at = this.workers.indexOf(worker);
    if (at < 0) return;
    this.workers.splice(at, 1);
    this.stats.lostRanks.push(worker);
    const unfinished = (this.inflight.get(worker) ?? []).flatMap((c) => c.tasks.filter((t) => t.state === "running"));
    this.inflight.delete(worker);
    const reason = error instanceof Error ? error.message : String(error);
    const again = unfinished.filter((t) => t.runs < 2);
    for (const task of unfinished.filter((t) => t.runs >= 2))
      this.settle(
        task,
        new RankFailedError(
          `task ${task.fn}: rank ${worker} died while running it, after another rank had died with it; it is not run a third time (${reason})`,
          worker,
        ),
        undefined,
        true,
      );
    this.running -= again.length;
    this.stats.rerun += again.length;
    if (again.length > 0) this.queue.retry([again], false);
    this.lastLoss = `the last, rank ${worker}: ${reason}`;
    this.events.lost(worker, again.length);
    this.dispatch();
  }

  /** Nobody is left to run anything: every queued task fails. */
  private failAll(): void {
    let tasks: Task[] | undefined;
    const rank = this.stats.lostRanks.at(-1) ?? -1;
    while ((tasks = this.take()) !== undefined)
      for (const task of tasks)
        this.settle(task, new RankFailedError(`task ${task.fn}: every worker rank of the pool has died (${this.lastLoss})`, rank), undefined, true);
  }

  /** No worker ranks: run the chunks here, one at a time, yielding to the event loop between them. */
  private async runLocally(): Promise<void> {
    if (this.localBusy) return;
    this.localBusy = true;
    try {
      let tasks: Task[] | undefined;
      while ((tasks = this.take()) !== undefined) {
        const chunk: Chunk = { id: this.nextChunk++, worker: this.comm.rank, tasks };
        this.inflight.set(this.comm.rank, [chunk]);
        const message: RunMessage = { t: "run", chunk: chunk.id, fn: tasks.map((t) => t.fn), args: tasks.map((t) => t.args) };
        const done = await runChunk(message, this.tasks, this.comm.rank);
        this.inflight.delete(this.comm.rank);
        this.finish(chunk, done);
        await new Promise((resolve) => setImmediate(resolve));
      }
    } finally {
      this.localBusy = false;
    }
  }
}
