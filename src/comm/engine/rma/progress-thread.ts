/**
 * The progress thread of a window whose ranks span hosts: a worker_thread in each rank that
 * serves the rank's part of the window to ranks on other hosts, over a tcp socket of its own,
 * while the rank's main thread computes. It maps the window's shared segment itself (through
 * /proc/<pid>/fd of the host's first rank, whose descriptor stays open until every thread has
 * mapped it), so it reads and writes the very memory host-mates operate on, with the same
 * kernel (kernel.ts) and the same lock words: a counter that a host-mate increments directly
 * and a remote rank through this thread stays one counter.
 *
 * Wire: TLS 1.2 keyed with the window's 32-byte token as pre-shared key (TLS-PSK, AEAD cipher
 * suites only, see {@link PSK_TLS}): the token is random, given to the job's ranks over the
 * job's own transport, and never sent on this connection, so an outsider can neither read the
 * window's data nor inject, replay or reorder requests; a client without the key fails the
 * handshake. This holds under `--insecure` too (it drops CURVE from the job's transport, not
 * this). Inside TLS (little-endian), requests: a 24-byte header `[u32 body bytes][u32 id][u8 kind][u8 op][u8 flag]
 * [u8 0][u32 count][f64 index]` and the body (Put, Accumulate: the elements; FetchAndOp: the
 * value; CompareAndSwap: the value then the compare). Replies: `[u32 body bytes][u32 id]
 * [u8 status (0 ok, 1 error: the body is the message)][3 × u8 0]` and the body (Get: the
 * elements; FetchAndOp and CompareAndSwap: the old value). Requests of a connection are done in
 * order; a Lock that cannot be taken yet holds back the ones behind it.
 */
import { createRequire } from "node:module";
import { rmaKernel, type RmaKernel } from "./kernel.js";
import type { SharedFile } from "../../transport/shm/on-host.js";

/**
 * TLS settings of both ends of a progress connection (remote.ts connects with them). PSK
 * suites exist up to TLS 1.2 in Node; the ECDHE one (forward secrecy) is preferred.
 */
export const PSK_TLS = {
  ciphers: "ECDHE-PSK-CHACHA20-POLY1305:PSK-AES256-GCM-SHA384:PSK-CHACHA20-POLY1305",
  minVersion: "TLSv1.2",
  maxVersion: "TLSv1.2",
  /** The identity the client presents; the key is the window's token. */
  identity: "tsmpi-window",
} as const;

/** Where the progress thread finds the rank's part: in the host's segment (`file`), or, without memfd, in `memory`. */
export interface ProgressPart {
  file?: SharedFile;
  memory?: SharedArrayBuffer;
  /** The control block's memory, if not `memory` (a window over the user's array). */
  control?: SharedArrayBuffer;
  /** The typed array class's name, e.g. "Float64Array". */
  kind: string;
  /** Int32 index of the part's control block. */
  at: number;
  /** Byte offset and length (elements) of the part. */
  offset: number;
  length: number;
  /** 32 random bytes, hex. */
  token: string;
  /** The IP to listen on. */
  address: string;
}

/** A running progress thread. */
export interface Progress {
  port: number;
  stop(): Promise<void>;
}

/** Start the progress thread of this rank's part; resolves once it has mapped the part and listens. */
export async function startProgress(part: ProgressPart): Promise<Progress> {
  const koffi = part.file === undefined ? undefined : createRequire(import.meta.url).resolve("koffi");
  const pieces = `{ makeKernel: ${rmaKernel}, mapPart: ${mapPart}, partRequests: ${partRequests}, serveConnection: ${serveConnection} }`;
  const code = `(${progressThread})(${pieces}, require);`;
  // Loaded here, not at import: see ../../../rank/parent-death.ts.
  const { Worker } = process.getBuiltinModule("node:worker_threads");
  const worker = new Worker(code, { eval: true, workerData: { ...part, koffi, tls: PSK_TLS } });
  const port = await new Promise<number>((resolve, reject) => {
    worker.once("message", (m: { port?: number; error?: string }) => (m.port !== undefined ? resolve(m.port) : reject(new Error(m.error))));
    worker.once("error", reject);
  });
  worker.unref();
  const stop = async (): Promise<void> => {
    const gone = new Promise((resolve) => worker.once("exit", resolve));
    worker.ref(); // the rank waits for it: its loop must not end meanwhile
    worker.postMessage("stop");
    await gone;
  };
  return { port, stop };
}

/** The memory a progress thread maps: the window's segment (or the shared buffer without memfd). */
interface ThreadMemory {
  memory: ArrayBuffer | SharedArrayBuffer;
  unmap(): void;
  yieldCpu(): void;
}

/** Map the part's segment in the progress thread. Self-contained: the thread gets it from its source text. */
function mapPart(load: NodeJS.Require, data: ProgressPart & { koffi?: string }): ThreadMemory {
  if (data.file === undefined) return { memory: data.memory!, unmap: () => {}, yieldCpu: () => {} };
  const { fstatSync } = load("node:fs") as typeof import("node:fs");
  const koffi = load(data.koffi!) as typeof import("koffi");
  const lib = koffi.load("libc.so.6");
  const open = lib.func("int open(const char *path, int flags)");
  const close = lib.func("int close(int fd)");
  const mmap = lib.func("void *mmap(void *addr, size_t length, int prot, int flags, int fd, int64_t offset)");
  const munmap = lib.func("int munmap(void *addr, size_t length)");
  const schedYield = lib.func("int sched_yield(void)");
  const { pid, fd: theirs, bytes, inode } = data.file;
  const fd = open(`/proc/${pid}/fd/${theirs}`, 2 | 0o2000000) as number; // O_RDWR | O_CLOEXEC
  if (fd < 0) throw new Error(`open /proc/${pid}/fd/${theirs} failed (errno ${koffi.errno()})`);
  try {
    const stat = fstatSync(fd, { bigint: true });
    if (`${stat.dev}:${stat.ino}` !== inode || Number(stat.size) !== bytes) throw new Error(`/proc/${pid}/fd/${theirs} is not the window's segment`);
    const pointer = mmap(null, bytes, 3, 1, fd, 0) as unknown; // PROT_READ | PROT_WRITE, MAP_SHARED
    return { memory: koffi.view(pointer, bytes) as ArrayBuffer, unmap: () => void munmap(pointer, bytes), yieldCpu: () => void schedYield() };
  } finally {
    close(fd);
  }
}

/** Does one request, as its kind says: resolves with the reply's body. */
type Perform = (kind: number, op: number, flag: number, count: number, index: number, body: Buffer) => Promise<Uint8Array>;

/** The requests on the part (see the header). Self-contained: the thread gets it from its source text. */
function partRequests(kernel: RmaKernel, data: ProgressPart, memory: ArrayBuffer | SharedArrayBuffer, stopped: () => boolean): Perform {
  const Kind = (globalThis as unknown as Record<string, new (b: ArrayBufferLike, o?: number, n?: number) => Int32Array>)[data.kind]!;
  const width = (Kind as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
  const words = new Int32Array(data.control ?? memory, 0, data.at + 32);
  const part = new Kind(memory, data.offset, data.length);
  const bytes = new Uint8Array(memory, data.offset, data.length * width);
  const element = (from: Uint8Array): unknown => new Kind(Uint8Array.from(from).buffer)[0];
  const encoded = (value: unknown): Buffer => {
    const one = new Kind(new ArrayBuffer(width), 0, 1);
    (one as unknown as unknown[])[0] = value;
    return Buffer.from(one.buffer);
  };
  const none = new Uint8Array(0);
  return async (kind, op, flag, count, index, body) => {
    switch (kind) {
      case 1:
        bytes.set(body, index * width);
        return none;
      case 2:
        return Buffer.from(bytes.subarray(index * width, (index + count) * width));
      case 3:
        kernel.accumulate(words, data.at, part, index, new Kind(Uint8Array.from(body).buffer), op);
        return none;
      case 4:
        return encoded(kernel.fetchAndOp(words, data.at, part, index, element(body), op));
      case 5:
        return encoded(kernel.compareAndSwap(words, data.at, part, index, element(body.subarray(0, width)), element(body.subarray(width))));
      case 6:
        for (let tries = 0; !kernel.tryLock(words, data.at, flag === 1); tries++) {
          if (stopped()) throw new Error("the window was freed");
          await new Promise((resolve) => (tries < 100 ? setImmediate(resolve) : setTimeout(resolve, 1)));
        }
        return none;
      case 7:
        kernel.unlock(words, data.at, flag === 1);
        return none;
    }
    throw new Error(`unknown request kind ${kind}`);
  };
}

/** Serve one connection (see the header). Self-contained: the thread gets it from its source text. */
function serveConnection(socket: import("node:net").Socket, perform: Perform): void {
  socket.setNoDelay(true);
  socket.on("error", () => socket.destroy());
  let chunks: Buffer[] = [];
  let buffered = 0;
  let busy: Promise<void> = Promise.resolve();
  /** The first `n` buffered bytes, taken out (undefined if fewer are buffered). */
  const take = (n: number): Buffer | undefined => {
    if (buffered < n) return undefined;
    const all = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    chunks = all.length > n ? [all.subarray(n)] : [];
    buffered -= n;
    return all.subarray(0, n);
  };
  const reply = (id: number, status: number, body: Uint8Array): void => {
    const header = Buffer.alloc(12);
    header.writeUInt32LE(body.byteLength, 0);
    header.writeUInt32LE(id, 4);
    header[8] = status;
    socket.write(header);
    if (body.byteLength > 0) socket.write(body);
  };
  socket.on("data", (chunk: Buffer) => {
    chunks.push(chunk);
    buffered += chunk.length;
    while (buffered >= 24) {
      if (chunks[0]!.length < 24) chunks = [Buffer.concat(chunks)];
      const head = chunks[0]!;
      const length = head.readUInt32LE(0);
      if (buffered < 24 + length) return;
      const [id, kind, op, flag, count, index] = [head.readUInt32LE(4), head[8]!, head[9]!, head[10]!, head.readUInt32LE(12), head.readDoubleLE(16)];
      take(24);
      const body = take(length)!;
      busy = busy.then(() =>
        perform(kind, op, flag, count, index, body).then(
          (out) => reply(id, 0, out),
          (error: Error) => reply(id, 1, Buffer.from(error.message)),
        ),
      );
    }
  });
}

/** The pieces of the thread, as it gets them from their source text. */
interface Pieces {
  makeKernel: typeof rmaKernel;
  mapPart: typeof mapPart;
  partRequests: typeof partRequests;
  serveConnection: typeof serveConnection;
}

/** The thread's body (see the header): maps the part, listens, serves, and stops when told. */
function progressThread(pieces: Pieces, load: NodeJS.Require): void {
  const { workerData, parentPort } = load("node:worker_threads") as typeof import("node:worker_threads");
  const tls = load("node:tls") as typeof import("node:tls");
  const data = workerData as ProgressPart & { koffi?: string; tls: typeof PSK_TLS };
  let mapped: ThreadMemory;
  try {
    mapped = pieces.mapPart(load, data);
  } catch (error) {
    parentPort!.postMessage({ error: (error as Error).message });
    return;
  }
  let stopped = false;
  const perform = pieces.partRequests(pieces.makeKernel(mapped.yieldCpu), data, mapped.memory, () => stopped);
  const token = Buffer.from(data.token, "hex");
  const sockets = new Set<import("node:net").Socket>();
  const { identity, ...settings } = data.tls;
  const server = tls.createServer({ ...settings, pskCallback: (_socket, presented) => (presented === identity ? token : null) }, (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    pieces.serveConnection(socket, perform);
  });
  // A client without the key fails its handshake: nothing of it reaches serveConnection.
  server.on("tlsClientError", (_error, socket) => socket.destroy());
  server.on("error", (error) => parentPort!.postMessage({ error: error.message }));
  server.listen(0, data.address, () => parentPort!.postMessage({ port: (server.address() as import("node:net").AddressInfo).port }));
  parentPort!.on("message", () => {
    stopped = true;
    server.close();
    for (const socket of sockets) socket.destroy();
    mapped.unmap();
    process.exit(0); // ends this thread only, whatever timers or sockets it still has
  });
}
