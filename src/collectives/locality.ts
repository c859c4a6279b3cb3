/**
 * Where a collective runs. Each dispatcher (barrier.ts, bcast.ts, allreduce.ts, …) names its
 * algorithms for each kind of communicator and {@link choose} picks one, alike on every member:
 * - all ranks on one host with shared memory: the board and stage of host/;
 * - ranks on several hosts, several on some host: the hierarchical algorithms of hierarchical/
 *   (within each host, then one representative per host over the network);
 * - everywhere else, and wherever the others cannot serve: the message algorithms of network/.
 */
import type { Board } from "../comm/transport/shm/board-memory.js";
import type { Channel } from "./collective-protocol.js";
import { onBoard } from "./host/on-board.js";
import { tiers, type Tiers } from "./hierarchical/tiers.js";

/** A collective's algorithms, by where its communicator's ranks are. */
export interface Algorithms<T> {
  /** On the board, all ranks on one host (absent: messages serve there too). */
  board?: (board: Board) => T | Promise<T>;
  /** Across hosts (absent: messages serve there too). */
  tiers?: (tiers: Tiers) => Promise<T>;
  /** Messages between every pair of ranks. */
  messages: () => Promise<T>;
}

/** Run the algorithm of `algorithms` that fits `ch`'s communicator. */
export function choose<T>(ch: Channel, algorithms: Algorithms<T>): Promise<T> {
  const { board, tiers: tiered, messages } = algorithms;
  if (ch.onHost !== undefined) return board === undefined ? messages() : onBoard(ch, board, messages);
  // Two ranks, or hosts of one rank each: nothing to group (tiers() says the latter once it knows).
  if (tiered === undefined || ch.size < 3) return messages();
  const known = tiers(ch);
  if (known === null) return messages();
  return known instanceof Promise ? known.then((t) => (t === null ? messages() : tiered(t))) : tiered(known);
}

/** A call's argument check, as a rejected promise (every collective reports misuse that way) or undefined. */
export function refused(check: () => unknown): Promise<never> | undefined {
  try {
    check();
    return undefined;
  } catch (error) {
    return Promise.reject(error as Error);
  }
}
