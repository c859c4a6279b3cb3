// tsmpi port of mpi4py's demo/osu_bcast.py: Bcast of `size` bytes from rank 0, into one buffer.
import { allocate, messageSizes } from "./common.js";
import { runCollective } from "./collective.js";

await runCollective({
  benchmark: "MPI Broadcast Latency Test",
  defaults: { skip: 1000, loop: 10000, skip_large: 10, loop_large: 100, large_message_size: 8192, MAX_MSG_SIZE: 1 << 20 },
  sizes: (max) => messageSizes(max),
  prepare: (comm, max) => {
    const buf = allocate(max);
    return (size) => {
      const msg = buf.subarray(0, size);
      return comm.bcast(msg, 0, { into: msg });
    };
  },
});
