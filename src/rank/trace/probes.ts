/**
 * Probe points for what interposition cannot wrap (module functions such as `init`):
 * undefined unless --trace or --stats installed them, so each costs one check when off.
 */
import type { Comm } from "../../api/communicator.js";
import type { PoolTotals } from "./types.js";

export const probes: {
  /** Wraps joining the job; gets the function that joins and returns its promise. */
  init?: (join: () => Promise<Comm>) => Promise<Comm>;
  /** A pool task `fn` ran from `start` (performance.now()) until now; `error` if it threw. */
  task?: (fn: string, start: number, error?: string) => void;
  /** The root's pool counters as it shuts down. */
  pool?: (counters: Omit<PoolTotals, "ran" | "seconds">) => void;
} = {};
