// The loop of mpi4py's collective OSU demos (osu_bcast, osu_allgather, osu_alltoall, …), shared
// by their tsmpi ports: for each size, a barrier, `skip` calls, `loop` timed calls, a barrier,
// rank 0's mean in µs.
import { init, wtime, type Comm } from "tsmpi";
import { header, parameters, row } from "./common.js";

export interface CollectiveDemo {
  benchmark: string;
  /** The demo's defaults (skip, loop, skip_large, loop_large, large_message_size, MAX_MSG_SIZE). */
  defaults: { skip: number; loop: number; skip_large: number; loop_large: number; large_message_size: number; MAX_MSG_SIZE: number };
  /** The sizes, from MAX_MSG_SIZE. */
  sizes: (max: number) => number[];
  /** Buffers, once (from MAX_MSG_SIZE and the communicator); then a call for one size. */
  prepare: (comm: Comm, max: number) => (size: number) => Promise<unknown>;
}

export async function runCollective(demo: CollectiveDemo): Promise<void> {
  const p = parameters(demo.defaults);
  const comm = await init();
  if (comm.size < 2) throw new Error("This test requires at least two processes");
  const call = demo.prepare(comm, p.MAX_MSG_SIZE);
  header(comm, demo.benchmark);
  let { skip, loop } = p;
  for (const size of demo.sizes(p.MAX_MSG_SIZE)) {
    if (size > p.large_message_size) [skip, loop] = [p.skip_large, p.loop_large];
    await comm.barrier();
    let tStart = 0;
    for (let i = 0; i < loop + skip; i++) {
      if (i === skip) tStart = wtime();
      await call(size);
    }
    const tEnd = wtime();
    await comm.barrier();
    if (comm.rank === 0) row(size, ((tEnd - tStart) * 1e6) / loop);
  }
}
