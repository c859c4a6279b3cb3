import { init, wtime } from "tsmpi";
const comm = await init();
const n = Number(process.argv[2] ?? 2 ** 27) / 8;
const t0 = wtime();
if (comm.rank === 0) {
  const a = new Float64Array(n);
  a[n - 1] = 7;
  await comm.send(a, 1);
} else {
  const a = await comm.recv<Float64Array>(0);
  console.log("got", a.length, a[n - 1], (wtime() - t0).toFixed(3), "s");
}
