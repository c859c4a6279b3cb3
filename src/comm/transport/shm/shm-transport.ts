/**
 * Shared-memory transport between the ranks of one host: each rank owns an inbox segment with
 * one ring per sender (see segment.ts), maps the inboxes of its peers on the host, and moves
 * messages by copying them into the peer's ring; the peer copies them out. A writer whose
 * message does not fit keeps the rest (copied, so the sender may reuse its memory) and writes
 * it as the reader frees room. Nobody blocks: the host transport polls ({@link progress})
 * while a receive waits, and rings a doorbell (a ZeroMQ frame) only for a peer that sleeps.
 */
import { Buffer } from "node:buffer";
import { TransportError } from "../../../errors.js";
import { SENT, type Delivery, type FrameWriter } from "../port.js";
import { AckWriter, takeAck } from "./acks.js";
import type { InboxOptions } from "./inbox-options.js";
import { ENOENT, type Libc } from "./libc.js";
import { RecordKind, type Ring } from "./ring.js";
import { Segment, type SegmentAddress } from "./segment.js";
import { InStream, OutStream, pairAt, writePair, writeWhole } from "./stream.js";

interface Outgoing {
  stream: OutStream;
  /** Settled once the whole message is in the ring (for senders that wait for that). */
  done?: { resolve: () => void; reject: (error: Error) => void };
}

/** A peer on the host, as a writer into our inbox. */
interface Source {
  rank: number;
  /** The peer's ring in our inbox. */
  in: Ring;
  reader: InStream;
  /** Hands one record of its ring on (made once: see {@link ShmTransport.record}). */
  take: (kind: number, at: number, length: number) => void;
  /**
   * Its ring is being read: a delivery can make the runtime send and poll for room, which
   * polls our rings again, and that must not hand out the record being delivered a second time.
   */
  reading: boolean;
  /** Our synchronous send it may acknowledge in its ring's control block (see acks.ts); 0: none. */
  ack: number;
}

/** A peer on the host whose inbox we mapped, so that we write to it. */
interface Peer {
  rank: number;
  /** The peer's inbox, where our ring to it lives. */
  inbox: Segment;
  /** Our ring in the peer's inbox. */
  out: Ring;
  queue: Outgoing[];
  /** A message is being written into `out` right now (see writeNow). */
  writing: boolean;
}

/** The sources a poll that leaves messages in the rings reads (none; one array, not one per poll). */
const NO_SOURCES: readonly Source[] = [];
/** When a rank maps its inboxes' pages (see {@link ShmTransport.connect}): after its start, so that a page a message first reaches costs no fault later. */
const TOUCH_AFTER_MS = 100;

export class ShmTransport {
  private readonly peers: Array<Peer | undefined> = [];
  /** Every peer on the host: we read its ring even if we could not map its inbox (it may have sent and exited). */
  private readonly sources: Source[] = [];
  private readonly sourceOf: Array<Source | undefined> = [];

  private readonly writers: Peer[] = [];
  /** Inboxes of peers not mapped yet (see connect). */
  private readonly addresses: Array<SegmentAddress | undefined> = [];
  /** Peers whose ring this rank reads, by world rank. */
  private readonly local: boolean[] = [];
  private refused: (rank: number, reason: string) => void = () => undefined;
  /** Peers with queued outgoing data. */
  private pending = 0;
  /** Peers that have exited or failed, by world rank (see peerGone). */
  private readonly gone: boolean[] = [];

  private readonly rank: number;
  private readonly sink: Delivery;
  private readonly wake: InboxOptions["wake"];
  private readonly onPending: InboxOptions["onPending"];
  private readonly poll: InboxOptions["poll"];
  private readonly acks = new AckWriter((rank) => this.wake(rank));

  private constructor(
    private readonly libc: Libc,
    private readonly inbox: Segment,
    /** Where peers find this rank's inbox. */
    readonly address: SegmentAddress,
    options: InboxOptions,
  ) {
    ({ rank: this.rank, sink: this.sink, wake: this.wake, onPending: this.onPending, poll: this.poll } = options);
  }

  /** This rank's inbox, made now; peers' inboxes are mapped as they are first used (see {@link connect}). */
  static create(libc: Libc, inbox: InboxOptions): ShmTransport {
    const { segment, address } = Segment.create(libc, inbox.size, inbox.cores);
    return new ShmTransport(libc, segment, address, inbox);
  }

  /**
   * Learn the inboxes of the peers that offer one; each is mapped when this rank first sends
   * to it (most ranks of a large job talk to few others: mapping every inbox up front made
   * start-up slower than over ZeroMQ). `refused` hears of an inbox that could not be mapped.
   */
  connect(peers: Array<SegmentAddress | undefined>, refused: (rank: number, reason: string) => void): void {
    this.refused = refused;
    peers.forEach((address, rank) => {
      if (address === undefined || rank === this.rank) return;
      const source: Source = {
        rank,
        in: this.inbox.ring(rank),
        reader: new InStream(this.sink.place && ((prior, length) => this.sink.place!(prior, length))),
        take: () => undefined,
        reading: false,
        ack: 0,
      };
      source.take = (kind, at, length) => this.record(source, kind, at, length);
      this.sources.push(source);
      this.sourceOf[rank] = source;
      this.addresses[rank] = address;
      this.local[rank] = true;
    });
    // Map the inboxes' pages in the background, not in init(): up to 8 MiB a peer took 100-200 ms of a loaded 4-rank start.
    const rings = this.sources.map((source) => source.in);
    setTimeout(() => rings.forEach((ring) => ring.touch()), TOUCH_AFTER_MS).unref();
  }

  /** Map `rank`'s inbox (once). @returns undefined if it cannot be: that peer is then reached through ZeroMQ. */
  private open(rank: number): Peer | undefined {
    const address = this.addresses[rank];
    if (address === undefined) return undefined;
    this.addresses[rank] = undefined;
    try {
      const inbox = Segment.open(this.libc, address, this.rank);
      const peer: Peer = { rank, inbox, out: inbox.ring(this.rank), queue: [], writing: false };
      this.writers.push(peer);
      return (this.peers[rank] = peer);
    } catch (error) {
      // A peer that has already finished closed its inbox: ZeroMQ tells the launcher if a message for it is never read.
      if ((error as { errno?: number }).errno !== ENOENT) this.refused(rank, (error as Error).message);
      return undefined;
    }
  }

  /** Does `rank` write into this rank's inbox (a peer on the host that offered one)? */
  hosts(rank: number): boolean {
    return this.local[rank] === true;
  }

  /** Ranks reached through shared memory (this one included: it has an inbox). */
  get count(): number {
    return this.sources.length + 1;
  }

  reaches(rank: number): boolean {
    return (this.peers[rank] ?? this.open(rank)) !== undefined;
  }

  /**
   * Write a message to `dest`'s ring, as far as it fits now; the rest is queued. Resolves at
   * once, or with `flush` once the whole message is in the ring.
   * @param borrowed the frames are the caller's memory: copy what is queued
   */
  send(dest: number, frames: Buffer[], borrowed: boolean, flush = false): Promise<void> {
    const peer = this.peers[dest];
    if (peer === undefined) return Promise.reject(new TransportError(`rank ${dest} is not reached through shared memory`));
    // Nobody will read it: what would not fit in the ring would be held here forever, and hold this rank's exit.
    if (this.gone[dest] === true) return SENT;
    // Only one message at a time goes into a ring: behind queued ones, or one being written
    // (a message delivered while we poll for room can make the runtime send again).
    const free = peer.queue.length === 0 && !peer.writing;
    if (free && writeWhole(peer.out, frames)) {
      if (peer.inbox.claimWake()) this.wake(dest);
      return SENT;
    }
    const stream = new OutStream(frames);
    if (free && this.writeNow(peer, stream, borrowed || flush)) {
      // A delivery during writeNow's poll may have queued a message (a credit) to this peer.
      this.flushQueue(peer);
      return SENT;
    }
    if (borrowed) stream.own();
    const outgoing: Outgoing = { stream };
    const written = flush ? new Promise<void>((resolve, reject) => (outgoing.done = { resolve, reject })) : SENT;
    // A message started in the ring goes first: the rest of its stream must follow at once.
    if ((free ? peer.queue.unshift(outgoing) : peer.queue.push(outgoing)) === 1 && this.pending++ === 0) this.onPending(true);
    if (peer.inbox.claimWake()) this.wake(dest);
    this.flushQueue(peer);
    return written;
  }

  /** Acknowledge `dest`'s synchronous send `id` in our ring to it (see acks.ts). @returns false if `dest` is not reached this way. */
  acknowledge(dest: number, id: number): boolean {
    const peer = this.peers[dest] ?? this.open(dest);
    return peer !== undefined && this.acks.acknowledge(peer, id);
  }

  /** Hand `from`'s acknowledgement of our synchronous send `id` to the sink once its ring's control block holds it (see acks.ts); 0: expect none. */
  expectAck(from: number, id: number): void {
    const source = this.sourceOf[from];
    if (source !== undefined) source.ack = id;
  }

  /** Write a two-frame message whole into `dest`'s ring now, if nothing is queued before it and it fits (see Transport.sendPair). */
  sendPair(dest: number, head: FrameWriter, array: Uint8Array): boolean {
    const peer = this.peers[dest];
    if (peer === undefined || peer.queue.length > 0 || peer.writing || !writePair(peer.out, head, array)) return false;
    if (peer.inbox.claimWake()) this.wake(dest);
    return true;
  }

  /**
   * Write what fits now; with `poll` (the caller's memory, or a sender that waits until its
   * message is in), keep writing while the reader makes room, polling our own rings meanwhile:
   * that spares a copy, and a sleep per ringful. @returns true once all of it is in.
   */
  private writeNow(peer: Peer, stream: OutStream, poll: boolean): boolean {
    let whole = stream.pump(peer.out);
    if (peer.inbox.claimWake()) this.wake(peer.rank);
    if (whole || !poll) return whole;
    peer.writing = true;
    try {
      this.poll(() => {
        const before = stream.remaining;
        whole = stream.pump(peer.out);
        if (stream.remaining !== before && peer.inbox.claimWake()) this.wake(peer.rank);
        return whole || (stream.remaining !== before && "moved");
      });
    } finally {
      peer.writing = false;
    }
    return whole;
  }

  /** Write queued messages to `peer` while there is room. @returns true if anything was written. */
  private flushQueue(peer: Peer): boolean {
    if (peer.queue.length === 0 || peer.writing) return false;
    let moved = false;
    for (let retry = true; peer.queue.length > 0;) {
      const head = peer.queue[0]!;
      const before = head.stream.remaining;
      const whole = head.stream.pump(peer.out);
      moved ||= head.stream.remaining !== before;
      if (whole) {
        peer.queue.shift();
        head.done?.resolve();
        continue;
      }
      if (!retry) break;
      // Full: ask the reader to wake us when it frees room, then look once more, since it
      // may have freed some just before it could see the flag.
      peer.out.writerWaiting = true;
      retry = false;
    }
    if (moved && peer.inbox.claimWake()) this.wake(peer.rank);
    if (peer.queue.length === 0) {
      peer.out.writerWaiting = false;
      if (--this.pending === 0) this.onPending(false);
    }
    return moved;
  }

  /**
   * Deliver what has arrived (unless not to `deliver`) and write what is queued. @returns true if anything moved.
   * Called in tight polling loops: it allocates nothing while nothing has arrived (no
   * iterators, and the delivery closure lives in {@link readFrom}: captured by a closure in
   * this loop, `source` needed a fresh context per poll, a minor GC per millisecond of polling).
   */
  progress(deliver = true): boolean {
    let moved = false;
    const sources = deliver ? this.sources : NO_SOURCES;
    for (let i = 0; i < sources.length; i++) {
      const source = sources[i]!;
      if (source.ack !== 0 && takeAck(source, this.sink)) moved = ++this.delivered > 0;
      if (source.reading || !source.in.readable) continue;
      moved = true;
      this.readFrom(source);
    }
    const writers = this.writers;
    for (let i = 0; i < writers.length; i++) if (writers[i]!.queue.length > 0) moved = this.flushQueue(writers[i]!) || moved;
    return moved;
  }

  /** Deliver the records in `source`'s ring; wake its writer if it waits for room. */
  private readFrom(source: Source): void {
    source.reading = true;
    let wakeWriter: boolean;
    try {
      wakeWriter = source.in.read(source.take);
    } finally {
      source.reading = false;
    }
    if (wakeWriter) this.wake(source.rank);
  }

  /** One record of `source`'s ring: a whole two-frame message is offered to the sink where it lies, anything else goes through the stream decoder. */
  private record(source: Source, kind: number, at: number, length: number): void {
    const { bytes, view } = source.in;
    if (kind === RecordKind.Start && !source.reader.busy && this.sink.deliverPair !== undefined) {
      const head = pairAt(view, at, length);
      if (head >= 0) {
        const headLength = view.getUint32(at + 12, true);
        if (this.sink.deliverPair(bytes, view, head, headLength, head + headLength, length - 20 - headLength)) {
          this.delivered++;
          return;
        }
      }
    }
    const frames = source.reader.take(kind, bytes.subarray(at, at + length));
    if (frames === undefined) return;
    this.delivered++;
    this.sink.deliver(frames);
  }

  /** Messages delivered so far. */
  delivered = 0;

  /** A message is partly through a ring: its writer is at work. */
  get midMessage(): boolean {
    for (let i = 0; i < this.sources.length; i++) if (this.sources[i]!.reader.busy) return true;
    return false;
  }

  /** Outgoing data waits for room in a peer's ring. */
  get hasQueued(): boolean {
    return this.pending > 0;
  }

  /** Messages wait in a ring, not yet delivered. */
  get unread(): boolean {
    return this.sources.some((source) => source.in.readable);
  }

  readonly arm = (): void => this.inbox.arm();
  readonly disarm = (): void => this.inbox.disarm();
  /** Sleep up to `us` µs or until a peer writes here (see Segment.nap). @returns false where this platform cannot. */
  readonly nap = (us: number): boolean => this.inbox.nap(us, () => !this.unread);

  /** `rank` is gone: what is queued for it will never be read, nor what is sent to it from now on. */
  peerGone(rank: number, error: Error): void {
    this.gone[rank] = true;
    const peer = this.peers[rank];
    if (peer === undefined || peer.queue.length === 0) return;
    for (const outgoing of peer.queue.splice(0)) outgoing.done?.reject(error);
    peer.out.writerWaiting = false;
    if (--this.pending === 0) this.onPending(false);
  }
}
