// Deterministic test signals, so every rank (and the serial check) can make any row by index.

/** mulberry32: a tiny seeded PRNG, plenty for synthetic noise. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Row `row` of the batch: two tones whose frequencies depend on the row, plus noise. */
export function fillSignal(out: Float64Array, row: number): Float64Array {
  const n = out.length,
    random = rng(row + 1);
  const f1 = 1 + (row % 97),
    f2 = 200 + ((row * 7) % 1000);
  for (let t = 0; t < n; t++) out[t] = Math.sin((2 * Math.PI * f1 * t) / n) + 0.5 * Math.cos((2 * Math.PI * f2 * t) / n) + 0.1 * (random() - 0.5);
  return out;
}

/** Rows per rank for `total` rows, as even as possible. */
export function splitRows(total: number, size: number): number[] {
  return Array.from({ length: size }, (_, r) => Math.floor(total / size) + (r < total % size ? 1 : 0));
}
