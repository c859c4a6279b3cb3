// V as a picture: a magma-like colour map over the frame's range of V, encoded by fast-png
// (pure JavaScript, no native build).
import { writeFileSync } from "node:fs";
import { encode } from "fast-png";

/** Colour-map control points (position, r, g, b), after matplotlib's "magma". */
const MAP = [
  [0, 0, 0, 4],
  [0.25, 80, 18, 123],
  [0.5, 182, 54, 121],
  [0.75, 251, 136, 97],
  [1, 252, 253, 191],
] as const;

function colour(t: number, rgb: Uint8Array, at: number): void {
  let k = 1;
  while (k < MAP.length - 1 && t > MAP[k]![0]) k++;
  const [t0, r0, g0, b0] = MAP[k - 1]!,
    [t1, r1, g1, b1] = MAP[k]!;
  const f = Math.min(1, Math.max(0, (t - t0) / (t1 - t0)));
  rgb[at] = Math.round(r0 + f * (r1 - r0));
  rgb[at + 1] = Math.round(g0 + f * (g1 - g0));
  rgb[at + 2] = Math.round(b0 + f * (b1 - b0));
}

/**
 * Write `field` (rows × cols, row-major) as an RGB PNG, colour-mapped from its minimum to its
 * maximum; `scale` > 1 shrinks it by averaging scale × scale cells (for small pictures of big grids).
 */
export function writePng(path: string, field: Float64Array, rows: number, cols: number, scale = 1): void {
  const h = Math.floor(rows / scale),
    w = Math.floor(cols / scale);
  const small = new Float64Array(h * w);
  for (let i = 0; i < h * scale; i++) for (let j = 0; j < w * scale; j++) small[Math.floor(i / scale) * w + Math.floor(j / scale)] += field[i * cols + j]!;
  let lo = Infinity,
    hi = -Infinity;
  for (const x of small) [lo, hi] = [Math.min(lo, x), Math.max(hi, x)];
  const rgb = new Uint8Array(3 * h * w);
  for (let p = 0; p < h * w; p++) colour(hi > lo ? (small[p]! - lo) / (hi - lo) : 0, rgb, 3 * p);
  writeFileSync(path, encode({ width: w, height: h, data: rgb, channels: 3, depth: 8 }));
}
