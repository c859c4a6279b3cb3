/**
 * The request of a nonblocking receive (irecv): settled by the engine itself as its message is
 * matched (see Hurry.own), with no promise reactions between the match and the request. A
 * window of receives in flight (osu_bw posts 64) then costs one promise a receive, not four,
 * and each is complete, its status filled, the moment its message is delivered: waitAll
 * finds them done without a microtask per receive.
 */
import { Request, isCancelled, type Hurry, type Status } from "./request.js";

export class ReceiveRequest<T = unknown> extends Request<T> {
  /** What the engine polls and settles this receive through (see Hurry). */
  readonly hurry: Hurry;
  readonly #status: Status;
  #resolve!: (value: T) => void;
  #reject!: (error: Error) => void;

  /** @internal Made by `irecv` before its receive is posted (then {@link started}). */
  constructor(status: Status) {
    super();
    this.#status = status;
    const promise = new Promise<T>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.hurry = { own: { promise, resolve: (value) => this.#resolved(value), reject: (error) => this.#rejected(error) } };
  }

  /** @internal The receive is posted (or already matched: then `received` is not the request's own promise). */
  started(received: Promise<T>): this {
    const own = received === this.hurry.own!.promise;
    this.begin(own ? received : received.then((value) => ((this.status = this.#status), value)), this.hurry, own);
    return this;
  }

  /** Matched: complete now (a rendezvous brings a promise: its payload is still to come). */
  #resolved(value: unknown): void {
    if (value instanceof Promise) return void value.then(this.hurry.own!.resolve, this.hurry.own!.reject);
    this.status = this.#status;
    this.completed(value as T);
    this.#resolve(value as T);
  }

  /** Failed, or cancelled (then it completes with undefined: see Request.cancel). */
  #rejected(error: Error): void {
    if (isCancelled(error)) return this.#resolve(undefined as T);
    // Its failure surfaces in wait(), never as an unhandled rejection.
    this.hurry.own!.promise.catch(() => undefined);
    this.#reject(error);
  }
}
