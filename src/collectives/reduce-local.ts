/**
 * reduceLocal (MPI_Reduce_local): an op applied on this rank alone, `inout = op(input, inout)`,
 * with `input` as the first (lower-rank) operand. Also what one-sided accumulate applies at its
 * target, so it takes REPLACE and NO_OP, which the reductions refuse.
 */
import { isTypedArray } from "../comm/wire/arrays.js";
import { describe } from "../comm/wire/validate.js";
import { ArgumentError, OpError, callError } from "../errors.js";
import { reductionOp } from "./complex.js";
import { checkOperand, combine, NO_OP, REPLACE, SUM, type Op, type OpLike } from "./ops.js";

/** Where reduceLocal's errors say they come from: it runs on no communicator, so they name no rank (rank -1). */
const HERE = { call: "reduceLocal", rank: -1, size: 0 };

/**
 * Combine `input` into `inout` with `op`, on this rank only (MPI_Reduce_local; mpi4py
 * `op.Reduce_local(input, inout)`): `inout[i] = op(input[i], inout[i])`, `input` being the
 * first operand (as a lower rank's value is in a reduction). No message moves.
 *
 * - Typed arrays (of one type and length): `inout` is updated in place and returned. A user op
 *   gets the whole arrays, `fn(input, inout)`, and its result is copied into `inout`.
 * - Other values (numbers, bigints, booleans, nested arrays): JavaScript cannot update them in
 *   place, so the result is returned and `inout` is left as it is.
 * - {@link REPLACE}: `inout` takes `input`'s data; {@link NO_OP}: `inout` stays as it is (what
 *   one-sided accumulate does at its target; the reductions refuse both, as MPI does).
 * @example
 * ```ts
 * const acc = new Float64Array([1, 2]);
 * reduceLocal(new Float64Array([10, 20]), acc, SUM); // acc is [11, 22]
 * reduceLocal(z1, z2, PROD, { complex: true }); // z2 = z1 · z2, interleaved complex numbers
 * const m = reduceLocal(3, 5, MAX); // 5
 * ```
 * @param op an {@link Op} or a function `(input, inout) => result` @default SUM
 * @param options `complex: true`: the typed arrays hold interleaved (re, im) pairs (SUM, PROD)
 * @returns `inout` (typed arrays), else the combined value
 * @throws ArgumentError for a bad op, or operands of different types or lengths; OpError if the op does not fit the data
 */
export function reduceLocal<T>(input: T, inout: T, op: OpLike<T> = SUM, options?: { complex?: boolean }): T {
  const resolved = reductionOp(HERE, op, options?.complex);
  const arrays = isTypedArray(input) && isTypedArray(inout);
  if (isTypedArray(input) !== isTypedArray(inout) || (arrays && (input.constructor !== inout.constructor || input.length !== inout.length))) {
    throw callError(
      ArgumentError,
      HERE.call,
      HERE.rank,
      `input and inout must be typed arrays of one type and length, or two values, got ${describe(input)} and ${describe(inout)}`,
    );
  }
  if (resolved === NO_OP) return inout;
  if (resolved === REPLACE) return arrays ? ((inout as Uint8Array).set(input as Uint8Array), inout) : input;
  try {
    return combined(resolved, input, inout, arrays);
  } catch (error) {
    if (error instanceof OpError) throw callError(OpError, HERE.call, HERE.rank, error.message, error);
    throw error;
  }
}

/** op(input, inout), landed in `inout` when the operands are typed arrays. */
function combined<T>(op: Op, input: T, inout: T, arrays: boolean): T {
  if (op.kind !== "user") {
    checkOperand(op, input);
    checkOperand(op, inout);
  }
  const result = combine(op, inout, input, false);
  if (!arrays || result === inout) return result as T;
  if (isTypedArray(result) && result.constructor === (inout as object).constructor && result.length === (inout as { length: number }).length) {
    (inout as Uint8Array).set(result as Uint8Array);
    return inout;
  }
  throw new OpError(`${op.name} returned ${describe(result)} for ${describe(inout)}; an op on typed arrays must return an array of their type and length`);
}
