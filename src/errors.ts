/**
 * Every error tsmpi throws. Each class has a stable `code` that programs can test
 * instead of parsing messages; messages name the call, the rank, the reason and the fix.
 */

/** Base class of every tsmpi error. */
export class TsmpiError extends Error {
  /** Stable machine-readable code, e.g. `TSMPI_ERR_ARG`. */
  readonly code: string = "TSMPI_ERR";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A call got an argument it cannot use (bad rank, tag, root, count, op...). */
export class ArgumentError extends TsmpiError {
  override readonly code = "TSMPI_ERR_ARG";
}

/** A value cannot be carried between ranks (a function, a symbol...). */
export class SerializationError extends TsmpiError {
  override readonly code = "TSMPI_ERR_SERIALIZE";
}

/** A reduction operator does not fit the data it was given. */
export class OpError extends TsmpiError {
  override readonly code = "TSMPI_ERR_OP";
}

/** The ranks of a collective disagree (lengths, counts, root) in a way that is detected. */
export class CollectiveMismatchError extends TsmpiError {
  override readonly code = "TSMPI_ERR_MISMATCH";
}

/** A peer this operation depends on has died (its receive, send or collective cannot complete). */
export class RankFailedError extends TsmpiError {
  override readonly code = "TSMPI_ERR_RANK_FAILED";
  constructor(
    message: string,
    /** World rank of the rank that failed. */
    readonly failedRank: number,
  ) {
    super(message);
  }
}

/** A call was withdrawn because its `AbortSignal` aborted (the signal's reason is the `cause`). */
export class AbortError extends TsmpiError {
  override readonly code = "TSMPI_ERR_ABORTED";
}

/** A rank could not join the job (launcher unreachable, bad environment). */
export class InitError extends TsmpiError {
  override readonly code = "TSMPI_ERR_INIT";
}

/** The message transport failed (socket error, malformed frame). */
export class TransportError extends TsmpiError {
  override readonly code = "TSMPI_ERR_TRANSPORT";
}

/** Bad command-line usage of the `tsmpi` launcher. */
export class UsageError extends TsmpiError {
  override readonly code = "TSMPI_ERR_USAGE";
}

/** A pool task threw on the rank that ran it (see CommExecutor): `rank` is that rank, `remoteStack` its stack there. */
export class TaskError extends TsmpiError {
  override readonly code = "TSMPI_ERR_TASK";
  constructor(
    message: string,
    /** Rank (in the pool's communicator) that ran the task. */
    readonly rank: number,
    /** The stack of the error on that rank. */
    readonly remoteStack: string,
    /** The task ran a second time because the rank that first had it died. */
    readonly rerun = false,
  ) {
    super(message);
  }
}

/** Format `call on rank N: message` consistently for every validation error (`call: message` for a call on no communicator, rank -1). */
export function callError<E extends TsmpiError>(
  Ctor: new (message: string, options?: { cause?: unknown }) => E,
  call: string,
  rank: number,
  message: string,
  cause?: unknown,
): E {
  return new Ctor(`${call}${rank < 0 ? "" : ` on rank ${rank}`}: ${message}`, cause === undefined ? undefined : { cause });
}
