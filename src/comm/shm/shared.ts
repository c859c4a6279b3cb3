/**
 * One anonymous memfd segment mapped by every rank of a group on one host: the first rank
 * creates it, the others open it through /proc/<pid>/fd/<fd> and map it. Nothing is ever named
 * in /dev/shm, and the memory goes back to the system once the last rank that maps it lets go
 * or exits, however it exits. Shared windows and collective boards are made this way.
 */
import process from "node:process";
import type { Libc } from "./libc.js";
import { TransportError, callError } from "../../errors.js";

/** How the ranks of the group agree, over messages (a communicator's bcast and allgather). */
export interface Agreement {
  readonly rank: number;
  bcast<V>(value: V): Promise<V>;
  allgather<V>(value: V): Promise<V[]>;
}

/** A mapping of the segment that can be let go of before the process ends (see Libc.mapReleasable). */
export interface Mapped {
  buffer: ArrayBuffer;
  release(): void;
}

/** Where rank 0 made the segment, or why it could not. */
type Offer = { pid: number; fd: number; bytes: number } | { error: string };

/**
 * Rank 0 creates a segment of `bytes` and offers it; everyone maps it; nobody goes on until
 * all have. Collective. @throws TransportError (on every rank) if any rank could not map it.
 * @param name the segment's name in /proc/<pid>/maps (memfd:<name>)
 */
export async function mapShared(group: Agreement, libc: Libc | { unavailable: string }, call: string, bytes: number, name: string): Promise<Mapped> {
  let own: { fd: number; mapped: Mapped } | undefined;
  let made: Offer | undefined;
  if (group.rank === 0) {
    made = attempt(() => {
      if ("unavailable" in libc) throw new Error(libc.unavailable);
      const fd = libc.createShared(name, bytes);
      own = { fd, mapped: libc.mapReleasable(fd, bytes) };
      return { pid: process.pid, fd, bytes };
    });
  }
  const offer = (await group.bcast(made))!;
  let mapped = own?.mapped;
  let error = "error" in offer ? offer.error : undefined;
  if (group.rank !== 0 && !("error" in offer)) {
    const { pid, fd } = offer;
    const result = attempt(() => {
      if ("unavailable" in libc) throw new Error(libc.unavailable);
      const mine = libc.openPeer(pid, fd);
      try {
        mapped = libc.mapReleasable(mine, bytes);
      } finally {
        libc.close(mine); // the mapping keeps the memory
      }
      return {};
    });
    if ("error" in result) error = result.error;
  }
  const errors = await group.allgather(error);
  if (own !== undefined && !("unavailable" in libc)) libc.close(own.fd);
  const first = errors.findIndex((e) => e !== undefined);
  if (first >= 0) {
    mapped?.release();
    throw callError(
      TransportError,
      call,
      group.rank,
      `cannot map shared memory on rank ${first} of the host (${errors[first]}); shared memory needs Linux, memfd and koffi`,
    );
  }
  return mapped!;
}

/** Run `body`, turning an error into a value that can be broadcast. */
function attempt<V extends object>(body: () => V): V | { error: string } {
  try {
    return body();
  } catch (error) {
    return { error: (error as Error).message };
  }
}
