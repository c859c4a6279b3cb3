/**
 * A rank's shared-memory inbox: one anonymous memfd segment holding a header and one
 * {@link Ring} per possible sender (indexed by world rank). The owner creates it, sealed at
 * its size; peers on the same host open it through /proc/<pid>/fd/<fd> (same user, or root),
 * check that it is the file and size offered, and map only the header page and their own
 * ring (page-aligned: mapping, and V8's view of, 63 whole inboxes of 32 MiB made start-up of
 * 64 ranks slower than over ZeroMQ). Nothing is ever named in /dev/shm, and the memory goes
 * back to the system once the last process that maps it exits, however it exits.
 */
import type { Libc, SharedFile } from "./libc.js";
import { Ring } from "./ring.js";

/** Header words (Int32Array indices). */
const ARMED = 0;
/** The owner naps in a futex wait on this word (see {@link Segment.nap}); on ARMED's line, so that a writer's check of both costs one cache miss. */
const NAPPING = 1;
const MAGIC = 16;
/** The header takes one page, and each ring starts on a page: a peer maps just the parts it uses. */
const PAGE = 4096;
const HEADER_BYTES = PAGE;
const pageAligned = (n: number): number => Math.ceil(n / PAGE) * PAGE;
const MAGIC_VALUE = 0x7473_6d70; // "tsmp"

/** What peers need to map a rank's inbox: its file (checked before mapping, see Libc.openPeer) and the rings' size. */
export interface SegmentAddress extends SharedFile {
  /** Data bytes of each ring. */
  ring: number;
}

/**
 * Ring size for a job of `size` ranks on a host of `cores` CPUs: large enough to pipeline,
 * small enough for many ranks. With a core per rank, 1 MiB (eight 128 KiB records), which
 * stays in cache: 4 MiB ping-pongs ran at 33 GB/s against 19-22 with 8 MiB. Where ranks
 * outnumber cores, up to 8 MiB, so that a large message fits whole: its writer need not wait
 * for a reader that is not running (alltoall of 8 MiB at n = 4 on 2 cores: 4.8 ms with 1 MiB
 * rings against 2.6 with 8 MiB).
 */
export function ringBytes(size: number, cores: number): number {
  const target = 2 ** Math.floor(Math.log2((32 * 2 ** 20) / Math.max(1, size)));
  return Math.min(size > cores ? 8 * 2 ** 20 : 2 ** 20, Math.max(256 * 2 ** 10, target));
}

export class Segment {
  private readonly header: Int32Array;
  /** The NAPPING word alone, for the futex calls. */
  private readonly napWord: Int32Array;

  /**
   * @param header the header page
   * @param rings where the ring of sender `first` starts, at `offset`, followed by the next ones
   */
  private constructor(
    /** Its futex calls (see {@link nap}). */
    private readonly libc: Pick<Libc, "futexWait" | "futexWake">,
    header: ArrayBuffer,
    private readonly rings: ArrayBuffer,
    private readonly offset: number,
    private readonly ringCapacity: number,
    private readonly first = 0,
  ) {
    this.header = new Int32Array(header, 0, HEADER_BYTES / 4);
    this.napWord = new Int32Array(header, 4 * NAPPING, 1);
  }

  /** Bytes from one ring's start to the next's. */
  private static stride(ring: number): number {
    return pageAligned(Ring.bytesFor(ring));
  }

  /** Create this rank's inbox for a job of `size` ranks on `cores` CPUs (mapped whole: the owner reads every ring). */
  static create(libc: Libc, size: number, cores: number): { segment: Segment; address: SegmentAddress } {
    const ring = ringBytes(size, cores);
    const file = libc.createShared("tsmpi-inbox", HEADER_BYTES + size * Segment.stride(ring));
    const whole = libc.map(file.fd, file.bytes);
    const segment = new Segment(libc, whole, whole, HEADER_BYTES, ring);
    Atomics.store(segment.header, MAGIC, MAGIC_VALUE);
    return { segment, address: { ...file, ring } };
  }

  /** Map the parts of a peer's inbox that `sender` (this rank) uses: the header and its own ring. */
  static open(libc: Libc, address: SegmentAddress, sender: number): Segment {
    const fd = libc.openPeer(address);
    try {
      const stride = Segment.stride(address.ring);
      const end = HEADER_BYTES + (sender + 1) * stride;
      if (end > address.bytes) throw new Error(`the inbox of process ${address.pid} has ${address.bytes} bytes, too few for rank ${sender}'s ring`);
      const header = libc.map(fd, HEADER_BYTES);
      // Populated: its pages are allocated and mapped now, not one fault per page as messages first reach them.
      const segment = new Segment(libc, header, libc.map(fd, stride, HEADER_BYTES + sender * stride, true), 0, address.ring, sender);
      if (Atomics.load(segment.header, MAGIC) !== MAGIC_VALUE) throw new Error(`/proc/${address.pid}/fd/${address.fd} is not a tsmpi inbox`);
      return segment;
    } finally {
      libc.close(fd); // the mapping keeps the memory
    }
  }

  /** The ring that carries `sender`'s messages into this inbox (a peer's view has only its own). */
  ring(sender: number): Ring {
    return new Ring(this.rings, this.offset + (sender - this.first) * Segment.stride(this.ringCapacity), this.ringCapacity);
  }

  /** The owner is about to sleep: writers must ring its doorbell. Set it, then look at the rings once more. */
  arm(): void {
    Atomics.store(this.header, ARMED, 1);
  }

  disarm(): void {
    // A load first: a sequentially consistent store is a full fence, and most polls find it disarmed already.
    if (Atomics.load(this.header, ARMED) !== 0) Atomics.store(this.header, ARMED, 0);
  }

  /**
   * The owner sleeps in a futex wait for up to `us` µs, unless `quiet()` turns false once it has
   * said so (a writer that published just before could not see the flag); writers wake it (see
   * {@link claimWake}). @returns false where this platform has no futex call known here.
   */
  nap(us: number, quiet: () => boolean): boolean {
    const futexWait = this.libc.futexWait;
    if (futexWait === undefined) return false;
    Atomics.store(this.header, NAPPING, 1);
    if (quiet()) futexWait(this.napWord, 1, us);
    Atomics.store(this.header, NAPPING, 0);
    return true;
  }

  /**
   * A writer has just published a record: wake the owner now if it naps (see {@link nap}).
   * @returns true if it sleeps in its event loop and this writer must ring its doorbell (once).
   */
  claimWake(): boolean {
    const header = this.header;
    if (Atomics.load(header, NAPPING) === 1 && Atomics.compareExchange(header, NAPPING, 1, 0) === 1) this.libc.futexWake?.(this.napWord);
    return Atomics.load(header, ARMED) === 1 && Atomics.compareExchange(header, ARMED, 1, 0) === 1;
  }
}
