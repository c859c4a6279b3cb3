/** The collective operations, one module per algorithm family; each takes a {@link Channel}. */
export { barrier } from "./barrier.js";
export { bcast, scatter, gather } from "./binomial.js";
export { allgather, allgatherv } from "./allgather.js";
export { alltoall, alltoallv } from "./alltoall.js";
export { reduce, allreduce, scan, exscan, reduceScatter, RING_BYTES } from "./reduce.js";
export { scatterv, gatherv } from "./vector.js";
export { split, UNDEFINED } from "./split.js";
export type { TypedArray } from "../comm/values.js";
