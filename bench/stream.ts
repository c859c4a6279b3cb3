// osu_bw-style bandwidth: rank 0 sends a window of `WINDOW` messages back to back, rank 1
// receives them all (receives posted in advance) and answers with one small ack; repeated.
// Prints one JSON line per size on rank 0: bytes per second over the whole stream.
//   tsmpi -n 2 bench/stream.ts [sizes...]
import { init, waitAll, wtime } from "tsmpi";

export const WINDOW = 16;
const comm = await init();
const sizes = process.argv
  .slice(2)
  .filter((a) => /^\d+$/.test(a))
  .map(Number);
const rounds = (size: number) => Math.max(4, Math.min(200, Math.round(4e8 / (size * WINDOW))));

for (const size of sizes.length ? sizes : [65536, 1 << 20, 4 << 20, 16 << 20]) {
  const payload = new Float64Array(size / 8);
  let elapsed = 0;
  for (const [phase, count] of [
    [0, 2],
    [1, rounds(size)],
  ] as const) {
    await comm.barrier();
    const t0 = wtime();
    for (let r = 0; r < count; r++) {
      if (comm.rank === 0) {
        await waitAll(Array.from({ length: WINDOW }, () => comm.isend(payload, 1, 1)));
        await comm.recv(1, 2);
      } else if (comm.rank === 1) {
        await waitAll(Array.from({ length: WINDOW }, () => comm.irecv(0, 1)));
        await comm.send(0, 0, 2);
      }
    }
    if (phase === 1) elapsed = wtime() - t0;
  }
  const bytes = size * WINDOW * rounds(size);
  if (comm.rank === 0) console.log(JSON.stringify({ impl: "tsmpi", kind: "stream", size, gbps: bytes / elapsed / 1e9 }));
}
