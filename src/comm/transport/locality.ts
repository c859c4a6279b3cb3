/**
 * Where a rank runs, and the homes of the two paths that reach its peers: the same-host path
 * ({@link OnHost}: shared memory with the ranks of this host) and the network path (the
 * address its tcp inbox binds, where it has one). Made once by init; every communicator holds
 * it (CommEngine.locality), so that a collective or a window asks it, not the transport, what
 * reaches whom. Which path carries each peer's messages is chosen in one place, host.ts.
 */
import type { OnHost } from "./shm/on-host.js";

export interface Locality {
  /** This rank's host, as an index in the job's host list (splitShared groups ranks by it). */
  readonly node: number;
  /** The IP this rank's tcp inbox binds, in jobs that have one (windows across hosts serve on it). */
  readonly address: string | undefined;
  /** The same-host path: shared memory with the ranks of this host (libc loaded on first use where messages do not need it). */
  readonly onHost: OnHost;
}
