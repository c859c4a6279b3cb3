/**
 * The collective half of MPI_Cart_create: every rank checks its dims and periods and learns
 * every other rank's (agree.ts), so that bad or disagreeing arguments fail on every rank.
 */
import type { Layout } from "../../comm/engine/topology.js";
import { describe, type Where } from "../../comm/wire/validate.js";
import { agree, refusal, same, type Proposal } from "./agree.js";
import type { Channel } from "../collective-protocol.js";

const list = (value: unknown) => (Array.isArray(value) ? `[${value.map(describe).join(", ")}]` : describe(value));

/** cartCreate's (and cartMap's) local checks; each message names the call, the rank and the fix. */
export function cartProposal(ch: Where, dims: unknown, periods: unknown): Proposal<Layout> {
  // dims [] is MPI's zero-dimensional grid: its empty product makes one cell, rank 0.
  if (!Array.isArray(dims) || !dims.every((d) => Number.isInteger(d) && d >= 1)) {
    return refusal(
      ch,
      `dims must be an array of positive integers (empty for a zero-dimensional grid), got ${list(dims)}; dimsCreate(comm.size, 2) gives a balanced grid`,
    );
  }
  const cells = (dims as number[]).reduce((a, b) => a * b, 1);
  if (cells > ch.size) {
    return refusal(
      ch,
      `dims [${dims.join(", ")}] need ${cells} ranks but the communicator has ${ch.size}; dimsCreate(comm.size, ${dims.length}) gives a grid that fits`,
    );
  }
  const flags = typeof periods === "boolean" ? new Array<boolean>(dims.length).fill(periods) : periods;
  if (!Array.isArray(flags) || flags.length !== dims.length || !flags.every((p) => typeof p === "boolean")) {
    return refusal(ch, `periods must be a boolean or an array of ${dims.length} booleans (one per dimension), got ${list(periods)}`);
  }
  return { dims: [...(dims as number[])], periods: [...(flags as boolean[])] };
}

/**
 * @returns the layout every rank passed. Rejects on every rank if any rank's arguments are bad
 * (an ArgumentError where they were passed, a CollectiveMismatchError elsewhere) or differ.
 */
export async function cartLayout(ch: Channel, dims: unknown, periods: unknown): Promise<Layout> {
  const all = await agree(ch, cartProposal(ch, dims, periods));
  return same(ch, all, (p) => `dims [${p.dims.join(", ")}], periods [${p.periods.join(", ")}]`);
}
