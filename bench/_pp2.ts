import { init } from "tsmpi";
const comm = await init();
const peer = 1 - comm.rank;
const a = new Float64Array(1);
for (let i = 0; i < 2000; i++) {
  if (comm.rank === 0) {
    await comm.send(a, peer, 1);
    await comm.recv(peer, 1);
  } else {
    await comm.send(await comm.recv(peer, 1), peer, 1);
  }
}
const n = 20000;
let tsend = 0,
  trecv = 0;
const t0 = performance.now();
for (let i = 0; i < n; i++) {
  if (comm.rank === 0) {
    const a0 = performance.now();
    await comm.send(a, peer, 1);
    const a1 = performance.now();
    await comm.recv(peer, 1);
    tsend += a1 - a0;
    trecv += performance.now() - a1;
  } else {
    const a0 = performance.now();
    const x = await comm.recv(peer, 1);
    const a1 = performance.now();
    await comm.send(x, peer, 1);
    trecv += a1 - a0;
    tsend += performance.now() - a1;
  }
}
console.log(
  comm.rank,
  "half rtt us",
  (((performance.now() - t0) / n / 2) * 1000).toFixed(2),
  "send us",
  ((tsend / n) * 1000).toFixed(2),
  "recv us",
  ((trecv / n) * 1000).toFixed(2),
);
