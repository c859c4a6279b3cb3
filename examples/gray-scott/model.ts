// The Gray-Scott model on one rank's block of a periodic grid: parameters, the initial
// condition, and the update kernel (flat Float64Arrays with a one-cell halo, one loop, no
// allocation). The mpi4py twins in bench/gray_scott.py compute exactly the same numbers:
// same initial condition, same operations in the same order, so their checksums match.

/** Model parameters (dimensionless, grid spacing 1). */
export interface Params {
  /** Diffusion rates of U and V. */
  Du: number;
  Dv: number;
  /** Feed rate F and kill rate k. */
  F: number;
  k: number;
  /** Time step. */
  dt: number;
}

/** Spots and stripes side by side (Pearson's "ζ"/"zebrafish" region); `--feed`/`--kill` pick others. */
export const DEFAULTS: Params = { Du: 0.16, Dv: 0.08, F: 0.035, k: 0.06, dt: 1 };

/** First index of part `p` when `n` items are split into `parts` nearly equal contiguous parts. */
export const partStart = (n: number, parts: number, p: number) => Math.floor((p * n) / parts);

/** A 32-bit integer hash (murmur3's finaliser) of two integers; the Python twin has the same one. */
export function hash2(a: number, b: number): number {
  let h = (Math.imul(a, 0x9e3779b1) ^ Math.imul(b + 0x7f4a7c15, 0x85ebca6b)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** Seed squares of the initial condition: centre row, centre column, half width. */
export function seeds(rows: number, cols: number): Array<[number, number, number]> {
  const half = Math.max(1, Math.floor(Math.min(rows, cols) / 40));
  return Array.from({ length: 20 }, (_, s) => [hash2(s, 1) % rows, hash2(s, 2) % cols, half]);
}

/**
 * One rank's block of the grid: rows [r0, r1) and columns [c0, c1) of the global grid, stored
 * with a halo of one cell, row-major, `width = (c1 - c0) + 2` doubles per row.
 */
export class Block {
  readonly nx: number;
  readonly ny: number;
  readonly width: number;
  u: Float64Array;
  v: Float64Array;
  /** The next state; swapped with u, v after each step. */
  private u2: Float64Array;
  private v2: Float64Array;

  constructor(
    readonly rows: number,
    readonly cols: number,
    readonly r0: number,
    readonly r1: number,
    readonly c0: number,
    readonly c1: number,
  ) {
    this.nx = r1 - r0;
    this.ny = c1 - c0;
    this.width = this.ny + 2;
    const cells = (this.nx + 2) * this.width;
    [this.u, this.v, this.u2, this.v2] = [0, 1, 2, 3].map(() => new Float64Array(cells));
    // Touch the next state's pages now rather than in the first step (the twins do the same).
    this.u2.fill(0);
    this.v2.fill(0);
    this.initialise();
  }

  /**
   * U = 1, V = 0, except in 20 squares placed by a hash (periodic, so they may wrap) where
   * U = 0.5, V = 0.25; plus a small deterministic perturbation 0.02 × (hash noise − 0.5)
   * everywhere, as Pearson adds random noise. Depends only on the global cell, never on the
   * decomposition.
   */
  private initialise(): void {
    const squares = seeds(this.rows, this.cols);
    const near = (x: number, c: number, n: number, half: number) => Math.min((((x - c) % n) + n) % n, (((c - x) % n) + n) % n) <= half;
    for (let i = 0; i < this.nx; i++) {
      const gi = this.r0 + i;
      for (let j = 0; j < this.ny; j++) {
        const gj = this.c0 + j;
        const seeded = squares.some(([ci, cj, half]) => near(gi, ci, this.rows, half) && near(gj, cj, this.cols, half));
        const o = (i + 1) * this.width + j + 1;
        this.u[o] = (seeded ? 0.5 : 1.0) + 0.02 * (hash2(gi, gj) / 4294967296 - 0.5);
        this.v[o] = (seeded ? 0.25 : 0.0) + 0.02 * (hash2(gj + 7919, gi) / 4294967296 - 0.5);
      }
    }
  }

  /**
   * Update cells in rows [i0, i1) × columns [j0, j1) (1-based local indices: the block's own
   * cells are 1..nx × 1..ny) from u, v into the next state. Five-point Laplacian; the order of
   * the operations is the twins' order, so the results agree to the last bit.
   */
  update(p: Params, i0: number, i1: number, j0: number, j1: number): void {
    const { u, v, u2, v2, width: w } = this;
    const { Du, Dv, F, dt } = p,
      Fk = p.F + p.k;
    for (let i = i0; i < i1; i++) {
      let o = i * w + j0;
      const end = i * w + j1;
      // the left and centre values roll along the row: one new load of each field per cell
      let ul = u[o - 1]!,
        uc = u[o]!,
        vl = v[o - 1]!,
        vc = v[o]!;
      for (; o < end; o++) {
        const ur = u[o + 1]!,
          vr = v[o + 1]!;
        const lu = u[o - w]! + ul - 4 * uc + ur + u[o + w]!;
        const lv = v[o - w]! + vl - 4 * vc + vr + v[o + w]!;
        const uvv = uc * vc * vc;
        u2[o] = uc + dt * (Du * lu - uvv + F * (1 - uc));
        v2[o] = vc + dt * (Dv * lv + uvv - Fk * vc);
        ul = uc;
        uc = ur;
        vl = vc;
        vc = vr;
      }
    }
  }

  /** Everything that does not read the halo: rows 2..nx-1, columns 2..ny-1. */
  updateInterior(p: Params): void {
    if (this.nx > 2 && this.ny > 2) this.update(p, 2, this.nx, 2, this.ny);
  }

  /** The ring of cells next to the halo (first and last row and column). */
  updateRing(p: Params): void {
    const { nx, ny } = this;
    this.update(p, 1, 2, 1, ny + 1);
    if (nx > 1) this.update(p, nx, nx + 1, 1, ny + 1);
    if (nx > 2) {
      this.update(p, 2, nx, 1, 2);
      if (ny > 1) this.update(p, 2, nx, ny, ny + 1);
    }
  }

  /** The next state becomes the current one. */
  swap(): void {
    [this.u, this.u2] = [this.u2, this.u];
    [this.v, this.v2] = [this.v2, this.v];
  }

  /** Own cells of u and v (no halo), row-major, u first: for gathering. */
  interior(): Float64Array {
    const out = new Float64Array(2 * this.nx * this.ny);
    for (let i = 0; i < this.nx; i++) {
      const from = (i + 1) * this.width + 1;
      out.set(this.u.subarray(from, from + this.ny), i * this.ny);
      out.set(this.v.subarray(from, from + this.ny), (this.nx + i) * this.ny);
    }
    return out;
  }
}
