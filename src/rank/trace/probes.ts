/**
 * Probe points for what interposition cannot wrap (module functions such as `init`):
 * undefined unless --trace or --stats installed them, so each costs one check when off.
 */
import type { Comm } from "../../api/communicator.js";

export const probes: {
  /** Wraps joining the job; gets the function that joins and returns its promise. */
  init?: (join: () => Promise<Comm>) => Promise<Comm>;
} = {};
