// The shared-memory transport's parts on their own: the ring (wrap-around, padding, records
// cut anywhere), the stream decoder under fuzzed records, and the engine behaviour the ring
// protocol relies on: Atomics on memory mapped by two processes (not a SharedArrayBuffer)
// count exactly and order a Dekker-style handshake (a doorbell is never lost). And segments
// nobody can resize: sealed at creation, checked by whoever opens them, tried from outside a job.
import { execa } from "execa";
import fc from "fast-check";
import { closeSync, fstatSync, ftruncateSync, openSync, readdirSync, readlinkSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { loadLibc, type Libc } from "../src/comm/transport/shm/libc.js";
import { CHUNK_BYTES, Ring } from "../src/comm/transport/shm/ring.js";
import { FIRST_RECORD_BYTES, InStream, OutStream, pairAt, writePair, writeWhole } from "../src/comm/transport/shm/stream.js";
import { encode } from "../src/comm/wire/codec.js";
import { RawHead, RawHeadReader } from "../src/comm/wire/raw.js";
import { ARRAY_KINDS } from "../src/comm/wire/wire.js";
import { SerializationError } from "../src/errors.js";
import { fixture, follow, leftovers, linesStarting, startJob } from "./helpers.js";

function newRing(capacity: number): Ring {
  return new Ring(new ArrayBuffer(Ring.bytesFor(capacity)), 0, capacity);
}

/** Send `messages` through a ring of `capacity`, reading whenever the writer is stuck; @returns what arrived. */
function through(capacity: number, messages: Buffer[][]): Buffer[][] {
  const ring = newRing(capacity);
  const reader = new InStream();
  const arrived: Buffer[][] = [];
  const read = () =>
    ring.read((kind, at, length) => {
      const frames = reader.take(kind, ring.bytes.subarray(at, at + length));
      if (frames) arrived.push(frames);
    });
  for (const frames of messages) {
    const out = new OutStream(frames);
    for (let spins = 0; !out.pump(ring); spins++) {
      expect(spins).toBeLessThan(1e6);
      read();
    }
  }
  read();
  return arrived;
}

const frame = fc.uint8Array({ maxLength: 3000 }).map((a) => Buffer.from(a));

describe("shared-memory ring and streams", () => {
  it("carries messages of any shape through a small ring, wrapping and padding, in order", () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(frame, { minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 30 }),
        fc.constantFrom(256, 1024, 4096),
        (messages, capacity) => {
          expect(through(capacity, messages)).toEqual(messages);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("pipelines a message far larger than the ring", () => {
    const big = Buffer.alloc(5 << 20);
    for (let i = 0; i < big.length; i += 4093) big[i] = i & 0xff;
    const [got] = through(64 << 10, [[Buffer.from("head"), big]]);
    expect(got![0]!.toString()).toBe("head");
    expect(got![1]!.equals(big)).toBe(true);
  });

  it("streams a message in records of 16 KiB, then twice as large each, up to 128 KiB, at the edge of each (-1, 0, +1 byte)", () => {
    // Record payload bytes: 8 (START's stream length) + 12 (frame table of two frames) + 4 ("head") + the array.
    const edges = [FIRST_RECORD_BYTES, 3 * FIRST_RECORD_BYTES, 7 * FIRST_RECORD_BYTES, 15 * FIRST_RECORD_BYTES, 23 * FIRST_RECORD_BYTES];
    for (const edge of edges)
      for (const total of [edge - 1, edge, edge + 1]) {
        const array = Buffer.alloc(total - 24);
        for (let i = 0; i < array.length; i += 97) array[i] = (i / 97) & 0xff;
        const ring = newRing(1 << 20);
        const out = new OutStream([Buffer.from("head"), array]);
        expect(out.pump(ring)).toBe(true);
        const lengths: number[] = [];
        const reader = new InStream();
        let got: Buffer[] | undefined;
        ring.read((kind, at, length) => {
          lengths.push(length);
          got = reader.take(kind, ring.bytes.subarray(at, at + length)) ?? got;
        });
        const expected: number[] = [];
        for (let left = total, record = FIRST_RECORD_BYTES; left > 0; record = Math.min(2 * record, CHUNK_BYTES)) {
          expected.push(Math.min(left, record));
          left -= record;
        }
        expect(lengths, `${total} bytes`).toEqual(expected);
        expect(got![0]!.toString()).toBe("head");
        expect(got![1]!.equals(array)).toBe(true);
      }
  });

  it("never takes bytes an old record left for a new record's seal", () => {
    // A record over most of the ring whose payload holds, at every line's seal word, the seal
    // a record starting on that line will have one lap later: the writer must clear each of
    // those words before the reader reaches it, or the reader would take payload for records.
    const capacity = 1024;
    const ring = newRing(capacity);
    const view = new DataView(ring.bytes.buffer, ring.bytes.byteOffset, capacity);
    const length = ring.reserve(capacity - 72, capacity - 72);
    expect(length).toBe(capacity - 72);
    for (let line = 64; line < capacity - 64; line += 64) view.setUint32(line + 4, ~(line + capacity) >>> 0, true);
    ring.commit(2, length);
    expect(records(ring).map(([kind, bytes]) => [kind, bytes.length])).toEqual([[2, length]]);
    for (let i = 0; i < 3 * (capacity / 64); i++) {
      expect(ring.reserve(8, 8)).toBe(8);
      ring.payload(8).fill(i & 0xff);
      ring.commit(1, 8);
      expect(records(ring)).toEqual([[1, new Uint8Array(8).fill(i & 0xff)]]);
    }
  });

  it("rejects fuzzed ring records with a SerializationError and never anything else", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 4 }), fc.uint8Array({ maxLength: 64 })), { maxLength: 6 }), (records) => {
        const reader = new InStream();
        try {
          for (const [kind, bytes] of records) reader.take(kind, bytes);
        } catch (error) {
          if (!(error instanceof SerializationError)) throw error;
        }
      }),
      { numRuns: 5000 },
    );
  });
});

/** The records a ring holds, as [kind, payload bytes] (read out, so the ring is empty after). */
function records(ring: Ring): Array<[number, Uint8Array]> {
  const out: Array<[number, Uint8Array]> = [];
  ring.read((kind, at, length) => out.push([kind, ring.bytes.slice(at, at + length)]));
  return out;
}

describe("the small-array fast path's records (a raw header written in place)", () => {
  const message = fc.record({
    context: fc.stringMatching(/^[\w.!]{0,12}$/),
    source: fc.nat(1000),
    tag: fc.nat(2 ** 31 - 1),
    from: fc.nat(1000),
    kind: fc.nat(ARRAY_KINDS.length - 1),
    bytes: fc.uint8Array({ minLength: 8, maxLength: 256 }),
  });

  it("writes byte for byte what the frame encoding writes, and reads it back where it lies", () => {
    fc.assert(
      fc.property(message, fc.nat(4000), ({ context, source, tag, from, kind, bytes }, skew) => {
        const width = kind === 0 ? 1 : (globalThis[ARRAY_KINDS[kind] as "Uint8Array"] as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
        const data = bytes.slice(0, bytes.length - (bytes.length % width));
        const Ctor = kind === 0 ? Buffer : (globalThis[ARRAY_KINDS[kind] as "Uint8Array"] as unknown as new (b: ArrayBuffer) => Uint8Array);
        const value = kind === 0 ? Buffer.from(data) : new Ctor(data.slice().buffer);
        // Both rings start at the same odd place, so records wrap and pad alike.
        const [framed, placed] = [newRing(8192), newRing(8192)];
        for (const ring of [framed, placed]) {
          ring.commit(2, ring.reserve(skew + 1));
          records(ring);
        }
        expect(writeWhole(framed, encode({ context, source, from }, tag, value).frames)).toBe(true);
        const head = new RawHead();
        expect(head.set({ context, source, from }, tag, kind, data.length)).toBe(true);
        expect(writePair(placed, head, data)).toBe(true);
        const [one, two] = [records(framed), records(placed)];
        expect(two).toEqual(one);
        // Read back in place: the header's fields, and where the array lies.
        const [[, payload]] = two as [[number, Uint8Array]];
        const view = new DataView(payload.buffer);
        const at = pairAt(view, 0, payload.length);
        expect(at).toBe(20);
        const reader = new RawHeadReader();
        expect(reader.read(payload, view, at, head.length)).toBe(true);
        expect({ ...reader }).toEqual({ context, source, tag, from, kind, byteLength: data.length });
        expect(payload.subarray(at + head.length)).toEqual(data);
      }),
      { numRuns: 500 },
    );
  });

  it("reads fuzzed headers without throwing, refusing what is not a raw header", () => {
    const reader = new RawHeadReader();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.nat(64), (bytes, length) => {
        const n = Math.min(length, bytes.length);
        const ok = reader.read(bytes, new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), 0, n);
        if (ok) {
          expect(bytes[0]).toBe(0xd7);
          expect(n).toBe(24 + (bytes[2]! | (bytes[3]! << 8)));
          expect(Number.isSafeInteger(reader.byteLength) && reader.byteLength >= 0).toBe(true);
        }
        expect(pairAt(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), 0, n)).toBeLessThanOrEqual(n);
      }),
      { numRuns: 5000 },
    );
  });
});

describe("Atomics on memory two processes map (what the ring protocol relies on)", () => {
  const libc = loadLibc();
  const shared = "unavailable" in libc ? undefined : (libc as Libc);
  const LIBC = resolve(__dirname, "../dist/comm/transport/shm/libc.js");

  /** Run `body` in `n` node processes that map the same memfd as `view` (an Int32Array). */
  async function inProcesses(n: number, bytes: number, body: string): Promise<Int32Array> {
    const file = shared!.createShared("tsmpi-test", bytes);
    const view = new Int32Array(shared!.map(file.fd, bytes));
    const script = `
      const { loadLibc } = await import(${JSON.stringify(LIBC)});
      const libc = loadLibc();
      const fd = libc.openPeer(${JSON.stringify(file)});
      const view = new Int32Array(libc.map(fd, ${bytes}));
      const me = Number(process.argv[1]);
      ${body}`;
    await Promise.all(Array.from({ length: n }, (_, me) => execa(process.execPath, ["--input-type=module", "-e", script, String(me)], { timeout: 60_000 })));
    shared!.close(file.fd);
    return view;
  }

  it.runIf(shared)("count 4 000 000 concurrent Atomics.add from two processes exactly", async () => {
    const view = await inProcesses(2, 4096, "for (let i = 0; i < 2_000_000; i++) Atomics.add(view, 0, 1);");
    expect(view[0]).toBe(4_000_000);
  });

  it.runIf(shared?.futexWait)("wake a futex wait from another process, never losing a wake-up (2 000 hand-overs, each wait up to 20 s)", async () => {
    // Word 0: whose turn it is; each process waits while it is the other's, then hands over and wakes.
    const view = await inProcesses(
      2,
      4096,
      `const word = view.subarray(0, 1);
       for (let i = 0; i < 1000; i++) {
         while (Atomics.load(view, 0) !== me) libc.futexWait(word, 1 - me, 20e6);
         Atomics.add(view, 16, 1);
         Atomics.store(view, 0, 1 - me);
         libc.futexWake(word);
       }`,
    );
    expect(view[16]).toBe(2000);
  });

  it.runIf(shared)("order store-then-load across processes (Peterson's lock keeps a plain counter exact)", async () => {
    // flag[me] at 16*me, turn at 64, counter at 80 (plain read-modify-write inside the lock).
    const view = await inProcesses(
      2,
      4096,
      // The waiter naps now and then: on a busy machine its peer may need the core to get out of the lock.
      `const other = 1 - me;
       const nap = new Int32Array(new SharedArrayBuffer(4));
       for (let i = 0; i < 200_000; i++) {
         Atomics.store(view, 16 * me, 1);
         Atomics.store(view, 64, other);
         for (let spins = 1; Atomics.load(view, 16 * other) === 1 && Atomics.load(view, 64) === other; spins++)
           if ((spins & 1023) === 0) Atomics.wait(nap, 0, 0, 0.05);
         view[80] = view[80] + 1;
         Atomics.store(view, 16 * me, 0);
       }`,
    );
    expect(view[80]).toBe(400_000);
  });
});

/** The error code `body` throws, or "no error". */
function codeOf(body: () => void): string {
  try {
    body();
    return "no error";
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
}

/** The descriptors of process `pid` that lead to a memfd named `name` (readlink: "/memfd:<name> (deleted)"). */
function memfds(pid: string, name: string): string[] {
  return readdirSync(`/proc/${pid}/fd`).filter((fd) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith(`/memfd:${name} `);
    } catch {
      return false; // closed meanwhile
    }
  });
}

describe("shared segments are sealed at their size and checked before mapping", () => {
  const libc = loadLibc();
  const shared = "unavailable" in libc ? undefined : (libc as Libc);

  it.runIf(shared)("a new segment cannot be shrunk or grown, even by its creator", () => {
    const file = shared!.createShared("tsmpi-test", 8192);
    expect(file.bytes).toBe(8192);
    for (const length of [0, 4096, 16384]) expect(codeOf(() => ftruncateSync(file.fd, length))).toBe("EPERM");
    expect(fstatSync(file.fd).size).toBe(8192);
    shared!.close(file.fd);
  });

  it.runIf(shared)("openPeer refuses a descriptor that is not the file offered, or not of its size", () => {
    const [one, two] = [shared!.createShared("tsmpi-test", 4096), shared!.createShared("tsmpi-test", 4096)];
    expect(() => shared!.openPeer({ ...one, bytes: 8192 })).toThrow(`/proc/${process.pid}/fd/${one.fd} is not the shared file offered`);
    expect(() => shared!.openPeer({ ...one, inode: two.inode })).toThrow("is not the shared file offered");
    shared!.close(shared!.openPeer(one));
    for (const file of [one, two]) shared!.close(file.fd);
  });

  it.runIf(shared)("an outsider of the same user cannot resize a rank's inbox through /proc (EPERM), and the job at -n 3 finishes", async () => {
    const { proc, marker, tmp } = startJob(3, fixture("sealed.ts"), [], { launcherArgs: ["--transport", "shm"] });
    const job = follow(proc);
    await job.until("a pid from every rank", () => linesStarting(job.out, "rank ").length === 3);
    for (const [, pid] of job.out.matchAll(/^rank \d+ pid (\d+)$/gm)) {
      const inboxes = memfds(pid!, "tsmpi-inbox");
      expect(inboxes).toHaveLength(1);
      const fd = openSync(`/proc/${pid}/fd/${inboxes[0]}`, "r+");
      const { size } = fstatSync(fd);
      for (const length of [0, size - 4096, size + 4096]) expect(codeOf(() => ftruncateSync(fd, length))).toBe("EPERM");
      expect(fstatSync(fd).size).toBe(size);
      closeSync(fd);
    }
    proc.stdin!.end("go\n");
    const result = await proc;
    expect(result.exitCode, String(result.stderr)).toBe(0);
    expect(linesStarting(String(result.stdout), "rank ").filter((line) => line.endsWith(" ok"))).toEqual(["rank 0 ok", "rank 1 ok", "rank 2 ok"]);
    expect(await leftovers({ marker, tmp })).toEqual({ processes: [], files: [] });
  });
});
