// tsmpi port of mpi4py's demo/osu_scatter.py: Scatter of `size` bytes to each rank from rank 0,
// in place at the root (MPI.IN_PLACE: its own block stays where it is in the send buffer).
import { allocate, messageSizes } from "./common.js";
import { runCollective } from "./collective.js";

await runCollective({
  benchmark: "MPI Scatter Latency Test",
  defaults: { skip: 1000, loop: 10000, skip_large: 10, loop_large: 100, large_message_size: 8192, MAX_MSG_SIZE: 1 << 20 },
  sizes: (max) => messageSizes(max),
  prepare: (comm, max) => {
    const sBuf = allocate(comm.rank === 0 ? max * comm.size : 0);
    const rBuf = allocate(max);
    let counts: number[] = [];
    return (size) => {
      if (counts[0] !== size) counts = new Array<number>(comm.size).fill(size);
      return comm.rank === 0
        ? comm.scatterv(sBuf.subarray(0, size * comm.size), counts, 0, { into: sBuf.subarray(0, size) })
        : comm.scatterv(undefined, counts, 0, { into: rBuf.subarray(0, size) });
    };
  },
});
