/**
 * gatherv, allgatherv and alltoallv with explicit counts and displacements on the receive side
 * (and on the send side of alltoallv), as mpi4py's `[buf, counts, displs]`: see displs.ts. The
 * root of gatherv receives each block straight into its place; the others run the packed
 * algorithm and put the blocks in place after, unless the displacements are the packed ones.
 * A layout that does not fit is refused once the collective is over (no rank waits for this one).
 */
import type { TypedArray } from "../comm/wire/values.js";
import { apart, checkInto, put, target } from "../comm/engine/into.js";
import { checkRoot } from "../comm/wire/validate.js";
import { ArgumentError, callError } from "../errors.js";
import { checkArray, sameType } from "./counts.js";
import { deferred, extent, isPacked, layoutOf, packed, totalled, unpacked, type Layout } from "./displs.js";
import { CollectiveFailure, type Channel } from "./collective-protocol.js";
import { allgatherv } from "./allgather.js";
import { alltoallv } from "./alltoall.js";
import { gatherv } from "./scatter-gather.js";

/** The error for a rank whose block is not the length its count says. */
const miscounted = (ch: Channel, who: number, length: number, counts: string, count: number) =>
  callError(ArgumentError, ch.call, ch.rank, `rank ${who} sent ${length} elements but ${counts}[${who}] is ${count}; every rank's count must be what it sends`);

/** Gatherv; at the root, `counts`/`displs` say where each rank's block goes in the result. */
export async function gathervAt<T extends TypedArray>(
  ch: Channel,
  array: T,
  root: number,
  into?: T,
  counts?: unknown,
  displs?: unknown,
): Promise<T | undefined> {
  checkRoot(ch, root);
  if (ch.rank !== root || (counts === undefined && displs === undefined)) return gatherv(ch, array, root, into);
  let layout: Layout | undefined;
  let problem = deferred(() => {
    checkArray(ch, "array", array);
    layout = layoutOf(ch, counts, displs);
  });
  const out = layout && (into ?? new (array.constructor as new (n: number) => T)(extent(layout)));
  if (layout !== undefined && into !== undefined) problem ??= deferred(() => checkInto(ch, into, array, extent(layout!)));
  // Every block is received, even after a problem, so that no sender waits for a root that gave up.
  for (let r = 0; r < ch.size; r++) {
    const count = layout?.counts[r] ?? 0,
      at = layout?.displs[r] ?? 0;
    const space = problem === undefined && out !== undefined ? target(out)?.subarray(at, at + count) : undefined;
    const block = r === root ? array : await ch.recv<TypedArray>(r, space);
    problem ??= deferred(() => {
      sameType(ch, array, block);
      if (block.length !== count) throw miscounted(ch, r, block.length, "counts", count);
    });
    if (problem === undefined) put(out!, block, at);
  }
  if (problem) throw problem;
  return out;
}

/** Allgatherv; `counts`/`displs` say where each rank's block goes in the result. */
export async function allgathervAt<T extends TypedArray>(ch: Channel, input: T, into?: T, counts?: unknown, displs?: unknown): Promise<T> {
  // `input` may overlap `into`: allgatherv works around that, the displaced layouts here on a copy.
  if (counts === undefined && displs === undefined) return allgatherv(ch, input, into);
  const array = apart(input, into);
  let layout: Layout | undefined;
  const problem = deferred(() => {
    layout = layoutOf(ch, counts, displs);
    const own = layout.counts[ch.rank]!;
    if (checkArray(ch, "array", array).length !== own) throw miscounted(ch, ch.rank, array.length, "counts", own);
  });
  if (problem !== undefined || isPacked(layout!)) {
    const result = await allgatherv(ch, array, problem === undefined ? into : undefined);
    if (problem) throw problem;
    return into === undefined ? totalled(ch, result, layout!) : result;
  }
  return unpacked(ch, await allgatherv(ch, array), layout!, into);
}

/** Where alltoallv's blocks are (the user's options as they came: each checked here). */
export interface Displaced<T> {
  into?: T;
  /** where each destination's block starts in the array */
  displs?: unknown;
  /** where each source's block goes in the result */
  recvCounts?: unknown;
  recvDispls?: unknown;
}

/** Alltoallv, with blocks where `options` say (see {@link Displaced}). */
export async function alltoallvAt<T extends TypedArray>(ch: Channel, array: T, counts: readonly number[], options: Displaced<T> = {}): Promise<T> {
  const { into, displs, recvCounts, recvDispls } = options;
  const send = displs === undefined ? array : packed(ch, array, counts, displs);
  const failed = send instanceof CollectiveFailure ? send : undefined;
  const data = failed ? array : (send as T);
  if (recvCounts === undefined && recvDispls === undefined) return alltoallv(ch, data, counts, into, failed);
  let layout: Layout | undefined;
  const problem = deferred(() => (layout = layoutOf(ch, recvCounts, recvDispls, ["recvCounts", "recvDispls"])));
  if (problem !== undefined || isPacked(layout!)) {
    const result = await alltoallv(ch, data, counts, problem === undefined ? into : undefined, failed);
    if (problem) throw problem;
    return into === undefined ? totalled(ch, result, layout!, "recvCounts") : result;
  }
  return unpacked(ch, await alltoallv(ch, data, counts, undefined, failed), layout!, into, "recvCounts");
}
