// tsmpi port of mpi4py's demo/osu_allgather.py: in-place Allgather of `size` bytes per rank
// (MPI.IN_PLACE: each rank's block already sits at its place in the receive buffer).
import { allocate, messageSizes } from "./common.js";
import { runCollective } from "./collective.js";

await runCollective({
  benchmark: "MPI Allgather Latency Test",
  defaults: { skip: 1000, loop: 10000, skip_large: 10, loop_large: 100, large_message_size: 8192, MAX_MSG_SIZE: 1 << 20 },
  sizes: (max) => messageSizes(max),
  prepare: (comm, max) => {
    const rBuf = allocate(max * comm.size);
    return (size) => comm.allgatherv(rBuf.subarray(comm.rank * size, (comm.rank + 1) * size), { into: rBuf.subarray(0, size * comm.size) });
  },
});
