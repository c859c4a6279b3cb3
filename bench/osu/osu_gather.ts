// tsmpi port of mpi4py's demo/osu_gather.py: Gather of `size` bytes per rank at rank 0, in place
// at the root (MPI.IN_PLACE: its block already sits first in the receive buffer).
import { allocate, messageSizes } from "./common.js";
import { runCollective } from "./collective.js";

await runCollective({
  benchmark: "MPI Gather Latency Test",
  defaults: { skip: 1000, loop: 10000, skip_large: 10, loop_large: 100, large_message_size: 8192, MAX_MSG_SIZE: 1 << 20 },
  sizes: (max) => messageSizes(max),
  prepare: (comm, max) => {
    const sBuf = allocate(max);
    const rBuf = allocate(comm.rank === 0 ? max * comm.size : 0);
    return (size) =>
      comm.rank === 0 ? comm.gatherv(rBuf.subarray(0, size), 0, { into: rBuf.subarray(0, size * comm.size) }) : comm.gatherv(sBuf.subarray(0, size), 0);
  },
});
