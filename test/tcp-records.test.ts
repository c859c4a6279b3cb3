// The direct TCP path's stream decoders (src/comm/transport/tcp/): messages cut at any byte
// boundary and read partly straight into place come back whole; arbitrary bytes give whole
// messages or a TransportError, never a crash or a message beyond the limits; messages sealed
// and opened (OpenSSL's EVP API through koffi on one end, node:crypto on the other, both ways)
// come back whole, large frames opened in their own memory; a sealed record forged, replayed,
// reordered or cut opens nothing (fuzzed with fast-check).
import { Buffer } from "node:buffer";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DIRECT_BYTES, MAX_FRAMES, MessageDecoder, messageHead } from "../src/comm/transport/tcp/framing.js";
import {
  connectionKeys,
  Opener,
  RECORD_BYTES,
  RECORD_HEAD,
  RecordReader,
  Sealer,
  TAG_BYTES,
  proofMatches,
  sealed,
  type PlainSink,
} from "../src/comm/transport/tcp/seal.js";
import { TransportError } from "../src/errors.js";
import { MAX_FRAME_BYTES } from "../src/comm/wire/wire.js";

const runs = Number(process.env.TSMPI_FUZZ_RUNS ?? 300);
const frameArb = fc.oneof(
  fc.uint8Array({ maxLength: 40 }),
  fc.integer({ min: DIRECT_BYTES, max: 3 * DIRECT_BYTES }).map((n) => new Uint8Array(n).map((_, i) => i * 7)),
);
const messagesArb = fc.array(fc.array(frameArb, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 5 });

/** Feed `stream` in pieces cut at `cuts`, letting the decoder read large frames "directly" as the socket would. */
function decodeAll(stream: Buffer, cuts: number[], place?: (prior: Buffer[], length: number) => Uint8Array | undefined): Buffer[][] {
  const out: Buffer[][] = [];
  const decoder = new MessageDecoder((frames) => out.push(frames.map((f) => Buffer.from(f))), place);
  let at = 0;
  for (const cut of [...cuts.map((c) => c % (stream.byteLength + 1)).sort((a, b) => a - b), stream.byteLength]) {
    while (at < cut) {
      const direct = decoder.direct();
      if (direct !== undefined) {
        const n = Math.min(direct.byteLength, cut - at);
        direct.set(stream.subarray(at, at + n));
        decoder.filled(n);
        at += n;
      } else {
        decoder.feed(stream.subarray(at, cut));
        at = cut;
      }
    }
  }
  expect(decoder.midMessage).toBe(false);
  return out;
}

const wire = (messages: Uint8Array[][]) => Buffer.concat(messages.flatMap((frames) => [messageHead(frames), ...frames]));

describe("the direct TCP path's message decoder", () => {
  it("rebuilds every message of a stream cut anywhere, large frames read straight into place (fuzzed)", () => {
    fc.assert(
      fc.property(messagesArb, fc.array(fc.nat(), { maxLength: 6 }), (messages, cuts) => {
        const placed: Uint8Array[] = [];
        const place = (_prior: Buffer[], length: number) => (placed.push(new Uint8Array(length)), placed[placed.length - 1]);
        const out = decodeAll(wire(messages), cuts, place);
        expect(out.map((frames) => frames.length)).toEqual(messages.map((frames) => frames.length));
        expect(out.every((frames, m) => frames.every((f, i) => f.equals(messages[m]![i]!)))).toBe(true);
        // The last frame of every two- or three-frame message went where place() said.
        expect(placed.length).toBe(messages.filter((m) => m.length === 2 || m.length === 3).filter((m) => m[m.length - 1]!.byteLength > 0).length);
      }),
      { numRuns: runs / 3 },
    );
  });

  it("turns arbitrary bytes into whole messages within the limits or a TransportError that says why (fuzzed)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.array(fc.nat(), { maxLength: 4 }), (bytes, cuts) => {
        const out: Buffer[][] = [];
        const decoder = new MessageDecoder((frames) => out.push(frames), undefined, "rank 3");
        try {
          let at = 0;
          for (const cut of [...cuts.map((c) => c % (bytes.byteLength + 1)).sort((a, b) => a - b), bytes.byteLength]) {
            decoder.feed(bytes.subarray(at, Math.max(at, cut)));
            at = Math.max(at, cut);
          }
        } catch (error) {
          expect(error).toBeInstanceOf(TransportError);
          expect((error as Error).message).toMatch(
            /^malformed message from rank 3: a (message of \d+ frames \(1 to 65536\)|frame of \d+ bytes \(at most \d+\)); the stream is closed$/,
          );
        }
        for (const frames of out) {
          expect(frames.length).toBeGreaterThanOrEqual(1);
          expect(frames.length).toBeLessThanOrEqual(MAX_FRAMES);
        }
      }),
      { numRuns: runs * 10 },
    );
  });

  it("refuses a frame count of 0 or past the limit, and a frame past the largest, at once", () => {
    const head = (count: number, ...lengths: number[]) => Buffer.from(new Uint32Array([count, ...lengths]).buffer);
    for (const [bytes, reason] of [
      [head(0), "a message of 0 frames"],
      [head(MAX_FRAMES + 1), `a message of ${MAX_FRAMES + 1} frames`],
      [head(2, 3, MAX_FRAME_BYTES + 1), `a frame of ${MAX_FRAME_BYTES + 1} bytes`],
    ] as const)
      expect(() => new MessageDecoder(() => undefined, undefined, "rank 1").feed(bytes)).toThrow(reason);
  });
});

/** Plaintext collected record by record (never in place). */
const collect = (plain: Buffer[]): PlainSink => ({ feed: (p) => void plain.push(Buffer.from(p)), span: () => undefined, filled: () => undefined });

it("seals through OpenSSL's EVP API where koffi loads it, and through node:crypto when asked", () => {
  const key = Buffer.alloc(32, 5);
  expect(new Sealer(key).kind).toBe("evp");
  expect(new Opener(key, "rank 0").kind).toBe("evp");
  expect(new Sealer(key, "node").kind).toBe("node");
  expect(new Opener(key, "rank 0", "node").kind).toBe("node");
});

// Sealed by one implementation and opened by the other: both are exercised, and they agree byte for byte.
describe.each([
  ["evp", "node"],
  ["node", "evp"],
] as const)("the direct TCP path's sealed records (sealed by %s, opened by %s)", (sealing, opening) => {
  const secret = "job secret of this test, 40 characters!!";
  const nonces = [Buffer.alloc(32, 1), Buffer.alloc(32, 2)] as const;
  const keys = connectionKeys(secret, 0, 1, ...nonces);
  const records = (chunks: Uint8Array[]) => {
    const sealer = new Sealer(keys.cipher, sealing);
    return chunks.map((chunk) => Buffer.from(sealer.seal([chunk])));
  };
  const open = (stream: Buffer[]) => {
    const plain: Buffer[] = [];
    const reader = new RecordReader(new Opener(keys.cipher, "rank 0", opening), collect(plain), "rank 0");
    for (const piece of stream) reader.feed(piece);
    return plain;
  };

  it("carries whole messages, each large frame in records of its own opened right in its memory, cut anywhere (fuzzed)", () => {
    fc.assert(
      fc.property(messagesArb, fc.array(fc.nat(), { maxLength: 6 }), (messages, cuts) => {
        const sealer = new Sealer(keys.cipher, sealing);
        const stream: Buffer[] = [];
        for (const frames of messages) {
          const before = stream.length;
          const lasts: boolean[] = [];
          sealed(
            sealer,
            frames.map((f) => Buffer.from(f)),
            (record, last) => {
              stream.push(Buffer.from(record));
              sealer.recycle(record);
              lasts.push(last);
            },
          );
          expect(lasts.indexOf(true)).toBe(lasts.length - 1);
          // Records: one for the head and the small frames before each large one, then the large frame's own.
          const large = frames.filter((f) => f.byteLength >= DIRECT_BYTES).length;
          expect(stream.length - before).toBeGreaterThanOrEqual(1 + large);
        }
        const out: Buffer[][] = [];
        const placed: Uint8Array[] = [];
        const decoder = new MessageDecoder(
          (frames) => out.push(frames.map((f) => Buffer.from(f))),
          (_prior, length) => (placed.push(new Uint8Array(length)), placed.at(-1)),
        );
        let inPlace = 0;
        const span = (n: number) => {
          const view = decoder.span(n);
          if (view !== undefined) inPlace++;
          return view;
        };
        const sink: PlainSink = { feed: (p) => decoder.feed(p), span, filled: (n) => decoder.filled(n) };
        const reader = new RecordReader(new Opener(keys.cipher, "rank 1", opening), sink, "rank 1");
        const wire = Buffer.concat(stream);
        let at = 0;
        for (const cut of [...cuts.map((c) => c % (wire.byteLength + 1)).sort((a, b) => a - b), wire.byteLength]) {
          for (let direct = reader.direct(); at < cut && direct !== undefined; direct = reader.direct()) {
            const n = Math.min(direct.byteLength, cut - at);
            direct.set(wire.subarray(at, at + n));
            reader.filled(n);
            at += n;
          }
          reader.feed(wire.subarray(at, Math.max(at, cut)));
          at = Math.max(at, cut);
        }
        expect(out.length).toBe(messages.length);
        expect(inPlace).toBeGreaterThanOrEqual(messages.flat().filter((f) => f.byteLength >= DIRECT_BYTES).length);
        expect(out.every((frames, m) => frames.length === messages[m]!.length && frames.every((f, i) => f.equals(messages[m]![i]!)))).toBe(true);
      }),
      { numRuns: runs / 6 },
    );
  });

  it("marks a message's last record, and an 8-byte message is one record", () => {
    const seen: Array<[number, boolean]> = [];
    const sealer = new Sealer(keys.cipher, sealing);
    sealed(sealer, [Buffer.alloc(8, 1)], (record, last) => void seen.push([record.byteLength, last]));
    expect(seen).toEqual([[RECORD_HEAD + 8 + 8 + TAG_BYTES, true]]);
    seen.length = 0;
    sealed(sealer, [Buffer.alloc(8), Buffer.alloc(RECORD_BYTES + 1)], (record, last) => void seen.push([record.byteLength, last]));
    expect(seen.map(([, last]) => last)).toEqual([false, false, true]);
  });

  it("seals a steady stream of large records into recycled memory", () => {
    const sealer = new Sealer(keys.cipher, sealing);
    const first = sealer.seal([Buffer.alloc(RECORD_BYTES)]);
    sealer.recycle(first);
    const second = sealer.seal([Buffer.alloc(100_000)]);
    expect(second.buffer).toBe(first.buffer);
    expect(second.byteLength).toBe(RECORD_HEAD + 100_000 + TAG_BYTES);
  });

  it("gives each connection and each direction keys of its own, and checks the reader's proof", () => {
    const other = [
      connectionKeys(secret, 1, 0, ...nonces),
      connectionKeys(secret, 0, 1, nonces[0], Buffer.alloc(32, 3)),
      connectionKeys("another job's secret", 0, 1, ...nonces),
    ];
    for (const k of other) {
      expect(k.cipher.equals(keys.cipher)).toBe(false);
      expect(proofMatches(keys, k.proof)).toBe(false);
    }
    expect(proofMatches(keys, connectionKeys(secret, 0, 1, ...nonces).proof)).toBe(true);
  });

  it("opens records in order, in pieces of any size, up to the largest", () => {
    const chunks = [Buffer.from("a"), Buffer.alloc(0), Buffer.alloc(RECORD_BYTES, 9), Buffer.from("last")];
    const stream = Buffer.concat(records(chunks));
    const pieces = [stream.subarray(0, 3), stream.subarray(3, 5000), stream.subarray(5000)];
    expect(Buffer.concat(open(pieces)).equals(Buffer.concat(chunks))).toBe(true);
  });

  it("opens nothing from a record replayed, reordered, dropped or changed in any byte (fuzzed)", () => {
    const sealed = records([Buffer.from("first"), Buffer.from("second"), Buffer.from("third")]);
    const failing = /^a record from rank 0 failed authentication \(forged, replayed or reordered\); the connection is closed$/;
    expect(() => open([sealed[0]!, sealed[0]!])).toThrow(failing);
    expect(() => open([sealed[1]!, sealed[0]!])).toThrow(failing);
    expect(() => open([sealed[0]!, sealed[2]!])).toThrow(failing);
    fc.assert(
      fc.property(fc.nat(), fc.integer({ min: 1, max: 255 }), (at, flip) => {
        const stream = Buffer.concat(sealed);
        const i = at % stream.byteLength;
        stream[i] ^= flip;
        let plain: Buffer[] = [];
        try {
          plain = open([stream]);
        } catch (error) {
          expect(error).toBeInstanceOf(TransportError);
        }
        // Whatever opened before the changed record is exactly what was sealed there.
        expect(["first", "second", "third"].slice(0, plain.length)).toEqual(plain.map((p) => p.toString()));
        expect(plain.length).toBeLessThan(3);
      }),
      { numRuns: runs },
    );
  });

  it("refuses a record longer than the largest before reading it", () => {
    const head = Buffer.alloc(4);
    head.writeUInt32LE(RECORD_BYTES + 1);
    expect(() => open([head])).toThrow(`malformed record from rank 0: ${RECORD_BYTES + 1} bytes`);
  });
});
