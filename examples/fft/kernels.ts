// The FFT passes as WebAssembly SIMD, one complex number per f64x2 vector. Written as code that
// emits the module (see wasm.ts) so each butterfly is spelled once and reused by the variant
// with twiddles and the one without (the last pass, where every twiddle is 1).
//
// A Stockham pass of radix p reads x[q + s (j + k m)] for k < p and writes the DFT of those p
// values, output r times the twiddle w^(r j) (w = e^(-2πi / (p m))), to y[q + s (p j + r)];
// for j < m, q < s. Twiddles are stored per j as (p - 1) pairs of vectors [wr, wr], [-wi, wi],
// so that a complex product is two multiplies, a swap and an add.
import {
  type Code,
  FunctionBuilder,
  add,
  encodeModule,
  f64x2,
  fadd,
  fmul,
  fsub,
  get,
  i32,
  load,
  ltU,
  mul,
  store,
  swap,
  wasm,
  type WasmModule,
  xor,
} from "./wasm.js";

/** Radices with a butterfly below. */
export const RADICES = [8, 4, 2, 3, 5] as const;
export type Radix = (typeof RADICES)[number];

const SIGN = -0;
/** Negates the imaginary part (conjugates), or the real part. */
const CONJ = f64x2(0, SIGN),
  NEG_RE = f64x2(SIGN, 0);

/** Butterfly arithmetic on locals of one function. */
class Complex {
  constructor(readonly f: FunctionBuilder) {}
  private v = (code: Code) => this.f.vector(code);
  add = (a: number, b: number) => this.v(fadd(get(a), get(b)));
  sub = (a: number, b: number) => this.v(fsub(get(a), get(b)));
  scale = (c: number, a: number) => this.v(fmul(f64x2(c, c), get(a)));
  /** -i·a = [im, -re] */
  mulNegI = (a: number) => this.v(xor(swap(get(a)), CONJ));
  /** i·a = [-im, re] */
  mulI = (a: number) => this.v(xor(swap(get(a)), NEG_RE));
  conj = (a: number) => this.v(xor(get(a), CONJ));
  /** a times the twiddle stored at `address + offset`. */
  twiddle = (a: number, address: Code, offset: number) => this.v(fadd(fmul(get(a), load(address, offset)), fmul(swap(get(a)), load(address, offset + 16))));
}

type Butterfly = (c: Complex, a: number[]) => number[];

const butterflies: Record<Radix, Butterfly> = {
  2: (c, [a0, a1]) => [c.add(a0!, a1!), c.sub(a0!, a1!)],
  4: (c, [a0, a1, a2, a3]) => {
    const s02 = c.add(a0!, a2!),
      d02 = c.sub(a0!, a2!),
      s13 = c.add(a1!, a3!),
      d13 = c.mulNegI(c.sub(a1!, a3!));
    return [c.add(s02, s13), c.add(d02, d13), c.sub(s02, s13), c.sub(d02, d13)];
  },
  8: (c, a) => {
    // t_k = a_k + a_(k+4) gives the even outputs, u_k = (a_k - a_(k+4)) ω8^k the odd ones
    const t = [0, 1, 2, 3].map((k) => c.add(a[k]!, a[k + 4]!)),
      e = [0, 1, 2, 3].map((k) => c.sub(a[k]!, a[k + 4]!));
    const h = Math.SQRT1_2,
      m1 = c.mulNegI(e[1]!),
      m3 = c.mulNegI(e[3]!);
    const u = [e[0]!, c.scale(h, c.add(e[1]!, m1)), c.mulNegI(e[2]!), c.scale(h, c.sub(m3, e[3]!))];
    const even = butterflies[4](c, t),
      odd = butterflies[4](c, u);
    return [0, 1, 2, 3].flatMap((r) => [even[r]!, odd[r]!]);
  },
  3: (c, [a0, a1, a2]) => {
    const s = c.add(a1!, a2!),
      m = c.add(a0!, c.scale(-0.5, s)),
      t = c.scale(-Math.sqrt(3) / 2, c.mulI(c.sub(a1!, a2!)));
    return [c.add(a0!, s), c.add(m, t), c.sub(m, t)];
  },
  5: (c, [a0, a1, a2, a3, a4]) => {
    const c1 = Math.cos((2 * Math.PI) / 5),
      c2 = Math.cos((4 * Math.PI) / 5),
      s1 = -Math.sin((2 * Math.PI) / 5),
      s2 = -Math.sin((4 * Math.PI) / 5);
    const s14 = c.add(a1!, a4!),
      d14 = c.mulI(c.sub(a1!, a4!)),
      s23 = c.add(a2!, a3!),
      d23 = c.mulI(c.sub(a2!, a3!));
    const m1 = c.add(a0!, c.add(c.scale(c1, s14), c.scale(c2, s23))),
      m2 = c.add(a0!, c.add(c.scale(c2, s14), c.scale(c1, s23)));
    const n1 = c.add(c.scale(s1, d14), c.scale(s2, d23)),
      n2 = c.sub(c.scale(s2, d14), c.scale(s1, d23));
    return [c.add(a0!, c.add(s14, s23)), c.add(m1, n1), c.add(m2, n2), c.sub(m2, n2), c.sub(m1, n1)];
  },
};

/** pass(x, y, tw, m, s): one Stockham pass of radix p (byte addresses; twiddles skipped if `twiddled` is false). */
function pass(p: Radix, twiddled: boolean): FunctionBuilder {
  const f = new FunctionBuilder(),
    c = new Complex(f);
  const [x, y, tw, m, s] = [0, 1, 2, 3, 4];
  const st = f.int(mul(i32(16), get(s))),
    sm = f.int(mul(get(st), get(m)));
  const inStride = Array.from({ length: p }, (_, k) => f.int(mul(i32(k), get(sm)))),
    outStride = Array.from({ length: p }, (_, r) => f.int(mul(i32(r), get(st))));
  const inJ = f.int(get(x)),
    outJ = f.int(get(y)),
    twJ = f.int(get(tw)),
    inQ = f.int(i32(0)),
    outQ = f.int(i32(0)),
    end = f.int(i32(0));
  f.set(end, add(get(x), get(sm))); // j < m  ⇔  inJ < x + s·m (in bytes)
  f.doWhile(
    () => {
      f.set(inQ, get(inJ));
      f.set(outQ, get(outJ));
      f.doWhile(
        () => {
          const a = inStride.map((k) => f.vector(load(add(get(inQ), get(k)))));
          const b = butterflies[p](c, a);
          f.emit(store(get(outQ), get(b[0]!)));
          for (let r = 1; r < p; r++) {
            const v = twiddled ? c.twiddle(b[r]!, get(twJ), 32 * (r - 1)) : b[r]!;
            f.emit(store(add(get(outQ), get(outStride[r]!)), get(v)));
          }
          f.set(inQ, add(get(inQ), i32(16)));
          f.set(outQ, add(get(outQ), i32(16)));
        },
        () => ltU(get(inQ), add(get(inJ), get(st))),
      );
      f.set(inJ, add(get(inJ), get(st)));
      f.set(outJ, add(get(outJ), mul(i32(p), get(st))));
      f.set(twJ, add(get(twJ), i32(32 * (p - 1))));
    },
    () => ltU(get(inJ), get(end)),
  );
  return f;
}

/**
 * untangle(z, tw, half, m): turns Z, the m-point FFT of a real signal's (even, odd) sample pairs,
 * into that signal's spectrum X in place, for k = 1 … half (= m / 2, rounded down):
 * X[k] = E - i P and X[m - k] = conj(E + i P), with E = (Z[k] + conj Z[m-k]) / 2 and
 * P = w^k (Z[k] - conj Z[m-k]) / 2, w = e^(-πi / m); the twiddles at `tw` hold w^k / 2.
 */
function untangle(): FunctionBuilder {
  const f = new FunctionBuilder(),
    c = new Complex(f);
  const [z, tw, half, m] = [0, 1, 2, 3];
  const lo = f.int(add(get(z), i32(16))),
    hi = f.int(add(get(z), mul(i32(16), add(get(m), i32(-1))))),
    twK = f.int(add(get(tw), i32(32))),
    end = f.int(add(get(lo), mul(i32(16), get(half))));
  f.doWhile(
    () => {
      const zk = f.vector(load(get(lo))),
        conjZmk = c.conj(f.vector(load(get(hi))));
      const e = c.scale(0.5, c.add(zk, conjZmk)),
        iP = c.mulI(c.twiddle(c.sub(zk, conjZmk), get(twK), 0));
      f.emit(store(get(lo), get(c.sub(e, iP))));
      f.emit(store(get(hi), get(c.conj(c.add(e, iP)))));
      f.set(lo, add(get(lo), i32(16)));
      f.set(hi, add(get(hi), i32(-16)));
      f.set(twK, add(get(twK), i32(32)));
    },
    () => ltU(get(lo), get(end)),
  );
  return f;
}

/** The compiled kernels: `r<p>` and `r<p>last` (no twiddles) for each radix, and `untangle`. */
let compiled: WasmModule | undefined;
export function kernelModule(): WasmModule {
  if (!compiled) {
    const functions: Record<string, FunctionBuilder> = { untangle: untangle() };
    for (const p of RADICES) {
      functions[`r${p}`] = pass(p, true);
      functions[`r${p}last`] = pass(p, false);
    }
    compiled = new wasm.Module(encodeModule(functions));
  }
  return compiled;
}

/** Signature of every exported kernel (unused trailing arguments are ignored). */
export type Kernel = (a: number, b: number, c: number, d: number, e: number) => void;
