/**
 * Persistent requests (MPI_Send_init, MPI_Recv_init, MPI_Start, MPI_Startall): an operation
 * whose arguments are checked, and whose communicator, peer and envelope are looked up, once,
 * when it is made; each `start()` runs it again. Inactive until started, and again once its
 * completion is returned (by `wait`, `test`, `waitAll` …), then ready to start again.
 */
import { ArgumentError, callError } from "../../errors.js";
import { SENT } from "../transport/port.js";
import { Request, isCancelled, type Hurry, type Status } from "./request.js";

/** Was it started, and has not completed? */
let busy: (request: PersistentRequest<unknown>) => boolean;

/**
 * A request that can be started again and again (returned by `comm.sendInit` and
 * `comm.recvInit`). Between starts it is inactive: `wait()` resolves at once.
 * @example
 * ```ts
 * const out = comm.sendInit(halo, right, 0);
 * const inc = comm.recvInit(left, 0, { into: ghost });
 * for (let step = 0; step < steps; step++) {
 *   startAll([inc, out]);
 *   await waitAll([inc, out]);
 *   update(ghost);
 * }
 * ```
 */
export class PersistentRequest<T = unknown> extends Request<T> {
  static {
    busy = (request) => request.pending;
  }

  readonly #call: string;
  readonly #rank: number;
  readonly #run: (hurry: Hurry | undefined) => Promise<T>;
  /** A receive's hurry (see request.ts), one for every start; undefined for a send. */
  readonly #hurry: Hurry | undefined;
  /** A receive's status, filled as each start completes. */
  readonly #status: Status | undefined;
  /** A receive's promise of this start, settled by the receive itself once it waits (see Hurry.own). */
  #resolve: (value: T) => void = () => undefined;
  #reject: (error: Error) => void = () => undefined;
  readonly #settlers = (resolve: (value: T) => void, reject: (error: Error) => void): void => {
    this.#resolve = resolve;
    this.#reject = reject;
  };

  /** @internal Made by `comm.sendInit` / `comm.recvInit` (`run`: the operation, its arguments checked). */
  constructor(call: string, rank: number, run: (hurry: Hurry | undefined) => Promise<T>, receive?: { status: Status }) {
    super();
    this.#call = call;
    this.#rank = rank;
    this.#run = run;
    this.#status = receive?.status;
    if (receive === undefined) return;
    const own = { promise: SENT as Promise<unknown>, resolve: (value: unknown) => this.#resolved(value), reject: (error: Error) => this.#rejected(error) };
    this.#hurry = { own };
  }

  /** The receive of this start is matched (with a promise: a rendezvous, whose payload is still to come). */
  #resolved(value: unknown): void {
    const own = this.#hurry!.own!;
    if (value instanceof Promise) return void value.then(own.resolve, own.reject);
    this.completed(value as T);
    this.#resolve(value as T);
  }

  /** The receive of this start failed, or was cancelled (then it completes with undefined: see Request.cancel). */
  #rejected(error: Error): void {
    if (isCancelled(error)) return this.#resolve(undefined as T);
    // Its failure surfaces in wait(), never as an unhandled rejection.
    this.#hurry!.own!.promise.catch(() => undefined);
    this.#reject(error);
  }

  /**
   * Start the operation (MPI_Start): a send sends the value's current contents; a receive is
   * posted, as `irecv` would post it. Then wait for it (or test it) like any request.
   * @throws ArgumentError if it was started and has not completed yet
   */
  start(): void {
    if (this.pending)
      throw callError(ArgumentError, "start", this.#rank, `this ${this.#call} request was started and has not completed; wait for it before starting it again`);
    const hurry = this.#hurry;
    if (hurry !== undefined) {
      hurry.posted = undefined;
      hurry.own!.promise = new Promise<T>(this.#settlers);
    }
    const promise = this.#run(hurry);
    this.begin(promise, hurry, promise === hurry?.own!.promise);
    if (this.#status !== undefined) this.status = this.#status;
  }
}

/**
 * Start every request (MPI_Startall), in order.
 * @throws ArgumentError (before starting any) if one is not a persistent request, or was started and has not completed
 */
export function startAll(requests: readonly PersistentRequest<unknown>[]): void {
  const strange = requests.findIndex((request) => !(request instanceof PersistentRequest));
  if (strange >= 0) throw new ArgumentError(`startAll: requests[${strange}] is not a persistent request; make them with comm.sendInit() or comm.recvInit()`);
  requests.find(busy)?.start(); // throws its ArgumentError
  for (const request of requests) request.start();
}
