/**
 * Alltoall by pairwise exchange (as MPICH for medium and large messages): n - 1 rounds; in
 * round s each rank sends to rank + s and receives from rank - s, so every round is a
 * permutation and no rank is flooded. Rounds run one after another to bound memory.
 */
import type { TypedArray } from "../../comm/wire/values.js";
import { ArgumentError, callError } from "../../errors.js";
import { CollectiveFailure, exchange, collectiveGuard, settle, type Lane } from "../collective-protocol.js";
import { checkArray, concat, displacements } from "../counts.js";

/** Exchange one block with every rank; a local failure is sent to everyone in place of data. */
async function pairwise<T>(ch: Lane, blockFor: ((dest: number) => T) | CollectiveFailure): Promise<T[]> {
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

export async function pairwiseAlltoall<T>(ch: Lane, values: readonly T[]): Promise<T[]> {
  return pairwise(
    ch,
    collectiveGuard(ch, () => {
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

/** Alltoallv; `failed`: a misuse this rank found before (see displs.ts), sent to every rank in place of data. */
export async function pairwiseAlltoallv<T extends TypedArray>(ch: Lane, array: T, counts: readonly number[], into?: T, failed?: CollectiveFailure): Promise<T> {
  const blocks = await pairwise(
    ch,
    failed ??
      collectiveGuard(ch, () => {
        checkArray(ch, "array", array);
        const offsets = displacements(ch, counts, array.length);
        return (dest: number) => array.subarray(offsets[dest]!, offsets[dest]! + counts[dest]!) as TypedArray;
      }),
  );
  return concat(ch, array, blocks, into);
}
