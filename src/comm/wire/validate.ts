/**
 * Argument checks shared by point-to-point calls and collectives, with one message format:
 * `<call> on rank <r>: <argument> must be <expectation>, got <value>`.
 */
import { ArgumentError, callError } from "../../errors.js";

/** Wildcard source for receives and probes (MPI_ANY_SOURCE). */
export const ANY_SOURCE = -1;
/** Wildcard tag for receives and probes (MPI_ANY_TAG). */
export const ANY_TAG = -1;
/** Send to / receive from nobody: the operation completes at once (MPI_PROC_NULL). */
export const PROC_NULL = -2;
/** Color for ranks that want no sub-communicator from split (MPI_UNDEFINED). */
export const UNDEFINED = -1;
/** Largest tag a user may use (MPI guarantees at least 32767; we allow 2^31 - 1). */
export const TAG_UB = 0x7fffffff;

/** A short description of a value for an error message: literals as written, containers by type and length (never their contents). */
export function describe(value: unknown): string {
  if (ArrayBuffer.isView(value)) return `${value.constructor.name}(${(value as { length?: number }).length ?? value.byteLength})`;
  if (Array.isArray(value)) return `array(${value.length})`;
  if (typeof value === "string") return value.length > 40 ? `a string of ${value.length} characters` : JSON.stringify(value);
  if (value === null || typeof value === "number" || typeof value === "boolean" || typeof value === "bigint" || value === undefined) return String(value);
  return typeof value;
}

export interface Where {
  call: string;
  rank: number;
  size: number;
}

/** Argument order reminder for a rank that is not even a number (mpi4py order: the value comes first). */
function hint(call: string): string {
  if (call === "send" || call === "isend") return `; the value comes first: ${call}(value, dest, tag)`;
  return "";
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
    `${name} must be an integer rank in [0, ${where.size})${extra ? ` or ${extra}` : ""}, got ${describe(value)}${typeof value === "number" ? "" : hint(where.call)}`,
  );
}

/** A tag: an integer in [0, TAG_UB], or ANY_TAG where allowed. */
export function checkTag(where: Where, value: unknown, any = false): number {
  if (Number.isInteger(value) && (((value as number) >= 0 && (value as number) <= TAG_UB) || (any && value === ANY_TAG))) return value as number;
  throw callError(ArgumentError, where.call, where.rank, `tag must be an integer in [0, ${TAG_UB}]${any ? " or ANY_TAG" : ""}, got ${describe(value)}`);
}

/** A collective's root: an integer rank in [0, size). */
export function checkRoot(where: Where, value: unknown): number {
  return checkPeer(where, "root", value);
}
