/**
 * Allgather by Bruck's algorithm (Bruck et al. 1997): ceil(log2 n) rounds for any n; in
 * round k each rank sends the min(2^k, n - 2^k) blocks it has to rank - 2^k and gets as many
 * from rank + 2^k. Each block travels as its own value (typed arrays as raw frames), so the
 * total volume equals a ring's while the latency is logarithmic: one algorithm for all sizes.
 */
import type { TypedArray } from "../../comm/wire/values.js";
import { exchange, type Lane } from "../collective-protocol.js";
import { concat } from "../counts.js";

export async function bruck<T>(ch: Lane, value: T): Promise<T[]> {
  const { rank, size } = ch;
  const blocks: T[] = [value]; // blocks[i] belongs to rank (rank + i) % size
  for (let k = 1; k < size; k *= 2) {
    const count = Math.min(k, size - k);
    blocks.push(...(await exchange<T[]>(ch, (rank - k + size) % size, blocks.slice(0, count), (rank + k) % size)));
  }
  return Array.from({ length: size }, (_, r) => blocks[(r - rank + size) % size]!);
}

export async function bruckAllgatherv<T extends TypedArray>(ch: Lane, array: T, into?: T): Promise<T> {
  return concat(ch, array, await bruck(ch, array), into);
}
