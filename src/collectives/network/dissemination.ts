/**
 * Barrier by dissemination (Hensgen, Finkel, Manber 1988): ceil(log2 n) rounds; in round k
 * each rank signals rank + 2^k and waits for rank - 2^k. Works for any n, no root, and
 * every round is one message latency: the same algorithm MPICH uses for small communicators.
 */
import type { Lane } from "../collective-protocol.js";
import { exchange } from "../collective-protocol.js";

export async function disseminationBarrier(ch: Lane): Promise<void> {
  const { rank, size } = ch;
  for (let k = 1; k < size; k *= 2) {
    await exchange(ch, (rank + k) % size, null, (rank - k + size) % size);
  }
}
