// tsmpi port of mpi4py's demo/osu_bibw.py, line by line: both ranks post `window_size` irecvs,
// then as many isends, then wait for all; MB/s counted one way, as the demo does.
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
header(comm, "MPI Bi-Directional Bandwidth Test");

let { skip, loop, window_size: windowSize } = p;
for (const size of messageSizes(p.MAX_MSG_SIZE, false)) {
  if (size > p.large_message_size) [skip, loop, windowSize] = [p.skip_large, p.loop_large, p.window_size_large];
  const sMsg = sBuf.subarray(0, size);
  const rMsg = rBuf.subarray(0, size);
  const sendRequest: Array<Request<unknown>> = new Array(windowSize);
  const recvRequest: Array<Request<unknown>> = new Array(windowSize);
  const peer = 1 - myid;
  const [recvTag, sendTag] = myid === 0 ? [10, 100] : [100, 10];
  await comm.barrier();
  let tStart = 0;
  for (let i = 0; i < loop + skip; i++) {
    if (i === skip) tStart = wtime();
    for (let j = 0; j < windowSize; j++) recvRequest[j] = comm.irecv(peer, recvTag, { into: rMsg });
    for (let j = 0; j < windowSize; j++) sendRequest[j] = comm.isend(sMsg, peer, sendTag);
    await waitAll(sendRequest);
    await waitAll(recvRequest);
  }
  const tEnd = wtime();
  if (myid === 0) row(size, ((size / 1e6) * loop * windowSize) / (tEnd - tStart));
}
