/**
 * `comm.incoming()`: the messages matching a source and tag as an async iterable, one receive
 * at a time, until a signal aborts it (see PointToPoint.incoming for the documentation).
 */
import { Status } from "../comm/engine/request.js";
import { AbortError } from "../errors.js";
import type { AbortSignalLike } from "./abort.js";
import type { RecvOptions } from "./options.js";

/** What incoming() needs of a communicator. */
interface Receiver {
  recv<T>(source: number, tag: number, options: RecvOptions<T>): Promise<T>;
}

/** Receive from `source` with `tag` until `signal` aborts (the pending receive is withdrawn: no message is lost); a failed peer rejects it as `recv` would. */
export async function* incoming<T>(
  comm: Receiver,
  source: number,
  tag: number,
  signal: AbortSignalLike | undefined,
): AsyncGenerator<{ value: T; source: number; tag: number; bytes: number }, void, undefined> {
  const aborted = (): boolean => signal?.aborted === true;
  while (!aborted()) {
    const status = new Status();
    let value: T;
    try {
      value = await comm.recv<T>(source, tag, { status, signal });
    } catch (error) {
      if (error instanceof AbortError && aborted()) return;
      throw error;
    }
    yield { value, source: status.source, tag: status.tag, bytes: status.bytes };
  }
}
