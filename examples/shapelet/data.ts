// A synthetic labelled time-series data set: noisy random walks where each class hides its own
// local shape (a bump, a step, a spike pair, a ramp...) at a random place. Shapelets should find
// the shapes; global statistics cannot.
import { rng } from "../fft/signals.js";

export interface Dataset {
  X: Float64Array; // n × T
  y: Int32Array;
  n: number;
  T: number;
  classes: number;
}

const SHAPES: Array<(u: number) => number> = [
  (u) => Math.exp(-((u - 0.5) ** 2) / 0.02) * 3, // bump
  (u) => (u < 0.5 ? -1.5 : 1.5), // step
  (u) => (Math.abs(u - 0.3) < 0.08 || Math.abs(u - 0.7) < 0.08 ? 3 : 0), // two spikes
  (u) => 4 * u - 2, // ramp
  (u) => 2 * Math.sin(4 * Math.PI * u), // wiggle
];

export function makeDataset(n: number, T: number, classes = 3, seed = 7): Dataset {
  const random = rng(seed),
    X = new Float64Array(n * T),
    y = new Int32Array(n);
  const width = Math.max(8, Math.floor(T / 6));
  for (let i = 0; i < n; i++) {
    const c = i % classes,
      row = X.subarray(i * T, (i + 1) * T);
    y[i] = c;
    let level = 0;
    for (let t = 0; t < T; t++) row[t] = level += 0.3 * (random() - 0.5);
    const start = Math.floor(random() * (T - width));
    const shape = SHAPES[c % SHAPES.length]!;
    for (let t = 0; t < width; t++) row[start + t]! += shape(t / (width - 1));
    for (let t = 0; t < T; t++) row[t]! += 0.3 * (random() - 0.5);
  }
  return { X, y, n, T, classes };
}
