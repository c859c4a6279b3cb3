/**
 * Argument checks shared by point-to-point calls and collectives, with one message format:
 * `<call> on rank <r>: <argument> must be <expectation>, got <value>`.
 */
import { ArgumentError, callError } from "../errors.js";
import { ANY_SOURCE, ANY_TAG } from "./matching.js";

/** Send to / receive from nobody: the operation completes at once (MPI_PROC_NULL). */
export const PROC_NULL = -2;
/** Largest tag a user may use (MPI guarantees at least 32767; we allow 2^31 - 1). */
export const TAG_UB = 0x7fffffff;

function show(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}

export interface Where {
  call: string;
  rank: number;
  size: number;
}

/** A peer rank: an integer in [0, size), or one of the allowed wildcards. */
export function checkPeer(where: Where, name: string, value: unknown, wildcards: { any?: boolean; procNull?: boolean } = {}): number {
  const ok =
    Number.isInteger(value) &&
    (((value as number) >= 0 && (value as number) < where.size) ||
      (wildcards.any === true && value === ANY_SOURCE) ||
      (wildcards.procNull === true && value === PROC_NULL));
  if (ok) return value as number;
  const extra = [wildcards.any ? "ANY_SOURCE" : "", wildcards.procNull ? "PROC_NULL" : ""].filter(Boolean).join(" or ");
  throw callError(
    ArgumentError,
    where.call,
    where.rank,
    `${name} must be an integer rank in [0, ${where.size})${extra ? ` or ${extra}` : ""}, got ${show(value)}`,
  );
}

/** A tag: an integer in [0, TAG_UB], or ANY_TAG where allowed. */
export function checkTag(where: Where, value: unknown, any = false): number {
  if (Number.isInteger(value) && (((value as number) >= 0 && (value as number) <= TAG_UB) || (any && value === ANY_TAG))) return value as number;
  throw callError(ArgumentError, where.call, where.rank, `tag must be an integer in [0, ${TAG_UB}]${any ? " or ANY_TAG" : ""}, got ${show(value)}`);
}

/** A collective's root: an integer rank in [0, size). */
export function checkRoot(where: Where, value: unknown): number {
  return checkPeer(where, "root", value);
}
