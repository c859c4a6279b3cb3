/**
 * The seams between the engine (matching, flow control, failures: transport-independent) and
 * whatever moves bytes between ranks. A transport carries opaque multipart messages between
 * world ranks, in order per pair of ranks, and never drops one while both ranks live. Where
 * ranks share a host, the {@link SameHostPath} adds what only shared memory can do.
 */
import { Buffer } from "node:buffer";

/**
 * What a send returns when it completed at once: one shared resolved promise, so that an
 * observer (the tracer) can tell without a promise reaction. Sends may also return others.
 */
export const SENT: Promise<void> = Promise.resolve();

/**
 * The first byte of a one-frame side message on the network path that is not a message for the
 * engine (0xc1: no msgpack value starts with it): alone, a doorbell; followed by more, the set-up
 * of a {@link DirectPath} (see host.ts).
 */
export const SIDE = 0xc1;

/** Writes a frame in place, in a transport's memory (a message header that is never a frame of its own). */
export interface FrameWriter {
  /** Its length in bytes. */
  readonly length: number;
  /** Write it at `at` of `bytes` (`view`: the same memory, little-endian accessors). */
  write(bytes: Uint8Array, view: DataView, at: number): void;
}

/** What a transport hands arriving messages to. */
export interface Delivery {
  /** One whole message from a peer (frames as the peer sent them). */
  deliver(frames: Buffer[]): void;
  /**
   * A whole message of two frames, read where it lies in the transport's memory (valid only
   * during the call): its first frame is `headLength` bytes at `head` of `bytes` (`view`: the
   * same memory), its second `length` bytes at `at`. @returns false to have it delivered as
   * frames instead. Optional: the small-array fast path (see Runtime.sendArray).
   */
  deliverPair?(bytes: Uint8Array, view: DataView, head: number, headLength: number, at: number, length: number): boolean;
  /**
   * All frames of a message but its last (`prior`: a data header, or a payload header and a
   * data header) are here, and its last, `length`-byte frame is about to arrive: @returns where
   * to write that frame (exactly `length` bytes of a posted receive's `into` array), or
   * undefined to let the transport allocate it. Optional.
   */
  place?(prior: Buffer[], length: number): Uint8Array | undefined;
  /** World rank `from` acknowledged this rank's synchronous send `id` in shared memory (see SameHostPath.acknowledge). Optional. */
  acked?(from: number, id: number): void;
  /** Nothing arrived for a while though someone waits (called by transports that notice). */
  idle?(): void;
}

export interface Transport {
  /**
   * Queue one multipart message to world rank `dest`; resolves once the transport owns it, or
   * with `flush` once the message has left this process's queues as far as the transport can tell.
   * @param borrowed the frames view the sender's memory (allowed only where {@link borrows} says
   *   so): the transport copies whatever it keeps past `send`
   */
  send(dest: number, frames: Buffer[], flush?: boolean, borrowed?: boolean): Promise<void>;
  /** Does a message to `dest` leave the caller's memory before `send` returns? Then its frames may view that memory. */
  borrows(dest: number): boolean;
  /**
   * Send an advisory one-frame message (flow-control credit): unordered with respect to data,
   * and dropped if this rank exits before it is delivered (its peer may have exited already).
   */
  advise(dest: number, frame: Buffer): void;
  /**
   * Someone waits for a message: deliver arrivals until the matching `release()`.
   * @param polling the caller will call SameHostPath.await before it sleeps (so nothing needs to wake it yet)
   */
  acquire(polling?: boolean): void;
  release(): void;
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

/**
 * What the path through shared memory adds for the ranks of one host: writing a message in
 * place, polling before sleeping, and doorbells for waits on shared state (collective boards).
 * The engine reaches it through the {@link Transport}'s owner only where the host maps shared
 * memory; collectives and windows reach it through OnHost (shm/on-host.ts).
 */
export interface SameHostPath {
  /**
   * Write a message of two frames to `dest` at once, without making them: `head` is written in
   * place, then the bytes of `array`. @returns false if it cannot go now (send it with
   * Transport.send). Used only where Transport.borrows says so.
   */
  sendPair(dest: number, head: FrameWriter, array: Uint8Array): boolean;
  /**
   * Acknowledge world rank `dest`'s synchronous send `id` in a word of shared memory that
   * `dest` watches ({@link expectAck}), not as a message. @returns false if it cannot be.
   */
  acknowledge(dest: number, id: number): boolean;
  /** Have Delivery.acked hear when world rank `from` acknowledges this rank's synchronous send `id` that way (0: expect none). */
  expectAck(from: number, id: number): void;
  /**
   * A receive is blocked until `satisfied()` turns true: the transport may spend a short
   * while polling for it before the caller yields to the event loop.
   * @param limitMs poll at most this long (by default, until nothing has moved for a while)
   * @param deliver deliver arriving messages meanwhile (default); a wait on shared state other
   *   than messages may leave them in the rings, so that they land where a receive posted next wants them
   */
  await(satisfied: () => boolean, limitMs?: number, deliver?: boolean): void;
  /**
   * Do messages from world rank `rank` arrive where `await` polls? A receive from any
   * other peer (another host: ZeroMQ) sleeps in the event loop at once instead of polling.
   */
  nearby(rank: number): boolean;
  /**
   * Does a receive from world rank `rank` poll (in `await`) before it sleeps? From nearby peers,
   * and from peers on a polled {@link DirectPath}; from any other it sleeps in the event loop at once.
   */
  polls(rank: number): boolean;
  /**
   * Ring world rank `rank`'s doorbell: it may sleep waiting on shared memory this rank has just
   * changed (a collective board; see `onWake`).
   */
  nudge(rank: number): void;
  /** Call `listener` after every doorbell (and idle timeout) while someone waits; @returns its removal. */
  onWake(listener: () => void): () => void;
  /** See Transport.acquire: waits on shared state count as waiters too. */
  acquire(polling?: boolean): void;
  release(): void;
}

/**
 * A network path beside ZeroMQ for data to peers on other hosts (the direct TCP path,
 * tcp/tcp-transport.ts): ZeroMQ still carries its set-up, the advisory messages and the
 * doorbells. host.ts sends to a peer through it where {@link reaches} says so.
 */
export interface DirectPath extends Transport {
  /** Does data to world rank `rank` go this way? (The same answer on both ends of a pair.) */
  reaches(rank: number): boolean;
  /** A side message for this path (its first byte {@link SIDE}, then more) came through ZeroMQ. */
  advised(frame: Buffer): void;
  /** Does a blocked receive poll this path's sockets ({@link pollSockets}) before it sleeps? */
  readonly polled: boolean;
  /** Read what the sockets hold now, without waiting: @returns whether anything arrived. */
  pollSockets(): boolean;
  /** A blocked receive polled the sockets; `found`: something arrived through them (polling adapts). */
  waited(found: boolean): void;
}
