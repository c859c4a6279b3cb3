/**
 * The direct TCP path's security (src/comm/transport/tcp/), with real sockets and real crypto:
 * a writer and a reader in this process, the reader's connection through a man in the middle
 * (a TCP proxy) that records, alters, reorders or replays what the writer sends. Encrypted (the
 * default), the recording holds no message in the clear; a changed byte, swapped records or a
 * whole connection replayed to a fresh reader open nothing (the reader reports the writer
 * failed); a reader or writer with another job's secret is refused before any record is sent.
 * Records sealed through OpenSSL's EVP API (koffi) open through node:crypto and back.
 * (test/security.test.ts attacks a real job's ports, the direct path's included, and captures
 * its traffic; test/tcp-records.test.ts fuzzes the decoders.)
 */
import { Buffer } from "node:buffer";
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { Transport } from "../src/comm/transport/port.js";
import { TcpTransport } from "../src/comm/transport/tcp/tcp-transport.js";
import type { CipherChoice } from "../src/comm/transport/tcp/gcm.js";
import { RECORD_HEAD, TAG_BYTES } from "../src/comm/transport/tcp/seal.js";

const MARKER = "tsmpi-direct-wire-marker";
const until = async (ready: () => boolean, what: string): Promise<void> => {
  for (let i = 0; i < 200 && !ready(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  if (!ready()) throw new Error(`timed out waiting for ${what}`);
};

/** What the man in the middle does with the writer's bytes (after its 32-byte nonce, in whole records). */
type Tamper = (records: Buffer[]) => Buffer[];

interface Pair {
  writer: TcpTransport;
  reader: TcpTransport;
  delivered: string[];
  failures: Error[];
  /** Everything the writer sent towards the reader, as the proxy saw it. */
  wire: () => Buffer;
}

const open: Array<{ close(): void }> = [];
afterEach(() => {
  for (const thing of open.splice(0)) thing.close();
});

/** Cut the writer's stream (after its nonce) into records. */
function records(stream: Buffer): { records: Buffer[]; rest: Buffer } {
  const out: Buffer[] = [];
  let at = 32;
  while (at + RECORD_HEAD <= stream.byteLength) {
    const end = at + RECORD_HEAD + stream.readUInt32LE(at) + TAG_BYTES;
    if (end > stream.byteLength) break;
    out.push(stream.subarray(at, end));
    at = end;
  }
  return { records: out, rest: stream.subarray(at) };
}

/**
 * A writer (rank 0) and a reader (rank 1) whose connection goes through a proxy: `replay`
 * answers the reader with those bytes instead of the writer's; `tamper` holds back the writer's
 * records until `hold` have come, then passes what it returns.
 */
async function pair(
  secrets: [string | undefined, string | undefined],
  options: { tamper?: Tamper; hold?: number; replay?: Buffer; ciphers?: readonly [CipherChoice, CipherChoice] } = {},
): Promise<Pair> {
  const delivered: string[] = [];
  const failures: Error[] = [];
  const seen: Buffer[] = [];
  const ends: { reader?: TcpTransport } = {};
  const proxy = net.createServer((client) => {
    client.on("error", () => undefined);
    if (options.replay) return void client.end(options.replay);
    const upstream = net.connect(Number(writer.endpoint.split(":")[1]), "127.0.0.1");
    upstream.on("error", () => client.destroy());
    client.on("data", (bytes) => upstream.write(bytes));
    let held = Buffer.alloc(0);
    let passed = false;
    upstream.on("data", (bytes: Buffer) => {
      seen.push(Buffer.from(bytes));
      if (!options.tamper || passed) return void client.write(bytes);
      // The nonce goes on at once (the reader answers it with its proof before any record comes).
      if (held.byteLength < 32) client.write(bytes.subarray(0, 32 - held.byteLength));
      held = Buffer.concat([held, bytes]);
      const cut = records(held);
      if (cut.records.length < (options.hold ?? 1)) return;
      passed = true;
      client.write(Buffer.concat([...options.tamper(cut.records), cut.rest]));
    });
    upstream.on("close", () => client.destroy());
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  open.push(proxy);
  const via = `127.0.0.1:${(proxy.address() as net.AddressInfo).port}`;
  // ZeroMQ's part (the dial request) handed over in-process, with the proxy as the writer's endpoint.
  const control = {
    advise: (_dest: number, frame: Buffer) => ends.reader!.advised(Buffer.concat([frame.subarray(0, 6), Buffer.from(via)])),
  } as unknown as Transport;
  const make = (rank: number, secret: string | undefined) =>
    TcpTransport.listen(
      { rank, address: "127.0.0.1", control, secret, cipher: options.ciphers?.[rank], fail: (_peer, error) => void failures.push(error) },
      { deliver: (frames) => void delivered.push(frames.map((frame) => frame.toString()).join("|")) },
    );
  const writer = await make(0, secrets[0]);
  const reader = (ends.reader = await make(1, secrets[1]));
  for (const end of [writer, reader]) {
    end.route((dest) => dest !== (end === writer ? 0 : 1));
    end.acquire();
    open.push({ close: () => end.close(true) });
  }
  return { writer, reader, delivered, failures, wire: () => Buffer.concat(seen) };
}

const send = (p: Pair, n: number) => {
  for (let i = 0; i < n; i++) void p.writer.send(1, [Buffer.from(`head ${i}`), Buffer.from(`${MARKER} ${i}`)]);
};

describe("the direct TCP path against a man in the middle", () => {
  it("by default, delivers every message and the wire holds none in the clear; with --insecure it does (the control)", async () => {
    const secure = await pair(["job secret", "job secret"]);
    // Encrypted, frames may view the caller's memory (sealed before send returns, or copied while the reader has not dialled yet).
    expect(secure.writer.borrows()).toBe(true);
    const borrowed = Buffer.from("borrowed");
    void secure.writer.send(1, [borrowed], false, true);
    borrowed.fill(0);
    send(secure, 3);
    await until(() => secure.delivered.length === 4, "4 messages");
    expect(secure.delivered).toEqual(["borrowed", ...[0, 1, 2].map((i) => `head ${i}|${MARKER} ${i}`)]);
    expect(secure.wire().includes(MARKER)).toBe(false);
    const insecure = await pair([undefined, undefined]);
    expect(insecure.writer.borrows()).toBe(false);
    send(insecure, 1);
    await until(() => insecure.delivered.length === 1, "1 message");
    expect(insecure.wire().includes(MARKER)).toBe(true);
  });

  it("opens nothing from a record with one byte changed, nor past two records swapped", async () => {
    const flipped = await pair(["job secret", "job secret"], {
      tamper: ([first, ...more]) => {
        const copy = Buffer.from(first!);
        copy[RECORD_HEAD + 2]! ^= 1;
        return [copy, ...more];
      },
    });
    send(flipped, 1);
    await until(() => flipped.failures.length === 1, "the reader's failure report");
    expect(flipped.delivered).toEqual([]);
    expect(flipped.failures[0]!.message).toMatch(/failed authentication \(forged, replayed or reordered\)/);
    const swapped = await pair(["job secret", "job secret"], { hold: 3, tamper: ([a, b, c]) => [a!, c!, b!] });
    send(swapped, 3);
    await until(() => swapped.failures.length === 1, "the reader's failure report");
    expect(swapped.delivered).toEqual([`head 0|${MARKER} 0`]);
  });

  it("carries a large message sealed through OpenSSL's EVP API and opened through node:crypto (the fallback), and the other way round, never in the clear; a large record changed opens nothing", async () => {
    const large = Buffer.alloc(600_000, 7);
    large.write(MARKER, 300_000);
    for (const ciphers of [
      ["evp", "node"],
      ["node", "evp"],
    ] as const) {
      const mixed = await pair(["job secret", "job secret"], { ciphers });
      void mixed.writer.send(1, [Buffer.from("head"), large]);
      send(mixed, 1);
      await until(() => mixed.delivered.length === 2, "2 messages");
      expect(mixed.delivered).toEqual([`head|${large.toString()}`, `head 0|${MARKER} 0`]);
      expect(mixed.wire().includes(MARKER)).toBe(false);
    }
    // Records: the head, then the frame's own (256 KiB, 256 KiB, the rest), opened in the frame's memory: the second is changed.
    const flipped = await pair(["job secret", "job secret"], {
      hold: 3,
      tamper: (records) => {
        const changed = Buffer.from(records[2]!);
        changed[1000]! ^= 1;
        return [records[0]!, records[1]!, changed, ...records.slice(3)];
      },
    });
    void flipped.writer.send(1, [Buffer.from("head"), large]);
    await until(() => flipped.failures.length === 1, "the reader's failure report");
    expect(flipped.delivered).toEqual([]);
  });

  it("opens nothing from a recorded connection replayed to a fresh reader", async () => {
    const honest = await pair(["job secret", "job secret"]);
    send(honest, 2);
    await until(() => honest.delivered.length === 2, "2 messages");
    const replayed = await pair(["job secret", "job secret"], { replay: honest.wire() });
    // The reader dials (the proxy answers with the recording) once the writer asks it to.
    send(replayed, 1);
    await until(() => replayed.failures.length === 1, "the reader's failure report");
    expect(replayed.delivered).toEqual([]);
  });

  it("refuses a reader holding another job's secret before sending it a record, and a writer's records do not open for it", async () => {
    const stranger = await pair(["job secret", "another job's secret"]);
    send(stranger, 2);
    // The writer answers the hello with its nonce, then drops the connection at the wrong proof.
    await until(() => stranger.wire().byteLength >= 32, "the writer's nonce");
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(stranger.wire().byteLength).toBe(32);
    expect(stranger.delivered).toEqual([]);
  });
});
