/**
 * The Cartesian communicator (MPI_Cart_create's result): a {@link Comm} whose ranks sit on a
 * grid, with coordinates, shifts and the MPI-3 neighbourhood collectives, and `comm.cartCreate`
 * that makes one. Neighbour traffic travels on a private child context, one tag per direction
 * of travel, so that a rank that is both the − and the + neighbour (a periodic dimension of
 * size 1 or 2) still gets each block in the right place.
 */
import { cartLayout } from "../collectives/cartesian.js";
import { CollectiveFailure } from "../collectives/protocol.js";
import type { CommEngine } from "../comm/engine.js";
import { coordsOfRank, neighborsOf, rankOfCoords, shiftFrom, type Layout } from "../comm/topology.js";
import { checkPeer, describe, PROC_NULL } from "../comm/validate.js";
import { ArgumentError, CollectiveMismatchError, callError } from "../errors.js";
import { backed, Comm } from "./communicator.js";
import { engineOf } from "./p2p.js";

declare module "./communicator.js" {
  interface Comm {
    /**
     * A communicator with a Cartesian layout (MPI_Cart_create, mpi4py `Create_cart`): the first
     * `dims[0] × dims[1] × …` ranks, in order, form the grid (ranks are never reordered); the
     * other ranks get `undefined`. `dims` `[]` makes MPI's zero-dimensional grid: the empty
     * product is one cell, so rank 0 alone gets a communicator of size 1 with no coordinates and
     * no neighbours. Collective: every rank must pass the same `dims` and `periods`; bad or
     * disagreeing arguments reject on every rank (an ArgumentError where they were passed, a
     * CollectiveMismatchError elsewhere). It resolves once every rank has passed its arguments.
     * @example
     * ```ts
     * import { dimsCreate, init } from "tsmpi";
     * const comm = await init();
     * const cart = await comm.cartCreate(dimsCreate(comm.size, 2), [true, true]);
     * if (cart) console.log(`rank ${cart.rank} at [${cart.coords.join(", ")}] of [${cart.dims.join(" × ")}]`);
     * ```
     * @param dims ranks along each dimension, positive integers whose product is at most `size`
     *   (`[]`: zero dimensions, one cell)
     * @param periods per dimension (or one for all): wrap around, or open edges @default false
     * @returns the Cartesian communicator, or `undefined` on ranks beyond the grid
     * @throws ArgumentError (rejects) if `dims` is not an array of positive integers, needs more
     *   than `size` ranks, or `periods` is neither a boolean nor one boolean per dimension
     * @throws CollectiveMismatchError (rejects) if another rank passed bad or different arguments
     */
    cartCreate(dims: readonly number[], periods?: boolean | readonly boolean[]): Promise<CartComm | undefined>;
  }
}

/**
 * A communicator with a Cartesian layout, made by `comm.cartCreate(dims, periods)`. Ranks are
 * placed in row-major order (the last dimension varies fastest). Everything a {@link Comm}
 * does works on it too (point-to-point, collectives, dup, split).
 *
 * @example
 * ```ts
 * import { dimsCreate, init } from "tsmpi";
 * const comm = await init();
 * const cart = await comm.cartCreate(dimsCreate(comm.size, 2), [true, true]);
 * if (cart) {
 *   const { source, dest } = cart.shift(0, 1); // the ranks above and below
 *   const fromAbove = await cart.sendrecv(cart.coords, dest, 0, source, 0);
 * }
 * ```
 */
export class CartComm extends Comm {
  /** Number of ranks along each dimension (`[]` in a zero-dimensional grid). */
  readonly dims: readonly number[];
  /** Whether each dimension wraps around (a torus) or has open edges. */
  readonly periods: readonly boolean[];
  /** This rank's coordinates in the grid. */
  readonly coords: readonly number[];
  /** Neighbours in MPI's order: per dimension the −1 then the +1 neighbour, PROC_NULL off an open edge. */
  readonly #neighbors: readonly number[];
  /** Private context for neighbourhood collectives, so that they never match user messages. */
  readonly #halo: CommEngine;

  /** @internal Use `comm.cartCreate(dims, periods)`. */
  constructor(group: CommEngine, layout: Layout) {
    super(group);
    this.dims = Object.freeze([...layout.dims]);
    this.periods = Object.freeze([...layout.periods]);
    this.coords = Object.freeze(coordsOfRank(layout, this.rank));
    this.#neighbors = neighborsOf(layout, this.coords);
    this.#halo = group.child(":neighbor");
  }

  /** Number of dimensions (MPI_Cartdim_get); 0 for the grid of `cartCreate([])`. */
  get ndim(): number {
    return this.dims.length;
  }

  /**
   * Coordinates of `rank` in the grid (MPI_Cart_coords).
   * @example
   * ```ts
   * cart.coordsOf(5); // [2, 1] in a 3 × 2 grid
   * ```
   * @param rank a rank of this communicator, in [0, size)
   * @returns `ndim` coordinates (`[]` in a zero-dimensional grid)
   * @throws ArgumentError if `rank` is not a rank of this communicator
   */
  coordsOf(rank: number): number[] {
    checkPeer({ call: "coordsOf", rank: this.rank, size: this.size }, "rank", rank);
    return coordsOfRank(this, rank);
  }

  /**
   * Rank at `coords` (MPI_Cart_rank). Periodic dimensions wrap (−1 is the last row); a
   * coordinate beyond an open edge gives PROC_NULL, which sends and receives accept.
   * @example
   * ```ts
   * const right = cart.rankOf([cart.coords[0]!, cart.coords[1]! + 1]);
   * ```
   * @param coords `ndim` integers (`[]` in a zero-dimensional grid, whose one rank is 0)
   * @returns the rank, or PROC_NULL beyond an open edge
   * @throws ArgumentError if `coords` is not an array of `ndim` integers
   */
  rankOf(coords: readonly number[]): number {
    if (!Array.isArray(coords) || coords.length !== this.ndim || !coords.every(Number.isInteger)) {
      throw callError(
        ArgumentError,
        "rankOf",
        this.rank,
        `coords must be an array of ${this.ndim} integers (one per dimension), got ${Array.isArray(coords) ? `[${coords.map(describe).join(", ")}]` : describe(coords)}`,
      );
    }
    return rankOfCoords(this, coords);
  }

  /**
   * The ranks to receive from and send to for a shift by `disp` along `direction`
   * (MPI_Cart_shift): `source` is at −disp, `dest` at +disp; PROC_NULL beyond an open edge.
   * @example
   * ```ts
   * const { source, dest } = cart.shift(0, 1);
   * const fromAbove = await cart.sendrecv(myLastRow, dest, 0, source, 0); // PROC_NULL: undefined, at once
   * ```
   * @param direction dimension index in [0, ndim)
   * @param disp displacement, any integer @default 1
   * @returns `source` and `dest`, each a rank or PROC_NULL
   * @throws ArgumentError if `direction` is not a dimension index (a zero-dimensional grid has
   *   none) or `disp` is not an integer
   */
  shift(direction: number, disp = 1): { source: number; dest: number } {
    if (!Number.isInteger(direction) || direction < 0 || direction >= this.ndim || !Number.isInteger(disp)) {
      const expected =
        this.ndim === 0 ? "a zero-dimensional grid has no direction to shift along" : `direction must be an integer in [0, ${this.ndim}) and disp an integer`;
      throw callError(ArgumentError, "shift", this.rank, `${expected}, got direction ${describe(direction)}, disp ${describe(disp)}`);
    }
    return shiftFrom(this, this.coords, direction, disp);
  }

  /**
   * Every neighbour's value (MPI_Neighbor_allgather): this rank sends `value` to each of its
   * 2 × ndim neighbours and gets theirs, in MPI's order: for dimension 0 the −1 then the +1
   * neighbour, then dimension 1, and so on. A PROC_NULL neighbour's entry is `undefined`.
   *
   * Collective over the neighbourhood: every rank of the communicator must call it, in the
   * same order as its other neighbourhood collectives. The sends are posted when the call is
   * made, so it can be started, overlapped with computation and awaited later; it resolves
   * once this rank's blocks have arrived (it does not wait for the neighbours to finish).
   *
   * @example
   * ```ts
   * const [up, down, left, right] = await cart.neighborAllgather(cart.rank); // in a 2-D grid
   * ```
   * @param value what every neighbour gets from this rank
   * @returns 2 × ndim values (none in a zero-dimensional grid), `undefined` where the neighbour is PROC_NULL
   */
  neighborAllgather<T>(value: T): Promise<Array<T | undefined>> {
    return this.#exchange("neighborAllgather", () => value);
  }

  /**
   * Send a different value to each neighbour (MPI_Neighbor_alltoall): `values[i]` goes to
   * neighbour i, in MPI's order (per dimension the −1 then the +1 neighbour), and entry i of
   * the result is what neighbour i sent to this rank. Entries for PROC_NULL neighbours are not
   * sent, and come back `undefined`. With periodic dimensions of size 1 or 2, where the two
   * neighbours are one rank, each block still lands where MPI puts it.
   *
   * Collective over the neighbourhood, with the ordering rules of {@link CartComm.neighborAllgather}.
   * A wrong `values` length rejects here with an ArgumentError and at the neighbours with a
   * CollectiveMismatchError, so nobody waits for data that will not come.
   *
   * @example
   * ```ts
   * // 1-D ring: send a message to the left and one to the right
   * const [fromLeft, fromRight] = await ring.neighborAlltoall([`to left of ${ring.rank}`, `to right of ${ring.rank}`]);
   * ```
   * @param values 2 × ndim values, one per neighbour
   * @returns 2 × ndim values (none in a zero-dimensional grid), `undefined` where the neighbour is PROC_NULL
   */
  neighborAlltoall<T>(values: readonly T[]): Promise<Array<T | undefined>> {
    const count = this.#neighbors.length;
    if (!Array.isArray(values) || values.length !== count) {
      const error = callError(
        ArgumentError,
        "neighborAlltoall",
        this.rank,
        `values must be an array of ${count} values (2 × ndim: the −1 and +1 neighbour of each dimension), got ${describe(values)}`,
      );
      return this.#exchange<T>("neighborAlltoall", () => new CollectiveFailure(`rank ${this.rank} found: ${error.message}`), error);
    }
    return this.#exchange("neighborAlltoall", (i) => values[i]!);
  }

  /**
   * Post one receive and one send per neighbour, now. Block i goes to neighbour i with tag i
   * (the direction it travels); the block from neighbour i travelled the other way, tag i ^ 1.
   * A local error is sent on in place of data, then thrown here once the neighbours' blocks are in.
   */
  #exchange<T>(call: string, block: (i: number) => T | CollectiveFailure, localError?: Error): Promise<Array<T | undefined>> {
    const refused = engineOf(this).refuse(call);
    if (refused !== undefined) return Promise.reject(refused);
    const halo = this.#halo;
    const received = this.#neighbors.map((source, i) =>
      source === PROC_NULL ? undefined : halo.take(call, halo.id, source, i ^ 1).then((envelope) => envelope.value as T | CollectiveFailure),
    );
    const sent = this.#neighbors.map((dest, i) => (dest === PROC_NULL ? undefined : halo.post(call, halo.id, dest, i, block(i))));
    return Promise.all([Promise.all(received), Promise.all(sent)]).then(([values]) => {
      if (localError) throw localError;
      const failed = values.find((v): v is CollectiveFailure => v instanceof CollectiveFailure);
      if (failed) throw callError(CollectiveMismatchError, call, this.rank, `the collective failed: ${failed.reason}`);
      return values as Array<T | undefined>;
    });
  }
}

// Installed here rather than written in Comm: CartComm extends Comm, so communicator.ts cannot
// import this module without an import circle.
Comm.prototype.cartCreate = async function cartCreate(this: Comm, dims: readonly number[], periods: boolean | readonly boolean[] = false) {
  const group = engineOf(this);
  group.ensureOpen("cartCreate");
  const layout = await cartLayout(group.channel("cartCreate"), dims, periods);
  const cells = layout.dims.reduce((a, b) => a * b, 1);
  // Every member takes a child id, in the grid or not, so that later children agree everywhere.
  const child = group.child(":cart", group.members.slice(0, cells));
  return this.rank < cells ? backed(new CartComm(child, layout)) : undefined;
};
