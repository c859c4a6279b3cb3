// tsmpi port of bench/osu/osu_allreduce.py (written in the form of mpi4py's osu_allgather.py):
// Allreduce of `size` bytes of float32 per rank, SUM.
import { SUM } from "tsmpi";
import { messageSizes } from "./common.js";
import { runCollective } from "./collective.js";

await runCollective({
  benchmark: "MPI Allreduce Latency Test",
  defaults: { skip: 1000, loop: 10000, skip_large: 10, loop_large: 100, large_message_size: 8192, MAX_MSG_SIZE: 1 << 20 },
  sizes: (max) => messageSizes(max, false).filter((size) => size >= 4),
  prepare: (comm, max) => {
    const sBuf = new Float32Array(max / 4).fill(1.5);
    const rBuf = new Float32Array(max / 4).fill(1.5);
    return (size) => comm.allreduce(sBuf.subarray(0, size / 4), SUM, { into: rBuf.subarray(0, size / 4) });
  },
});
