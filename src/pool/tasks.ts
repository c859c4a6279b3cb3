/**
 * How a task names its function. A function cannot travel between processes, but every rank
 * runs the same script: each rank passes the same table of top-level functions when it makes
 * the pool, and a task travels as the function's name in that table (as mpi4py pickles a
 * function by reference: module and name).
 */
import { ArgumentError, callError } from "../errors.js";

/** A function a pool can run: any arguments and result that tsmpi can send (see docs/api.md, "Values"). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a task table holds functions of any signature; each call site keeps its own types
export type TaskFunction = (...args: any[]) => unknown;

/** The functions a pool runs, by name: `{ simulate, fit }`. Every rank must pass the same table. */
export type TaskTable = Record<string, TaskFunction>;

/** A task table checked once, looked up both ways. */
export class TaskNames {
  readonly #names = new Map<TaskFunction, string>();
  readonly #functions = new Map<string, TaskFunction>();

  constructor(table: unknown, call: string, rank: number) {
    if (table === null || typeof table !== "object")
      throw callError(ArgumentError, call, rank, `options.tasks must be an object of functions by name, e.g. { tasks: { simulate } }, got ${describe(table)}`);
    for (const [name, fn] of Object.entries(table)) {
      if (typeof fn !== "function") throw callError(ArgumentError, call, rank, `options.tasks.${name} must be a function, got ${describe(fn)}`);
      this.#functions.set(name, fn as TaskFunction);
      if (!this.#names.has(fn as TaskFunction)) this.#names.set(fn as TaskFunction, name);
    }
  }

  /** The name a task of `fn` travels as; an ArgumentError that says how to write it if `fn` is not in the table. */
  nameOf(fn: unknown, call: string, rank: number): string {
    if (typeof fn === "string" && this.#functions.has(fn)) return fn;
    if (typeof fn === "function") {
      const name = this.#names.get(fn as TaskFunction);
      if (name !== undefined) return name;
    }
    const known = [...this.#functions.keys()];
    throw callError(
      ArgumentError,
      call,
      rank,
      `${describe(fn)} is not one of the pool's tasks (${known.length > 0 ? known.join(", ") : "it has none"}). A function cannot travel to another rank, ` +
        "only its name can: define it at the top level of the script (every rank runs it), list it when making the pool, " +
        "`CommExecutor.start(comm, { tasks: { simulate } })`, and pass the same function or its name: `submit(simulate, ...args)`",
    );
  }

  /** The function of a task name (undefined if this rank's table lacks it). */
  get(name: string): TaskFunction | undefined {
    return this.#functions.get(name);
  }
}

/** A value, briefly, for error messages. */
function describe(value: unknown): string {
  if (typeof value === "function") return value.name ? `the function ${value.name}` : "an anonymous function";
  if (typeof value === "string") return `the name "${value}"`;
  return value === null ? "null" : typeof value;
}
