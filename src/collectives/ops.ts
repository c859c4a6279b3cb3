/**
 * Reduction operators (MPI_Op): the built-ins and user functions.
 *
 * Built-ins work on numbers, bigints, booleans (logical ops), nested arrays of them
 * (element-wise) and every TypedArray kind (element-wise, in place in an accumulator the
 * collective owns). MINLOC/MAXLOC take `[value, index]` pairs, arrays of pairs, or a typed
 * array of interleaved pairs (MPI's 2DOUBLE_PRECISION layout).
 */
import { ArgumentError, OpError, callError } from "../errors.js";
import { describe, type Where } from "../comm/wire/validate.js";
import { copyArray, isTypedArray } from "../comm/wire/arrays.js";
import type { TypedArray } from "../comm/wire/values.js";
import { SIMD_MIN_BYTES, combineSimd } from "./simd.js";

type Scalar = number | bigint | boolean;

/**
 * A reduction operator: one of the exported constants ({@link SUM}, {@link MAX}...), a user
 * operator from {@link Op.create}, or, wherever an op is taken, a plain function `(a, b) => c`.
 */
export class Op {
  private constructor(
    /** Name used in error messages. */
    readonly name: string,
    /** Combine two scalars (built-ins) or two whole values (user ops). */
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- operands are numbers, bigints, booleans or user values, checked by checkOperand
    readonly apply: (a: any, b: any) => unknown,
    /** Whether op(a, b) = op(b, a); non-commutative ops are applied in rank order. */
    readonly commutative: boolean,
    /** @internal built-ins only: how it treats its data ("rma": REPLACE and NO_OP, for accumulate and reduceLocal only). */
    readonly kind: "arith" | "logical" | "bitwise" | "loc" | "complex" | "rma" | "user",
  ) {}

  /**
   * A user operator (MPI_Op_create). `fn(a, b)` gets the lower ranks' value first and returns
   * the combined value; it must be associative. A plain function passed as an op is the same
   * as `Op.create(fn)`: applied to whole values in rank order. Declare an op commutative only
   * if it is: reductions may then combine in any order, `reduce` skips a hop to its root, and
   * typed arrays of 64 KiB or more take the ring algorithm, which calls `fn` on matching
   * blocks (subarrays) of the operands, element-wise as MPI user functions are called.
   * @example
   * ```ts
   * const concat = Op.create((a: string, b: string) => a + b); // rank order: "0123"
   * const add = Op.create((a: Float64Array, b: Float64Array) => a.map((x, i) => x + b[i]!), true);
   * const all = await comm.allreduce(String(comm.rank), concat);
   * ```
   * @param fn `(a, b) => c`, with `a` from lower ranks than `b`
   * @param commutative @default false, as in MPI
   * @returns the operator, to pass to reduce, allreduce, scan, exscan or reduceScatter
   * @throws ArgumentError if `fn` is not a function
   */
  static create<T>(fn: (a: T, b: T) => T, commutative = false): Op {
    if (typeof fn !== "function") throw new ArgumentError(`Op.create: fn must be a function (a, b) => result, got ${describe(fn)}`);
    return new Op(fn.name ? `op ${fn.name}` : "user op", fn, commutative, "user");
  }

  /** @internal */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- see `apply`
  static builtin(name: string, kind: Op["kind"], apply: (a: any, b: any) => unknown): Op {
    return new Op(name, apply, true, kind);
  }
}

/** What a reduction takes as its op: an {@link Op}, or a function `(a, b) => c` applied in rank order. */
export type OpLike<T> = Op | ((a: T, b: T) => T);

/**
 * The Op behind a reduction's `op` argument; a plain function becomes a non-commutative user
 * op (whole values, rank order: always the serial result). Anything else is refused at the
 * call, before any data moves.
 */
export function toOp(where: Where, op: unknown): Op {
  if (op instanceof Op) return op;
  if (typeof op === "function") return Op.create(op as (a: unknown, b: unknown) => unknown);
  throw callError(
    ArgumentError,
    where.call,
    where.rank,
    `op must be an Op (SUM, PROD, MIN, MAX, LAND, ..., MAXLOC, or Op.create(fn, commutative)) or a function (a, b) => result, got ${describe(op)}`,
  );
}

const bool = (x: Scalar): boolean => (typeof x === "bigint" ? x !== 0n : Boolean(x));
/** Logical results keep the operand type: boolean stays boolean, numbers give 1/0. */
const logical = (f: (a: boolean, b: boolean) => boolean) => (a: Scalar, b: Scalar) => {
  const r = f(bool(a), bool(b));
  return typeof a === "boolean" ? r : typeof a === "bigint" ? BigInt(r) : Number(r);
};
const bitwise = (f: (a: bigint, b: bigint) => bigint) => (a: number | bigint, b: number | bigint) =>
  typeof a === "bigint" ? f(a, b as bigint) : Number(f(BigInt(a), BigInt(b)));

/** Sum (MPI_SUM). */
export const SUM = Op.builtin("SUM", "arith", (a, b) => a + b);
/** Product (MPI_PROD). */
export const PROD = Op.builtin("PROD", "arith", (a, b) => a * b);
/** Minimum (MPI_MIN). */
export const MIN = Op.builtin("MIN", "arith", (a, b) => (b < a ? b : a));
/** Maximum (MPI_MAX). */
export const MAX = Op.builtin("MAX", "arith", (a, b) => (b > a ? b : a));
/** Logical and (MPI_LAND): booleans stay booleans, numbers give 1/0. */
export const LAND = Op.builtin(
  "LAND",
  "logical",
  logical((a, b) => a && b),
);
/** Logical or (MPI_LOR). */
export const LOR = Op.builtin(
  "LOR",
  "logical",
  logical((a, b) => a || b),
);
/** Logical exclusive or (MPI_LXOR). */
export const LXOR = Op.builtin(
  "LXOR",
  "logical",
  logical((a, b) => a !== b),
);
/** Bitwise and (MPI_BAND): integers, bigints and integer typed arrays only. */
export const BAND = Op.builtin(
  "BAND",
  "bitwise",
  bitwise((a, b) => a & b),
);
/** Bitwise or (MPI_BOR). */
export const BOR = Op.builtin(
  "BOR",
  "bitwise",
  bitwise((a, b) => a | b),
);
/** Bitwise exclusive or (MPI_BXOR). */
export const BXOR = Op.builtin(
  "BXOR",
  "bitwise",
  bitwise((a, b) => a ^ b),
);
/**
 * Replace (MPI_REPLACE), for one-sided `accumulate` (an atomic put) and {@link reduceLocal}
 * only: the target (`inout`) takes the origin's (`input`'s) data. Reductions refuse it, as MPI does.
 */
export const REPLACE = Op.builtin("REPLACE", "rma", (_target, origin) => origin);
/** No operation (MPI_NO_OP), for one-sided accumulate (with `fetchAndOp`, an atomic read) and {@link reduceLocal} only: the target stays as it is. */
export const NO_OP = Op.builtin("NO_OP", "rma", (target) => target);
/** Pairs `[value, index]`: the smallest value, and on ties the smallest index. */
export const MINLOC = Op.builtin("MINLOC", "loc", (a, b) => (b[0] < a[0] || (b[0] === a[0] && b[1] < a[1]) ? b : a));
/** Pairs `[value, index]`: the largest value, and on ties the smallest index. */
export const MAXLOC = Op.builtin("MAXLOC", "loc", (a, b) => (b[0] > a[0] || (b[0] === a[0] && b[1] < a[1]) ? b : a));

const FLOAT_ARRAYS = new Set(["Float32Array", "Float64Array"]);

/** Elements per item of `op`'s data: 2 where a typed array holds pairs (MINLOC/MAXLOC, complex numbers), which a split must keep whole. */
export const grain = (op: Op): number => (op.kind === "loc" || op.kind === "complex" ? 2 : 1);

/** Throws OpError if `op` cannot combine `value`; run before any data moves. */
export function checkOperand(op: Op, value: unknown): void {
  if (op.kind === "user") return;
  if (op.kind === "rma") {
    throw new OpError(
      `${op.name} is for one-sided accumulate and reduceLocal only (MPI allows it in no reduction); to keep the last rank's value pass (a, b) => b`,
    );
  }
  if (op.kind === "complex") {
    if (isTypedArray(value) && FLOAT_ARRAYS.has(value.constructor.name) && value.length % 2 === 0) return;
    throw new OpError(`${op.name} needs complex numbers as a Float64Array or Float32Array of interleaved (re, im) pairs (even length), got ${describe(value)}`);
  }
  if (isTypedArray(value)) {
    if (op.kind === "bitwise" && FLOAT_ARRAYS.has(value.constructor.name)) {
      throw new OpError(`${op.name} needs integers, got ${describe(value)}; use an integer typed array or SUM/MIN/MAX`);
    }
    if (op.kind === "loc" && value.length % 2 !== 0) {
      throw new OpError(`${op.name} on a typed array needs interleaved [value, index] pairs (even length), got ${describe(value)}`);
    }
    return;
  }
  if (op.kind === "loc") {
    const isPair = (p: unknown) => Array.isArray(p) && p.length === 2 && typeof p[0] !== "object";
    if (isPair(value) || (Array.isArray(value) && value.every(isPair))) return;
    throw new OpError(`${op.name} needs a [value, index] pair or an array of pairs, got ${describe(value)}`);
  }
  if (Array.isArray(value)) return value.forEach((v) => checkOperand(op, v));
  const t = typeof value;
  const ok =
    op.kind === "arith"
      ? t === "number" || t === "bigint"
      : op.kind === "logical"
        ? t === "number" || t === "bigint" || t === "boolean"
        : t === "bigint" || Number.isInteger(value);
  if (!ok) {
    const need = op.kind === "bitwise" ? "integers or bigints" : op.kind === "logical" ? "booleans, numbers or bigints" : "numbers or bigints";
    throw new OpError(`${op.name} needs ${need} (or arrays/typed arrays of them), got ${describe(value)}; pass a user op from Op.create for other data`);
  }
}

/** Copy a typed array so a reduction can accumulate into it without touching the caller's data. */
export function own<T>(value: T): T {
  return (isTypedArray(value) ? copyArray(value) : value) as T;
}

/** Element-wise `acc[i] = op(acc[i], x[i])` over typed arrays, in place. */
function combineArrays(op: Op, acc: TypedArray, x: TypedArray, accFirst: boolean): TypedArray {
  if (acc.length !== x.length || acc.constructor !== x.constructor) {
    throw new OpError(`${op.name} got arrays of different shapes: ${describe(acc)} and ${describe(x)}; every rank must pass the same type and length`);
  }
  // One loop body serves number and bigint arrays alike; checkOperand and the shape check above make the mix safe.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- element type is number or bigint
  type Elements = { [i: number]: any };
  const a = acc as unknown as Elements,
    b = x as unknown as Elements,
    n = acc.length;
  if (op.kind === "complex") return op.apply(acc, x) as TypedArray;
  // Large arrays of the common kinds: in WebAssembly SIMD lanes, the same bits several times faster (see simd.ts).
  if (acc.byteLength >= SIMD_MIN_BYTES && op.kind === "arith" && combineSimd(op.name, acc, x)) return acc;
  switch (op) {
    case SUM:
      for (let i = 0; i < n; i++) a[i] += b[i];
      return acc;
    case PROD:
      for (let i = 0; i < n; i++) a[i] *= b[i];
      return acc;
    case MIN:
      for (let i = 0; i < n; i++) if (b[i] < a[i]) a[i] = b[i];
      return acc;
    case MAX:
      for (let i = 0; i < n; i++) if (b[i] > a[i]) a[i] = b[i];
      return acc;
    case BAND:
      for (let i = 0; i < n; i++) a[i] &= b[i];
      return acc;
    case BOR:
      for (let i = 0; i < n; i++) a[i] |= b[i];
      return acc;
    case BXOR:
      for (let i = 0; i < n; i++) a[i] ^= b[i];
      return acc;
  }
  if (op.kind === "loc") {
    for (let i = 0; i < n; i += 2) {
      const [v, k] = op.apply([a[i], a[i + 1]], [b[i], b[i + 1]]) as [number, number];
      a[i] = v;
      a[i + 1] = k;
    }
    return acc;
  }
  for (let i = 0; i < n; i++) a[i] = accFirst ? op.apply(a[i], b[i]) : op.apply(b[i], a[i]);
  return acc;
}

/** Element-wise combine of scalars and nested arrays (never in place). */
function combineValues(op: Op, a: unknown, b: unknown): unknown {
  if (op.kind === "loc" && Array.isArray(a) && !Array.isArray(a[0])) return op.apply(a, b);
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) {
      throw new OpError(`${op.name} got ${describe(a)} and ${describe(b)}; every rank must pass the same shape`);
    }
    return a.map((x, i) => combineValues(op, x, b[i]));
  }
  if (typeof a !== typeof b && op.kind !== "logical") throw new OpError(`${op.name} cannot combine ${describe(a)} with ${describe(b)}`);
  return op.apply(a, b);
}

/**
 * op(lower, higher) where `acc` is the caller's accumulator (owned: may be updated in place)
 * and `x` the incoming value; `accFirst` says whether acc holds the lower ranks.
 */
export function combine(op: Op, acc: unknown, x: unknown, accFirst: boolean): unknown {
  if (op.kind === "user") return accFirst ? op.apply(acc, x) : op.apply(x, acc);
  if (isTypedArray(acc) && isTypedArray(x)) return combineArrays(op, acc, x, accFirst);
  if (isTypedArray(acc) || isTypedArray(x)) throw new OpError(`${op.name} cannot combine ${describe(acc)} with ${describe(x)}`);
  return accFirst ? combineValues(op, acc, x) : combineValues(op, x, acc);
}
