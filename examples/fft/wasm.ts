// Just enough of a WebAssembly encoder to write the FFT kernels (kernels.ts) as TypeScript that
// emits SIMD code at start-up: no compiler, no assembler, no generated file to keep in sync.
// Each value is a complex number held in one f64x2 vector [re, im]; every intermediate result
// goes into its own local, and V8's optimizing compiler allocates registers for them.

/** The part of the WebAssembly JS API used here: Node has it, @types/node 20 does not declare it. */
interface WebAssemblyApi {
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: object) => { exports: Record<string, unknown> };
  Memory: new (descriptor: { initial: number }) => { buffer: ArrayBuffer };
}
export type WasmModule = { readonly brand: "WebAssembly.Module" };
export const wasm = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;

/** Encoded instruction bytes. */
export type Code = number[];

const I32 = 0x7f,
  V128 = 0x7b;

function uleb(n: number): Code {
  const out: Code = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

function sleb(n: number): Code {
  const out: Code = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) return [...out, byte];
    out.push(byte | 0x80);
  }
}

const vec = (items: Code[]): Code => [...uleb(items.length), ...items.flat()];
const name = (s: string): Code => vec([...Buffer.from(s)].map((b) => [b]));
const simd = (op: number): Code => [0xfd, ...uleb(op)];

/** The body of one function: its locals and its instructions, written through the helpers below. */
export class FunctionBuilder {
  readonly code: Code = [];
  private readonly locals: number[] = [];

  /** Every function takes five i32 parameters, locals 0 … 4. */
  readonly params = 5;

  private local(type: number): number {
    this.locals.push(type);
    return this.params + this.locals.length - 1;
  }

  /** A new i32 local set to `value`. */
  int(value: Code): number {
    const l = this.local(I32);
    this.set(l, value);
    return l;
  }

  /** A new v128 local set to `value`. */
  vector(value: Code): number {
    const l = this.local(V128);
    this.set(l, value);
    return l;
  }

  set(l: number, value: Code): void {
    this.code.push(...value, 0x21, ...uleb(l));
  }

  emit(code: Code): void {
    this.code.push(...code);
  }

  /** `do { body } while (condition)`: the loops here all run at least once. */
  doWhile(body: () => void, condition: () => Code): void {
    this.code.push(0x03, 0x40);
    body();
    this.code.push(...condition(), 0x0d, 0, 0x0b);
  }

  encode(): Code {
    const decls = this.locals.map((type) => [1, type]);
    const body = [...vec(decls), ...this.code, 0x0b];
    return [...uleb(body.length), ...body];
  }
}

export const get = (l: number): Code => [0x20, ...uleb(l)];
export const i32 = (n: number): Code => [0x41, ...sleb(n)];
export const add = (a: Code, b: Code): Code => [...a, ...b, 0x6a];
export const mul = (a: Code, b: Code): Code => [...a, ...b, 0x6c];
export const ltU = (a: Code, b: Code): Code => [...a, ...b, 0x49];

/** v128.load / v128.store at `address + offset` (16-byte aligned). */
export const load = (address: Code, offset = 0): Code => [...address, ...simd(0x00), 4, ...uleb(offset)];
export const store = (address: Code, value: Code, offset = 0): Code => [...address, ...value, ...simd(0x0b), 4, ...uleb(offset)];

export const fadd = (a: Code, b: Code): Code => [...a, ...b, ...simd(0xf0)];
export const fsub = (a: Code, b: Code): Code => [...a, ...b, ...simd(0xf1)];
export const fmul = (a: Code, b: Code): Code => [...a, ...b, ...simd(0xf2)];
export const xor = (a: Code, b: Code): Code => [...a, ...b, ...simd(0x51)];
/** [re, im] → [im, re] (`a` is evaluated twice, so pass a local). */
export const swap = (a: Code): Code => [...a, ...a, ...simd(0x0d), 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7];
/** The constant vector [lo, hi]. */
export const f64x2 = (lo: number, hi: number): Code => [...simd(0x0c), ...new Uint8Array(Float64Array.of(lo, hi).buffer)];

/**
 * A module importing its memory as `fft.memory` and exporting `functions`, each taking five
 * i32 parameters and returning nothing.
 */
export function encodeModule(functions: Record<string, FunctionBuilder>): Uint8Array {
  const section = (id: number, items: Code[]): Code => {
    const body = vec(items);
    return [id, ...uleb(body.length), ...body];
  };
  const entries = Object.entries(functions);
  return Uint8Array.from([
    ...[0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0],
    ...section(1, [[0x60, ...vec(Array.from({ length: 5 }, () => [I32])), 0]]), // type 0: (i32 × 5) → ()
    ...section(2, [[...name("fft"), ...name("memory"), 0x02, 0x00, 1]]), // memory, at least 1 page
    ...section(
      3,
      entries.map(() => [0]),
    ),
    ...section(
      7,
      entries.map(([n], i) => [...name(n), 0x00, ...uleb(i)]),
    ),
    ...section(
      10,
      entries.map(([, f]) => f.encode()),
    ),
  ]);
}
