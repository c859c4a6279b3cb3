/**
 * The transport a rank uses, chosen per peer by locality, here and nowhere else: shared memory
 * (shm/, whose home is OnHost) to the ranks of its host where it is available, and the network
 * path (any {@link Transport}: ZeroMQ today, zmq/) to everyone else. The network path also
 * carries the doorbells that wake a rank sleeping on shared memory. Message order per pair
 * holds because a pair always uses one path. A second network transport plugs in as the
 * network path (a Transport of its own, or one that picks between it and ZeroMQ per peer).
 *
 * Waiting: a blocked receive polls shared memory (busy while the host has a core per rank;
 * yielding the CPU between polls when ranks outnumber cores) and, after
 * {@link SPIN_MS} without any progress, arms its doorbell and sleeps in the event loop.
 */
import { Buffer } from "node:buffer";
import { performance } from "node:perf_hooks";
import type { OnHost } from "./shm/on-host.js";
import type { ShmTransport } from "./shm/shm-transport.js";
import type { SegmentAddress } from "./shm/segment.js";
import type { Delivery, FrameWriter, SameHostPath, Transport } from "./port.js";
import { TransportError } from "../../errors.js";

/**
 * How long a blocked receive polls without progress before it sleeps: long enough to ride out
 * a peer's garbage collection or a scheduler hiccup (a missed poll costs a doorbell, ~50-300 µs),
 * short enough that a rank blocked for long uses no CPU. The same when ranks outnumber cores
 * (they yield between polls; 0.2 ms there made a barrier of 4 ranks on 2 cores twice as slow).
 */
const SPIN_MS = 2;

/**
 * A rank in the middle of a large transfer (writing a message that waits for room, or reading
 * one that has started) polls this many times longer: on a busy host its peer is often just
 * descheduled for a few milliseconds, and giving up meant a doorbell round trip per ringful.
 */
const TRANSFER_PATIENCE = 10;

/** A doorbell: one byte no data-plane message starts with (0xc1 is never used by msgpack). */
const DOORBELL = Buffer.from([0xc1]);

/**
 * Does a host of `cores` CPUs run too many ranks (`ranks`) for shared memory to pay? Past two
 * per core nobody can poll, so every message would cost a ring write and a ZeroMQ doorbell:
 * more than the ZeroMQ message alone (64 ranks on 2 cores ran 1.2x slower).
 */
export function crowded(ranks: number, cores: number): boolean {
  return ranks > 2 * cores;
}

export class HostTransport implements Transport, SameHostPath, Delivery {
  private demand = 0;
  private shm: ShmTransport | undefined;
  private oversubscribed = false;
  /** How long a blocked receive polls (ms); 0 where ranks far outnumber cores (pollers would only steal each other's time). */
  private spinLimit = SPIN_MS;
  /** The network path (see {@link attachNetwork}). */
  private zmq!: Transport;
  /** Waits on shared state other than the rings (see onWake). */
  private readonly wakeListeners = new Set<() => void>();

  constructor(
    private readonly sink: Delivery,
    private readonly yieldCpu: () => void = () => undefined,
  ) {}

  /** Use `network` (ZeroMQ today) for doorbells and for the peers shared memory does not reach. */
  attachNetwork(network: Transport): void {
    this.zmq = network;
  }

  /** Create this rank's shared-memory inbox. @returns its address, for the address table. */
  openShm(onHost: OnHost, rank: number, size: number, cores: number): SegmentAddress {
    this.shm = onHost.inbox({
      rank,
      size,
      cores,
      sink: this.sink,
      // A side message: delivered as the sender exits, but never holds its exit if the peer is gone.
      wake: (peer) => this.zmq.advise(peer, DOORBELL),
      onPending: (active) => this.hold(active),
      poll: (step) => {
        this.spin(step, Infinity, true);
        if (this.demand > 0) this.rearm();
      },
    });
    return this.shm.address;
  }

  /**
   * Reach the peers that offer an inbox through it; `refused` hears of a peer that stays on
   * ZeroMQ because its inbox could not be mapped.
   *
   * A {@link crowded} host stays on ZeroMQ unless `force`d (--transport shm).
   * Every rank of the host must decide alike (a rank that writes into a ring nobody reads
   * would wait forever), so `hostCores` is one number from the address table, not this rank's own.
   * @param cores CPUs this rank may run on (its own polling policy)
   * @param hostCores the fewest CPUs any rank of the host may run on
   */
  connectShm(peers: Array<SegmentAddress | undefined>, cores: number, hostCores: number, refused: (rank: number, reason: string) => void, force = false): void {
    if (this.shm === undefined) return;
    if (!force && crowded(peers.filter(Boolean).length, hostCores)) {
      this.shm = undefined;
      return;
    }
    this.shm.connect(peers, refused);
    this.oversubscribed = this.shm.count > cores;
    this.spinLimit = crowded(this.shm.count, cores) ? 0 : SPIN_MS;
  }

  /**
   * The ZeroMQ inbox waited a while (its receive timeout) with someone waiting: look at shared
   * memory too. A safety net: a doorbell is never lost by design, but a stall costs one timeout, not the job.
   */
  idle(): void {
    if (this.shm && this.demand > 0) this.woken();
  }

  /** Frames from ZeroMQ: a doorbell means "look at shared memory"; anything else is a message. */
  deliver(frames: Buffer[]): void {
    if (frames.length === 1 && frames[0]!.equals(DOORBELL)) return this.woken();
    this.sink.deliver(frames);
  }

  /**
   * A doorbell: deliver what came, then keep polling while a message is half through a ring
   * or our own data waits for room, and return as soon as a whole message was delivered (a
   * receive may be waiting for it in the event loop).
   */
  private woken(): void {
    const shm = this.shm;
    if (shm === undefined) return;
    const delivered = shm.delivered;
    this.spin(() => shm.delivered !== delivered || !(shm.hasQueued || shm.midMessage));
    if (this.demand > 0) this.rearm();
    for (const listener of this.wakeListeners) listener();
  }

  nudge(rank: number): void {
    this.zmq.advise(rank, DOORBELL);
  }

  onWake(listener: () => void): () => void {
    this.wakeListeners.add(listener);
    return () => this.wakeListeners.delete(listener);
  }

  /**
   * Poll shared memory until `done()` is true, or until neither it nor the rings have made
   * progress for {@link SPIN_MS}, or {@link TRANSFER_PATIENCE} times that while a message is
   * partly through (`done()` may report its own progress as "moved"; `transferring`: it is
   * writing one; `deliver`: read the rings too, not just write what is queued).
   */
  private spin(done: () => boolean | "moved", deadline = Infinity, transferring = false, deliver = true): void {
    const shm = this.shm!;
    shm.disarm();
    const limit = this.spinLimit;
    let last = 0;
    for (let idle = 0, polls = 1; ; polls++) {
      let moved = shm.progress(deliver);
      const state = done();
      if (state === true) break;
      moved ||= state === "moved";
      if (moved) idle = 0;
      else if (limit === 0) break;
      // Reading the clock costs more than a poll: look at it every 64 idle polls (from the 64th on).
      else if ((++idle & 63) === 0) {
        const now = performance.now();
        if (idle === 64) last = now;
        else if (now - last > (transferring || shm.midMessage || shm.hasQueued ? limit * TRANSFER_PATIENCE : limit)) break;
      }
      if ((polls & 63) === 0 && deadline !== Infinity && performance.now() > deadline) break;
      if (this.oversubscribed && !moved) this.yieldCpu();
    }
  }

  /** Arm the doorbell, then look once more: a record written just before arming was not rung for. */
  private rearm(): void {
    this.shm!.arm();
    this.shm!.progress();
  }

  /** Does a message to `dest` leave this process before `send` returns (so it may use the caller's memory)? */
  borrows(dest: number): boolean {
    return this.shm?.reaches(dest) ?? false;
  }

  sendPair(dest: number, head: FrameWriter, array: Uint8Array): boolean {
    return this.shm?.reaches(dest) === true && this.shm.sendPair(dest, head, array);
  }

  send(dest: number, frames: Buffer[], flush = false, borrowed = false): Promise<void> {
    if (this.shm?.reaches(dest)) return this.shm.send(dest, frames, borrowed, flush);
    return this.zmq.send(dest, frames);
  }

  advise(dest: number, frame: Buffer): void {
    if (this.shm?.reaches(dest)) void this.shm.send(dest, [frame], false).catch(() => undefined);
    else this.zmq.advise(dest, frame);
  }

  /** Keep reading (and be woken) while shared memory holds queued outgoing data. */
  private hold(active: boolean): void {
    if (!active) return this.release();
    this.zmq.acquire();
    if (this.demand++ === 0) this.shm!.arm();
  }

  acquire(polling = false): void {
    this.zmq.acquire();
    // A receive about to poll arms only if it goes to sleep (see await): armed meanwhile, a
    // peer's send would ring for nothing.
    if (this.demand++ === 0 && this.shm && !polling) this.rearm();
  }

  release(): void {
    this.zmq.release();
    if (--this.demand === 0) this.shm?.disarm();
  }

  await(satisfied: () => boolean, limitMs?: number, deliver = true): void {
    if (this.shm === undefined || satisfied()) return;
    this.spin(satisfied, limitMs === undefined ? Infinity : performance.now() + limitMs, false, deliver);
    // Sleeping next (not satisfied, or others still wait once this wait ends): writers must ring.
    // Satisfied, the caller goes on at once: arming now would make the peer's next send ring for nothing.
    if (!satisfied() || this.demand > 1) this.rearm();
  }

  nearby(rank: number): boolean {
    return this.shm?.hosts(rank) ?? false;
  }

  async poll(): Promise<void> {
    this.shm?.progress();
    await this.zmq.poll();
  }

  async drain(): Promise<void> {
    while (this.shm?.progress());
    await this.zmq.drain();
  }

  get unread(): boolean {
    return this.zmq.unread || (this.shm?.unread ?? false);
  }

  peerGone(rank: number): void {
    this.shm?.peerGone(rank, new TransportError(`rank ${rank} exited before reading a message sent to it`));
    this.zmq.peerGone(rank);
  }

  close(discard = false): void {
    this.zmq.close(discard);
  }
}
