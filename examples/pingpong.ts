// Ping-pong: ranks 0 and 1 bounce a Float64Array and report the half round-trip time.
//
//   npx tsmpi -n 2 examples/pingpong.ts [bytes] [iterations]
//
// prints, e.g.:
//   1048576 bytes: 950.2 µs per one-way trip, 1.10 GB/s, data intact
import { init, wtime } from "tsmpi";

const comm = await init();
if (comm.size < 2) throw new Error("ping-pong needs at least 2 ranks: run with -n 2");
const bytes = Number(process.argv[2] ?? 1 << 20),
  iterations = Number(process.argv[3] ?? 100);
const ball = Float64Array.from({ length: Math.max(1, bytes / 8) }, (_, i) => i);
let back: Float64Array = ball;
const t0 = wtime();
for (let i = 0; i < iterations; i++) {
  if (comm.rank === 0) {
    await comm.send(back, 1);
    back = await comm.recv<Float64Array>(1);
  } else if (comm.rank === 1) {
    await comm.send(await comm.recv<Float64Array>(0), 0);
  }
}
const half = (wtime() - t0) / iterations / 2;
if (comm.rank === 0) {
  const intact = back.length === ball.length && back.every((v, i) => v === ball[i]);
  console.log(
    `${bytes} bytes: ${(half * 1e6).toFixed(1)} µs per one-way trip, ${(bytes / half / 1e9).toFixed(2)} GB/s, data ${intact ? "intact" : "CORRUPTED"}`,
  );
}
