// tsmpi port of mpi4py's demo/osu_multi_lat.py, line by line: ranks i and i + n/2 ping-pong at the
// same time; the mean over all ranks.
import { init, SUM, wtime } from "tsmpi";
import { allocate, header, messageSizes, parameters, row } from "./common.js";

const p = parameters({ skip_small: 100, loop_small: 10000, skip_large: 10, loop_large: 1000, large_message_size: 8192, MAX_MSG_SIZE: 1 << 22 });
const comm = await init();
const myid = comm.rank;
const pairs = Math.floor(comm.size / 2);

const sBuf = allocate(p.MAX_MSG_SIZE);
const rBuf = allocate(p.MAX_MSG_SIZE);
header(comm, "MPI Multi Latency Test");

for (const size of messageSizes(p.MAX_MSG_SIZE)) {
  const [skip, loop] = size > p.large_message_size ? [p.skip_large, p.loop_large] : [p.skip_small, p.loop_small];
  const sMsg = sBuf.subarray(0, size);
  const rMsg = rBuf.subarray(0, size);
  await comm.barrier();
  let tStart = 0;
  if (myid < pairs) {
    const partner = myid + pairs;
    for (let i = 0; i < loop + skip; i++) {
      if (i === skip) tStart = wtime();
      await comm.send(sMsg, partner, 1);
      await comm.recv(partner, 1, { into: rMsg });
    }
  } else if (myid < 2 * pairs) {
    const partner = myid - pairs;
    for (let i = 0; i < loop + skip; i++) {
      if (i === skip) tStart = wtime();
      await comm.recv(partner, 1, { into: rMsg });
      await comm.send(sMsg, partner, 1);
    }
  }
  const tEnd = wtime();
  const latency = ((tEnd - tStart) * 1e6) / (2 * loop);
  const totalLat = await comm.reduce(myid < 2 * pairs ? latency : 0, SUM, 0);
  if (myid === 0) row(size, (totalLat as number) / (pairs * 2));
}
