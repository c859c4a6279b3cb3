/**
 * Collectives on the communicator's board (src/comm/board.ts) when all its ranks share a host:
 * the board is set up by the first collective that can use it (one message bcast and allgather,
 * once per communicator), and every later one meets there, one at a time.
 */
import { Board } from "../../comm/transport/shm/board-memory.js";
import type { Agreement, HostGroup } from "../../comm/transport/shm/on-host.js";
import { TransportError } from "../../errors.js";
import { bruck } from "../network/bruck.js";
import { binomialBcast } from "../network/binomial.js";
import type { Channel } from "../collective-protocol.js";
import { agreeOnReads } from "./single-copy.js";

/** How the ranks of `ch` agree on a shared segment: over messages (see OnHost.map). */
export function agreement(ch: Channel): Agreement {
  return { rank: ch.rank, bcast: <V>(value: V) => binomialBcast(ch, value, 0), allgather: <V>(value: V) => bruck(ch, value) };
}

/** Set up the board (collective: every member gets here in the same call); null if it cannot be. */
async function setUp(ch: Channel, host: HostGroup): Promise<Board | null> {
  let board: Board | null = null;
  try {
    const mapped = await host.map({ group: agreement(ch), call: ch.call, bytes: Board.bytesFor(ch.size), name: "tsmpi-board" });
    board = host.makeBoard(mapped.buffer, mapped.release);
  } catch (error) {
    if (!(error instanceof TransportError)) throw error;
  }
  // Mapped on all or none (OnHost.map throws on every member alike), so all try single copy or none.
  if (board !== null) board.reads = await agreeOnReads(ch, host);
  host.board = board;
  return board;
}

/**
 * Run `fast` on the board of `ch`'s communicator, once the collectives started before it on the
 * board are over; `slow` (messages) where there is no board. Every member decides alike: the
 * board exists on all or none.
 */
export function onBoard<T>(ch: Channel, fast: (board: Board) => T | Promise<T>, slow: () => Promise<T>): Promise<T> {
  const host = ch.onHost;
  if (host === undefined) return slow();
  let board = host.board;
  if (board === undefined) board = host.board = setUp(ch, host);
  if (board === null) return slow();
  if (board instanceof Promise) return board.then((made) => (made === null ? slow() : made.run(() => fast(made))));
  const ready = board;
  return ready.run(() => fast(ready));
}
