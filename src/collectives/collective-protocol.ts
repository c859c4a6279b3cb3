/**
 * How collectives talk over a {@link Channel}, and their failure protocol: misuse found on one
 * rank travels as a {@link CollectiveFailure} in place of data, so that every rank rejects
 * with the reason and none waits forever.
 */
import { addExtension } from "msgpackr/pack";
import type { Channel } from "../comm/engine/engine.js";
import type { TypedArray } from "../comm/wire/values.js";
import { CollectiveMismatchError, TsmpiError, callError } from "../errors.js";
import { combine, type Op } from "./ops.js";

export type { Channel };

/**
 * What the message algorithms (network/) need of a channel: its ranks and its messages. A
 * {@link Channel}, or a view of some of its ranks renumbered (hierarchical/lanes.ts), so that
 * one algorithm serves a whole communicator, the ranks of one host, or one leader per host.
 */
export type Lane = Pick<Channel, "call" | "rank" | "size" | "send" | "recv">;

/**
 * Stands in for a collective's data when some rank found the call misused: it flows along
 * the algorithm's messages so every rank fails with the reason instead of waiting forever.
 */
export class CollectiveFailure {
  constructor(readonly reason: string) {}
}
// It travels inside ordinary data messages, as its own msgpack extension.
addExtension({
  Class: CollectiveFailure,
  type: 0x41,
  write: (failure: CollectiveFailure) => failure.reason,
  read: (reason: string) => new CollectiveFailure(reason),
});

/** A failure found on this rank, as a value that can be sent in place of data. */
export function failure(ch: Lane, error: unknown): CollectiveFailure {
  return new CollectiveFailure(`rank ${ch.rank} found: ${(error as Error).message}`);
}

/** Throw if `value` is a failure; otherwise return it. The first failure wins. */
export function settle<T>(ch: Lane, value: T | CollectiveFailure): T {
  if (value instanceof CollectiveFailure) {
    throw callError(CollectiveMismatchError, ch.call, ch.rank, `the collective failed: ${value.reason}`);
  }
  return value;
}

/** Run a local check; on error return a failure value to send on instead of data. */
export function collectiveGuard<T>(ch: Lane, check: () => T): T | CollectiveFailure {
  try {
    return check();
  } catch (error) {
    if (!(error instanceof TsmpiError)) throw error;
    return failure(ch, error);
  }
}

/** `combine` for collectives: failures absorb, and an op error becomes a failure. */
export function fold(ch: Lane, op: Op, acc: unknown, x: unknown, accFirst: boolean): unknown {
  if (acc instanceof CollectiveFailure) return acc;
  if (x instanceof CollectiveFailure) return x;
  return collectiveGuard(ch, () => combine(op, acc, x, accFirst));
}

/** Send to several ranks at once. */
export function sendAll(ch: Lane, sends: Array<[dest: number, value: unknown]>): Promise<void[]> {
  return Promise.all(sends.map(([dest, value]) => ch.send(dest, value)));
}

/**
 * Exchange with a partner (or two): send to `dest` and receive from `source` concurrently.
 * @param into where a received typed array that fits may be written (see Channel.recv)
 */
export async function exchange<T>(ch: Lane, dest: number, value: unknown, source: number = dest, into?: TypedArray): Promise<T> {
  // Receive posted first: what arrives while a large send polls as it writes lands in `into` (see small.ts direct).
  const receiving = ch.recv<T>(source, into);
  const [, received] = await Promise.all([ch.send(dest, value), receiving]);
  return received;
}
