/**
 * Alltoall by pairwise exchange (as MPICH for medium and large messages): n - 1 rounds; in
 * round s each rank sends to rank + s and receives from rank - s, so every round is a
 * permutation and no rank is flooded. Rounds run one after another to bound memory.
 */
import type { Comm } from "../comm/communicator.js";
import type { TypedArray } from "../comm/codec.js";
import { ArgumentError, callError } from "../errors.js";
import { CollectiveFailure, exchange, guard, settle, type Channel } from "./channel.js";
import { checkArray, concat, displacements } from "./arrays.js";

/** Exchange one block with every rank; a local failure is sent to everyone in place of data. */
async function pairwise<T>(ch: Channel, blockFor: ((dest: number) => T) | CollectiveFailure): Promise<T[]> {
  const { rank, size } = ch;
  const block = (dest: number) => (blockFor instanceof CollectiveFailure ? blockFor : blockFor(dest));
  const out: Array<T | CollectiveFailure> = new Array(size);
  out[rank] = block(rank);
  for (let s = 1; s < size; s++) {
    const dest = (rank + s) % size,
      source = (rank - s + size) % size;
    out[source] = await exchange<T | CollectiveFailure>(ch, dest, block(dest), source);
  }
  return out.map((value) => settle(ch, value));
}

export async function alltoall<T>(comm: Comm, values: readonly T[]): Promise<T[]> {
  const ch = comm.channel("alltoall");
  return pairwise(
    ch,
    guard(ch, () => {
      if (!Array.isArray(values) || values.length !== ch.size) {
        throw callError(
          ArgumentError,
          "alltoall",
          ch.rank,
          `values must be an array of ${ch.size} values (one per rank), got ${Array.isArray(values) ? `${values.length} values` : typeof values}`,
        );
      }
      return (dest: number) => values[dest]!;
    }),
  );
}

export async function alltoallv<T extends TypedArray>(comm: Comm, array: T, counts: readonly number[]): Promise<T> {
  const ch = comm.channel("alltoallv");
  const blocks = await pairwise(
    ch,
    guard(ch, () => {
      checkArray(ch, "array", array);
      const offsets = displacements(ch, counts, array.length);
      return (dest: number) => array.subarray(offsets[dest]!, offsets[dest]! + counts[dest]!) as TypedArray;
    }),
  );
  return concat(ch, array, blocks);
}
