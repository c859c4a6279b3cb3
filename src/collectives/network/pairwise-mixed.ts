/**
 * Alltoallw (MPI_Alltoallw): per-peer counts, displacements and types. In TypeScript a block
 * carries all three (a typed array view: its class is the type, its length the count, its
 * byteOffset the displacement), so rank i passes one typed array per rank, of any kinds, and
 * gets one back from each; `into` gives the arrays they land in. Pairwise exchange, as
 * alltoallv: round s sends to rank + s and receives from rank - s.
 */
import { copyArray, isTypedArray } from "../../comm/wire/arrays.js";
import type { TypedArray } from "../../comm/wire/values.js";
import { describe } from "../../comm/wire/validate.js";
import { overlaps, put, target } from "../../comm/engine/into.js";
import { ArgumentError, callError } from "../../errors.js";
import { deferred } from "../displs.js";
import { collectiveGuard, exchange, settle, type Lane, type CollectiveFailure } from "../collective-protocol.js";

/** `list`, once known to be one typed array per rank (named `name` in the error). */
function perRank(ch: Lane, name: string, list: unknown): readonly TypedArray[] {
  if (Array.isArray(list) && list.length === ch.size && list.every(isTypedArray)) return list as TypedArray[];
  const got = Array.isArray(list) ? `[${list.map(describe).join(", ")}]` : describe(list);
  throw callError(ArgumentError, ch.call, ch.rank, `${name} must be an array of ${ch.size} typed arrays (one block per rank, of any kinds), got ${got}`);
}

/**
 * Send `blocks[j]` to rank j; resolve to the block each rank sent here, in rank order (in
 * `into[j]` when given: each must be a typed array of the sender's kind with room for it).
 */
export async function pairwiseAlltoallw(ch: Lane, blocks: readonly TypedArray[], into?: readonly TypedArray[]): Promise<TypedArray[]> {
  const { rank, size } = ch;
  let problem = into === undefined ? undefined : deferred(() => perRank(ch, "into", into));
  const sending = collectiveGuard(ch, () => {
    const checked = perRank(ch, "blocks", blocks);
    // In place (into over the blocks, as MPI_IN_PLACE): a block received early would overwrite one not yet sent.
    const overlapping = problem === undefined && into !== undefined && checked.some((b) => into.some((t) => overlaps(b, t)));
    return overlapping ? checked.map((b) => copyArray(b)) : checked;
  });
  const room = (source: number) => (problem === undefined ? target(into?.[source]) : undefined);
  const block = (dest: number) => (Array.isArray(sending) ? sending[dest]! : (sending as CollectiveFailure));
  const got: Array<TypedArray | CollectiveFailure> = new Array(size);
  got[rank] = Array.isArray(sending) && into === undefined ? copyArray(sending[rank]!) : block(rank);
  for (let s = 1; s < size; s++) {
    const dest = (rank + s) % size,
      source = (rank - s + size) % size;
    got[source] = await exchange<TypedArray | CollectiveFailure>(ch, dest, block(dest), source, room(source));
  }
  const received = got.map((value) => settle(ch, value));
  if (into === undefined) return received;
  for (let r = 0; r < size && problem === undefined; r++) problem = deferred(() => landed(ch, r, into[r]!, received[r]!));
  if (problem) throw problem;
  return into as TypedArray[];
}

/** Rank `source`'s block copied to `place` (unless the transport wrote it there), once known to fit. */
function landed(ch: Lane, source: number, place: TypedArray, block: TypedArray): void {
  if (place.constructor !== block.constructor || place.length < block.length) {
    throw callError(
      ArgumentError,
      ch.call,
      ch.rank,
      `into[${source}] must be a ${block.constructor.name} of at least ${block.length} elements (what rank ${source} sent), got ${describe(place)}`,
    );
  }
  put(place, block);
}
