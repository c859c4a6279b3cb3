/**
 * The Cartesian communicator (MPI_Cart_create's result): a {@link TopoComm} whose ranks sit on
 * a grid, with coordinates, shifts and sub-grids, and `comm.cartCreate` and `comm.cartMap`. Its
 * neighbour blocks are tagged by direction of travel (see the constructor).
 */
import { cartLayout, cartProposal } from "../collectives/agreement/cart-layout.js";
import type { CommEngine } from "../comm/engine/engine.js";
import { coordsOfRank, neighborsOf, rankOfCoords, shiftFrom, type Layout } from "../comm/engine/topology.js";
import { checkPeer, describe, UNDEFINED } from "../comm/wire/validate.js";
import { ArgumentError, callError } from "../errors.js";
import { backed, Comm } from "./communicator.js";
import { CART, TopoComm } from "./neighbors.js";
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
    /**
     * The rank this process would have in `cartCreate(dims, periods)` (MPI_Cart_map, mpi4py
     * `Cart_map`): its own rank where it is in the grid (ranks are never reordered), else
     * UNDEFINED. Local.
     * @throws ArgumentError for the arguments `cartCreate` refuses
     */
    cartMap(dims: readonly number[], periods?: boolean | readonly boolean[]): number;
  }
}

/**
 * A communicator with a Cartesian layout, made by `comm.cartCreate(dims, periods)`. Ranks are
 * placed in row-major order (the last dimension varies fastest). Everything a {@link Comm}
 * does works on it too (point-to-point, collectives, dup, split), and the neighbourhood
 * collectives of {@link TopoComm}: its in- and out-neighbours are, per dimension, the −1 then
 * the +1 neighbour (PROC_NULL off an open edge, whose entry is sent nothing and comes back
 * `undefined`).
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
export class CartComm extends TopoComm {
  /** Number of ranks along each dimension (`[]` in a zero-dimensional grid). */
  readonly dims: readonly number[];
  /** Whether each dimension wraps around (a torus) or has open edges. */
  readonly periods: readonly boolean[];
  /** This rank's coordinates in the grid. */
  readonly coords: readonly number[];

  /** @internal Use `comm.cartCreate(dims, periods)`. */
  constructor(engine: CommEngine, layout: Layout) {
    // Neighbours in MPI's order: per dimension the −1 then the +1 neighbour, PROC_NULL off an
    // open edge. A block sent towards neighbour i travels in direction i and arrives from the
    // other side (i ^ 1): right also when both neighbours are one rank (periodic, size 1 or 2).
    const neighbors = neighborsOf(layout, coordsOfRank(layout, engine.rank));
    const tags = neighbors.map((_, i) => i);
    const count = "2 × ndim: the −1 and +1 neighbour of each dimension";
    super(engine, { sources: neighbors, destinations: neighbors, outTags: tags, inTags: tags.map((i) => i ^ 1), count });
    this.dims = Object.freeze([...layout.dims]);
    this.periods = Object.freeze([...layout.periods]);
    this.coords = Object.freeze(coordsOfRank(layout, this.rank));
  }

  /** CART. */
  override get topology(): number {
    return CART;
  }

  /** @internal */
  protected remake(engine: CommEngine): this {
    return new CartComm(engine, this) as this;
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
   * The grid of the dimensions kept by `remainDims` (MPI_Cart_sub, mpi4py `Sub`): the ranks
   * whose coordinates differ only along them, in this grid's order. Collective; no message
   * is sent (every rank knows the grid). All dimensions dropped gives each rank a
   * zero-dimensional grid of its own.
   * @example
   * ```ts
   * const rows = await cart.sub([false, true]); // this rank's row of a 2-D grid
   * ```
   * @param remainDims one boolean per dimension: keep it (true) or drop it
   * @throws ArgumentError (rejects) unless `remainDims` is `ndim` booleans
   */
  async sub(remainDims: readonly boolean[]): Promise<CartComm> {
    const engine = engineOf(this);
    engine.ensureOpen("sub");
    if (!Array.isArray(remainDims) || remainDims.length !== this.ndim || !remainDims.every((k) => typeof k === "boolean")) {
      const got = Array.isArray(remainDims) ? `[${remainDims.map(describe).join(", ")}]` : describe(remainDims);
      throw callError(ArgumentError, "sub", this.rank, `remainDims must be an array of ${this.ndim} booleans (keep each dimension or not), got ${got}`);
    }
    const dropped = (coords: readonly number[]) => coords.filter((_, d) => !remainDims[d]).join(",");
    const mine = dropped(this.coords);
    const members = engine.members.filter((_, r) => dropped(coordsOfRank(this, r)) === mine);
    const keep = <T>(values: readonly T[]) => values.filter((_, d) => remainDims[d]);
    return backed(new CartComm(engine.child(`:sub${mine}`, members), { dims: keep(this.dims), periods: keep(this.periods) }));
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

Comm.prototype.cartMap = function cartMap(this: Comm, dims: readonly number[], periods: boolean | readonly boolean[] = false): number {
  const layout = cartProposal({ call: "cartMap", rank: this.rank, size: this.size }, dims, periods);
  if ("error" in layout) throw new ArgumentError(layout.error);
  return this.rank < layout.dims.reduce((a, b) => a * b, 1) ? this.rank : UNDEFINED;
};
