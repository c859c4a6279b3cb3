// CPU used by a rank blocked in recv: rank 1 waits 10 s (or argv[2] s) for a message rank 0
// sends after sleeping that long; rank 1 prints the CPU time its process used meanwhile.
//   tsmpi -n 2 bench/blocked.ts [seconds]
import { init } from "tsmpi";

const comm = await init();
const seconds = Number(process.argv[2] ?? 10);
await comm.barrier();
if (comm.rank === 0) {
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  await comm.send("wake up", 1);
} else if (comm.rank === 1) {
  const before = process.cpuUsage();
  const t0 = performance.now();
  await comm.recv(0);
  const used = process.cpuUsage(before);
  const wall = (performance.now() - t0) / 1000;
  console.log(JSON.stringify({ wall, cpu: (used.user + used.system) / 1e6, percent: (100 * (used.user + used.system)) / 1e6 / wall }));
}
