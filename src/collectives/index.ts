/** The collective operations, one module per algorithm family; each takes a {@link Channel}. */
export { barrier, bcast, allreduce, allgather, allgatherv, alltoall, alltoallv } from "./small.js";
export { scatter, gather } from "./binomial.js";
export { reduce, scan, exscan, reduceScatter, RING_BYTES } from "./reduce.js";
export { scatterv, gatherv } from "./vector.js";
export { gathervAt, allgathervAt, alltoallvAt } from "./displaced.js";
export { alltoallw } from "./alltoallw.js";
export { split, UNDEFINED } from "./split.js";
export type { TypedArray } from "../comm/wire/values.js";
