// End to end: what the shapelet transform is for. A synthetic labelled data set (each class
// hides its own shape at a random place), RDST features computed in parallel, and a ridge
// classifier (one-vs-rest, solved in its dual form) trained at rank 0 and scored on held-out
// series.
//
//   npx tsmpi -n 2 examples/shapelet/classify.ts [--series 600] [--length 150] [--shapelets 2000]
//
// prints, e.g.:
//   rdst + ridge: 600 series, 3 classes, 2000 shapelets on 2 ranks
//   test accuracy 0.985 (197/200), a random guess scores 0.333
import { init } from "tsmpi";
import { makeDataset } from "./data.js";
import { drawShapelets, transform, type Shapelets } from "./rdst.js";

const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const N = option("--series", 600),
  T = option("--length", 150),
  K = option("--shapelets", 2000),
  classes = option("--classes", 3);

const comm = await init();
const { rank, size } = comm;
const nTrain = Math.floor((N * 2) / 3);
const rows = Array.from({ length: size }, (_, r) => Math.floor(N / size) + (r < N % size ? 1 : 0));

let data: ReturnType<typeof makeDataset> | undefined, drawn: Shapelets | undefined;
if (rank === 0) {
  data = makeDataset(N, T, classes);
  // shapelets come from the training series only
  drawn = drawShapelets(data.X.subarray(0, nTrain * T), data.y.subarray(0, nTrain), T, { count: K, lengths: [7, 9, 11], seed: 3 });
}
const shapelets = (await comm.bcast(drawn, 0))!;
const features = await comm.gatherv(
  transform(
    await comm.scatterv(
      data?.X,
      rows.map((r) => r * T),
      0,
    ),
    T,
    shapelets,
  ),
  0,
);

if (rank === 0) {
  const F = 3 * K,
    y = data!.y;
  // standardise each feature with training statistics
  const mean = new Float64Array(F),
    std = new Float64Array(F);
  for (let i = 0; i < nTrain; i++) for (let f = 0; f < F; f++) mean[f]! += features![i * F + f]! / nTrain;
  for (let i = 0; i < nTrain; i++) for (let f = 0; f < F; f++) std[f]! += (features![i * F + f]! - mean[f]!) ** 2 / nTrain;
  for (let f = 0; f < F; f++) std[f] = Math.sqrt(std[f]!) || 1;
  const Z = new Float64Array(N * F);
  for (let i = 0; i < N; i++) for (let f = 0; f < F; f++) Z[i * F + f] = (features![i * F + f]! - mean[f]!) / std[f]!;
  // dual ridge: A = Z_train Z_trainᵀ + α I, alpha = A⁻¹ Y, scores = Z_test Z_trainᵀ alpha
  const alpha = 1.0 * F * 0.01;
  const A = new Float64Array(nTrain * nTrain);
  for (let i = 0; i < nTrain; i++) {
    for (let j = 0; j <= i; j++) {
      let dot = 0;
      for (let f = 0; f < F; f++) dot += Z[i * F + f]! * Z[j * F + f]!;
      A[i * nTrain + j] = A[j * nTrain + i] = dot;
    }
    A[i * nTrain + i]! += alpha;
  }
  // Cholesky A = L Lᵀ, in place (lower triangle)
  for (let j = 0; j < nTrain; j++) {
    for (let k = 0; k < j; k++) A[j * nTrain + j]! -= A[j * nTrain + k]! ** 2;
    A[j * nTrain + j] = Math.sqrt(A[j * nTrain + j]!);
    for (let i = j + 1; i < nTrain; i++) {
      let s = A[i * nTrain + j]!;
      for (let k = 0; k < j; k++) s -= A[i * nTrain + k]! * A[j * nTrain + k]!;
      A[i * nTrain + j] = s / A[j * nTrain + j]!;
    }
  }
  const weights = Array.from({ length: classes }, (_, c) => {
    const b = Float64Array.from({ length: nTrain }, (_, i) => (y[i] === c ? 1 : -1));
    for (let i = 0; i < nTrain; i++) {
      // L z = b
      let s = b[i]!;
      for (let k = 0; k < i; k++) s -= A[i * nTrain + k]! * b[k]!;
      b[i] = s / A[i * nTrain + i]!;
    }
    for (let i = nTrain - 1; i >= 0; i--) {
      // Lᵀ w = z
      let s = b[i]!;
      for (let k = i + 1; k < nTrain; k++) s -= A[k * nTrain + i]! * b[k]!;
      b[i] = s / A[i * nTrain + i]!;
    }
    return b;
  });
  let correct = 0;
  for (let t = nTrain; t < N; t++) {
    let best = -1,
      bestScore = -Infinity;
    const kernel = new Float64Array(nTrain);
    for (let i = 0; i < nTrain; i++) {
      let dot = 0;
      for (let f = 0; f < F; f++) dot += Z[t * F + f]! * Z[i * F + f]!;
      kernel[i] = dot;
    }
    weights.forEach((w, c) => {
      let score = 0;
      for (let i = 0; i < nTrain; i++) score += kernel[i]! * w[i]!;
      if (score > bestScore) [best, bestScore] = [c, score];
    });
    if (best === y[t]) correct++;
  }
  const tested = N - nTrain;
  console.log(`rdst + ridge: ${N} series, ${classes} classes, ${K} shapelets on ${size} ranks`);
  console.log(`test accuracy ${(correct / tested).toFixed(3)} (${correct}/${tested}), a random guess scores ${(1 / classes).toFixed(3)}`);
}
