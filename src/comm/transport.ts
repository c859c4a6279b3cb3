/**
 * The seam between the engine (matching, flow control, failures: transport-independent) and
 * whatever moves bytes between ranks. A transport carries opaque multipart messages between
 * world ranks, in order per pair of ranks, and never drops one while both ranks live.
 */

/** What a transport hands arriving messages to. */
export interface Delivery {
  /** One whole message from a peer (frames as the peer sent them). */
  deliver(frames: Buffer[]): void;
}

export interface Transport {
  /**
   * Queue one multipart message to world rank `dest`; resolves once the transport owns it
   * (the caller may then reuse nothing it passed: frames are the transport's).
   */
  send(dest: number, frames: Buffer[]): Promise<void>;
  /**
   * Send an advisory one-frame message (flow-control credit): unordered with respect to data,
   * and dropped if this rank exits before it is delivered (its peer may have exited already).
   */
  advise(dest: number, frame: Buffer): void;
  /** Someone waits for a message: deliver arrivals until the matching `release()`. */
  acquire(): void;
  release(): void;
  /**
   * A receive is blocked until `satisfied()` turns true: the transport may spend a short
   * while polling for it before the caller yields to the event loop. Optional.
   */
  await?(satisfied: () => boolean): void;
  /** Deliver whatever has already arrived (progress for iprobe/test). */
  poll(): Promise<void>;
  /** Deliver everything that has already arrived, however long that takes. */
  drain(): Promise<void>;
  /** Messages have arrived that are not delivered yet (hang reports: busy, not stuck). */
  readonly unread: boolean;
  /** World rank `rank` has exited or died: stop waiting on it. */
  peerGone(rank: number): void;
  /** Close everything; queued outgoing messages are still delivered unless `discard`. */
  close(discard?: boolean): void;
}
