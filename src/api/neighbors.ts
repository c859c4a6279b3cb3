/**
 * Communicators with a topology (mpi4py `Topocomm`): the in- and out-neighbours every topology
 * defines, and the MPI-3 neighbourhood collectives, one implementation for the Cartesian, graph
 * and distributed-graph communicators (cartesian.ts, graph.ts). Neighbour traffic travels on a
 * private child context; block i goes to out-neighbour i with tag `outTags[i]` and the block from
 * in-neighbour i comes with `inTags[i]`, so that several edges between two ranks keep their places.
 */
import { concat } from "../collectives/counts.js";
import { CollectiveFailure } from "../collectives/collective-protocol.js";
import { isTypedArray } from "../comm/wire/arrays.js";
import type { CommEngine } from "../comm/engine/engine.js";
import { apart } from "../comm/engine/into.js";
import { describe, PROC_NULL, UNDEFINED, type Where } from "../comm/wire/validate.js";
import type { TypedArray } from "../comm/wire/values.js";
import { ArgumentError, CollectiveMismatchError, callError } from "../errors.js";
import { backed, Comm } from "./communicator.js";
import type { IntoOptions } from "./options.js";
import { engineOf } from "./p2p.js";

/** A Cartesian communicator's topology (MPI_CART). */
export const CART = 1;
/** A graph communicator's topology (MPI_GRAPH). */
export const GRAPH = 2;
/** A distributed-graph communicator's topology (MPI_DIST_GRAPH). */
export const DIST_GRAPH = 3;

declare module "./communicator.js" {
  interface Comm {
    /** CART, GRAPH or DIST_GRAPH for a communicator with a topology, else UNDEFINED (MPI_Topo_test, mpi4py `comm.topology`). */
    readonly topology: number;
  }
}
Object.defineProperty(Comm.prototype, "topology", { get: () => UNDEFINED, configurable: true });

/** Tags of edges to or from the same rank: its occurrence number among them (the k-th edge from q to r is q's k-th to r and r's k-th from q). */
export function occurrenceTags(ranks: readonly number[]): number[] {
  const seen = new Map<number, number>();
  return ranks.map((r) => {
    const k = seen.get(r) ?? 0;
    seen.set(r, k + 1);
    return k;
  });
}

/** The edges of a topology at this rank, and the tags their blocks travel with. */
export interface Neighborhood {
  /** Ranks blocks come from, in order; PROC_NULL sends nothing. */
  sources: readonly number[];
  /** Ranks blocks go to, in order; PROC_NULL gets nothing. */
  destinations: readonly number[];
  inTags: readonly number[];
  outTags: readonly number[];
  /** How many blocks neighborAlltoall takes, in words, for its error message. */
  count: string;
}

/**
 * A communicator with a topology: {@link CartComm}, {@link GraphComm} or {@link DistGraphComm}.
 * The neighbourhood collectives send to the out-neighbours ({@link outedges}) and receive from
 * the in-neighbours ({@link inedges}), in their order.
 *
 * Collective over the neighbourhood: every rank of the communicator must call them in the same
 * order. The sends are posted when the call is made, so a call can be started, overlapped with
 * computation and awaited later; it resolves once this rank's blocks have arrived (it does not
 * wait for the neighbours to finish). Misuse on a rank (a wrong length) rejects there with an
 * ArgumentError and at its out-neighbours with a CollectiveMismatchError: nobody waits for data
 * that will not come.
 */
export abstract class TopoComm extends Comm {
  /** The in-neighbours, whose blocks this rank receives, in order (mpi4py `inedges`; PROC_NULL off a Cartesian edge). */
  readonly inedges: readonly number[];
  /** The out-neighbours, to which this rank sends, in order (mpi4py `outedges`). */
  readonly outedges: readonly number[];
  readonly #tags: { in: readonly number[]; out: readonly number[]; count: string };
  /** Private context for neighbourhood collectives, so that they never match user messages. */
  readonly #halo: CommEngine;

  /** @internal Use `cartCreate`, `createGraph` or `createDistGraph(Adjacent)`. */
  constructor(engine: CommEngine, hood: Neighborhood) {
    super(engine);
    this.inedges = Object.freeze([...hood.sources]);
    this.outedges = Object.freeze([...hood.destinations]);
    this.#tags = { in: hood.inTags, out: hood.outTags, count: hood.count };
    this.#halo = engine.child(":neighbor");
  }

  /** Number of in-neighbours (MPI_Dist_graph_neighbors_count's indegree). */
  get indegree(): number {
    return this.inedges.length;
  }

  /** Number of out-neighbours. */
  get outdegree(): number {
    return this.outedges.length;
  }

  /** A copy with the same topology and separate message contexts (MPI_Comm_dup keeps the topology, as mpi4py's `Dup`). Collective. */
  override async dup(): Promise<this> {
    const engine = engineOf(this);
    engine.ensureOpen("dup");
    return backed(this.remake(engine.child("")));
  }

  /** @internal This communicator's topology on another engine (for dup). */
  protected abstract remake(engine: CommEngine): this;

  /**
   * Every in-neighbour's value (MPI_Neighbor_allgather, mpi4py `neighbor_allgather`): this rank
   * sends `value` to each out-neighbour and gets one value per in-neighbour, in order;
   * `undefined` where the neighbour is PROC_NULL.
   * @example
   * ```ts
   * const [up, down, left, right] = await cart.neighborAllgather(cart.rank); // in a 2-D grid
   * ```
   */
  neighborAllgather<T>(value: T): Promise<Array<T | undefined>> {
    return this.#exchange<T>("neighborAllgather", () => value);
  }

  /**
   * A different value to each out-neighbour (MPI_Neighbor_alltoall, mpi4py `neighbor_alltoall`):
   * `values[i]` goes to out-neighbour i, and entry i of the result is what in-neighbour i sent
   * to this rank (`undefined` for PROC_NULL).
   * @example
   * ```ts
   * const [fromLeft, fromRight] = await ring.neighborAlltoall([`to left of ${ring.rank}`, `to right of ${ring.rank}`]);
   * ```
   * @param values one value per out-neighbour
   */
  neighborAlltoall<T>(values: readonly T[]): Promise<Array<T | undefined>> {
    const call = "neighborAlltoall";
    if (Array.isArray(values) && values.length === this.outdegree) return this.#exchange(call, (i) => values[i]!);
    return this.#refuse(call, `values must be an array of ${this.outdegree} values (${this.#tags.count}), got ${describe(values)}`);
  }

  /**
   * Typed-array blocks of any length from every in-neighbour, concatenated in order
   * (MPI_Neighbor_allgatherv, mpi4py `Neighbor_allgatherv`); a PROC_NULL neighbour adds nothing.
   * @param options `into`: a typed array of `array`'s type with room for every block
   */
  neighborAllgatherv<T extends TypedArray>(array: T, options?: IntoOptions<T>): Promise<T> {
    const call = "neighborAllgatherv";
    if (!isTypedArray(array)) return this.#refuse(call, `array must be a typed array, got ${describe(array)}`);
    const sent = apart(array, options?.into);
    return this.#exchange<T>(call, () => sent).then((blocks) => this.#concat(call, array, blocks, options?.into));
  }

  /**
   * `counts[i]` elements of `array`, in order, to out-neighbour i; the blocks from the
   * in-neighbours concatenated in order (MPI_Neighbor_alltoallv, mpi4py `Neighbor_alltoallv`).
   * @param counts one non-negative integer per out-neighbour, adding up to `array.length`
   * @param options `into`: a typed array of `array`'s type with room for every block
   */
  neighborAlltoallv<T extends TypedArray>(array: T, counts: readonly number[], options?: IntoOptions<T>): Promise<T> {
    const call = "neighborAlltoallv";
    if (!isTypedArray(array)) return this.#refuse(call, `array must be a typed array, got ${describe(array)}`);
    const fit = Array.isArray(counts) && counts.length === this.outdegree && counts.every((c) => Number.isInteger(c) && c >= 0);
    const total = fit ? counts.reduce((a, b) => a + b, 0) : -1;
    if (total !== array.length) {
      const got = fit ? `[${counts.join(", ")}], which add up to ${total}` : describe(counts);
      return this.#refuse(
        call,
        `counts must be ${this.outdegree} non-negative integers (${this.#tags.count}) adding up to array.length ${array.length}, got ${got}`,
      );
    }
    const sent = apart(array, options?.into);
    const offsets = counts.map((_, i) => counts.slice(0, i).reduce((a, b) => a + b, 0));
    const block = (i: number) => sent.subarray(offsets[i]!, offsets[i]! + counts[i]!) as T;
    return this.#exchange<T>(call, block).then((blocks) => this.#concat(call, array, blocks, options?.into));
  }

  #concat<T extends TypedArray>(call: string, like: T, blocks: ReadonlyArray<T | undefined>, into?: T): T {
    const where: Where = { call, rank: this.rank, size: this.size };
    return concat(
      where,
      like,
      blocks.filter((b): b is T => b !== undefined),
      into,
    );
  }

  /** Reject with `message` here, and send the failure on in place of data so that the neighbours reject too. */
  #refuse<R>(call: string, message: string): Promise<R> {
    const error = callError(ArgumentError, call, this.rank, message);
    return this.#exchange(call, () => new CollectiveFailure(`rank ${this.rank} found: ${error.message}`), error) as Promise<R>;
  }

  /**
   * Post one receive per in-neighbour and one send per out-neighbour, now (see the header for
   * the tags). A local error is sent on in place of data, then thrown once the blocks are in.
   */
  #exchange<T>(call: string, block: (i: number) => T | CollectiveFailure, localError?: Error): Promise<Array<T | undefined>> {
    const refused = engineOf(this).refuse(call);
    if (refused !== undefined) return Promise.reject(refused);
    const halo = this.#halo;
    const { in: inTags, out: outTags } = this.#tags;
    const received = this.inedges.map((source, i) =>
      source === PROC_NULL ? undefined : halo.take(call, halo.id, source, inTags[i]!).then((envelope) => envelope.value as T | CollectiveFailure),
    );
    const sent = this.outedges.map((dest, i) => (dest === PROC_NULL ? undefined : halo.post(call, dest, outTags[i]!, block(i))));
    return Promise.all([Promise.all(received), Promise.all(sent)]).then(([values]) => {
      if (localError) throw localError;
      const failed = values.find((v): v is CollectiveFailure => v instanceof CollectiveFailure);
      if (failed) throw callError(CollectiveMismatchError, call, this.rank, `the collective failed: ${failed.reason}`);
      return values as Array<T | undefined>;
    });
  }
}
