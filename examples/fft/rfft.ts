// A mixed-radix (4, 2, 3, 5) FFT for float64 data, with a real-input transform (like NumPy's
// `rfft`). Why write one: of the npm FFTs we compared, `fft.js` (fast, float64) handles powers
// of two only, and the mixed-radix ones (kissfft builds) are float32 Emscripten code; the
// reference workload has signals of length 51 200 = 2^11 · 5^2.
//
// The complex transform is a Stockham auto-sort FFT (no bit reversal): each pass of radix p
// reads x and writes y with stride s, then the buffers swap. A real signal of even length n is
// transformed as a complex signal of n/2 points (even samples real, odd ones imaginary) and
// untangled with one extra pass, so `rfft` costs about half a complex FFT of length n.

/** Radices in the order the passes use them: 4 first (fewest passes), then 2, 3, 5. */
function factorize(n: number): number[] {
  const factors: number[] = [];
  for (const p of [4, 2, 3, 5]) {
    while (n % p === 0) {
      factors.push(p);
      n /= p;
    }
  }
  if (n !== 1) throw new RangeError(`FFT length must factor into 2, 3 and 5; ${n} remains`);
  return factors;
}

interface Pass {
  p: number; // radix
  m: number; // butterflies per column: remaining length / p
  s: number; // stride
  tw: Float64Array; // for each butterfly index j and k = 1..p-1: cos, sin of -2π j k / (p m)
}

/** A complex FFT plan of length n on interleaved [re, im] Float64Arrays. */
export class ComplexFFT {
  private readonly passes: Pass[] = [];
  private readonly work: Float64Array;

  constructor(readonly n: number) {
    let remaining = n,
      s = 1;
    for (const p of factorize(n)) {
      const m = remaining / p;
      const tw = new Float64Array(m * (p - 1) * 2);
      for (let j = 0; j < m; j++) {
        for (let k = 1; k < p; k++) {
          const angle = (-2 * Math.PI * j * k) / remaining;
          tw[(j * (p - 1) + k - 1) * 2] = Math.cos(angle);
          tw[(j * (p - 1) + k - 1) * 2 + 1] = Math.sin(angle);
        }
      }
      this.passes.push({ p, m, s, tw });
      remaining = m;
      s *= p;
    }
    this.work = new Float64Array(2 * n);
  }

  /** Forward transform of `input` (2n values) into `output` (2n values); input is not modified. */
  forward(input: Float64Array, output: Float64Array): void {
    if (this.passes.length === 0) {
      output.set(input.subarray(0, 2 * this.n));
      return;
    }
    // Choose the first target so that the last pass writes into `output`.
    let x: Float64Array = input;
    let y: Float64Array = this.passes.length % 2 === 1 ? output : this.work;
    for (const pass of this.passes) {
      switch (pass.p) {
        case 4:
          radix4(pass, x, y);
          break;
        case 2:
          radix2(pass, x, y);
          break;
        case 3:
          radix3(pass, x, y);
          break;
        default:
          radix5(pass, x, y);
      }
      x = y;
      y = y === output ? this.work : output;
    }
  }
}

/** y[at] + i·y[at + 1] = (br + i·bi)(wr + i·wi): one output of a butterfly, times its twiddle. */
function twiddle(y: Float64Array, at: number, br: number, bi: number, wr: number, wi: number): void {
  y[at] = br * wr - bi * wi;
  y[at + 1] = br * wi + bi * wr;
}

function radix2({ m, s, tw }: Pass, x: Float64Array, y: Float64Array): void {
  for (let j = 0; j < m; j++) {
    const wr = tw[2 * j]!,
      wi = tw[2 * j + 1]!;
    for (let q = 0; q < s; q++) {
      const a = 2 * (q + s * j),
        b = 2 * (q + s * (j + m));
      const ar = x[a]!,
        ai = x[a + 1]!,
        br = x[b]!,
        bi = x[b + 1]!;
      const o0 = 2 * (q + s * 2 * j),
        o1 = o0 + 2 * s;
      y[o0] = ar + br;
      y[o0 + 1] = ai + bi;
      const dr = ar - br,
        di = ai - bi;
      twiddle(y, o1, dr, di, wr, wi);
    }
  }
}

function radix4({ m, s, tw }: Pass, x: Float64Array, y: Float64Array): void {
  const sm2 = 2 * s * m;
  for (let j = 0; j < m; j++) {
    const t = 6 * j;
    const w1r = tw[t]!,
      w1i = tw[t + 1]!,
      w2r = tw[t + 2]!,
      w2i = tw[t + 3]!,
      w3r = tw[t + 4]!,
      w3i = tw[t + 5]!;
    for (let q = 0; q < s; q++) {
      const a = 2 * (q + s * j);
      const a0r = x[a]!,
        a0i = x[a + 1]!;
      const a1r = x[a + sm2]!,
        a1i = x[a + sm2 + 1]!;
      const a2r = x[a + 2 * sm2]!,
        a2i = x[a + 2 * sm2 + 1]!;
      const a3r = x[a + 3 * sm2]!,
        a3i = x[a + 3 * sm2 + 1]!;
      const s02r = a0r + a2r,
        s02i = a0i + a2i,
        d02r = a0r - a2r,
        d02i = a0i - a2i;
      const s13r = a1r + a3r,
        s13i = a1i + a3i,
        d13r = a1r - a3r,
        d13i = a1i - a3i;
      const o = 2 * (q + s * 4 * j),
        st = 2 * s;
      y[o] = s02r + s13r;
      y[o + 1] = s02i + s13i;
      // b1 = d02 - i d13, b2 = s02 - s13, b3 = d02 + i d13, each times its twiddle
      const b1r = d02r + d13i,
        b1i = d02i - d13r;
      const b2r = s02r - s13r,
        b2i = s02i - s13i;
      const b3r = d02r - d13i,
        b3i = d02i + d13r;
      twiddle(y, o + st, b1r, b1i, w1r, w1i);
      twiddle(y, o + 2 * st, b2r, b2i, w2r, w2i);
      twiddle(y, o + 3 * st, b3r, b3i, w3r, w3i);
    }
  }
}

const C3 = -0.5,
  S3 = -Math.sqrt(3) / 2; // cos, sin of -2π/3

function radix3({ m, s, tw }: Pass, x: Float64Array, y: Float64Array): void {
  const sm2 = 2 * s * m;
  for (let j = 0; j < m; j++) {
    const w1r = tw[4 * j]!,
      w1i = tw[4 * j + 1]!,
      w2r = tw[4 * j + 2]!,
      w2i = tw[4 * j + 3]!;
    for (let q = 0; q < s; q++) {
      const a = 2 * (q + s * j);
      const a0r = x[a]!,
        a0i = x[a + 1]!,
        a1r = x[a + sm2]!,
        a1i = x[a + sm2 + 1]!,
        a2r = x[a + 2 * sm2]!,
        a2i = x[a + 2 * sm2 + 1]!;
      const sr = a1r + a2r,
        si = a1i + a2i,
        dr = a1r - a2r,
        di = a1i - a2i;
      const mr = a0r + C3 * sr,
        mi = a0i + C3 * si;
      const b1r = mr - S3 * di,
        b1i = mi + S3 * dr;
      const b2r = mr + S3 * di,
        b2i = mi - S3 * dr;
      const o = 2 * (q + s * 3 * j),
        st = 2 * s;
      y[o] = a0r + sr;
      y[o + 1] = a0i + si;
      twiddle(y, o + st, b1r, b1i, w1r, w1i);
      twiddle(y, o + 2 * st, b2r, b2i, w2r, w2i);
    }
  }
}

const C51 = Math.cos((2 * Math.PI) / 5),
  C52 = Math.cos((4 * Math.PI) / 5);
const S51 = -Math.sin((2 * Math.PI) / 5),
  S52 = -Math.sin((4 * Math.PI) / 5);

function radix5({ m, s, tw }: Pass, x: Float64Array, y: Float64Array): void {
  const sm2 = 2 * s * m;
  for (let j = 0; j < m; j++) {
    const t = 8 * j;
    const w1r = tw[t]!,
      w1i = tw[t + 1]!,
      w2r = tw[t + 2]!,
      w2i = tw[t + 3]!;
    const w3r = tw[t + 4]!,
      w3i = tw[t + 5]!,
      w4r = tw[t + 6]!,
      w4i = tw[t + 7]!;
    for (let q = 0; q < s; q++) {
      const a = 2 * (q + s * j);
      const a0r = x[a]!,
        a0i = x[a + 1]!;
      const a1r = x[a + sm2]!,
        a1i = x[a + sm2 + 1]!;
      const a2r = x[a + 2 * sm2]!,
        a2i = x[a + 2 * sm2 + 1]!;
      const a3r = x[a + 3 * sm2]!,
        a3i = x[a + 3 * sm2 + 1]!;
      const a4r = x[a + 4 * sm2]!,
        a4i = x[a + 4 * sm2 + 1]!;
      const s14r = a1r + a4r,
        s14i = a1i + a4i,
        d14r = a1r - a4r,
        d14i = a1i - a4i;
      const s23r = a2r + a3r,
        s23i = a2i + a3i,
        d23r = a2r - a3r,
        d23i = a2i - a3i;
      const m1r = a0r + C51 * s14r + C52 * s23r,
        m1i = a0i + C51 * s14i + C52 * s23i;
      const m2r = a0r + C52 * s14r + C51 * s23r,
        m2i = a0i + C52 * s14i + C51 * s23i;
      // i·(S51 d14 + S52 d23) and i·(S52 d14 - S51 d23)
      const n1r = -(S51 * d14i + S52 * d23i),
        n1i = S51 * d14r + S52 * d23r;
      const n2r = -(S52 * d14i - S51 * d23i),
        n2i = S52 * d14r - S51 * d23r;
      const b1r = m1r + n1r,
        b1i = m1i + n1i,
        b4r = m1r - n1r,
        b4i = m1i - n1i;
      const b2r = m2r + n2r,
        b2i = m2i + n2i,
        b3r = m2r - n2r,
        b3i = m2i - n2i;
      const o = 2 * (q + s * 5 * j),
        st = 2 * s;
      y[o] = a0r + s14r + s23r;
      y[o + 1] = a0i + s14i + s23i;
      twiddle(y, o + st, b1r, b1i, w1r, w1i);
      twiddle(y, o + 2 * st, b2r, b2i, w2r, w2i);
      twiddle(y, o + 3 * st, b3r, b3i, w3r, w3i);
      twiddle(y, o + 4 * st, b4r, b4i, w4r, w4i);
    }
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
  private readonly half: ComplexFFT;
  private readonly z: Float64Array;
  private readonly tw: Float64Array;

  constructor(readonly n: number) {
    if (n % 2 !== 0 || n < 2) throw new RangeError(`RealFFT needs an even length, got ${n}`);
    const m = n / 2;
    this.half = new ComplexFFT(m);
    this.z = new Float64Array(n);
    this.tw = new Float64Array(n);
    for (let k = 0; k < m; k++) {
      this.tw[2 * k] = Math.cos((-2 * Math.PI * k) / n);
      this.tw[2 * k + 1] = Math.sin((-2 * Math.PI * k) / n);
    }
  }

  /** Transform one signal of n samples; writes 2 (n/2 + 1) values into `out` (allocated if omitted). */
  forward(signal: Float64Array, out: Float64Array = new Float64Array(this.n + 2)): Float64Array {
    const m = this.n / 2,
      z = this.z,
      tw = this.tw;
    // The even/odd samples already sit as interleaved [re, im] pairs: transform n/2 complex points.
    this.half.forward(signal, z);
    out[0] = z[0]! + z[1]!;
    out[1] = 0;
    out[2 * m] = z[0]! - z[1]!;
    out[2 * m + 1] = 0;
    for (let k = 1; k < m; k++) {
      const zr = z[2 * k]!,
        zi = z[2 * k + 1]!,
        cr = z[2 * (m - k)]!,
        ci = -z[2 * (m - k) + 1]!;
      const er = 0.5 * (zr + cr),
        ei = 0.5 * (zi + ci); // even part: (Z[k] + conj Z[m-k]) / 2
      const dr = 0.5 * (zr - cr),
        di = 0.5 * (zi - ci); // (Z[k] - conj Z[m-k]) / 2
      const wr = tw[2 * k]!,
        wi = tw[2 * k + 1]!;
      // odd part: -i · w · d
      const pr = dr * wr - di * wi,
        pi = dr * wi + di * wr;
      out[2 * k] = er + pi;
      out[2 * k + 1] = ei - pr;
    }
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
