/**
 * Explicit displacements in the v-collectives (mpi4py's `[buf, counts, displs]`): block r of a
 * buffer is the `counts[r]` elements from element `displs[r]`, with gaps and in any order.
 *
 * The algorithms (board, stage, single copy, messages) work on packed blocks, one after the
 * other in rank order. Displacements that are the packed ones (the prefix sums of the counts,
 * what most callers pass) cost nothing; others cost one copy: the send side is packed first,
 * the receive side is received packed and then put in place. Gaps are left as they are.
 */
import type { TypedArray } from "../comm/wire/values.js";
import { checkInto } from "../comm/engine/into.js";
import { describe } from "../comm/wire/validate.js";
import { ArgumentError, callError } from "../errors.js";
import { checkArray } from "./counts.js";
import { collectiveGuard, CollectiveFailure, type Lane } from "./collective-protocol.js";

/** Where the blocks of a buffer lie: `counts[r]` elements from element `displs[r]`. */
export interface Layout {
  counts: readonly number[];
  displs: readonly number[];
}

const sizeList = (ch: Lane, list: unknown): list is number[] =>
  Array.isArray(list) && list.length === ch.size && list.every((x) => Number.isInteger(x) && x >= 0);

/**
 * The layout given by `counts` and `displs` (the packed one where `displs` is undefined),
 * checked: one non-negative integer per rank in each. `names` say what the caller called them.
 */
export function layoutOf(ch: Lane, counts: unknown, displs: unknown, names = ["counts", "displs"]): Layout {
  if (!sizeList(ch, counts)) {
    const hint = counts === undefined && displs !== undefined ? `; ${names[1]} needs ${names[0]}, as in MPI` : "";
    throw callError(ArgumentError, ch.call, ch.rank, `${names[0]} must be ${ch.size} non-negative integers (one per rank), got ${listed(counts)}${hint}`);
  }
  if (displs === undefined) return { counts, displs: packedDispls(counts) };
  if (!sizeList(ch, displs)) {
    throw callError(
      ArgumentError,
      ch.call,
      ch.rank,
      `${names[1]} must be ${ch.size} non-negative integers (one element offset per rank), got ${listed(displs)}`,
    );
  }
  return { counts, displs };
}

const listed = (value: unknown): string => (Array.isArray(value) ? JSON.stringify(value) : describe(value));

/** The displacements of blocks packed one after the other: the prefix sums of `counts`. */
export function packedDispls(counts: readonly number[]): number[] {
  const displs: number[] = [];
  let sum = 0;
  for (const c of counts) {
    displs.push(sum);
    sum += c;
  }
  return displs;
}

/** Elements the layout spans: the end of its last-ending block. */
export function extent({ counts, displs }: Layout): number {
  let end = 0;
  for (let r = 0; r < counts.length; r++) if (counts[r]! > 0) end = Math.max(end, displs[r]! + counts[r]!);
  return end;
}

/** Are the blocks packed one after the other from element 0, in rank order (no copy needed)? */
export function isPacked({ counts, displs }: Layout): boolean {
  let sum = 0;
  for (let r = 0; r < counts.length; r++) {
    if (displs[r] !== sum) return false;
    sum += counts[r]!;
  }
  return true;
}

/** `layout`, once every block of it is known to lie inside `array` (named `name` in the error). */
export function inside(ch: Lane, layout: Layout, array: TypedArray, name: string): Layout {
  const end = extent(layout);
  if (end > array.length) {
    throw callError(
      ArgumentError,
      ch.call,
      ch.rank,
      `the blocks of ${name} reach element ${end} but it has ${array.length}; make every displs[r] + counts[r] at most its length`,
    );
  }
  return layout;
}

/**
 * The send side of a collective with a layout: `array` itself when its blocks are packed (cut
 * to their total), else the blocks copied one after the other. A misfit becomes a failure
 * that the collective then sends to every rank in place of data.
 */
export function packed<T extends TypedArray>(ch: Lane, array: T, counts: unknown, displs: unknown): T | CollectiveFailure {
  return collectiveGuard(ch, () => {
    const layout = inside(ch, layoutOf(ch, counts, displs), checkArray(ch, "array", array), "array");
    const total = layout.counts.reduce((a, b) => a + b, 0);
    if (isPacked(layout)) return array.length === total ? array : (array.subarray(0, total) as T);
    const out = new (array.constructor as new (n: number) => T)(total);
    for (let r = 0, at = 0; r < ch.size; at += layout.counts[r]!, r++) {
      (out as Uint8Array).set(array.subarray(layout.displs[r]!, layout.displs[r]! + layout.counts[r]!) as Uint8Array, at);
    }
    return out;
  });
}

/**
 * The receive side: packed blocks (`counts[r]` elements each, in rank order) put at their
 * displacements in `into`, or in a new zeroed array spanning the layout. Gaps keep what was there.
 */
export function unpacked<T extends TypedArray>(ch: Lane, packedBlocks: T, layout: Layout, into?: T, name = "counts"): T {
  totalled(ch, packedBlocks, layout, name);
  const end = extent(layout);
  if (into !== undefined) checkInto(ch, into, packedBlocks, end);
  const out = into ?? new (packedBlocks.constructor as new (n: number) => T)(end);
  for (let r = 0, at = 0; r < ch.size; at += layout.counts[r]!, r++) {
    (out as Uint8Array).set(packedBlocks.subarray(at, at + layout.counts[r]!) as Uint8Array, layout.displs[r]!);
  }
  return out;
}

/** `packedBlocks`, once known to hold as many elements as the counts of `layout` add up to. */
export function totalled<T extends TypedArray>(ch: Lane, packedBlocks: T, layout: Layout, name = "counts"): T {
  const total = layout.counts.reduce((a, b) => a + b, 0);
  if (packedBlocks.length !== total) {
    throw callError(
      ArgumentError,
      ch.call,
      ch.rank,
      `${name} add up to ${total} elements but the ranks sent ${packedBlocks.length}; every rank's count must be what it sends`,
    );
  }
  return packedBlocks;
}

/** Run `check`; its ArgumentError, to throw once the collective is over (so no rank waits for this one). */
export function deferred(check: () => unknown): Error | undefined {
  try {
    check();
    return undefined;
  } catch (error) {
    if (error instanceof ArgumentError) return error;
    throw error;
  }
}
