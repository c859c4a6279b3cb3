/**
 * Element-wise SUM, PROD, MIN and MAX of large typed arrays with WebAssembly SIMD (128-bit
 * lanes), for the reductions' combine step: V8 runs `a[i] += b[i]` over a Float32Array at
 * ~1.6 ns an element on this VM (each element widened to a double and rounded back), so at
 * 4 MiB the sum alone took as long as mpi4py's whole allreduce; four lanes at a time in
 * WebAssembly, with the operands copied in and the result out in cache-sized chunks, it is
 * several times faster. Each lane computes exactly what the JavaScript loop does (IEEE
 * single or double results, wrapping integers; MIN/MAX as `b < a ? b : a`, the `pmin`/`pmax`
 * instructions), so every rank and every algorithm still gets the same bits.
 *
 * The module is written here as bytes (no toolchain): one exported memory and one function
 * per (instruction) of the form `(dst, src, bytes)`, `dst[i] = op(dst[i], src[i])` over
 * 16-byte vectors; the tail of an array that does not fill a vector is left to the caller.
 */
import type { TypedArray } from "../comm/wire/values.js";

/** Bytes of each operand per call (two fit the module's memory): in cache between the copies and the arithmetic. */
const CHUNK = 32 * 1024;
/** Bytes below which the copies in and out cost more than they save. */
export const SIMD_MIN_BYTES = 2048;

/** SIMD opcodes (after the 0xfd prefix) per array class and op name. */
const OPCODES: Record<string, Partial<Record<string, number>>> = {
  Float32Array: { SUM: 0xe4, PROD: 0xe6, MIN: 0xea, MAX: 0xeb },
  Float64Array: { SUM: 0xf0, PROD: 0xf2, MIN: 0xf6, MAX: 0xf7 },
  Int32Array: { SUM: 0xae, MIN: 0xb6, MAX: 0xb8 },
  Uint32Array: { SUM: 0xae, MIN: 0xb7, MAX: 0xb9 },
  Int16Array: { SUM: 0x8e },
  Uint16Array: { SUM: 0x8e },
  Int8Array: { SUM: 0x6e },
  Uint8Array: { SUM: 0x6e },
};
const ORDER = [...new Set(Object.values(OPCODES).flatMap((ops) => Object.values(ops) as number[]))];

/** Unsigned LEB128. */
function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}
const section = (id: number, body: number[]): number[] => [id, ...leb(body.length), ...body];
const vector = (items: number[][]): number[] => [...leb(items.length), ...items.flat()];
const name = (text: string): number[] => [...leb(text.length), ...[...text].map((c) => c.charCodeAt(0))];

/** The body of `(dst, src, bytes)`: for i in 0, 16, …, < bytes: dst[i] = op(dst[i], src[i]). */
function body(opcode: number): number[] {
  const get = (l: number) => [0x20, l];
  const load = [0xfd, 0x00, 0x04, 0x00]; // v128.load align=16 offset=0
  const code = [
    ...[0x02, 0x40, 0x03, 0x40], // block, loop
    ...get(3),
    ...get(2),
    0x4f,
    0x0d,
    0x01, // i >= bytes: break
    ...get(0),
    ...get(3),
    0x6a, // address dst + i
    ...get(0),
    ...get(3),
    0x6a,
    ...load,
    ...get(1),
    ...get(3),
    0x6a,
    ...load,
    0xfd,
    ...leb(opcode),
    0xfd,
    0x0b,
    0x04,
    0x00, // v128.store
    ...get(3),
    0x41,
    0x10,
    0x6a,
    0x21,
    0x03, // i += 16
    0x0c,
    0x00,
    0x0b,
    0x0b,
    0x0b, // br loop; end loop, block, function
  ];
  const fn = [0x01, 0x01, 0x7f, ...code]; // one i32 local
  return [...leb(fn.length), ...fn];
}

function moduleBytes(): Uint8Array {
  const bytes = [
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vector([[0x60, 0x03, 0x7f, 0x7f, 0x7f, 0x00]])),
    ...section(3, vector(ORDER.map(() => [0x00]))),
    ...section(5, vector([[0x00, ...leb((2 * CHUNK) / 65536 + 1)]])),
    ...section(7, vector([[...name("memory"), 0x02, 0x00], ...ORDER.map((_, i) => [...name(`f${i}`), 0x00, ...leb(i)])])),
    ...section(10, [...leb(ORDER.length), ...ORDER.flatMap(body)]),
  ];
  return new Uint8Array(bytes);
}

type Kernel = (dst: number, src: number, bytes: number) => void;
/** What this file uses of the WebAssembly global (tsmpi's lib settings have no DOM types). */
interface Wasm {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}
interface Simd {
  memory: Uint8Array;
  kernels: Map<number, Kernel>;
}
/** The instance, made on first use; null where WebAssembly SIMD is missing (then JavaScript combines). */
let simd: Simd | null | undefined;

function instance(): Simd | null {
  if (simd !== undefined) return simd;
  try {
    const { Module, Instance } = (globalThis as unknown as { WebAssembly: Wasm }).WebAssembly;
    const made = new Instance(new Module(moduleBytes()), {});
    const kernels = new Map(ORDER.map((opcode, i) => [opcode, made.exports[`f${i}`] as Kernel]));
    simd = { memory: new Uint8Array((made.exports.memory as { buffer: ArrayBuffer }).buffer), kernels };
  } catch {
    simd = null;
  }
  return simd;
}

/**
 * `acc[i] = op(acc[i], x[i])` in SIMD lanes, for op `name` (SUM, PROD, MIN, MAX) over arrays of
 * one class and length. @returns false, doing nothing, where there is no kernel for them.
 */
export function combineSimd(name: string, acc: TypedArray, x: TypedArray): boolean {
  const opcode = OPCODES[acc.constructor.name]?.[name];
  const wasm = opcode === undefined ? null : instance();
  if (wasm === null) return false;
  const kernel = wasm.kernels.get(opcode!)!;
  const mem = wasm.memory;
  const unit = acc.BYTES_PER_ELEMENT;
  const a = new Uint8Array(acc.buffer, acc.byteOffset, acc.byteLength);
  const b = new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
  const vectors = acc.byteLength & ~15;
  for (let lo = 0; lo < vectors; lo += CHUNK) {
    const hi = Math.min(vectors, lo + CHUNK);
    mem.set(a.subarray(lo, hi), 0);
    mem.set(b.subarray(lo, hi), CHUNK);
    kernel(0, CHUNK, hi - lo);
    a.set(mem.subarray(0, hi - lo), lo);
  }
  // The last elements that do not fill a vector, as the JavaScript loop does them.
  if (vectors < acc.byteLength) combineTail(name, acc.subarray(vectors / unit), x.subarray(vectors / unit));
  return true;
}

/** The elements after the last whole vector, in JavaScript. */
function combineTail(name: string, acc: TypedArray, x: TypedArray): void {
  const a = acc as unknown as number[],
    b = x as unknown as number[];
  for (let i = 0; i < acc.length; i++) {
    if (name === "SUM") a[i] = a[i]! + b[i]!;
    else if (name === "PROD") a[i] = a[i]! * b[i]!;
    else if (name === "MIN") a[i] = b[i]! < a[i]! ? b[i]! : a[i]!;
    else a[i] = b[i]! > a[i]! ? b[i]! : a[i]!;
  }
}
