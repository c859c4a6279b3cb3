/**
 * Cartesian process grids: MPI_Dims_create, the rank ↔ coordinates ↔ neighbour arithmetic a
 * Cartesian communicator answers (row-major, as MPI: the last dimension varies fastest). Plain
 * arithmetic: cartCreate's agreement is in collectives/cartesian.ts, the communicator in
 * api/cartesian.ts.
 */
import { ArgumentError } from "../../errors.js";
import { describe, PROC_NULL } from "../wire/validate.js";

/**
 * Split `nnodes` processes into a balanced grid (MPI_Dims_create, mpi4py `MPI.Compute_dims`).
 * The free dimensions get factors as close to each other as possible, in non-increasing order;
 * with an array, its non-zero entries are kept and only the zeros are filled.
 *
 * @example
 * ```ts
 * import { dimsCreate, init } from "tsmpi";
 * const comm = await init();
 * dimsCreate(6, 2); // [3, 2]
 * dimsCreate(12, 3); // [3, 2, 2]
 * dimsCreate(12, [0, 3]); // [4, 3]
 * const cart = await comm.cartCreate(dimsCreate(comm.size, 2), [true, true]);
 * ```
 * @param nnodes number of processes, a positive integer (usually `comm.size`)
 * @param dims number of dimensions (≥ 1), or an array with the sizes to keep and 0 where free
 * @returns the grid sizes, whose product is `nnodes`
 * @throws ArgumentError if `nnodes` is not a positive integer, or the fixed sizes do not divide it
 */
export function dimsCreate(nnodes: number, dims: number | readonly number[]): number[] {
  const fail = (message: string): never => {
    throw new ArgumentError(`dimsCreate: ${message}`);
  };
  if (!Number.isInteger(nnodes) || nnodes < 1) fail(`nnodes must be a positive integer, got ${describe(nnodes)}`);
  if (typeof dims === "number") {
    if (!Number.isInteger(dims) || dims < 1) fail(`dims must be a positive integer (the number of dimensions) or an array of sizes, got ${describe(dims)}`);
    dims = new Array<number>(dims).fill(0);
  }
  if (!Array.isArray(dims) || dims.length === 0) return fail(`dims must be a positive integer or a non-empty array of sizes (0 = free), got ${describe(dims)}`);
  if (!dims.every((d) => Number.isInteger(d) && d >= 0)) fail(`dims entries must be integers ≥ 0 (0 = free), got [${dims.join(", ")}]`);
  const fixed = dims.filter((d) => d > 0).reduce((a, b) => a * b, 1);
  const free = dims.filter((d) => d === 0).length;
  if (nnodes % fixed !== 0 || (free === 0 && fixed !== nnodes)) {
    fail(
      `the fixed sizes [${dims.join(", ")}] (product ${fixed}) must divide nnodes ${nnodes}${free === 0 ? " exactly" : ""}; set some entries to 0 to let dimsCreate choose`,
    );
  }
  const filled = balanced(nnodes / fixed, free);
  return dims.map((d) => (d > 0 ? d : filled.shift()!));
}

/** The most balanced way to write `n` as a product of `k` factors (smallest largest-minus-smallest), in non-increasing order. */
function balanced(n: number, k: number): number[] {
  if (k === 0) return [];
  let best: number[] = [n, ...new Array<number>(k - 1).fill(1)];
  const spread = (f: number[]) => f[0]! - f[f.length - 1]!;
  // Depth-first over non-increasing factor lists; divisors only, so this is fast for any real process count.
  const search = (rest: number, left: number, max: number, prefix: number[]): void => {
    if (left === 1) {
      if (rest <= max) {
        const f = [...prefix, rest];
        if (spread(f) < spread(best)) best = f;
      }
      return;
    }
    for (let d = Math.min(max, rest); d >= 1; d--) {
      if (d ** left < rest) break; // the largest factor is at least the geometric mean of what is left
      if (rest % d !== 0) continue;
      search(rest / d, left - 1, d, [...prefix, d]);
    }
  };
  search(n, k, n, []);
  return best;
}

/** A Cartesian layout: sizes and periodicity per dimension. */
export interface Layout {
  readonly dims: readonly number[];
  readonly periods: readonly boolean[];
}

/** Coordinates of `rank` in the grid (row-major, last dimension fastest). */
export function coordsOfRank(layout: Layout, rank: number): number[] {
  const coords = new Array<number>(layout.dims.length);
  for (let d = layout.dims.length - 1; d >= 0; d--) {
    coords[d] = rank % layout.dims[d]!;
    rank = Math.floor(rank / layout.dims[d]!);
  }
  return coords;
}

/** Rank at `coords`: periodic dimensions wrap, a coordinate off an open edge gives PROC_NULL. */
export function rankOfCoords(layout: Layout, coords: readonly number[]): number {
  let rank = 0;
  for (let d = 0; d < layout.dims.length; d++) {
    const n = layout.dims[d]!;
    let c = coords[d]!;
    if (layout.periods[d]) c = ((c % n) + n) % n;
    else if (c < 0 || c >= n) return PROC_NULL;
    rank = rank * n + c;
  }
  return rank;
}

/** MPI_Cart_shift: whom `coords` receives from (`source`, at −disp) and sends to (`dest`, at +disp) along `direction`. */
export function shiftFrom(layout: Layout, coords: readonly number[], direction: number, disp: number): { source: number; dest: number } {
  const at = (delta: number) =>
    rankOfCoords(
      layout,
      coords.map((c, d) => (d === direction ? c + delta : c)),
    );
  return { source: at(-disp), dest: at(disp) };
}

/** The neighbour list MPI defines for a Cartesian communicator: per dimension, the −1 then the +1 neighbour (PROC_NULL off an open edge). */
export function neighborsOf(layout: Layout, coords: readonly number[]): number[] {
  return layout.dims.flatMap((_, d) => {
    const { source, dest } = shiftFrom(layout, coords, d, 1);
    return [source, dest];
  });
}
