/**
 * Complex numbers in reductions. JavaScript has no complex typed array, so tsmpi takes them as
 * a Float64Array (MPI_C_DOUBLE_COMPLEX) or Float32Array (MPI_C_FLOAT_COMPLEX) of interleaved
 * (re, im) pairs, the layout of C, Fortran and numpy, and of the FFT example's spectra, with
 * `{ complex: true }` on the call. MPI defines SUM and PROD on complex numbers (and no order,
 * so no MIN or MAX); SUM is the element-wise sum either way, PROD multiplies pairs.
 */
import { ArgumentError, callError } from "../errors.js";
import type { Where } from "../comm/wire/validate.js";
import { Op, PROD, SUM, toOp } from "./ops.js";

type Floats = Float64Array | Float32Array;

/** SUM of interleaved complex numbers: element-wise, in place in `acc`. */
const COMPLEX_SUM = Op.builtin("SUM (complex)", "complex", (acc: Floats, x: Floats) => {
  for (let i = 0; i < acc.length; i++) acc[i]! += x[i]!;
  return acc;
});

/** PROD of interleaved complex numbers, pair by pair, in place in `acc` (commutative: the order of operands does not matter). */
const COMPLEX_PROD = Op.builtin("PROD (complex)", "complex", (acc: Floats, x: Floats) => {
  for (let i = 0; i < acc.length; i += 2) {
    const re = acc[i]!,
      im = acc[i + 1]!;
    acc[i] = re * x[i]! - im * x[i + 1]!;
    acc[i + 1] = re * x[i + 1]! + im * x[i]!;
  }
  return acc;
});

/**
 * The Op a reduction uses: {@link toOp}'s, made to work on interleaved complex numbers when
 * the call says `complex: true`. Refuses, at the call, an op MPI does not define on them.
 */
export function reductionOp(where: Where, opLike: unknown, complex = false): Op {
  const op = toOp(where, opLike);
  if (!complex) return op;
  if (op === SUM || op === COMPLEX_SUM) return COMPLEX_SUM;
  if (op === PROD || op === COMPLEX_PROD) return COMPLEX_PROD;
  throw callError(ArgumentError, where.call, where.rank, `complex: true takes SUM or PROD (MPI defines no other op on complex numbers), got ${op.name}`);
}
