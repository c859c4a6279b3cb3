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

/**
 * A mapping of the segment, that can be let go of before the process ends (see
 * Libc.mapReleasable); with `keepFile`, the file as rank 0 offers it too, open until `closeFile`.
 */
export interface Mapped {
  buffer: ArrayBuffer;
  release(): void;
  /** The segment as rank 0 offers it (with `keepFile`: open while rank 0 has not called closeFile). */
  file: SharedFile;
  /** Rank 0 closes its descriptor (a no-op elsewhere, and once closed); the mappings keep the memory. */
  closeFile(): void;
}

/** What {@link mapShared} maps, and for whom. */
export interface MapRequest {
  /** The ranks that map it, and how they agree. */
  group: Agreement;
  /** The MPI call that maps it, for errors. */
  call: string;
  bytes: number;
  /** The segment's name in /proc/<pid>/maps (memfd:<name>). */
  name: string;
  /** Rank 0 keeps its descriptor open until it calls `closeFile` (other threads of the ranks map it meanwhile). @default false */
  keepFile?: boolean;
}

type Released = ReturnType<Libc["mapReleasable"]>;

/** Where rank 0 made the segment, or why it could not. */
type Offer = SharedFile | { error: string };

/**
 * Rank 0 creates a segment of `bytes` and offers it; everyone maps it; nobody goes on until
 * all have. Collective. @throws TransportError (on every rank) if any rank could not map it,
 * or expected another size than rank 0's (each maps the size rank 0 made, never its own).
 */
export async function mapShared(libc: Libc | { unavailable: string }, request: MapRequest): Promise<Mapped> {
  const { group, call, bytes, name, keepFile = false } = request;
  let own: { fd: number; mapped: Released } | undefined;
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
  let mapped: Released | undefined = own?.mapped;
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
  let open = own !== undefined;
  const closeFile = (): void => {
    if (open && !("unavailable" in libc)) libc.close(own!.fd);
    open = false;
  };
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
  return { ...mapped!, file: offer as SharedFile, closeFile };
}

/** Run `body`, turning an error into a value that can be broadcast. */
function attempt<V extends object>(body: () => V): V | { error: string } {
  try {
    return body();
  } catch (error) {
    return { error: (error as Error).message };
  }
}
