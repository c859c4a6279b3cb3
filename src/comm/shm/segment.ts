/**
 * A rank's shared-memory inbox: one anonymous memfd segment holding a header and one
 * {@link Ring} per possible sender (indexed by world rank). The owner creates it; peers on
 * the same host open it through /proc/<pid>/fd/<fd> (same user only) and map it. Nothing is
 * ever named in /dev/shm, and the memory goes back to the system once the last process that
 * maps it exits, however it exits.
 */
import type { Libc } from "./libc.js";
import { Ring } from "./ring.js";

/** Header words (Int32Array indices). */
const ARMED = 0;
const MAGIC = 16;
const HEADER_BYTES = 128;
const MAGIC_VALUE = 0x7473_6d70; // "tsmp"

/** What peers need to map a rank's inbox. */
export interface SegmentAddress {
  pid: number;
  fd: number;
  /** Data bytes of each ring. */
  ring: number;
}

/** Ring size for a job of `size` ranks: large enough to pipeline, small enough for many ranks. */
export function ringBytes(size: number): number {
  const target = 2 ** Math.floor(Math.log2((32 * 2 ** 20) / Math.max(1, size)));
  return Math.min(8 * 2 ** 20, Math.max(256 * 2 ** 10, target));
}

export class Segment {
  private readonly header: Int32Array;

  private constructor(
    private readonly buffer: ArrayBuffer,
    private readonly ringCapacity: number,
  ) {
    this.header = new Int32Array(buffer, 0, HEADER_BYTES / 4);
  }

  private static bytes(size: number, ring: number): number {
    return HEADER_BYTES + size * Ring.bytesFor(ring);
  }

  /** Create this rank's inbox for a job of `size` ranks. */
  static create(libc: Libc, size: number): { segment: Segment; address: SegmentAddress } {
    const ring = ringBytes(size);
    const bytes = Segment.bytes(size, ring);
    const fd = libc.createShared("tsmpi-inbox", bytes);
    const segment = new Segment(libc.map(fd, bytes), ring);
    Atomics.store(segment.header, MAGIC, MAGIC_VALUE);
    return { segment, address: { pid: process.pid, fd, ring } };
  }

  /** Map a peer's inbox (a job of `size` ranks). */
  static open(libc: Libc, size: number, address: SegmentAddress): Segment {
    const fd = libc.openPeer(address.pid, address.fd);
    try {
      const segment = new Segment(libc.map(fd, Segment.bytes(size, address.ring)), address.ring);
      if (Atomics.load(segment.header, MAGIC) !== MAGIC_VALUE) throw new Error(`/proc/${address.pid}/fd/${address.fd} is not a tsmpi inbox`);
      return segment;
    } finally {
      libc.close(fd); // the mapping keeps the memory
    }
  }

  /** The ring that carries `sender`'s messages into this inbox. */
  ring(sender: number): Ring {
    return new Ring(this.buffer, HEADER_BYTES + sender * Ring.bytesFor(this.ringCapacity), this.ringCapacity);
  }

  /** The owner is about to sleep: writers must ring its doorbell. Set it, then look at the rings once more. */
  arm(): void {
    Atomics.store(this.header, ARMED, 1);
  }

  disarm(): void {
    Atomics.store(this.header, ARMED, 0);
  }

  /** A writer has just published a record: @returns true if the owner sleeps and this writer must wake it (once). */
  claimWake(): boolean {
    return Atomics.load(this.header, ARMED) === 1 && Atomics.compareExchange(this.header, ARMED, 1, 0) === 1;
  }
}
