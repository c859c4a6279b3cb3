/**
 * The collective operations, one dispatcher per MPI call (see locality.ts): each takes a
 * {@link Channel} and picks an algorithm of host/, hierarchical/ or network/.
 */
export { barrier } from "./barrier.js";
export { bcast } from "./bcast.js";
export { allreduce } from "./allreduce.js";
export { allgather, allgatherv } from "./allgather.js";
export { alltoall, alltoallv, alltoallw } from "./alltoall.js";
export { reduce, scan, exscan, reduceScatter } from "./reduce.js";
export { scatter, gather, scatterv, gatherv } from "./scatter-gather.js";
export { gathervAt, allgathervAt, alltoallvAt } from "./displaced.js";
export { split, UNDEFINED } from "./agreement/split.js";
export { RING_BYTES } from "./network/reductions.js";
export type { TypedArray } from "../comm/wire/values.js";
