/**
 * The direct TCP path for data between hosts (issue 36): plain node:net sockets beside ZeroMQ,
 * which keeps the control plane, doorbells, this path's set-up and the fallback. ZeroMQ alone
 * reached 0.36 GB/s and 640 µs for 8 B between two namespace hosts where node:net reached the
 * wire's pace (bench/zmq-tcp-floor.mjs): its I/O thread adds two hand-offs and a copy.
 *
 * One connection per ordered pair, dialled by the reader (so the kernel can write a large frame
 * straight into a posted receive's `into` through `onread`, which only a dialling socket offers)
 * when the writer first sends to it: the writer asks over ZeroMQ (a {@link DIAL} side message
 * with its endpoint), queues meanwhile, and holds its exit until the reader has dialled. The
 * reader sends a hello, the writer answers, then only the writer speaks (messages and credits).
 * Bytes are framing.ts's messages, inside seal.ts's AES-256-GCM records unless --insecure.
 *
 *   hello   "tsmpi-tcp1", u32 reader rank, u32 writer rank, 32-byte reader nonce
 *   secure: writer → 32-byte writer nonce; reader → 32-byte proof (see seal.ts); then records
 */
import { Buffer } from "node:buffer";
import net from "node:net";
import { SENT, SIDE, type Delivery, type DirectPath, type Transport } from "../port.js";
import { MessageDecoder, plain, writePieces } from "./framing.js";
import { SocketPolling, type Receive } from "./polling.js";
import type { CipherChoice } from "./gcm.js";
import { connectionKeys, NONCE_BYTES, Opener, RecordReader, Sealer, proofMatches, randomNonce, writeSealed, type ConnectionKeys } from "./seal.js";

const MAGIC = Buffer.from("tsmpi-tcp1");
/** A dial request: {@link SIDE}, then this kind byte. */
const DIAL = 1;
const HELLO_BYTES = MAGIC.byteLength + 8 + NONCE_BYTES;
/** A dialler that has not finished its hello by then is dropped (an outsider holding a port). */
const HANDSHAKE_MS = 10_000;

export interface TcpConfig {
  rank: number;
  /** ZeroMQ: carries this path's dial requests and every advisory message (credits). */
  control: Transport;
  /** The IP address to listen on (this rank's `--iface`/`--bind` address). */
  address: string;
  /** The job's secret; undefined under --insecure. */
  secret?: string;
  /** Which AES-256-GCM implementation (gcm.ts; default "evp" where it loads). */
  cipher?: CipherChoice;
  /** Non-blocking reads, where a blocked receive may poll the sockets (see polling.ts); set, the kernel never writes into a frame by itself (a read libuv has lined up would be stale once a poll moved on). */
  receive?: Receive;
  /** A peer's stream broke its protocol (malformed, forged, replayed): data from it is lost. */
  fail(rank: number, error: Error): void;
}

/** Incoming from one peer: its socket, and where the next bytes go. */
interface Reader {
  socket: net.Socket;
  /** Where the next read may write: a frame or record in place, or the scratch buffer. */
  next(): Uint8Array;
  /** `n` bytes were read into `buffer` (what `next` gave); false if the stream broke its protocol (it is closed). */
  read(n: number, buffer: Uint8Array): boolean;
}

/** Outgoing to one peer: its accepted connection, and what waits for it. */
interface Writer {
  socket?: net.Socket;
  sealer?: Sealer;
  queue: Array<{ frames: Buffer[]; done?: () => void }>;
  /** Has the reader been asked to dial? */
  asked?: boolean;
}

export class TcpTransport implements DirectPath {
  private readonly writers: Array<Writer | undefined> = [];
  private readonly readers = new Map<number, Reader>();
  /** The writers' sockets, once connected. */
  private readonly connected: net.Socket[] = [];
  /** Does data to a rank go this way? (see {@link route}) */
  private remote: (dest: number) => boolean = () => false;
  private readonly gone = new Set<number>();
  /** Messages queued for peers that have not dialled in yet (the server holds the rank's exit meanwhile). */
  private queued = 0;
  private demand = 0;
  private closed = false;

  private constructor(
    private readonly config: TcpConfig,
    private readonly server: net.Server,
    /** Where peers dial this rank: `ip:port` or `[ip6]:port`. */
    readonly endpoint: string,
    private readonly sink: Delivery,
    private readonly polling = new SocketPolling(config.receive),
  ) {
    server.on("connection", (socket) => this.accept(socket));
    server.unref();
  }

  /** Listen on `config.address`, any port. */
  static async listen(config: TcpConfig, sink: Delivery): Promise<TcpTransport> {
    const server = net.createServer({ noDelay: true });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen({ host: config.address, port: 0 }, resolve);
    });
    const { port } = server.address() as net.AddressInfo;
    const host = config.address.includes(":") ? `[${config.address}]` : config.address;
    return new TcpTransport(config, server, `${host}:${port}`, sink);
  }

  /** Which ranks data goes to this way (the same answer on both ends of a pair). */
  route(remote: (dest: number) => boolean): void {
    this.remote = remote;
  }

  /** Does data to `dest` go this way? */
  reaches(dest: number): boolean {
    return this.remote(dest);
  }

  /** A dial request (see {@link DIAL}) came through ZeroMQ: dial the rank it names, unless already reading from it. */
  advised(frame: Buffer): void {
    if (frame.byteLength < 7 || frame[1] !== DIAL) return;
    const writer = frame.readUInt32LE(2);
    if (!this.readers.has(writer) && !this.gone.has(writer) && !this.closed) this.dial(writer, frame.subarray(6).toString());
  }

  /** Queue one message (`borrowed`: its frames view the caller's memory, see {@link borrows}); resolves at once, or with `flush` once the kernel has it. */
  send(dest: number, frames: Buffer[], flush = false, borrowed = false): Promise<void> {
    if (this.gone.has(dest)) return SENT;
    const writer = (this.writers[dest] ??= { queue: [] });
    if (writer.socket === undefined) {
      if (borrowed) frames = frames.map((frame) => Buffer.from(frame));
      if (this.queued++ === 0) this.server.ref();
      if (!writer.asked) {
        writer.asked = true;
        const frame = Buffer.concat([Buffer.from([SIDE, DIAL, 0, 0, 0, 0]), Buffer.from(this.endpoint)]);
        frame.writeUInt32LE(this.config.rank, 2);
        this.config.control.advise(dest, frame);
      }
      return flush ? new Promise((done) => writer.queue.push({ frames, done })) : (writer.queue.push({ frames }), SENT);
    }
    if (!flush) return (this.write(writer, frames), SENT);
    return new Promise((done) => this.write(writer, frames, done));
  }

  /** Write one message on a connected writer; `done` once the kernel has all of it. */
  private write(writer: Writer, frames: Buffer[], done?: () => void): void {
    const socket = writer.socket!;
    const sealer = writer.sealer;
    if (sealer === undefined) return writePieces(socket, plain(frames), done);
    writeSealed(socket, sealer, frames, done);
  }

  /** Someone waits for a message: readers hold the event loop until `release()`. */
  acquire(): void {
    if (this.demand++ === 0) for (const reader of this.readers.values()) reader.socket.ref();
  }

  release(): void {
    if (--this.demand === 0) for (const reader of this.readers.values()) reader.socket.unref();
  }

  /** Advisory messages (credits). */
  advise(dest: number, frame: Buffer): void {
    const writer = this.writers[dest];
    // On the connection once it is up (a credit through ZeroMQ's I/O threads took a round trip of
    // hundreds of µs and stalled streams past the flow window), else through ZeroMQ, without waiting for a dial.
    if (writer?.socket !== undefined && !this.gone.has(dest)) this.write(writer, [frame]);
    else this.config.control.advise(dest, frame);
  }

  /** Encrypted, `send` seals a message into records of its own before it returns (or copies what it queues), so frames may view the caller's memory; in the clear the kernel owns what it wrote only once written. */
  borrows(): boolean {
    return this.config.secret !== undefined;
  }

  /**
   * Does a blocked receive poll the sockets now (see polling.ts)? Not while a socket holds bytes
   * the kernel has not taken yet: only the event loop writes them (a sender polling for the
   * receiver's answer held back its own 4 MiB message).
   */
  get polled(): boolean {
    return this.polling.on && !this.connected.some((socket) => socket.writableLength > 0);
  }

  /** A blocked receive polled the sockets; `found`: something came through them. */
  waited(found: boolean): void {
    this.polling.waited(found);
  }

  /** Arrivals come through the event loop: let it run once (polling the sockets first where this rank polls). */
  async poll(): Promise<void> {
    if (this.polling.receive !== undefined) this.pollSockets();
    await new Promise((resolve) => setImmediate(resolve));
  }

  async drain(): Promise<void> {
    await this.poll();
  }

  /** Bytes the kernel holds are not counted: a stream has no messages until it is read. */
  get unread(): boolean {
    return false;
  }

  /** Read whatever the sockets hold now, without waiting (a receive polling before it sleeps): @returns whether anything came. */
  pollSockets(): boolean {
    let moved = false;
    for (const reader of this.readers.values()) {
      const fd = (reader.socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
      if (fd === undefined || fd < 0) continue;
      const into = reader.next();
      const n = this.polling.receive!(fd, into);
      if (n > 0 && reader.read(n, into)) moved = true;
    }
    return moved;
  }

  /** A peer connected to read from this rank: check its hello (and proof), then hand it its queue. */
  private accept(socket: net.Socket): void {
    socket.unref();
    const timer = setTimeout(() => socket.destroy(), HANDSHAKE_MS).unref();
    let got = Buffer.alloc(0);
    let keys: ConnectionKeys | undefined;
    let reader = -1;
    socket.on("error", () => undefined);
    const onData = (data: Buffer): void => {
      got = Buffer.concat([got, data]);
      if (reader < 0) {
        if (got.byteLength < HELLO_BYTES) return;
        reader = this.hello(got);
        if (reader < 0) return void socket.destroy();
        if (this.config.secret === undefined) return this.install(socket, reader, onData, timer);
        const writerNonce = randomNonce();
        keys = connectionKeys(this.config.secret, this.config.rank, reader, got.subarray(HELLO_BYTES - NONCE_BYTES, HELLO_BYTES), writerNonce);
        socket.write(writerNonce);
        got = got.subarray(HELLO_BYTES);
      }
      if (keys === undefined || got.byteLength < keys.proof.byteLength) return;
      if (got.byteLength > keys.proof.byteLength || !proofMatches(keys, got)) return void socket.destroy();
      this.install(socket, reader, onData, timer, new Sealer(keys.cipher, this.config.cipher));
    };
    socket.on("data", onData);
  }

  /** @returns the reader's rank if `hello` is one addressed to this rank, else -1. */
  private hello(hello: Buffer): number {
    if (hello.byteLength !== HELLO_BYTES || !hello.subarray(0, MAGIC.byteLength).equals(MAGIC)) return -1;
    const reader = hello.readUInt32LE(MAGIC.byteLength);
    const writer = hello.readUInt32LE(MAGIC.byteLength + 4);
    return writer === this.config.rank && reader !== writer && !this.writers[reader]?.socket ? reader : -1;
  }

  private install(socket: net.Socket, reader: number, onData: (data: Buffer) => void, timer: NodeJS.Timeout, sealer?: Sealer): void {
    clearTimeout(timer);
    socket.off("data", onData);
    // The reader never speaks again: anything more is not from it.
    socket.on("data", () => socket.destroy());
    const writer = (this.writers[reader] ??= { queue: [] });
    writer.socket = socket;
    this.connected.push(socket);
    writer.sealer = sealer;
    const queue = writer.queue.splice(0);
    for (const { frames, done } of queue) this.write(writer, frames, done);
    this.queued -= queue.length;
    if (queue.length > 0 && this.queued === 0) this.server.unref();
  }

  /** Dial `writer` at `endpoint` and read its messages from then on. */
  private dial(writer: number, endpoint: string): void {
    const at = endpoint.lastIndexOf(":");
    const host = endpoint.slice(0, at).replace(/^\[|\]$/g, "");
    const from = `rank ${writer}`;
    const decoder = new MessageDecoder((frames) => this.sink.deliver(frames), this.sink.place?.bind(this.sink), from);
    const scratch = Buffer.allocUnsafe(64 * 1024);
    const nonce = randomNonce();
    const secret = this.config.secret;
    let records: RecordReader | undefined;
    let pending = Buffer.alloc(0);
    /** Bytes from the scratch buffer (valid only now). */
    const take = (bytes: Buffer): void => {
      if (secret === undefined || records !== undefined) return (records ?? decoder).feed(bytes);
      pending = Buffer.concat([pending, bytes]);
      if (pending.byteLength < NONCE_BYTES) return;
      const keys = connectionKeys(secret, writer, this.config.rank, nonce, pending.subarray(0, NONCE_BYTES));
      socket.write(keys.proof);
      records = new RecordReader(new Opener(keys.cipher, from, this.config.cipher), decoder, from);
      records.feed(pending.subarray(NONCE_BYTES));
    };
    const polled = this.polling.receive !== undefined;
    const reader: Reader = {
      socket: undefined as unknown as net.Socket,
      next: () => (secret === undefined ? decoder.direct() : records?.direct()) ?? scratch,
      read: (n, buffer) => {
        try {
          if (buffer === scratch) take(scratch.subarray(0, n));
          else (records ?? decoder).filled(n);
        } catch (error) {
          socket.destroy();
          this.readers.delete(writer);
          if (!this.closed && !this.gone.has(writer)) this.config.fail(writer, error as Error);
          return false;
        }
        return true;
      },
    };
    const socket = net.connect({
      host,
      port: Number(endpoint.slice(at + 1)),
      noDelay: true,
      onread: { buffer: polled ? scratch : () => reader.next(), callback: reader.read },
    });
    reader.socket = socket;
    socket.on("connect", () => {
      const hello = Buffer.alloc(HELLO_BYTES);
      MAGIC.copy(hello);
      hello.writeUInt32LE(this.config.rank, MAGIC.byteLength);
      hello.writeUInt32LE(writer, MAGIC.byteLength + 4);
      nonce.copy(hello, MAGIC.byteLength + 8);
      socket.write(hello);
    });
    // A writer that refuses the dial has exited (a live one listens until it has handed over what it queued for us).
    socket.on("error", () => undefined);
    if (this.demand === 0) socket.unref();
    this.readers.set(writer, reader);
  }

  /** World rank `rank` exited or died: drop what waits for it and its connections. */
  peerGone(rank: number): void {
    this.gone.add(rank);
    const writer = this.writers[rank];
    if (writer !== undefined && writer.queue.length > 0) {
      this.queued -= writer.queue.length;
      writer.queue = [];
      if (this.queued === 0) this.server.unref();
    }
    writer?.socket?.destroy();
    if (writer?.socket) this.connected.splice(this.connected.indexOf(writer.socket), 1);
    this.readers.get(rank)?.socket.destroy();
    this.readers.delete(rank);
  }

  /** Close everything; written messages still leave unless `discard`. */
  close(discard = false): void {
    this.closed = true;
    this.server.close();
    for (const writer of this.writers) {
      if (writer?.socket === undefined) continue;
      if (discard) writer.socket.destroy();
      else writer.socket.end();
    }
    for (const reader of this.readers.values()) reader.socket.destroy();
  }
}
