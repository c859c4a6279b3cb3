// The random dilated shapelet transform, SPMD: rank 0 makes the data set and draws the
// shapelets, `bcast`s them, `scatterv`s the series; every rank transforms its rows; the
// features are `gatherv`ed at rank 0.
//
//   npx tsmpi -n 2 examples/shapelet/transform.ts [--series 1500] [--length 150] [--shapelets 10000] [--lengths 11] [--check]
//
// prints, e.g.:
//   rdst: 1500 series × 150, 10000 shapelets (lengths 11) on 2 ranks → 1500 × 30000 features
//   draw 0.61 s  bcast+scatter 0.02 s  transform 9.8 s  gather 0.35 s  total 10.8 s
// and with --check, after recomputing every row serially at rank 0:
//   parallel features equal the serial ones: yes
import { writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { init, wtime } from "tsmpi";
import { makeDataset } from "./data.js";
import { drawShapelets, transform, type Shapelets } from "./rdst.js";

const args = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1]! : fallback;
};
const N = Number(option("--series", "1500")),
  T = Number(option("--length", "150"));
const K = Number(option("--shapelets", "10000")),
  lengths = option("--lengths", "11").split(",").map(Number);
const dump = option("--dump", "");

const comm = await init();
const { rank, size } = comm;
const rows = Array.from({ length: size }, (_, r) => Math.floor(N / size) + (r < N % size ? 1 : 0));

const t0 = wtime();
let data: ReturnType<typeof makeDataset> | undefined, drawn: Shapelets | undefined;
if (rank === 0) {
  data = makeDataset(N, T);
  drawn = drawShapelets(data.X, data.y, T, { count: K, lengths, seed: 42 });
}
const t1 = wtime();
const shapelets = await comm.bcast(drawn, 0);
const mine = await comm.scatterv(
  data?.X,
  rows.map((r) => r * T),
  0,
);
const t2 = wtime();
const features = transform(mine, T, shapelets!);
const t3 = wtime();
await comm.barrier();
const t3b = wtime();
const all = await comm.gatherv(features, 0);
const t4 = wtime();
const computeTimes = await comm.gather(t3 - t2, 0);

if (rank === 0) {
  const compute = Math.max(...computeTimes!);
  console.log(`rdst: ${N} series × ${T}, ${K} shapelets (lengths ${lengths.join(",")}) on ${size} ranks → ${N} × ${3 * K} features`);
  console.log(
    `draw ${(t1 - t0).toFixed(2)} s  bcast+scatter ${(t2 - t1).toFixed(2)} s  transform ${compute.toFixed(2)} s  gather ${(t4 - t3b).toFixed(2)} s  total ${(t4 - t0).toFixed(2)} s`,
  );
  if (args.includes("--check")) {
    const serial = transform(data!.X, T, shapelets!);
    const same = serial.length === all!.length && serial.every((v, i) => Object.is(v, all![i]));
    console.log(`parallel features equal the serial ones: ${same ? "yes" : "NO"}`);
  }
  if (dump) {
    // the numba twin in bench/ reads the same data and shapelets
    mkdirSync(dump, { recursive: true });
    const save = (name: string, a: ArrayBufferView) => writeFileSync(join(dump, name), new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    save("X.f64", data!.X);
    save("values.f64", shapelets!.values);
    save("lengths.i32", shapelets!.lengths);
    save("dilations.i32", shapelets!.dilations);
    save("normalized.u8", shapelets!.normalized);
    save("thresholds.f64", shapelets!.thresholds);
    save("features.f64", all!);
    writeFileSync(join(dump, "shape.json"), JSON.stringify({ N, T, K, maxLength: shapelets!.maxLength }));
  }
  if (process.env.TSMPI_EXAMPLE_JSON) console.log(JSON.stringify({ example: "shapelet", N, T, K, n: size, transform: compute, total: t4 - t0 }));
}
