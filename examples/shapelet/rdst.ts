// The random dilated shapelet transform (RDST: Guillaume, Vrain & Elloumi, 2022; the `convst`
// package): K random shapelets, each giving three features per series (the minimum of its
// distance profile, where that minimum is, and how many positions are closer than a threshold).
//
// The kernel groups shapelets by (length, dilation): for one series, the dilated windows and
// their z-normalised versions are laid out once per group and shared by every shapelet in it,
// so the inner loop is a plain L1 distance over contiguous memory.
import { rng } from "../fft/signals.js";

/** K shapelets, flat typed arrays (they travel as raw frames in a bcast). */
export interface Shapelets {
  count: number;
  maxLength: number;
  /** count × maxLength values (z-normalised ones already normalised) */
  values: Float64Array;
  lengths: Int32Array;
  dilations: Int32Array;
  /** 1 if the shapelet compares against z-normalised windows */
  normalized: Uint8Array;
  /** λ: distances ≤ λ count as occurrences (the SO feature) */
  thresholds: Float64Array;
}

export interface DrawOptions {
  count: number;
  lengths: number[];
  /** probability that a shapelet is z-normalised @default 0.8 */
  normalizeProbability?: number;
  seed?: number;
}

/** Mean and standard deviation of x[p + j·d], j < l. */
function windowStats(x: Float64Array, p: number, l: number, d: number): [number, number] {
  let sum = 0,
    sq = 0;
  for (let j = 0; j < l; j++) {
    const v = x[p + j * d]!;
    sum += v;
    sq += v * v;
  }
  const mean = sum / l,
    variance = Math.max(0, sq / l - mean * mean);
  return [mean, Math.sqrt(variance)];
}

/** z-normalise in place; a flat window (std ≈ 0) becomes zeros. */
function zNormalize(values: Float64Array, mean: number, std: number): void {
  for (let j = 0; j < values.length; j++) values[j] = std > 1e-8 ? (values[j]! - mean) / std : 0;
}

/** Windows of one series for one (length, dilation): raw and z-normalised, P × l each. */
function layoutWindows(x: Float64Array, l: number, d: number, raw: Float64Array, norm: Float64Array): number {
  const positions = x.length - (l - 1) * d;
  for (let p = 0; p < positions; p++) {
    const [mean, std] = windowStats(x, p, l, d);
    const inv = std > 1e-8 ? 1 / std : 0;
    for (let j = 0; j < l; j++) {
      const v = x[p + j * d]!;
      raw[p * l + j] = v;
      norm[p * l + j] = std > 1e-8 ? (v - mean) * inv : 0;
    }
  }
  return positions;
}

/** Distance profile of one shapelet against laid-out windows. */
function profile(windows: Float64Array, positions: number, s: Float64Array, offset: number, l: number, out: Float64Array): void {
  for (let p = 0; p < positions; p++) {
    let acc = 0;
    const base = p * l;
    for (let j = 0; j < l; j++) acc += Math.abs(windows[base + j]! - s[offset + j]!);
    out[p] = acc;
  }
}

/**
 * Draw K shapelets from labelled series (rank 0 does this and broadcasts the result).
 * @param X n × T series, row-major
 * @param y class of each series
 */
export function drawShapelets(X: Float64Array, y: Int32Array, T: number, options: DrawOptions): Shapelets {
  const n = y.length,
    K = options.count,
    random = rng(options.seed ?? 42);
  const maxLength = Math.max(...options.lengths);
  const sh: Shapelets = {
    count: K,
    maxLength,
    values: new Float64Array(K * maxLength),
    lengths: new Int32Array(K),
    dilations: new Int32Array(K),
    normalized: new Uint8Array(K),
    thresholds: new Float64Array(K),
  };
  const byClass = new Map<number, number[]>();
  y.forEach((c, i) => byClass.set(c, [...(byClass.get(c) ?? []), i]));
  const raw = new Float64Array(T * maxLength),
    norm = new Float64Array(T * maxLength),
    dist = new Float64Array(T);
  for (let k = 0; k < K; k++) {
    const l = options.lengths[Math.floor(random() * options.lengths.length)]!;
    const maxU = Math.log2((T - 1) / (l - 1));
    const d = Math.floor(2 ** (random() * maxU));
    const i = Math.floor(random() * n);
    const p = Math.floor(random() * (T - (l - 1) * d));
    const x = X.subarray(i * T, (i + 1) * T);
    const values = sh.values.subarray(k * maxLength, k * maxLength + l);
    for (let j = 0; j < l; j++) values[j] = x[p + j * d]!;
    const normalized = random() < (options.normalizeProbability ?? 0.8);
    if (normalized) zNormalize(values, ...windowStats(x, p, l, d));
    // λ: between the 5th and 10th percentile of the distances to another series of the class
    const same = byClass.get(y[i]!)!;
    const other = same.length > 1 ? same.filter((j) => j !== i)[Math.floor(random() * (same.length - 1))]! : i;
    const positions = layoutWindows(X.subarray(other * T, (other + 1) * T), l, d, raw, norm);
    profile(normalized ? norm : raw, positions, sh.values, k * maxLength, l, dist);
    const sorted = dist.slice(0, positions).sort();
    const q = ((5 + 5 * random()) / 100) * (positions - 1);
    const lo = Math.floor(q),
      hi = Math.min(positions - 1, lo + 1);
    sh.thresholds[k] = sorted[lo]! + (q - lo) * (sorted[hi]! - sorted[lo]!);
    sh.lengths[k] = l;
    sh.dilations[k] = d;
    sh.normalized[k] = normalized ? 1 : 0;
  }
  return sh;
}

type Kernel = (windows: Float64Array, positions: number, values: Float64Array, offset: number, lambda: number, out: Float64Array, o: number) => void;
const kernels = new Map<number, Kernel>();

/**
 * The distance-profile kernel for one shapelet length, unrolled over that length: V8 then
 * keeps the shapelet's values in registers and the loop body is straight-line code (this is
 * where a JIT beats a generic loop). The sum runs left to right, as the generic loop would,
 * so results are bit-identical to it.
 */
function kernelFor(l: number): Kernel {
  if (!Number.isInteger(l) || l < 1 || l > 64) throw new RangeError(`shapelet length must be an integer in [1, 64], got ${l}`);
  let kernel = kernels.get(l);
  if (kernel === undefined) {
    const j = Array.from({ length: l }, (_, i) => i);
    kernel = new Function(
      "w",
      "positions",
      "s",
      "off",
      "lambda",
      "out",
      "o",
      `${j.map((i) => `const s${i} = s[off + ${i}];`).join("\n")}
      let min = Infinity, argmin = 0, count = 0;
      for (let p = 0, b = 0; p < positions; p++, b += ${l}) {
        const acc = ${j.map((i) => `Math.abs(w[b + ${i}] - s${i})`).join(" + ")};
        if (acc < min) { min = acc; argmin = p; }
        if (acc <= lambda) count++;
      }
      out[o] = min; out[o + 1] = argmin; out[o + 2] = count;`,
    ) as Kernel;
    kernels.set(l, kernel);
  }
  return kernel;
}

/**
 * Transform n series (n × T, row-major) into n × 3K features: for shapelet k, columns
 * 3k, 3k + 1, 3k + 2 hold min distance, argmin position, and the occurrence count.
 */
export function transform(X: Float64Array, T: number, sh: Shapelets): Float64Array {
  const n = X.length / T,
    K = sh.count,
    L = sh.maxLength;
  const out = new Float64Array(n * 3 * K);
  const groups = new Map<number, number[]>();
  for (let k = 0; k < K; k++) {
    const key = sh.lengths[k]! * 65536 + sh.dilations[k]!;
    let g = groups.get(key);
    if (g === undefined) groups.set(key, (g = []));
    g.push(k);
  }
  const raw = new Float64Array(T * L),
    norm = new Float64Array(T * L);
  const values = sh.values,
    thresholds = sh.thresholds,
    normalized = sh.normalized;
  for (let i = 0; i < n; i++) {
    const x = X.subarray(i * T, (i + 1) * T),
      row = i * 3 * K;
    for (const [key, members] of groups) {
      const l = Math.floor(key / 65536),
        d = key % 65536;
      const positions = layoutWindows(x, l, d, raw, norm);
      const kernel = kernelFor(l);
      for (const k of members) kernel(normalized[k] ? norm : raw, positions, values, k * L, thresholds[k]!, out, row + 3 * k);
    }
  }
  return out;
}
