// tsmpi port of mpi4py's demo/osu_latency.py, line by line: blocking ping-pong between ranks 0
// and 1, `skip` round trips before the clock starts, `loop` timed.
import { init, wtime } from "tsmpi";
import { allocate, header, messageSizes, parameters, row } from "./common.js";

const p = parameters({ skip: 1000, loop: 10000, skip_large: 10, loop_large: 100, large_message_size: 8192, MAX_MSG_SIZE: 1 << 22 });
const comm = await init();
const myid = comm.rank;
if (comm.size !== 2) throw new Error("This test requires exactly two processes");

const sBuf = allocate(p.MAX_MSG_SIZE);
const rBuf = allocate(p.MAX_MSG_SIZE);
header(comm, "MPI Latency Test");

let { skip, loop } = p;
for (const size of messageSizes(p.MAX_MSG_SIZE)) {
  if (size > p.large_message_size) [skip, loop] = [p.skip_large, p.loop_large];
  const sMsg = sBuf.subarray(0, size);
  const rMsg = rBuf.subarray(0, size);
  await comm.barrier();
  let tStart = 0;
  if (myid === 0) {
    for (let i = 0; i < loop + skip; i++) {
      if (i === skip) tStart = wtime();
      await comm.send(sMsg, 1, 1);
      await comm.recv(1, 1, { into: rMsg });
    }
  } else {
    for (let i = 0; i < loop + skip; i++) {
      if (i === skip) tStart = wtime();
      await comm.recv(0, 1, { into: rMsg });
      await comm.send(sMsg, 0, 1);
    }
  }
  const tEnd = wtime();
  if (myid === 0) row(size, ((tEnd - tStart) * 1e6) / (2 * loop));
}
