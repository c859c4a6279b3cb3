/**
 * A single-producer, single-consumer ring of records in shared memory: one per (sender,
 * receiver) pair on a host, inside the receiver's segment. The writer only advances `head`,
 * the reader only advances `tail` (byte counters, wrapping at 2^32); both are published with
 * Atomics, which order the record bytes before them.
 *
 * A message is a stream (frame table, then the frames' bytes) cut into records of at most
 * {@link CHUNK_BYTES}: the first is a START record (stream length first), the rest CONT, so a
 * large message flows through a small ring while the reader copies out behind the writer.
 * Records are 8-byte aligned and never wrap: a PAD record fills the end of the ring instead.
 */

/** Control words, each on its own cache line (Int32Array indices). */
const HEAD = 0;
const TAIL = 16;
/** The writer has more to write and waits for room: the reader wakes it after consuming. */
const WRITER_WAITING = 32;
/** Bytes of the control block before the data area. */
export const RING_CONTROL_BYTES = 192;

export const RecordKind = { Start: 1, Cont: 2, Pad: 3 } as const;

/** Largest record payload: small enough to pipeline, large enough that per-record costs vanish. */
export const CHUNK_BYTES = 128 * 1024;
const HEADER_BYTES = 8;

const align8 = (n: number): number => (n + 7) & ~7;

/** One ring, seen from either end. */
export class Ring {
  private readonly control: Int32Array;
  /** The data area, as bytes and as a little-endian view (writers of records in place use them). */
  readonly bytes: Uint8Array;
  readonly view: DataView;
  private readonly words: Uint32Array;
  private readonly mask: number;
  /**
   * This end's own counter, as last published: `head` on the writer's side, `tail` on the
   * reader's. Only this end changes it, so it is read from here rather than from shared
   * memory: an Atomics call costs 5-8 ns (V8 does not inline them), and a small message took a
   * dozen. So each end is one object for the ring's whole life.
   */
  private head: number;
  private tail: number;

  /** @param capacity data bytes, a power of two */
  constructor(
    buffer: ArrayBuffer,
    offset: number,
    readonly capacity: number,
  ) {
    this.control = new Int32Array(buffer, offset, RING_CONTROL_BYTES / 4);
    this.bytes = new Uint8Array(buffer, offset + RING_CONTROL_BYTES, capacity);
    this.words = new Uint32Array(buffer, offset + RING_CONTROL_BYTES, capacity / 4);
    this.view = new DataView(buffer, offset + RING_CONTROL_BYTES, capacity);
    this.mask = capacity - 1;
    this.head = Atomics.load(this.control, HEAD) >>> 0;
    this.tail = Atomics.load(this.control, TAIL) >>> 0;
  }

  static bytesFor(capacity: number): number {
    return RING_CONTROL_BYTES + capacity;
  }

  // ---- writer side ----

  /**
   * Room for a record of up to `want` payload bytes and at least `least` (a START record needs
   * its whole header), made contiguous: a PAD record skips the ring's end if `least` does not
   * fit before it. @returns the payload bytes that fit now (0: not enough room yet).
   */
  reserve(want: number, least = 1): number {
    least = align8(least);
    let head = this.head;
    let free = this.capacity - ((head - (Atomics.load(this.control, TAIL) >>> 0)) >>> 0);
    let toEnd = this.capacity - (head & this.mask);
    if (toEnd - HEADER_BYTES < least) {
      if (free < toEnd + HEADER_BYTES + least) return 0;
      const position = head & this.mask;
      this.words[position >> 2] = toEnd - HEADER_BYTES;
      this.words[(position >> 2) + 1] = RecordKind.Pad;
      head = this.head = (head + toEnd) >>> 0;
      Atomics.store(this.control, HEAD, head | 0);
      free -= toEnd;
      toEnd = this.capacity;
    }
    const room = (Math.min(free, toEnd) - HEADER_BYTES) & ~7;
    if (room < least) return 0;
    return Math.min(want, CHUNK_BYTES, room);
  }

  /** The payload area of the record `reserve` made room for. */
  payload(length: number): Uint8Array {
    const at = this.payloadAt();
    return this.bytes.subarray(at, at + length);
  }

  /** Where in {@link bytes} the payload of the record `reserve` made room for starts (8-byte aligned). */
  payloadAt(): number {
    return (this.head & this.mask) + HEADER_BYTES;
  }

  /** Publish the record whose payload was written into `payload(length)`. */
  commit(kind: number, length: number): void {
    const head = this.head;
    const position = head & this.mask;
    this.words[position >> 2] = length;
    this.words[(position >> 2) + 1] = kind;
    this.head = (head + HEADER_BYTES + align8(length)) >>> 0;
    Atomics.store(this.control, HEAD, this.head | 0);
  }

  /** Say that the writer waits for room (then check for room again: the reader may have just made some). */
  set writerWaiting(waiting: boolean) {
    Atomics.store(this.control, WRITER_WAITING, waiting ? 1 : 0);
  }

  // ---- reader side ----

  /**
   * Read a word of every page of the ring, so that this process maps them all now (a page a
   * message first reaches costs a fault, microseconds). Only reads: a writer may be at work.
   * Atomics loads, which the engine never leaves out for their result being unused.
   */
  touch(): void {
    for (let word = 0; word < this.words.length; word += 1024) Atomics.load(this.words, word);
  }

  /** Something to read. */
  get readable(): boolean {
    return Atomics.load(this.control, HEAD) >>> 0 !== this.tail;
  }

  /**
   * Hand each record to `take` (kind, and where its payload sits in {@link bytes}: valid only
   * during the call) and free it. @returns true if the writer waits for room and should be woken.
   */
  read(take: (kind: number, at: number, length: number) => void): boolean {
    const head = Atomics.load(this.control, HEAD) >>> 0;
    let tail = this.tail;
    if (head === tail) return false;
    while (tail !== head) {
      const position = tail & this.mask;
      const length = this.words[position >> 2]!;
      const kind = this.words[(position >> 2) + 1]!;
      if (length > this.capacity - position - HEADER_BYTES) throw new RangeError(`ring record of ${length} bytes overruns the ring`);
      if (kind !== RecordKind.Pad) take(kind, position + HEADER_BYTES, length);
      tail = this.tail = (tail + HEADER_BYTES + align8(length)) >>> 0;
      // Free each record at once, so that the writer can refill behind us.
      Atomics.store(this.control, TAIL, tail | 0);
    }
    return Atomics.load(this.control, WRITER_WAITING) === 1 && Atomics.compareExchange(this.control, WRITER_WAITING, 1, 0) === 1;
  }
}
