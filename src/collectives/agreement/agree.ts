/**
 * The agreement of the calls that make communicators (cartCreate, create, createGraph, …):
 * every rank checks its own arguments and learns every other rank's, so that bad or
 * disagreeing arguments fail the call on every rank at once instead of leaving some waiting
 * in a communicator that others never made.
 */
import { ArgumentError, CollectiveMismatchError, callError } from "../../errors.js";
import { bruck } from "../network/bruck.js";
import type { Channel } from "../collective-protocol.js";
import type { Where } from "../../comm/wire/validate.js";

/** One rank's view of a call's arguments: what it passed, or what was wrong with them (an ArgumentError's message). */
export type Proposal<P> = P | { error: string };

/** The proposal of a rank whose arguments are bad: `message` names the argument and the fix. */
export function refusal(ch: Where, message: string): { error: string } {
  return { error: callError(ArgumentError, ch.call, ch.rank, message).message };
}

/**
 * @returns every rank's proposal, by rank. Rejects on every rank if any rank's arguments were
 * bad: an ArgumentError where they were passed, a CollectiveMismatchError elsewhere.
 */
export async function agree<P extends object>(ch: Channel, mine: Proposal<P>): Promise<P[]> {
  const all = await bruck<Proposal<P>>(ch, mine);
  if ("error" in mine) throw new ArgumentError(mine.error);
  all.forEach((theirs, rank) => {
    if ("error" in theirs) throw callError(CollectiveMismatchError, ch.call, ch.rank, `rank ${rank} was given bad arguments: ${theirs.error}`);
  });
  return all as P[];
}

/** Throw a CollectiveMismatchError unless every rank proposed what this rank did (`show` words a proposal). */
export function same<P extends object>(ch: Channel, all: readonly P[], show: (p: P) => string): P {
  const mine = all[ch.rank]!;
  const key = JSON.stringify(mine);
  all.forEach((theirs, rank) => {
    if (JSON.stringify(theirs) !== key) {
      throw callError(
        CollectiveMismatchError,
        ch.call,
        ch.rank,
        `rank ${rank} passed ${show(theirs)} but this rank passed ${show(mine)}; every rank must pass the same`,
      );
    }
  });
  return mine;
}
