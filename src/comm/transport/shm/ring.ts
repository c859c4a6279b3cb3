/**
 * A single-producer, single-consumer ring of records in shared memory: one per (sender,
 * receiver) pair on a host, inside the receiver's segment. The writer owns `head`, the reader
 * `tail` (byte counters, wrapping at 2^32); only the tail is published, for the writer to see
 * room.
 *
 * A message is a stream (frame table, then the frames' bytes) cut into records of at most
 * {@link CHUNK_BYTES}: the first is a START record (stream length first), the rest CONT, so a
 * large message flows through a small ring while the reader copies out behind the writer.
 * Records never wrap (a PAD record fills the end of the ring instead) and start on a cache line.
 *
 * Every cross-core cache miss on a message's path costs tens of nanoseconds, more than the
 * rest of the ring's work, so a small message costs one: each record carries its own seal,
 * beside its header in its first line, and the reader polls the seal where the next record
 * will start (not a head counter on a line of its own); the writer reads the published tail
 * only when the room it last saw runs out, and clears the seal words ahead of its records.
 * (Two processes exchanging 8 B records, in plain JavaScript: 0.30 µs a half round trip with a
 * head counter and a tail read per record, 0.18 with seals.)
 */

// Control words, each on its own cache line (Int32Array indices).
/** The last synchronous send of the reader's that the writer acknowledged here (see ShmTransport.acknowledge). */
const ACKED = 0;
/** The reader's published tail. */
const TAIL = 16;
/** The writer has more to write and waits for room: the reader wakes it after consuming. */
const WRITER_WAITING = 32;
/** Bytes of the control block before the data area (whole cache lines). */
export const RING_CONTROL_BYTES = 192;

export const RecordKind = { Start: 1, Cont: 2, Pad: 3 } as const;

/** Largest record payload: small enough to pipeline, large enough that per-record costs vanish. */
export const CHUNK_BYTES = 128 * 1024;
/** A record's header: its payload length and kind (one word: length | kind << 24), then its seal. */
const HEADER_BYTES = 8;
const LINE = 64;
/** How far past the head the writer keeps the lines' seal words cleared (see Ring.clearAhead). */
const CLEAR_AHEAD = 2048;
/** Largest capacity: a PAD record's length must fit the header's 24 bits. */
const MAX_CAPACITY = 2 ** 24;

const align8 = (n: number): number => (n + 7) & ~7;
/** Bytes from a record's start to the next one's. */
const span = (length: number): number => (HEADER_BYTES + length + LINE - 1) & ~(LINE - 1);
/**
 * The seal of the record that starts at counter `at`: its second word, written last. Never 0
 * (records start on a line, so its low bits are ones), and different from the seal of the record
 * at that place a lap before, so a reader never takes an old record for a new one. Payload
 * bytes of an old lap may lie where a new record's seal goes: the writer clears that word
 * before the reader can look at it (see Ring.commit).
 */
const seal = (at: number): number => ~at >>> 0;

/** One ring, seen from either end. */
export class Ring {
  private readonly control: Int32Array;
  /** The data area, as bytes and as a little-endian view (writers of records in place use them). */
  readonly bytes: Uint8Array;
  readonly view: DataView;
  private readonly words: Uint32Array;
  private readonly mask: number;
  /**
   * This end's own counter: `head` on the writer's side, `tail` on the reader's. Only this end
   * changes it, so it lives here (an Atomics call costs 5-8 ns: V8 does not inline them), and
   * each end is one object for the ring's whole life. `seen`: the tail as the writer last read it.
   */
  private head = 0;
  private tail = 0;
  private seen = 0;
  /**
   * The seal word of every line from the head up to this counter holds 0 or an old lap's seal,
   * never payload bytes (a new ring is all zeros).
   */
  private cleared: number;

  /** @param capacity data bytes, a power of two */
  constructor(
    buffer: ArrayBuffer,
    offset: number,
    readonly capacity: number,
  ) {
    if (capacity > MAX_CAPACITY || capacity < 2 * LINE) throw new RangeError(`a ring holds ${2 * LINE} to ${MAX_CAPACITY} bytes, not ${capacity}`);
    this.control = new Int32Array(buffer, offset, RING_CONTROL_BYTES / 4);
    this.bytes = new Uint8Array(buffer, offset + RING_CONTROL_BYTES, capacity);
    this.words = new Uint32Array(buffer, offset + RING_CONTROL_BYTES, capacity / 4);
    this.view = new DataView(buffer, offset + RING_CONTROL_BYTES, capacity);
    this.mask = capacity - 1;
    this.cleared = capacity;
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
    want = Math.min(want, CHUNK_BYTES);
    // The room last seen is enough for the whole record (the common case): no look at the tail,
    // whose line the reader keeps writing.
    let room = this.room(least);
    if (room < want) {
      this.seen = Atomics.load(this.control, TAIL) >>> 0;
      room = this.room(least);
    }
    if (room < least) return 0;
    const toEnd = this.capacity - (this.head & this.mask);
    if (toEnd - HEADER_BYTES < least) {
      this.commit(RecordKind.Pad, toEnd - HEADER_BYTES);
    }
    return Math.min(want, room);
  }

  /** Payload bytes a record starting at the head may hold (after a PAD record, if `least` does not fit before the ring's end), as of the tail last seen. */
  private room(least: number): number {
    const free = this.capacity - ((this.head - this.seen) >>> 0);
    const toEnd = this.capacity - (this.head & this.mask);
    if (toEnd - HEADER_BYTES >= least) return Math.max(0, Math.min(free, toEnd) - HEADER_BYTES) & ~7;
    return Math.max(0, free - toEnd - HEADER_BYTES) & ~7;
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

  /** Publish the record whose payload was written into `payload(length)`: its header, then its seal. */
  commit(kind: number, length: number): void {
    const head = this.head;
    const word = (head & this.mask) >> 2;
    const step = span(length);
    const next = (head + step) >>> 0;
    // The reader looks for the next record's seal as soon as it has read this one: that word
    // must not hold payload bytes of an old lap by then. Cleared ahead of time (see clearAhead),
    // or now, unless that place is the oldest unread record (its seal is last lap's).
    if ((this.cleared - head) >>> 0 <= step) {
      if ((next - this.seen) >>> 0 < this.capacity) this.words[((next & this.mask) >> 2) + 1] = 0;
      this.cleared = (next + LINE) >>> 0;
    }
    this.words[word] = length | (kind << 24);
    Atomics.store(this.words, word + 1, seal(head));
    this.head = next;
    if ((this.cleared - next) >>> 0 < CLEAR_AHEAD / 2) this.clearAhead();
  }

  /**
   * Clear the seal words of the free lines up to {@link CLEAR_AHEAD} past the head, after a
   * record is sealed: done then, the stores to lines untouched for a lap (a cache miss each)
   * are not waited for by the seal of a small message, as they would be in {@link commit}.
   */
  private clearAhead(): void {
    const head = this.head;
    const until = Math.min(CLEAR_AHEAD, this.capacity - ((head - this.seen) >>> 0));
    let at = (this.cleared - head) >>> 0;
    if (at >= until) return;
    for (; at < until; at += LINE) this.words[(((head + at) & this.mask) >> 2) + 1] = 0;
    this.cleared = (head + at) >>> 0;
  }

  /**
   * Acknowledge the reader's synchronous send `id` in the control block: a plain store, which
   * the writer does not wait for (a sequentially consistent one waits for the line the reader
   * polls, and made an 8 B ssend slower than an Ack record; see ShmTransport.acknowledge).
   */
  acknowledge(id: number): void {
    this.control[ACKED] = id | 0;
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

  /** The reader's synchronous send the writer acknowledged last (see {@link acknowledge}). */
  get acknowledged(): number {
    return Atomics.load(this.control, ACKED) >>> 0;
  }

  /** Something to read. */
  get readable(): boolean {
    return this.sealed(this.tail);
  }

  /** Is the record that starts at counter `at` written (its seal in place)? */
  private sealed(at: number): boolean {
    return Atomics.load(this.words, ((at & this.mask) >> 2) + 1) === seal(at);
  }

  /**
   * Hand each record to `take` (kind, and where its payload sits in {@link bytes}: valid only
   * during the call) and free it. @returns true if the writer waits for room and should be woken.
   */
  read(take: (kind: number, at: number, length: number) => void): boolean {
    let tail = this.tail;
    if (!this.sealed(tail)) return false;
    do {
      const word = (tail & this.mask) >> 2;
      const header = this.words[word]!;
      const length = header & 0xff_ffff;
      const kind = header >>> 24;
      if (length > this.capacity - 4 * word - HEADER_BYTES) throw new RangeError(`ring record of ${length} bytes overruns the ring`);
      if (kind !== RecordKind.Pad) take(kind, 4 * word + HEADER_BYTES, length);
      // Free each record at once, so that the writer can refill behind us.
      tail = this.tail = (tail + span(length)) >>> 0;
      Atomics.store(this.control, TAIL, tail | 0);
    } while (this.sealed(tail));
    return Atomics.load(this.control, WRITER_WAITING) === 1 && Atomics.compareExchange(this.control, WRITER_WAITING, 1, 0) === 1;
  }
}
