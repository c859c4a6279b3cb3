/** Message sizes and iteration counts shared by the tsmpi benchmarks (and mirrored in the .py/.mjs twins). */
export const DEFAULT_SIZES = [1, 8, 64, 512, 4096, 32768, 262144, 1 << 20, 4 << 20, 16 << 20, 64 << 20];

/** Enough round trips for a stable mean (10 000 for small messages, as osu_latency), fewer for large ones. */
export function iterations(size: number): number {
  return Math.max(5, Math.min(10_000, Math.round(5e8 / (size + 50_000))));
}

/** A "plain object" message: a JS array of size/8 doubles (the mpi4py twin pickles a list of floats). */
export function objectPayload(size: number): number[] {
  return Array.from({ length: Math.max(1, size / 8) }, (_, i) => i + 0.5);
}

/** Collective sizes (bytes per rank), 8 B to 8 MiB. */
export const COLLECTIVE_SIZES = [8, 64, 512, 4096, 32768, 262144, 1 << 20, 8 << 20];

/** Fewer calls for large data and for more (oversubscribed) ranks; at least 20, so that one slow call does not make the mean. */
export function collectiveIterations(size: number, n: number): number {
  return Math.max(20, Math.min(5000, Math.round(2e8 / ((size + 20_000) * n * n))));
}
