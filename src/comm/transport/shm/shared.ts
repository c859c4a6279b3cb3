/**
 * One anonymous memfd segment mapped by every rank of a group on one host: the first rank
 * creates it (sealed at its size), the others open it through /proc/<pid>/fd/<fd>, check that
 * it is the file offered and of the size they expect, and map it. Nothing is ever named
 * in /dev/shm, and the memory goes back to the system once the last rank that maps it lets go
 * or exits, however it exits. Shared windows and collective boards are made this way.
 */
import type { Libc, SharedFile } from "./libc.js";
import { TransportError, callError } from "../../../errors.js";

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

/** A mapping whose file can still be opened (see mapShared's `keepFile`). */
export interface KeptMapping extends Mapped {
  /** The segment as rank 0 offers it (open while rank 0 has not called closeFile). */
  file: SharedFile;
  /** Rank 0 closes its descriptor (a no-op elsewhere); the mappings keep the memory. */
  closeFile(): void;
}

/** Where rank 0 made the segment, or why it could not. */
type Offer = SharedFile | { error: string };

/**
 * Rank 0 creates a segment of `bytes` and offers it; everyone maps it; nobody goes on until
 * all have. Collective. @throws TransportError (on every rank) if any rank could not map it,
 * or expected another size than rank 0's (each maps the size rank 0 made, never its own).
 * @param name the segment's name in /proc/<pid>/maps (memfd:<name>)
 * @param keepFile rank 0 keeps its descriptor open until it calls `closeFile` (other threads of the ranks map it meanwhile)
 */
export async function mapShared(group: Agreement, libc: Libc | { unavailable: string }, call: string, bytes: number, name: string): Promise<Mapped>;
export async function mapShared(
  group: Agreement,
  libc: Libc | { unavailable: string },
  call: string,
  bytes: number,
  name: string,
  keepFile: true,
): Promise<KeptMapping>;
export async function mapShared(
  group: Agreement,
  libc: Libc | { unavailable: string },
  call: string,
  bytes: number,
  name: string,
  keepFile = false,
): Promise<Mapped | KeptMapping> {
  let own: { fd: number; mapped: Mapped } | undefined;
  let made: Offer | undefined;
  if (group.rank === 0) {
    made = attempt(() => {
      if ("unavailable" in libc) throw new Error(libc.unavailable);
      const file = libc.createShared(name, bytes);
      own = { fd: file.fd, mapped: libc.mapReleasable(file.fd, file.bytes) };
      return file;
    });
  }
  const offer = (await group.bcast(made))!;
  let mapped = own?.mapped;
  let error = "error" in offer ? offer.error : undefined;
  if (group.rank !== 0 && !("error" in offer)) {
    const result = attempt(() => {
      if ("unavailable" in libc) throw new Error(libc.unavailable);
      if (offer.bytes !== bytes) throw new Error(`rank 0 made ${offer.bytes} bytes, this rank expected ${bytes}`);
      const mine = libc.openPeer(offer);
      try {
        mapped = libc.mapReleasable(mine, offer.bytes);
      } finally {
        libc.close(mine); // the mapping keeps the memory
      }
      return {};
    });
    if ("error" in result) error = result.error;
  }
  const errors = await group.allgather(error);
  const closeFile = (): void => void (own !== undefined && !("unavailable" in libc) && libc.close(own.fd));
  if (!keepFile || errors.some((e) => e !== undefined)) closeFile();
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
  return keepFile ? { ...mapped!, file: offer as SharedFile, closeFile } : mapped!;
}

/** Run `body`, turning an error into a value that can be broadcast. */
function attempt<V extends object>(body: () => V): V | { error: string } {
  try {
    return body();
  } catch (error) {
    return { error: (error as Error).message };
  }
}
