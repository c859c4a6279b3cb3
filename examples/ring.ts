// Ring: a token travels once around all ranks, each adding its rank.
//
//   npx tsmpi -n 4 examples/ring.ts
//
// prints:
//   token back at rank 0 after 4 hops, sum of ranks 6
import { init } from "tsmpi";

const comm = await init();
const { rank, size } = comm;
const next = (rank + 1) % size,
  prev = (rank - 1 + size) % size;
if (rank === 0) {
  await comm.send({ hops: 1, sum: 0 }, next);
  const token = await comm.recv<{ hops: number; sum: number }>(prev);
  console.log(`token back at rank 0 after ${token.hops} hops, sum of ranks ${token.sum}`);
} else {
  const token = await comm.recv<{ hops: number; sum: number }>(prev);
  await comm.send({ hops: token.hops + 1, sum: token.sum + rank }, next);
}
