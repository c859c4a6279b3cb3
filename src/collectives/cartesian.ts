/**
 * The collective half of MPI_Cart_create: every rank checks its dims and periods and learns
 * every other rank's, so that bad or disagreeing arguments fail on every rank at once instead
 * of leaving some waiting in a grid that others never made.
 */
import { ArgumentError, CollectiveMismatchError, callError } from "../errors.js";
import type { Layout } from "../comm/topology.js";
import { describe } from "../comm/validate.js";
import { bruck } from "./allgather.js";
import type { Channel } from "./protocol.js";

/** One rank's view of the arguments: the layout, or what was wrong with them (an ArgumentError's message). */
type Proposal = { dims: number[]; periods: boolean[] } | { error: string };

const list = (value: unknown) => (Array.isArray(value) ? `[${value.map(describe).join(", ")}]` : describe(value));

/** cartCreate's local checks; each message names the call, the rank and the fix. */
function propose(ch: Channel, dims: unknown, periods: unknown): Proposal {
  const bad = (message: string): Proposal => ({ error: callError(ArgumentError, ch.call, ch.rank, message).message });
  // dims [] is MPI's zero-dimensional grid: its empty product makes one cell, rank 0.
  if (!Array.isArray(dims) || !dims.every((d) => Number.isInteger(d) && d >= 1)) {
    return bad(
      `dims must be an array of positive integers (empty for a zero-dimensional grid), got ${list(dims)}; dimsCreate(comm.size, 2) gives a balanced grid`,
    );
  }
  const cells = (dims as number[]).reduce((a, b) => a * b, 1);
  if (cells > ch.size) {
    return bad(
      `dims [${dims.join(", ")}] need ${cells} ranks but the communicator has ${ch.size}; dimsCreate(comm.size, ${dims.length}) gives a grid that fits`,
    );
  }
  const flags = typeof periods === "boolean" ? new Array<boolean>(dims.length).fill(periods) : periods;
  if (!Array.isArray(flags) || flags.length !== dims.length || !flags.every((p) => typeof p === "boolean")) {
    return bad(`periods must be a boolean or an array of ${dims.length} booleans (one per dimension), got ${list(periods)}`);
  }
  return { dims: [...(dims as number[])], periods: [...(flags as boolean[])] };
}

/**
 * @returns the layout every rank passed. Rejects on every rank if any rank's arguments are bad
 * (an ArgumentError where they were passed, a CollectiveMismatchError elsewhere) or differ.
 */
export async function cartLayout(ch: Channel, dims: unknown, periods: unknown): Promise<Layout> {
  const mine = propose(ch, dims, periods);
  const all = await bruck<Proposal>(ch, mine);
  if ("error" in mine) throw new ArgumentError(mine.error);
  const same = JSON.stringify(mine);
  all.forEach((theirs, rank) => {
    if ("error" in theirs) throw callError(CollectiveMismatchError, ch.call, ch.rank, `rank ${rank} was given bad arguments: ${theirs.error}`);
    if (JSON.stringify(theirs) !== same) {
      throw callError(
        CollectiveMismatchError,
        ch.call,
        ch.rank,
        `rank ${rank} passed dims [${theirs.dims.join(", ")}], periods [${theirs.periods.join(", ")}] but this rank passed dims [${mine.dims.join(", ")}], periods [${mine.periods.join(", ")}]; every rank must pass the same`,
      );
    }
  });
  return mine;
}
