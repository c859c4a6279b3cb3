/**
 * The transport a rank uses, chosen per peer by locality, here and nowhere else: shared memory
 * (shm/, whose home is OnHost) to the ranks of its host where it is available, a direct path
 * (a {@link DirectPath}: tcp/, plain TCP sockets) to the peers it reaches (other hosts), and the
 * network path (any {@link Transport}: ZeroMQ, zmq/) to everyone else. The network path also
 * carries the doorbells that wake a rank sleeping on shared memory, the direct path's set-up
 * and the advisory messages (credits). Message order per pair holds because a pair always uses
 * one path for data.
 *
 * Waiting: a blocked receive polls shared memory and the direct path's sockets where it polls
 * them (busy while the host has a core per rank; yielding the CPU between polls when ranks
 * outnumber cores) and, after {@link SPIN_MS} without any progress, arms its doorbell and
 * sleeps in the event loop.
 */
import { Buffer } from "node:buffer";
import type { OnHost } from "./shm/on-host.js";
import type { ShmTransport } from "./shm/shm-transport.js";
import type { SegmentAddress } from "./shm/segment.js";
import { SIDE, type Delivery, type DirectPath, type FrameWriter, type SameHostPath, type Transport } from "./port.js";
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

/**
 * How long a blocked receive polls without progress before it naps (a futex wait its peers'
 * next record ends) for the rest of {@link SPIN_MS}: a peer that shares its core (something
 * else runs on the host) then runs at once, instead of after the scheduler preempts the poller.
 */
const NAP_AFTER_MS = 0.1;

/** A doorbell: the side byte alone. */
const DOORBELL = Buffer.from([SIDE]);

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
  /** Does a blocked receive poll the direct path's sockets (where that path offers it)? Not where the machine's ranks outnumber its cores (see {@link shareMachine}). */
  private pollsDirect = true;
  /** The network path (see {@link attachNetwork}). */
  private zmq!: Transport;
  /** The direct path to peers on other hosts, where the job has one (see {@link attachNetwork}). */
  private direct: DirectPath | undefined;
  /** Waits on shared state other than the rings (see onWake). */
  private readonly wakeListeners = new Set<() => void>();

  constructor(
    private readonly sink: Delivery,
    private readonly yieldCpu: () => void = () => undefined,
  ) {}

  /**
   * Use `network` (ZeroMQ) for doorbells, advisory messages and the peers neither shared memory
   * nor `direct` reaches; `direct` for data to the peers it {@link DirectPath.reaches}.
   */
  attachNetwork(network: Transport, direct?: DirectPath): void {
    this.zmq = network;
    this.direct = direct;
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
        if (this.demand > 0) this.armLater();
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
   * This rank's machine runs `ranks` ranks of the job on `cores` CPUs, its host's and those of
   * other hosts on the same kernel (network namespaces, containers): they share the cores, so
   * past a core per rank a blocked receive yields between polls and leaves the direct path's
   * sockets to the event loop (4 ranks of 2 namespace hosts on 2 cores, polling as if each host
   * had its own: an 8 B allreduce took 5-12 ms, against 1-2 ms yielding).
   */
  shareMachine(ranks: number, cores: number): void {
    if (ranks <= cores) return;
    this.oversubscribed = true;
    this.pollsDirect = false;
    if (crowded(ranks, cores)) this.spinLimit = 0;
  }

  /**
   * The ZeroMQ inbox waited a while (its receive timeout) with someone waiting: look at shared
   * memory too. A safety net: a doorbell is never lost by design, but a stall costs one timeout, not the job.
   */
  idle(): void {
    if (this.shm && this.demand > 0) this.woken();
  }

  /** Frames from ZeroMQ: a doorbell means "look at shared memory", a longer side frame is the direct path's; anything else is a message. */
  deliver(frames: Buffer[]): void {
    if (frames.length === 1 && frames[0]![0] === SIDE) return frames[0]!.byteLength === 1 ? this.woken() : this.direct?.advised(frames[0]!);
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
    const shm = this.shm;
    shm?.disarm();
    const limit = this.spinLimit;
    const direct = deliver && this.pollsDirect && this.direct?.polled ? this.direct : undefined;
    let found = false;
    let last = 0;
    // Only a wait that nothing but the rings can end naps (writers wake it; see ShmTransport.nap).
    let naps = deliver && !transferring && direct === undefined && shm !== undefined;
    for (let idle = 0, polls = 1; ; polls++) {
      let moved = shm?.progress(deliver) ?? false;
      if (direct !== undefined && direct.pollSockets()) moved = found = true;
      else if (direct !== undefined && !direct.polled) break;
      const state = done();
      if (state === true) break;
      moved ||= state === "moved";
      if (moved) idle = 0;
      else if (limit === 0) break;
      // Reading the clock costs more than a poll: look at it every 64 idle polls (from the 64th on).
      else if ((++idle & 63) === 0) {
        const now = performance.now();
        if (idle === 64) last = now;
        else if (now - last > (transferring || shm?.midMessage || shm?.hasQueued ? limit * TRANSFER_PATIENCE : limit)) break;
        else if (naps && now - last > NAP_AFTER_MS && !shm!.midMessage && !shm!.hasQueued) naps = shm!.nap(1000 * (limit - (now - last)));
      }
      if ((polls & 63) === 0 && deadline !== Infinity && performance.now() > deadline) break;
      if (this.oversubscribed && !moved) this.yieldCpu();
    }
    direct?.waited(found);
  }

  /** Arm the doorbell, then look once more: a record written just before arming was not rung for. */
  private rearm(): void {
    this.shm?.arm();
    this.shm?.progress();
  }

  /** Does a message to `dest` leave this process before `send` returns (so it may use the caller's memory)? */
  borrows(dest: number): boolean {
    return this.shm?.reaches(dest) === true || (this.direct?.reaches(dest) === true && this.direct.borrows(dest));
  }

  acknowledge(dest: number, id: number): boolean {
    return this.shm?.reaches(dest) === true && this.shm.acknowledge(dest, id);
  }

  expectAck(from: number, id: number): void {
    this.shm?.expectAck(from, id);
  }

  sendPair(dest: number, head: FrameWriter, array: Uint8Array): boolean {
    return this.shm?.reaches(dest) === true && this.shm.sendPair(dest, head, array);
  }

  send(dest: number, frames: Buffer[], flush = false, borrowed = false): Promise<void> {
    if (this.shm?.reaches(dest)) return this.shm.send(dest, frames, borrowed, flush);
    if (this.direct?.reaches(dest)) return this.direct.send(dest, frames, flush, borrowed);
    return this.zmq.send(dest, frames);
  }

  advise(dest: number, frame: Buffer): void {
    if (this.shm?.reaches(dest)) void this.shm.send(dest, [frame], false).catch(() => undefined);
    else if (this.direct?.reaches(dest)) this.direct.advise(dest, frame);
    else this.zmq.advise(dest, frame);
  }

  /** Keep reading (and be woken) while shared memory holds queued outgoing data. */
  private hold(active: boolean): void {
    if (!active) return this.release();
    this.zmq.acquire();
    this.direct?.acquire();
    if (this.demand++ === 0) this.shm!.arm();
  }

  acquire(polling = false): void {
    this.zmq.acquire();
    this.direct?.acquire();
    // A receive about to poll arms only if it goes to sleep (see await): armed meanwhile, a
    // peer's send would ring for nothing.
    if (this.demand++ === 0 && this.shm && !polling) this.rearm();
  }

  release(): void {
    this.zmq.release();
    this.direct?.release();
    if (--this.demand === 0) this.shm?.disarm();
  }

  await(satisfied: () => boolean, limitMs?: number, deliver = true): void {
    if ((this.shm === undefined && !(this.pollsDirect && this.direct?.polled)) || satisfied()) return;
    this.spin(satisfied, limitMs === undefined ? Infinity : performance.now() + limitMs, false, deliver);
    // Sleeping next (not satisfied): writers must ring. Satisfied, the caller goes on at once:
    // arming now would make the peer's next send ring for nothing; if others still wait once
    // this wait ends, arm before this rank can sleep (see armLater). Nobody waits (a synchronous
    // send's brief poll, see engine/synchronous.ts): nobody sleeps either.
    if (this.demand > 0 && !satisfied()) this.rearm();
    else if (this.demand > 1) this.armLater();
  }

  /** An {@link armLater} is scheduled. */
  private armScheduled = false;
  private readonly armIfWaiting = (): void => {
    this.armScheduled = false;
    if (this.demand > 0) this.rearm();
  };

  /**
   * Arm the doorbell once the event loop turns, before it can block (a pending immediate keeps
   * its poll phase from waiting): a rank that goes on from one satisfied wait to the next, as
   * waitAll over 64 receives does, or to its next send, polls meanwhile and needs no doorbell.
   * Armed at once, its peer rang one per message (a ZeroMQ send each: 11 % of a rank's time in
   * osu_bibw at 32 KiB).
   */
  private armLater(): void {
    if (this.armScheduled) return;
    this.armScheduled = true;
    setImmediate(this.armIfWaiting);
  }

  nearby(rank: number): boolean {
    return this.shm?.hosts(rank) ?? false;
  }

  polls(rank: number): boolean {
    return this.nearby(rank) || (this.pollsDirect && this.direct !== undefined && this.direct.polled && this.direct.reaches(rank));
  }

  async poll(): Promise<void> {
    this.shm?.progress();
    await (this.direct ? Promise.all([this.zmq.poll(), this.direct.poll()]) : this.zmq.poll());
  }

  async drain(): Promise<void> {
    while (this.shm?.progress());
    await (this.direct ? Promise.all([this.zmq.drain(), this.direct.drain()]) : this.zmq.drain());
  }

  get unread(): boolean {
    return this.zmq.unread || (this.shm?.unread ?? false) || (this.direct?.unread ?? false);
  }

  peerGone(rank: number): void {
    this.shm?.peerGone(rank, new TransportError(`rank ${rank} exited before reading a message sent to it`));
    this.zmq.peerGone(rank);
    this.direct?.peerGone(rank);
  }

  close(discard = false): void {
    this.zmq.close(discard);
    this.direct?.close(discard);
  }
}
