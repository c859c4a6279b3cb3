// Every example runs through the real launcher at a small size, and its numeric result is checked.
import { describe, expect, it } from "vitest";
import { ROOT, leftovers, runJob } from "./helpers.js";
import { RealFFT, ComplexFFT, naiveRealDFT } from "../examples/fft/rfft.js";
import { join } from "node:path";

const example = (name: string) => join(ROOT, "examples", name);

describe("examples", () => {
  it("hello prints one greeting per rank", async () => {
    const job = await runJob(4, example("hello.ts"));
    expect(job.exitCode, job.stderr).toBe(0);
    expect(job.stdout.trim().split("\n").sort()).toEqual([0, 1, 2, 3].map((r) => `Hello from rank ${r} of 4`));
    expect(await leftovers(job)).toEqual({ processes: [], files: [] });
  });

  it.each([2, 3, 5])("ring passes the token through all %i ranks", async (np) => {
    const job = await runJob(np, example("ring.ts"));
    expect(job.exitCode, job.stderr).toBe(0);
    expect(job.stdout.trim()).toBe(`token back at rank 0 after ${np} hops, sum of ranks ${(np * (np - 1)) / 2}`);
  });

  it("ping-pong brings the data back intact", async () => {
    const job = await runJob(2, example("pingpong.ts"), ["65536", "20"]);
    expect(job.exitCode, job.stderr).toBe(0);
    expect(job.stdout).toMatch(/^65536 bytes: [\d.]+ µs per one-way trip, [\d.]+ GB\/s, data intact$/m);
  });

  it.each([1, 3, 4])("pi is within 1e-12 of Math.PI on %i ranks", async (np) => {
    const job = await runJob(np, example("pi.ts"), ["1000000"]);
    expect(job.exitCode, job.stderr).toBe(0);
    const value = Number(/pi ≈ ([\d.]+)/.exec(job.stdout)![1]);
    expect(Math.abs(value - Math.PI)).toBeLessThan(1e-12);
  });

  it.each([1, 3, 4])("work-queue takes every task once from a counter in a window on %i ranks, and counts the primes right", async (np) => {
    const job = await runJob(np, example("work-queue.ts"), ["200000", "40"]);
    expect(job.exitCode, job.stderr).toBe(0);
    // π(200 000) = 17 984.
    expect(job.stdout.trim()).toBe(`17984 primes below 200000, 40 tasks taken from a shared counter by ${np} ranks, each task once`);
  });

  it("the hyper-parameter sweep finds the same best fits on 3 ranks as on 1, near the noise level", async () => {
    const args = ["--points", "600", "--repeats", "1"];
    const [pooled, alone] = await Promise.all([runJob(3, example("sweep.ts"), args), runJob(1, example("sweep.ts"), args)]);
    expect(pooled.exitCode, pooled.stderr).toBe(0);
    expect(alone.exitCode, alone.stderr).toBe(0);
    const ranking = (text: string) => text.split("\n").filter((line) => /^(best: | {6})degree/.test(line));
    expect(ranking(pooled.stdout)).toHaveLength(5);
    expect(ranking(pooled.stdout)).toEqual(ranking(alone.stdout));
    expect(pooled.stdout).toContain("sweep: 12 degrees × 5 penalties × 5 folds = 300 tasks on 2 workers");
    const mse = Number(/^best: degree \d+, penalty \S+, cross-validated MSE (\S+)$/m.exec(pooled.stdout)![1]);
    expect(mse).toBeGreaterThan(0.007); // the noise's variance is 0.01
    expect(mse).toBeLessThan(0.013);
    expect(pooled.stderr).toMatch(/^tsmpi: sweep 300\/300 \(100%\)/m);
    expect(await leftovers(pooled)).toEqual({ processes: [], files: [] });
  });

  it("matvec equals the serial product exactly", async () => {
    const job = await runJob(3, example("matvec.ts"), ["101"]);
    expect(job.exitCode, job.stderr).toBe(0);
    expect(job.stdout.trim()).toBe("y = A x for n = 101 on 3 ranks: max |y - serial| = 0");
  });

  it("parallel sum gives every rank the total", async () => {
    const job = await runJob(4, example("parallel-sum.ts"), ["100001"]);
    expect(job.exitCode, job.stderr).toBe(0);
    expect(job.stdout.trim().split("\n").sort()).toEqual([0, 1, 2, 3].map((r) => `rank ${r}: total 5000050000 (expected 5000050000)`));
  });

  it.each([
    [2, []],
    [3, ["--spmd"]],
    [2, ["--shared"]],
    [3, ["--shared"]],
  ])("the FFT batch at -n %i %j matches the serial spectra and checksum", async (np, extra) => {
    const job = await runJob(np, example("fft/batch.ts"), ["--signals", "24", "--length", "5120", "--check", ...extra]);
    expect(job.exitCode, job.stderr).toBe(0);
    const serial = await runJob(1, example("fft/batch.ts"), ["--signals", "24", "--length", "5120"]);
    const checksum = (text: string) => /checksum (\S+)/.exec(text)![1];
    expect(checksum(job.stdout)).toBe(checksum(serial.stdout));
    if (!extra.includes("--spmd")) expect(job.stdout).toContain("max |parallel - serial| = 0");
    if (extra.includes("--shared")) expect(job.stdout).toContain("(shared window)");
    expect(job.stdout).toMatch(/(scatter|make) [\d.]+ s {2}compute [\d.]+ s {2}gather [\d.]+ s/);
  });

  it.each([2, 3, 4])("the distributed 2-D FFT at -n %i matches the serial FFT and the DFT definition", async (np) => {
    const job = await runJob(np, example("fft/fft2d.ts"), ["60", "50"]);
    expect(job.exitCode, job.stderr).toBe(0);
    const [, serial, direct] = /max \|parallel - serial\| = (\S+), max \|parallel - direct DFT\| = (\S+)/.exec(job.stdout)!;
    expect(Number(serial)).toBe(0);
    expect(Number(direct)).toBeLessThan(1e-9);
  });

  it.each([1, 2, 3])("the shapelet transform at -n %i equals the serial features exactly", async (np) => {
    const job = await runJob(np, example("shapelet/transform.ts"), ["--series", "45", "--shapelets", "150", "--lengths", "7,9,11", "--check"]);
    expect(job.exitCode, job.stderr).toBe(0);
    expect(job.stdout).toContain(`on ${np} ranks → 45 × 450 features`);
    expect(job.stdout).toContain("parallel features equal the serial ones: yes");
  });

  it("shapelet features feed a ridge classifier far better than chance", async () => {
    const job = await runJob(2, example("shapelet/classify.ts"), ["--series", "150", "--shapelets", "150", "--classes", "5"]);
    expect(job.exitCode, job.stderr).toBe(0);
    const accuracy = Number(/test accuracy ([\d.]+)/.exec(job.stdout)![1]);
    expect(accuracy).toBeGreaterThan(0.8);
  });
});

describe("mixed-radix FFT", () => {
  // every radix (8, 4, 2, 3, 5) in the first, middle and last pass; 2^k · 5^m like the reference 51 200
  it.each([2, 4, 6, 8, 10, 12, 16, 18, 30, 32, 50, 64, 96, 128, 150, 160, 250, 256, 360, 640, 1000, 1024, 1200, 1600, 2048, 3200])(
    "rfft of length %i matches the naive DFT",
    (n) => {
      const x = Float64Array.from({ length: n }, (_, i) => Math.sin(i * 1.7) + ((i * 13) % 5) - 2);
      const got = new RealFFT(n).forward(x),
        want = naiveRealDFT(x);
      const scale = Math.max(...want.map(Math.abs));
      for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThan(1e-11 * scale * Math.log2(n + 1));
    },
  );

  it.each([1, 2, 3, 4, 5, 8, 9, 15, 16, 24, 25, 40, 45, 64, 75, 120, 200, 256, 400, 640, 1000])("complex FFT of length %i matches the naive DFT", (n) => {
    const x = Float64Array.from({ length: 2 * n }, (_, i) => Math.cos(i * 0.9) + ((i * 7) % 3) - 1);
    const got = new Float64Array(2 * n);
    new ComplexFFT(n).forward(x, got);
    let scale = 0;
    const want = new Float64Array(2 * n);
    for (let k = 0; k < n; k++) {
      for (let t = 0; t < n; t++) {
        const angle = (-2 * Math.PI * ((k * t) % n)) / n;
        want[2 * k] += x[2 * t]! * Math.cos(angle) - x[2 * t + 1]! * Math.sin(angle);
        want[2 * k + 1] += x[2 * t]! * Math.sin(angle) + x[2 * t + 1]! * Math.cos(angle);
      }
      scale = Math.max(scale, Math.abs(want[2 * k]!), Math.abs(want[2 * k + 1]!));
    }
    for (let i = 0; i < 2 * n; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThan(1e-11 * scale * Math.log2(n + 1));
  });

  it("reuses a plan: the same signal gives the same spectrum, the input is left alone, out is filled", () => {
    const fft = new RealFFT(3000),
      x = Float64Array.from({ length: 3000 }, (_, i) => Math.sin(i * 0.37)),
      copy = x.slice();
    const first = fft.forward(x);
    fft.forward(Float64Array.from({ length: 3000 }, () => 1)); // something else in between
    const out = new Float64Array(3002).fill(Number.NaN);
    expect(fft.forward(x, out)).toBe(out);
    expect(out).toEqual(first);
    expect(x).toEqual(copy);
  });

  it("refuses lengths with prime factors other than 2, 3 and 5", () => {
    expect(() => new ComplexFFT(14)).toThrow(/factor into 2, 3 and 5; 7 remains/);
    expect(() => new RealFFT(9)).toThrow(/even length/);
  });

  it("handles the reference length 51 200 (checked on a pure tone)", () => {
    const n = 51_200,
      f = 1234;
    const x = Float64Array.from({ length: n }, (_, t) => Math.cos((2 * Math.PI * f * t) / n));
    const out = new RealFFT(n).forward(x);
    for (let k = 0; k <= n / 2; k++) {
      const magnitude = Math.hypot(out[2 * k]!, out[2 * k + 1]!);
      expect(magnitude).toBeCloseTo(k === f ? n / 2 : 0, 6);
    }
  });
});
