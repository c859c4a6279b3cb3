/** MPI_Scatter, MPI_Gather, MPI_Scatterv and MPI_Gatherv: by host (hierarchical), or on a binomial tree (scatter, gather) or linearly (the v-forms). */
import type { TypedArray } from "../comm/wire/values.js";
import { checkRoot } from "../comm/wire/validate.js";
import type { Channel } from "./collective-protocol.js";
import { hierarchicalGather, hierarchicalGatherv, hierarchicalScatter, hierarchicalScatterv } from "./hierarchical/rooted.js";
import { choose, refused } from "./locality.js";
import { binomialGather, binomialScatter } from "./network/binomial.js";
import { linearGatherv, linearScatterv } from "./network/linear.js";

export function scatter<T>(ch: Channel, values: readonly T[] | undefined, root = 0): Promise<T> {
  return (
    refused(() => checkRoot(ch, root)) ??
    choose(ch, { tiers: (t) => hierarchicalScatter(ch, t, values, root), messages: () => binomialScatter(ch, values, root) })
  );
}

export function gather<T>(ch: Channel, value: T, root = 0): Promise<T[] | undefined> {
  return (
    refused(() => checkRoot(ch, root)) ?? choose(ch, { tiers: (t) => hierarchicalGather(ch, t, value, root), messages: () => binomialGather(ch, value, root) })
  );
}

/** Scatterv; `displs` (read at the root): where each rank's block starts in the root's array, else packed. */
export function scatterv<T extends TypedArray>(
  ch: Channel,
  array: T | undefined,
  counts: readonly number[],
  root = 0,
  into?: T,
  displs?: readonly number[],
): Promise<T> {
  return (
    refused(() => checkRoot(ch, root)) ??
    choose(ch, {
      tiers: (t) => hierarchicalScatterv(ch, t, { array, counts, root, into, displs }),
      messages: () => linearScatterv(ch, array, counts, root, into, displs),
    })
  );
}

export function gatherv<T extends TypedArray>(ch: Channel, array: T, root = 0, into?: T): Promise<T | undefined> {
  return (
    refused(() => checkRoot(ch, root)) ??
    choose(ch, { tiers: (t) => hierarchicalGatherv(ch, t, array, root, into), messages: () => linearGatherv(ch, array, root, into) })
  );
}
