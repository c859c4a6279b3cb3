/**
 * The origin's side of one-sided operations on a rank of another host: a TLS-PSK connection
 * to that rank's progress thread (progress.ts, which documents the wire), opened on first use,
 * with requests matched to their replies by id.
 */
import { Buffer } from "node:buffer";
import process from "node:process";
import type { TLSSocket } from "node:tls";
import { TransportError } from "../../../errors.js";
import { PSK_TLS } from "./progress-thread.js";

/** Where a rank's progress thread listens, and its key (the window's token, hex). */
export interface ProgressAddress {
  address: string;
  port: number;
  token: string;
}

interface Pending {
  resolve(body: Uint8Array): void;
  reject(error: Error): void;
}

/** A request's header as the progress thread reads it (see progress-thread.ts). */
export interface RemoteHeader {
  /** What to do (Req). */
  kind: number;
  /** The reduction's code (accumulate, fetchAndOp) @default 0 */
  op?: number;
  /** lock/unlock: exclusive (1) or shared (0) @default 0 */
  flag?: number;
  /** Elements concerned, from element `index` of the target's part. */
  count: number;
  index: number;
}

export class RemotePart {
  #socket: TLSSocket | undefined;
  #nextId = 1;
  readonly #pending = new Map<number, Pending>();
  #chunks: Buffer[] = [];
  #buffered = 0;
  #failure: Error | undefined;

  constructor(
    private readonly where: ProgressAddress,
    /** For error messages: this rank and the target's. */
    private readonly rank: number,
    private readonly target: number,
  ) {}

  /** Send one request (see progress.ts): resolves with the reply's body, rejects with a TransportError (the reply's message, or a lost connection). */
  request(call: string, head: RemoteHeader, body?: Uint8Array, more?: Uint8Array): Promise<Uint8Array> {
    const { kind, op = 0, flag = 0, count, index } = head;
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    const socket = (this.#socket ??= this.#connect());
    socket.ref(); // a reply is awaited: the rank must not end meanwhile (unref'd again once none is)
    const id = this.#nextId++ >>> 0;
    const header = Buffer.alloc(24);
    header.writeUInt32LE((body?.byteLength ?? 0) + (more?.byteLength ?? 0), 0);
    header.writeUInt32LE(id, 4);
    header[8] = kind;
    header[9] = op;
    header[10] = flag;
    header.writeUInt32LE(count, 12);
    header.writeDoubleLE(index, 16);
    socket.write(header);
    // Copied now (the caller may reuse its array as soon as the call returns).
    if (body !== undefined) socket.write(Buffer.from(body));
    if (more !== undefined) socket.write(Buffer.from(more));
    return new Promise((resolve, reject) => {
      this.#pending.set(id, {
        resolve,
        reject: (error) => reject(new TransportError(`${call} on rank ${this.rank}: rank ${this.target}'s window ${error.message}`, { cause: error })),
      });
    });
  }

  #connect(): TLSSocket {
    const { identity, ...settings } = PSK_TLS;
    const psk = Buffer.from(this.where.token, "hex");
    // node:tls (with node:crypto) is loaded here, on a window's first remote call: ~10-20 ms of
    // every rank's start-up if imported at load, and most jobs never use it.
    const socket = process.getBuiltinModule("node:tls").connect({
      ...settings,
      host: this.where.address,
      port: this.where.port,
      pskCallback: () => ({ psk, identity }),
      checkServerIdentity: () => undefined, // the key is the server's identity: no certificate
    });
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.#receive(chunk));
    const lost = (error?: Error) => {
      this.#failure ??= new Error(`progress thread at ${this.where.address}:${this.where.port} cannot be reached (${error?.message ?? "connection closed"})`);
      for (const pending of this.#pending.values()) pending.reject(this.#failure);
      this.#pending.clear();
    };
    socket.on("error", lost);
    socket.on("close", () => lost());
    socket.unref();
    return socket;
  }

  #receive(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    while (this.#buffered >= 12) {
      if (this.#chunks[0]!.length < 12) this.#chunks = [Buffer.concat(this.#chunks)];
      const head = this.#chunks[0]!;
      const length = head.readUInt32LE(0);
      if (this.#buffered < 12 + length) return;
      const all = this.#chunks.length === 1 ? head : Buffer.concat(this.#chunks);
      this.#chunks = all.length > 12 + length ? [all.subarray(12 + length)] : [];
      this.#buffered -= 12 + length;
      const pending = this.#pending.get(head.readUInt32LE(4));
      this.#pending.delete(head.readUInt32LE(4));
      if (this.#pending.size === 0) this.#socket?.unref();
      const body = all.subarray(12, 12 + length);
      if (head[8] === 0) pending?.resolve(body);
      else pending?.reject(new Error(`could not serve the request (${body.toString()})`));
    }
  }

  /** Close the connection (the window is freed; nothing is pending then). */
  close(): void {
    this.#failure ??= new Error("was freed");
    this.#socket?.destroy();
  }
}
