// tsmpi port of mpi4py's demo/osu_alltoall.py: Alltoall of `size` bytes to each rank.
import { allocate, messageSizes } from "./common.js";
import { runCollective } from "./collective.js";

await runCollective({
  benchmark: "MPI All-to-All Latency Test",
  defaults: { skip: 200, loop: 1000, skip_large: 10, loop_large: 100, large_message_size: 8192, MAX_MSG_SIZE: 1 << 20 },
  sizes: (max) => messageSizes(max),
  prepare: (comm, max) => {
    const sBuf = allocate(max * comm.size);
    const rBuf = allocate(max * comm.size);
    let counts: number[] = [];
    return (size) => {
      if (counts[0] !== size) counts = new Array<number>(comm.size).fill(size);
      return comm.alltoallv(sBuf.subarray(0, size * comm.size), counts, { into: rBuf.subarray(0, size * comm.size) });
    };
  },
});
