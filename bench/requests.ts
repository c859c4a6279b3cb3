// Ping-pong of typed arrays between ranks 0 and 1 in three loops (issue 31's targets): `send`
// (send/recv), `ssend` (ssend/recv) and `persistent` (sendInit/recvInit, start/wait each round).
// Half round trip in µs, the median over chunks of round trips; one JSON line per (loop, size) on rank 0.
//   tsmpi -n 2 bench/requests.ts [sizes...]        (twin: mpirun -n 2 python3 bench/requests.py)
import { init, wtime, type PersistentRequest } from "tsmpi";

const comm = await init();
const peer = 1 - comm.rank;
const sizes = process.argv
  .slice(2)
  .filter((a) => /^\d+$/.test(a))
  .map(Number);
const CHUNK = 200;

/** `n` round trips of `buf` (received into `into`) with the loop `kind`; rank 0 sends first. */
async function trips(
  kind: string,
  n: number,
  buf: Float64Array,
  into: Float64Array,
  persistent: [PersistentRequest<void>, PersistentRequest<Float64Array>],
): Promise<void> {
  const first = comm.rank === 0;
  const [out, inc] = persistent;
  for (let i = 0; i < n; i++) {
    if (kind === "persistent") {
      if (first) {
        inc.start();
        out.start();
        await out.wait();
        await inc.wait();
      } else {
        inc.start();
        await inc.wait();
        out.start();
        await out.wait();
      }
    } else if (kind === "ssend") {
      if (first) {
        await comm.ssend(buf, peer, 1);
        await comm.recv(peer, 1, { into });
      } else {
        await comm.recv(peer, 1, { into });
        await comm.ssend(buf, peer, 1);
      }
    } else if (first) {
      await comm.send(buf, peer, 1);
      await comm.recv(peer, 1, { into });
    } else {
      await comm.recv(peer, 1, { into });
      await comm.send(buf, peer, 1);
    }
  }
}

for (const size of sizes.length ? sizes : [8, 4096]) {
  const buf = new Float64Array(size / 8).fill(1.5);
  const into = buf.slice();
  const persistent: [PersistentRequest<void>, PersistentRequest<Float64Array>] = [comm.sendInit(buf, peer, 1), comm.recvInit<Float64Array>(peer, 1, { into })];
  const iters = size <= 4096 ? 20_000 : 2_000;
  // Interleaved in chunks, so that a drift of the machine's load weighs on each loop alike.
  const kinds = ["send", "ssend", "persistent"];
  const times = new Map(kinds.map((kind) => [kind, [] as number[]]));
  for (const kind of kinds) await trips(kind, iters, buf, into, persistent); // warm-up
  for (let done = 0; done < iters; done += CHUNK) {
    for (const kind of kinds) {
      await comm.barrier();
      const t0 = wtime();
      await trips(kind, CHUNK, buf, into, persistent);
      times.get(kind)!.push(((wtime() - t0) / CHUNK / 2) * 1e6);
    }
  }
  for (const kind of kinds) {
    const sorted = times.get(kind)!.sort((a, b) => a - b);
    if (comm.rank === 0) console.log(JSON.stringify({ impl: "tsmpi", kind, size, usec: sorted[sorted.length >> 1] }));
  }
}
