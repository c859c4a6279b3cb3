// A mixed-radix (8, 4, 2, 3, 5) FFT for float64 data, with a real-input transform (like NumPy's
// `rfft`). Why write one: of the npm FFTs we compared, `fft.js` (fast, float64) handles powers
// of two only, and the mixed-radix ones (kissfft, fftw-js builds) are float32 Emscripten code;
// the reference workload has signals of length 51 200 = 2^11 · 5^2.
//
// The complex transform is a Stockham auto-sort FFT (no bit reversal): each pass of radix p
// reads x and writes y with stride s, then the buffers swap. A real signal of even length n is
// transformed as a complex signal of n/2 points (even samples real, odd ones imaginary) and
// untangled with one extra pass, so `rfft` costs about half a complex FFT of length n.
//
// The passes run as WebAssembly SIMD (kernels.ts), one complex number per f64x2 vector: plain
// TypeScript spends about as long on its Float64Array loads and stores as on the arithmetic and
// took 1.6× NumPy's time per 51 200-point rfft (0.31 ms against 0.20 ms); the SIMD passes take
// 0.12 ms, about 0.6× (`node bench/rfft.mjs`).
import { type Kernel, RADICES, type Radix, kernelModule } from "./kernels.js";
import { wasm } from "./wasm.js";

/** Radices in the order the passes use them: 8 first (fewest passes), then 4, 2, 3, 5. */
function factorize(n: number): Radix[] {
  const factors: Radix[] = [];
  for (const p of RADICES) {
    while (n % p === 0) {
      factors.push(p);
      n /= p;
    }
  }
  if (n !== 1) throw new RangeError(`FFT length must factor into 2, 3 and 5; ${n} remains`);
  return factors;
}

interface Pass {
  p: Radix;
  m: number; // butterflies per column: remaining length / p
  s: number; // stride
  tw: number; // byte address of its twiddles: for each j < m and k = 1 … p-1, w^(j k), w = e^(-2πi / (p m))
  kernel?: Kernel;
}

/**
 * A complex FFT of n points in its own WebAssembly memory: two buffers of n complex values, the
 * twiddles of each pass, then `extraBytes` for the caller.
 */
class Plan {
  readonly heap: Float64Array;
  readonly kernels: Record<string, Kernel>;
  readonly extra: number; // byte address of the caller's bytes
  private readonly passes: Pass[];

  constructor(
    readonly n: number,
    extraBytes: number,
  ) {
    let remaining = n,
      s = 1,
      tw = 32 * n; // after the buffers at 0 and 16 n
    this.passes = factorize(n).map((p) => {
      const pass = { p, m: remaining / p, s, tw };
      tw += 32 * (p - 1) * pass.m;
      remaining = pass.m;
      s *= p;
      return pass;
    });
    this.extra = tw;
    const memory = new wasm.Memory({ initial: Math.ceil((this.extra + extraBytes) / 65536) });
    this.heap = new Float64Array(memory.buffer);
    this.kernels = new wasm.Instance(kernelModule(), { fft: { memory } }).exports as Record<string, Kernel>;
    for (const pass of this.passes) {
      const { p, m } = pass;
      pass.kernel = this.kernels[m === 1 ? `r${p}last` : `r${p}`];
      for (let j = 0, at = pass.tw; j < m; j++) {
        for (let k = 1; k < p; k++, at += 32) this.setTwiddle(at, (-2 * Math.PI * j * k) / (p * m), 1);
      }
    }
  }

  /** Stores e^(i angle) · scale at byte address `at` as the vectors [wr, wr], [-wi, wi]. */
  setTwiddle(at: number, angle: number, scale: number): void {
    const wr = scale * Math.cos(angle),
      wi = scale * Math.sin(angle);
    this.heap.set([wr, wr, -wi, wi], at / 8);
  }

  /** Copies n complex values (2n numbers) in and transforms them; returns the result's index in `heap`. */
  run(input: Float64Array): number {
    let [x, y] = [0, 16 * this.n];
    this.heap.set(input.subarray(0, 2 * this.n), 0);
    for (const { kernel, tw, m, s } of this.passes) {
      kernel!(x, y, tw, m, s);
      [x, y] = [y, x];
    }
    return x / 8;
  }
}

/**
 * A complex FFT plan of length n (a product of 2, 3 and 5) on interleaved [re, im]
 * Float64Arrays. The plan owns its scratch memory: make one per length and reuse it.
 *
 * ```ts
 * const fft = new ComplexFFT(200);
 * fft.forward(signal, spectrum); // both Float64Arrays of 400 values
 * ```
 */
export class ComplexFFT {
  private readonly plan: Plan;

  constructor(readonly n: number) {
    this.plan = new Plan(n, 0);
  }

  /** Forward transform of `input` (2n values) into `output` (2n values); input is not modified. */
  forward(input: Float64Array, output: Float64Array): void {
    const at = this.plan.run(input);
    output.set(this.plan.heap.subarray(at, at + 2 * this.n));
  }
}

/**
 * Real-input FFT of even length n (NumPy's `rfft`): n/2 + 1 complex outputs, interleaved.
 *
 * ```ts
 * const fft = new RealFFT(51_200);
 * const spectrum = fft.forward(signal); // Float64Array of 2 * (51_200 / 2 + 1) values
 * ```
 */
export class RealFFT {
  private readonly plan: Plan;

  constructor(readonly n: number) {
    if (n % 2 !== 0 || n < 2) throw new RangeError(`RealFFT needs an even length, got ${n}`);
    const m = n / 2,
      half = Math.floor(m / 2);
    this.plan = new Plan(m, 32 * (half + 1));
    for (let k = 1; k <= half; k++) this.plan.setTwiddle(this.plan.extra + 32 * k, (-Math.PI * k) / m, 0.5);
  }

  /** Transform one signal of n samples; writes 2 (n/2 + 1) values into `out` (allocated if omitted). */
  forward(signal: Float64Array, out: Float64Array = new Float64Array(this.n + 2)): Float64Array {
    const n = this.n,
      m = n / 2,
      { heap, kernels, extra } = this.plan;
    // The even/odd samples already sit as interleaved [re, im] pairs: transform n/2 complex points.
    const at = this.plan.run(signal);
    if (m >= 2) kernels.untangle!(8 * at, extra, Math.floor(m / 2), m, 0);
    out.set(heap.subarray(at, at + n));
    const zr = out[0]!,
      zi = out[1]!;
    out[0] = zr + zi;
    out[1] = 0;
    out[n] = zr - zi;
    out[n + 1] = 0;
    return out;
  }
}

/** The O(n²) DFT of a real signal: the reference the tests compare against. */
export function naiveRealDFT(signal: Float64Array): Float64Array {
  const n = signal.length,
    out = new Float64Array(2 * (Math.floor(n / 2) + 1));
  for (let k = 0; k <= n / 2; k++) {
    let re = 0,
      im = 0;
    for (let t = 0; t < n; t++) {
      const angle = (-2 * Math.PI * ((k * t) % n)) / n;
      re += signal[t]! * Math.cos(angle);
      im += signal[t]! * Math.sin(angle);
    }
    out[2 * k] = re;
    out[2 * k + 1] = im;
  }
  return out;
}
