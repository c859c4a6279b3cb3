/**
 * Communicator creation. Context ids are derived, not negotiated: a child of communicator
 * `id` is `id.<n>` where n counts the children created so far. dup and split are collective,
 * so n is equal on every member, and split appends the color so sibling groups differ.
 */
import { Comm } from "../comm/communicator.js";
import { ArgumentError, callError } from "../errors.js";
import { bruck } from "./allgather.js";
import { guard, settle } from "./channel.js";

/** Color for ranks that want no sub-communicator from split (MPI_UNDEFINED). */
export const UNDEFINED = -1;

export async function dup(comm: Comm): Promise<Comm> {
  return new Comm(comm.runtime, comm.childId(""), comm.group);
}

export async function split(comm: Comm, color: number, key = 0): Promise<Comm | undefined> {
  const ch = comm.channel("split");
  const mine = guard(ch, () => {
    if (!Number.isInteger(color) || !Number.isFinite(key)) {
      throw callError(ArgumentError, "split", comm.rank, `color must be an integer (or UNDEFINED) and key a number, got color ${color}, key ${key}`);
    }
    return [color, key] as const;
  });
  // every rank learns every choice (or a failure), so a bad color fails everywhere at once
  const all = (await bruck(ch, mine)).map((choice) => settle(ch, choice));
  const id = comm.childId(`:${color}`);
  if (color < 0) return undefined;
  const members = all
    .map(([c, k], rank) => ({ c, k, rank }))
    .filter((m) => m.c === color)
    .sort((a, b) => a.k - b.k || a.rank - b.rank)
    .map((m) => comm.group[m.rank]!);
  return new Comm(comm.runtime, id, members);
}
