/**
 * tsmpi: MPI-style message passing for TypeScript on Node.js over ZeroMQ.
 * This file only re-exports the public API. Every module it reaches must declare its types
 * without Node's (no Buffer, no NodeJS namespace): consumers type-check without @types/node.
 */
export { init, abort, wtime } from "./rank/init.js";
export { Comm } from "./api/communicator.js";
export type { IntoOptions, ReduceOptions, ScattervOptions, GathervOptions, AlltoallvOptions, RecvOptions, IrecvOptions } from "./api/options.js";
export type { SignalOptions, AbortSignalLike } from "./api/abort.js";
export { Window, type TypedArrayClass, type LockOptions, type ElementOf } from "./api/window.js";
export { SharedWindow } from "./api/shared-window.js";
export { CartComm } from "./api/cartesian.js";
export { TopoComm, CART, GRAPH, DIST_GRAPH } from "./api/neighbors.js";
export { GraphComm, DistGraphComm } from "./api/graph.js";
export { Group, IDENT, CONGRUENT, SIMILAR, UNEQUAL } from "./api/group.js";
export { COMM_TYPE_SHARED } from "./api/create.js";
export { dimsCreate } from "./comm/engine/topology.js";
export { ANY_SOURCE, ANY_TAG, PROC_NULL, TAG_UB, UNDEFINED } from "./comm/wire/validate.js";
export { Request, Status, waitAll, waitAny, waitSome, testAll, testAny, testSome, type TestResult } from "./comm/engine/request.js";
export { PersistentRequest, startAll } from "./comm/engine/persistent.js";
export type { TypedArray } from "./comm/wire/values.js";
export { CommExecutor, type ExecutorOptions, type MapOptions, type ShutdownOptions } from "./pool/executor.js";
export type { MapResults } from "./pool/results.js";
export type { PoolStats } from "./pool/scheduler.js";
export type { TaskFunction, TaskTable } from "./pool/tasks.js";
export { type OpLike, Op, SUM, PROD, MIN, MAX, LAND, LOR, LXOR, BAND, BOR, BXOR, MINLOC, MAXLOC, REPLACE, NO_OP } from "./collectives/ops.js";
export { reduceLocal } from "./collectives/reduce-local.js";
export {
  TsmpiError,
  ArgumentError,
  SerializationError,
  OpError,
  CollectiveMismatchError,
  RankFailedError,
  AbortError,
  InitError,
  TransportError,
  UsageError,
  TaskError,
} from "./errors.js";
