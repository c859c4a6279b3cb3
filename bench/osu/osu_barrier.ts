// tsmpi port of mpi4py's demo/osu_barrier.py: Barrier, skip_large + loop_large calls.
import { init, wtime } from "tsmpi";
import { header, parameters, row } from "./common.js";

const p = parameters({ skip: 1000, loop: 10000, skip_large: 10, loop_large: 100, large_message_size: 8192, MAX_MSG_SIZE: 1 << 20 });
const comm = await init();
if (comm.size < 2) throw new Error("This test requires at least two processes");
header(comm, "MPI Barrier Latency Test");
const [skip, loop] = [p.skip_large, p.loop_large];
await comm.barrier();
let tStart = 0;
for (let i = 0; i < loop + skip; i++) {
  if (i === skip) tStart = wtime();
  await comm.barrier();
}
const tEnd = wtime();
await comm.barrier();
if (comm.rank === 0) row(0, ((tEnd - tStart) * 1e6) / loop);
