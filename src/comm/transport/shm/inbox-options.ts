/** What a rank's shared-memory inbox is made with (see ShmTransport.create). */
import type { Delivery } from "../port.js";

/** What a rank's shared-memory inbox is made with. */
export interface InboxOptions {
  /** This rank and the job's size (world). */
  rank: number;
  size: number;
  /** CPUs this rank may run on (how long its ring waits before it sleeps). */
  cores: number;
  /** Where arriving messages go. */
  sink: Delivery;
  /** Wake a sleeping peer (a doorbell through the control transport). */
  wake: (rank: number) => void;
  /** Queued outgoing data appeared (true) or is all written (false): the host transport keeps reading meanwhile. */
  onPending: (active: boolean) => void;
  /** Poll (see HostTransport.spin) until `step` says done (true), or nothing moves ("moved": it made progress) for a while. */
  poll: (step: () => boolean | "moved") => void;
}
