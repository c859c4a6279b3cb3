// What the tsmpi ports of mpi4py's OSU demos share: their parameters (defaults as in the demo,
// overridden by name=value arguments, as run_demo.py does for the demos), written buffers, and
// the demos' output format, which bench/osu.mjs reads for both.
import type { Comm } from "tsmpi";

/** The demo's keyword arguments: `defaults`, with `name=value` command-line arguments applied. */
export function parameters<T extends Record<string, number>>(defaults: T): T {
  const given = Object.fromEntries(
    process.argv
      .slice(2)
      .map((a) => /^(\w+)=(\d+)$/.exec(a))
      .filter((m) => m !== null)
      .map((m) => [m[1]!, Number(m[2])]),
  );
  for (const name of Object.keys(given))
    if (!(name in defaults)) throw new Error(`unknown parameter ${name}; this benchmark takes ${Object.keys(defaults).join(", ")}`);
  return { ...defaults, ...given };
}

/** A buffer of `n` bytes, written once (the demos' allocate(), as run_demo.py makes it). */
export function allocate(n: number): Uint8Array {
  return new Uint8Array(n).fill(7);
}

/** 0, 1, 2, 4 … up to `max` (the demos' message_sizes), or without 0. */
export function messageSizes(max: number, withZero = true): number[] {
  const sizes = withZero ? [0] : [];
  for (let size = 1; size <= max; size *= 2) sizes.push(size);
  return sizes;
}

/** The demo's header lines, on rank 0. */
export function header(comm: Comm, benchmark: string, unit = "Latency [us]"): void {
  if (comm.rank === 0) console.log(`# ${benchmark}\n# ${"Size [B]".padEnd(8)}${unit.padStart(20)}`);
}

/** One result line as the demos print it: `f"{size:-10d}{value:20.2f}"`. */
export function row(size: number, value: number): void {
  console.log(`${String(size).padStart(10)}${value.toFixed(2).padStart(20)}`);
}
