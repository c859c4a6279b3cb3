/**
 * The point-to-point half of a communicator: rank, size, and the calls between two ranks
 * (send, recv, their nonblocking forms, probe, sendrecv). `Comm` extends it with the
 * collectives and the calls that make communicators.
 */
import { ANY_SOURCE, ANY_TAG, checkPeer, checkTag, describe, PROC_NULL, type Where } from "../comm/wire/validate.js";
import { Request, Status, type Hurry } from "../comm/engine/request.js";
import { PersistentRequest } from "../comm/engine/persistent.js";
import { ReceiveRequest } from "../comm/engine/receive-request.js";
import { SENT } from "../comm/transport/port.js";
import type { TypedArray } from "../comm/wire/values.js";
import type { CommEngine } from "../comm/engine/engine.js";
import { target } from "../comm/engine/into.js";
import type { IntoOptions, IrecvOptions, RecvOptions } from "./options.js";
import { abortable, type SignalOptions } from "./abort.js";
import { ArgumentError, callError } from "../errors.js";
import { seam, traced } from "../comm/engine/seam.js";
import { incoming } from "./incoming.js";

/**
 * @internal The engine group of a communicator, for the api modules that build new
 * communicators on one (cartesian.ts: it extends Comm, so Comm cannot import it). Not exported
 * from the package.
 */
export let engineOf: (comm: PointToPoint) => CommEngine;

/** The peers a send may name, and a receive. */
const TO = { procNull: true };
const FROM = { any: true, procNull: true };

/** Rank, size and the point-to-point calls of a communicator (see `Comm`). */
export class PointToPoint {
  /** This process's rank in the communicator, 0 ≤ rank < size. */
  readonly rank: number;
  /** Number of ranks in the communicator. */
  readonly size: number;
  readonly #group: CommEngine;

  static {
    engineOf = (comm) => comm.#group;
  }

  /** @internal Use `init()`, `dup()` or `split()` to get a communicator. */
  constructor(group: CommEngine) {
    this.#group = group;
    this.rank = group.rank;
    this.size = group.size;
    this.#send = { call: "send", rank: this.rank, size: this.size };
    this.#recv = { call: "recv", rank: this.rank, size: this.size };
  }

  /** Where each call stands, for error messages: made once per call name, not per call. */
  readonly #wheres = new Map<string, Where>();
  /** send's and recv's, looked up without the map (a lookup by string per message cost ~20 ns). */
  readonly #send: Where;
  readonly #recv: Where;

  /** Where `call` stands; throws the ArgumentError of a freed communicator (every point-to-point call passes here first). */
  #where(call: string): Where {
    this.#group.ensureOpen(call);
    if (call === "send") return this.#send;
    if (call === "recv") return this.#recv;
    let where = this.#wheres.get(call);
    if (where === undefined) this.#wheres.set(call, (where = { call, rank: this.rank, size: this.size }));
    return where;
  }

  /** A send's checks, then the send: synchronous (ssend, issend: lazily polled with `hurry`), or standard. */
  #startSend(call: string, value: unknown, dest: number, tag: number, synchronous = false, hurry?: Hurry): Promise<void> {
    const where = this.#where(call);
    checkPeer(where, "dest", dest, TO);
    checkTag(where, tag);
    if (dest === PROC_NULL) return Promise.resolve();
    if (synchronous) return this.#group.ssend(call, dest, tag, value, hurry);
    return this.#group.post(call, dest, tag, value);
  }

  /** {@link #startSend}, its argument errors as a rejection. Not async: an async function that returns a promise adopts it, two ticks more per send. */
  #trySend(call: string, value: unknown, dest: number, tag: number, synchronous = false): Promise<void> {
    try {
      return this.#startSend(call, value, dest, tag, synchronous);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** A receive's checks done: at once from PROC_NULL, else the engine's (a signal's `abortable` withdraws it through `hurry`). */
  #startRecv<T>(source: number, tag: number, status?: Status, call = "recv", into?: T, hurry?: Hurry): Promise<T> {
    if (source === PROC_NULL) {
      if (status) Object.assign(status, { source: PROC_NULL, tag: ANY_TAG, bytes: 0 });
      return Promise.resolve((into ?? undefined) as T);
    }
    // The runtime's promise is the caller's: it resolves with the value, landed in `into`, `status` filled.
    return this.#group.receive(this.#where(call), source, tag, status, target(into), hurry) as Promise<T>;
  }

  #checkRecvArgs(call: string, source: number, tag: number, into?: unknown): void {
    const where = this.#where(call);
    checkPeer(where, "source", source, FROM);
    checkTag(where, tag, true);
    if (into !== undefined && target(into) === undefined)
      throw callError(ArgumentError, call, this.rank, `into must be a typed array or Buffer of the message's type and length, got ${describe(into)}`);
  }

  /**
   * Send a value to `dest` (MPI standard-mode send, like mpi4py `comm.send`).
   * Resolves once the message is queued: it never waits for the receiver to post a receive,
   * and the value may be modified afterwards. Messages to one rank with one tag arrive in order.
   *
   * @example
   * ```ts
   * if (comm.rank === 0) await comm.send({ step: 1, data: new Float64Array(8) }, 1, 7);
   * ```
   * @param value anything msgpack carries; typed arrays and Buffers travel as raw bytes
   * @param dest rank in this communicator, or PROC_NULL
   * @param tag integer in [0, 2^31 - 1] @default 0
   */
  send(value: unknown, dest: number, tag = 0): Promise<void> {
    return this.#trySend("send", value, dest, tag);
  }

  /**
   * Synchronous send (MPI_Ssend, mpi4py `comm.ssend`): resolves only once a receive on `dest`
   * has matched the message, so a program that would deadlock if sends did not buffer does
   * deadlock with ssend (the standard way to find unsafe send orderings). Arguments as {@link send}.
   * @example
   * ```ts
   * await comm.ssend(result, 0, 7); // rank 0 has started receiving it
   * ```
   */
  ssend(value: unknown, dest: number, tag = 0): Promise<void> {
    const tracer = seam.tracer;
    if (tracer === undefined) return this.#trySend("ssend", value, dest, tag, true);
    return tracer.call("ssend", this.#group.id, () => this.#trySend("ssend", value, dest, tag, true), value);
  }

  /**
   * Receive a value (like mpi4py `comm.recv`). Waits for the oldest message matching
   * `source` and `tag`; the message may have arrived before or after the call.
   *
   * @example
   * ```ts
   * const status = new Status();
   * const msg = await comm.recv<number[]>(ANY_SOURCE, ANY_TAG, status);
   * console.log(`got ${status.bytes} bytes from ${status.source}`);
   * ```
   * Into an array you own (mpi4py `Recv(buf)`): with a named source the transport writes the
   * data straight there as it arrives, where it can.
   * ```ts
   * const buf = new Float64Array(1 << 19);
   * await comm.recv(0, 7, { into: buf, status }); // resolves to buf
   * ```
   * @param source rank, ANY_SOURCE or PROC_NULL @default ANY_SOURCE
   * @param tag tag or ANY_TAG @default ANY_TAG
   * Withdrawn while no message has matched it, when `options.signal` aborts (it rejects with an AbortError):
   * ```ts
   * const value = await comm.recv(ANY_SOURCE, 0, { signal: AbortSignal.timeout(5000) });
   * ```
   * @param options a {@link Status} to fill, or `{ into, status, signal }` (see {@link RecvOptions})
   */
  recv<T = unknown>(source: number = ANY_SOURCE, tag: number = ANY_TAG, options?: Status | RecvOptions<T>): Promise<T> {
    // Not async (one promise layer less per receive), so bad arguments are caught into a rejection here.
    const status = options instanceof Status ? options : options?.status;
    const into = options instanceof Status ? undefined : options?.into;
    try {
      this.#checkRecvArgs("recv", source, tag, into);
    } catch (error) {
      return Promise.reject(error);
    }
    const signal = options instanceof Status ? undefined : options?.signal;
    if (signal === undefined || source === PROC_NULL) return this.#startRecv<T>(source, tag, status, "recv", into);
    return abortable(this.#where("recv"), signal, (withdrawal) => this.#startRecv<T>(source, tag, status, "recv", into, withdrawal));
  }

  /** Nonblocking send (MPI_Isend); argument errors throw at once. @returns a request whose `wait()` resolves when the message is queued. */
  isend(value: unknown, dest: number, tag = 0): Request<void> {
    return new Request(this.#startSend("isend", value, dest, tag));
  }

  /**
   * Nonblocking synchronous send (MPI_Issend): the request completes once a receive on `dest`
   * has matched the message; argument errors throw at once. A send is never cancelled ({@link Request.cancel}).
   */
  issend(value: unknown, dest: number, tag = 0): Request<void> {
    const hurry: Hurry = {};
    return new Request(this.#startSend("issend", value, dest, tag, true, hurry), hurry);
  }

  /**
   * Nonblocking receive (MPI_Irecv); `wait()` resolves with the value (or `options.into`) and
   * fills `request.status`. It returns at once and spends no time polling until `wait()`: a
   * computation between `irecv` and `wait` runs undisturbed while the message comes.
   */
  irecv<T = unknown>(source: number = ANY_SOURCE, tag: number = ANY_TAG, options?: IrecvOptions<T>): Request<T> {
    this.#checkRecvArgs("irecv", source, tag, options?.into);
    const status = new Status();
    const into = options?.into;
    const signal = options?.signal;
    // Most: a request the engine settles itself (see receive-request.ts).
    const own = signal === undefined && source !== PROC_NULL ? new ReceiveRequest<T>(status) : undefined;
    if (own) return own.started(this.#startRecv<T>(source, tag, status, "irecv", into, own.hurry));
    const hurry: Hurry = {};
    const received =
      signal === undefined
        ? this.#startRecv<T>(source, tag, status, "irecv", into, hurry)
        : abortable(this.#where("irecv"), signal, (withdrawal) => this.#startRecv<T>(source, tag, status, "irecv", into, withdrawal), hurry);
    const request: Request<T> = new Request<T>(
      received.then((value) => {
        request.status = status;
        return value;
      }),
      hurry,
    );
    return request;
  }

  /** Wait until a matching message has arrived, without receiving it (MPI_Probe). */
  async probe(source: number = ANY_SOURCE, tag: number = ANY_TAG, options?: SignalOptions): Promise<Status> {
    this.#checkRecvArgs("probe", source, tag);
    const start = (hurry?: Hurry) => this.#group.runtime.probe(this.#group.id, source, tag, this.#group.peers(source), hurry);
    const probe = () => abortable(this.#where("probe"), options?.signal, start);
    const tracer = seam.tracer;
    return toStatus(await (tracer === undefined ? probe() : tracer.probe(this.#group.id, probe)));
  }

  /**
   * The messages matching `source` and `tag`, one receive at a time, as they come: `for await`
   * over a stream of messages (a manager collecting results, a server loop). The iteration ends
   * when `options.signal` aborts (the pending receive is withdrawn: no message is lost), or when
   * the loop breaks; a failed peer rejects it as `recv` would.
   * @example
   * ```ts
   * const stop = new AbortController();
   * for await (const { value, source } of comm.incoming<number>(ANY_SOURCE, 7, { signal: stop.signal })) {
   *   results[source] = value;
   *   if (++count === comm.size - 1) stop.abort();
   * }
   * ```
   */
  incoming<T = unknown>(
    source: number = ANY_SOURCE,
    tag: number = ANY_TAG,
    options?: SignalOptions,
  ): AsyncGenerator<{ value: T; source: number; tag: number; bytes: number }, void, undefined> {
    return incoming<T>(this, source, tag, options?.signal);
  }

  /** @returns the status of a matching arrived message, or `undefined` if none has arrived (MPI_Iprobe). */
  async iprobe(source: number = ANY_SOURCE, tag: number = ANY_TAG): Promise<Status | undefined> {
    this.#checkRecvArgs("iprobe", source, tag);
    const envelope = await this.#group.runtime.iprobe(this.#group.id, source, tag);
    return envelope && toStatus(envelope);
  }

  /**
   * Send to `dest` and receive from `source` at once (MPI_Sendrecv): never deadlocks in a ring shift.
   * @example
   * ```ts
   * const left = await comm.sendrecv(comm.rank, (comm.rank + 1) % comm.size, 0, (comm.rank - 1 + comm.size) % comm.size);
   * ```
   */
  async sendrecv<T = unknown>(value: unknown, dest: number, sendTag = 0, source: number = ANY_SOURCE, recvTag: number = ANY_TAG, status?: Status): Promise<T> {
    this.#checkRecvArgs("sendrecv", source, recvTag);
    const both = () => Promise.all([this.#startSend("sendrecv", value, dest, sendTag), this.#startRecv<T>(source, recvTag, status, "sendrecv")]);
    const [, received] = await traced("sendrecv", this.#group.id, both, value);
    return received;
  }

  /**
   * Send `buf` to `dest` and receive into it from `source` (MPI_Sendrecv_replace, mpi4py
   * `Sendrecv_replace`): the message sent is `buf` as it was at the call; the one received
   * must fit it (same type, no longer). A ring shift in place:
   * ```ts
   * await comm.sendrecvReplace(halo, right, 0, left, 0);
   * ```
   * @returns `buf` (or the part of it the message filled)
   * @throws ArgumentError (rejects) if `buf` is not a typed array or Buffer, or the message does not fit it
   */
  async sendrecvReplace<T extends TypedArray>(
    buf: T,
    dest: number,
    sendTag = 0,
    source: number = ANY_SOURCE,
    recvTag: number = ANY_TAG,
    status?: Status,
  ): Promise<T> {
    if (target(buf) === undefined)
      throw callError(
        ArgumentError,
        "sendrecvReplace",
        this.rank,
        `buf must be a typed array or Buffer (the message received replaces its contents), got ${describe(buf)}`,
      );
    this.#checkRecvArgs("sendrecvReplace", source, recvTag);
    // The send takes the bytes before it returns (into the transport, or a copy), so the receive may overwrite them.
    const both = () =>
      Promise.all([this.#startSend("sendrecvReplace", buf, dest, sendTag), this.#startRecv<T>(source, recvTag, status, "sendrecvReplace", buf)]);
    const [, received] = await traced("sendrecvReplace", this.#group.id, both, buf);
    return received;
  }

  /**
   * A persistent send (MPI_Send_init): checked and addressed once; each `start()` sends
   * `value`'s contents as they are then (as {@link send} would). See {@link PersistentRequest}.
   * @example
   * ```ts
   * const req = comm.sendInit(halo, right, 3);
   * for (let i = 0; i < steps; i++) { fill(halo, i); req.start(); await req.wait(); }
   * ```
   */
  sendInit(value: unknown, dest: number, tag = 0): PersistentRequest<void> {
    const where = this.#where("sendInit");
    checkPeer(where, "dest", dest, TO);
    checkTag(where, tag);
    const group = this.#group;
    return new PersistentRequest<void>("sendInit", this.rank, () => {
      group.ensureOpen("start");
      return dest === PROC_NULL ? SENT : group.post("sendInit", dest, tag, value);
    });
  }

  /**
   * A persistent receive (MPI_Recv_init): checked once; each `start()` posts it as
   * {@link irecv} would, into `options.into` if given. `request.status` is filled as each start completes.
   */
  recvInit<T = unknown>(source: number = ANY_SOURCE, tag: number = ANY_TAG, options?: IntoOptions<T>): PersistentRequest<T> {
    const into = options?.into;
    this.#checkRecvArgs("recvInit", source, tag, into);
    const group = this.#group;
    const where = this.#where("recvInit");
    const status = new Status();
    const landing = target(into);
    const peerless = Promise.resolve((into ?? undefined) as T);
    return new PersistentRequest<T>(
      "recvInit",
      this.rank,
      (hurry) => {
        group.ensureOpen("start");
        if (source === PROC_NULL) return (Object.assign(status, { source: PROC_NULL, tag: ANY_TAG, bytes: 0 }), peerless);
        return group.receive(where, source, tag, status, landing, hurry) as Promise<T>;
      },
      { status },
    );
  }
}

function toStatus(envelope: { source: number; tag: number; bytes: number }): Status {
  return Object.assign(new Status(), { source: envelope.source, tag: envelope.tag, bytes: envelope.bytes });
}
