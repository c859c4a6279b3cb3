/**
 * The root's queue of tasks not yet handed out, and the policy of how much to hand out: the
 * automatic chunk size (about TARGET_MS of work, shrinking towards the end of the queue) and
 * how many chunks a worker holds (a few while the queue is long, one near its end).
 */

/** A chunk's wished-for duration: long enough that a message per chunk costs little. */
const TARGET_MS = 2;
/** Work a worker is sent ahead of what it runs, while the queue is long: it hides the root's turnaround (ms). */
const AHEAD_MS = 4;
/** Chunks a worker holds at most. */
const MAX_DEPTH = 8;

/** One task: what to run and whom to tell. */
export interface Task {
  fn: string;
  args: unknown[];
  state: "queued" | "running" | "settled";
  /** How many times it was handed to a rank (2: it ran again after a rank died). */
  runs: number;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

export class TaskQueue {
  /** Queued work: single tasks (chunked automatically) and fixed chunks (a map's `chunksize`). */
  private items: Array<Task | Task[]> = [];
  private head = 0;
  /** Chunks to run again (tasks of dead ranks, or of a chunk that could not be sent), first. */
  private readonly again: Task[][] = [];
  /** Tasks queued and not withdrawn. */
  count = 0;
  /** Mean milliseconds per task, from the chunks done so far (a moving average). */
  private meanMs: number | undefined;

  add(item: Task | Task[]): void {
    this.count += Array.isArray(item) ? item.length : 1;
    this.items.push(item);
  }

  /** Queue chunks again (their tasks back to "queued"): in front of everything, or before the fresh work. */
  retry(chunks: Task[][], first: boolean): void {
    for (const chunk of chunks) for (const task of chunk) task.state = "queued";
    this.count += chunks.reduce((n, chunk) => n + chunk.length, 0);
    if (first) this.again.unshift(...chunks);
    else this.again.push(...chunks);
  }

  /** A queued task was withdrawn (it stays in the queue, skipped when taken). */
  withdrawn(): void {
    this.count--;
  }

  /** The tasks still waiting, to withdraw them. */
  waiting(): Task[] {
    return [...this.again.flat(), ...this.items.slice(this.head).flat()].filter((t) => t.state === "queued");
  }

  /** A chunk of `n` tasks took `ms` per task. */
  learn(ms: number): void {
    this.meanMs = this.meanMs === undefined ? ms : 0.75 * this.meanMs + 0.25 * ms;
  }

  /** The next chunk's tasks for a pool of `workers`, out of the queue; undefined when nothing is queued. */
  take(workers: number): Task[] | undefined {
    let tasks = this.again.shift()?.filter((t) => t.state === "queued");
    while ((tasks === undefined || tasks.length === 0) && this.head < this.items.length) {
      const item = this.items[this.head]!;
      if (Array.isArray(item)) {
        this.head++;
        tasks = item.filter((t) => t.state === "queued");
        continue;
      }
      const size = this.chunkSize(workers);
      tasks = [];
      while (tasks.length < size && this.head < this.items.length && !Array.isArray(this.items[this.head])) {
        const task = this.items[this.head++] as Task;
        if (task.state === "queued") tasks.push(task);
      }
    }
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    if (tasks === undefined || tasks.length === 0) return undefined;
    this.count -= tasks.length;
    return tasks;
  }

  /** Tasks per automatic chunk: about TARGET_MS of work, and at most a quarter of a fair share of what is queued. */
  private chunkSize(workers: number): number {
    if (this.meanMs === undefined) return 1;
    const share = Math.ceil(this.count / (4 * Math.max(1, workers)));
    return Math.max(1, Math.min(share, Math.floor(TARGET_MS / Math.max(this.meanMs, 1e-4))));
  }

  /**
   * Chunks a worker may hold: one near the end of the queue (no task waits behind a long one
   * then), else enough for AHEAD_MS of work, at least two (the next one is there when it
   * finishes one, however long the root takes to answer).
   */
  depth(workers: number): number {
    const head = this.again[0] ?? this.items[this.head];
    const size = Array.isArray(head) ? head.length : this.chunkSize(workers);
    if (this.count <= 2 * workers * size) return 1;
    const chunkMs = (this.meanMs ?? 0) * size;
    return Math.min(MAX_DEPTH, Math.max(2, Math.ceil(AHEAD_MS / Math.max(chunkMs, 1e-3))));
  }
}
