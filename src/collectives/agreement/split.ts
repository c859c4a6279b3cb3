/**
 * The collective half of MPI_Comm_split: every rank learns every rank's (color, key), so a bad
 * color fails everywhere at once, and each rank works out its new group the same way.
 */
import { ArgumentError, callError } from "../../errors.js";
import { bruck } from "../network/bruck.js";
import { collectiveGuard, settle, type Channel } from "../collective-protocol.js";

import { UNDEFINED } from "../../comm/wire/validate.js";

export { UNDEFINED };

/**
 * @returns the ranks (in the channel's communicator) of this rank's new group, ordered by key
 * then by old rank; `undefined` for a negative color.
 */
export async function split(ch: Channel, color: number, key = 0): Promise<number[] | undefined> {
  const mine = collectiveGuard(ch, () => {
    if (!Number.isInteger(color) || !Number.isFinite(key)) {
      throw callError(ArgumentError, ch.call, ch.rank, `color must be an integer (or UNDEFINED) and key a number, got color ${color}, key ${key}`);
    }
    return [color, key] as const;
  });
  const all = (await bruck(ch, mine)).map((choice) => settle(ch, choice));
  return color < 0 ? undefined : sameColor(all, color);
}

/** The ranks whose (color, key) in `all` has `color`, ordered by key then by rank. */
export function sameColor(all: ReadonlyArray<readonly [number, number]>, color: number): number[] {
  return all
    .map(([c, k], rank) => ({ c, k, rank }))
    .filter((m) => m.c === color)
    .sort((a, b) => a.k - b.k || a.rank - b.rank)
    .map((m) => m.rank);
}
