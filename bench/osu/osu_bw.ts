// tsmpi port of mpi4py's demo/osu_bw.py, line by line: rank 0 posts `window_size` isends, rank 1
// as many irecvs into one buffer, then a 4-byte acknowledgement; MB/s.
import { init, waitAll, wtime, type Request } from "tsmpi";
import { allocate, header, messageSizes, parameters, row } from "./common.js";

const p = parameters({
  skip: 10,
  loop: 100,
  window_size: 64,
  skip_large: 2,
  loop_large: 20,
  window_size_large: 64,
  large_message_size: 8192,
  MAX_MSG_SIZE: 1 << 22,
});
const comm = await init();
const myid = comm.rank;
if (comm.size !== 2) throw new Error("This test requires exactly two processes");

const sBuf = allocate(p.MAX_MSG_SIZE);
const rBuf = allocate(p.MAX_MSG_SIZE);
header(comm, "MPI Bandwidth Test");

let { skip, loop, window_size: windowSize } = p;
for (const size of messageSizes(p.MAX_MSG_SIZE, false)) {
  if (size > p.large_message_size) [skip, loop, windowSize] = [p.skip_large, p.loop_large, p.window_size_large];
  const requests: Array<Request<unknown>> = new Array(windowSize);
  await comm.barrier();
  let tStart = 0;
  if (myid === 0) {
    const sMsg = sBuf.subarray(0, size);
    const rMsg = rBuf.subarray(0, 4);
    for (let i = 0; i < loop + skip; i++) {
      if (i === skip) tStart = wtime();
      for (let j = 0; j < windowSize; j++) requests[j] = comm.isend(sMsg, 1, 100);
      await waitAll(requests);
      await comm.recv(1, 101, { into: rMsg });
    }
  } else {
    const sMsg = sBuf.subarray(0, 4);
    const rMsg = rBuf.subarray(0, size);
    for (let i = 0; i < loop + skip; i++) {
      if (i === skip) tStart = wtime();
      for (let j = 0; j < windowSize; j++) requests[j] = comm.irecv(0, 100, { into: rMsg });
      await waitAll(requests);
      await comm.send(sMsg, 0, 101);
    }
  }
  const tEnd = wtime();
  if (myid === 0) row(size, ((size / 1e6) * loop * windowSize) / (tEnd - tStart));
}
