// The floor: two plain Node processes echoing length-prefixed messages over a socket, with the
// same sizes and iteration counts as bench/pingpong.ts. No copies beyond what sockets make.
//   node bench/floor.mjs [sizes...]                  Unix socket, echo process forked here
//   node bench/floor.mjs --serve-tcp IP              echo server on IP (prints {"port": N})
//   node bench/floor.mjs --tcp IP:PORT [sizes...]    ping-pong against that server
//   node bench/floor.mjs --stream IP:PORT [sizes...] osu_bw-style stream against that server:
//                                                    16 messages back to back, then a 1-byte ack
import net from "node:net";
import { fork } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const DEFAULT_SIZES = [1, 8, 64, 512, 4096, 32768, 262144, 1 << 20, 4 << 20, 16 << 20, 64 << 20];
const iterations = (size) => Math.max(5, Math.min(10_000, Math.round(5e8 / (size + 50_000))));

/** Read length-prefixed messages; call `onMessage(chunks)` for each complete one. */
function framer(socket, onMessage) {
  let need = -1,
    got = 0,
    chunks = [],
    header = Buffer.alloc(0);
  socket.on("data", (data) => {
    while (data.length > 0) {
      if (need < 0) {
        header = Buffer.concat([header, data]);
        if (header.length < 8) return;
        need = Number(header.readBigUInt64LE(0));
        data = header.subarray(8);
        header = Buffer.alloc(0);
        got = 0;
        chunks = [];
      }
      const take = Math.min(need - got, data.length);
      chunks.push(data.subarray(0, take));
      got += take;
      data = data.subarray(take);
      if (got === need) {
        need = -1;
        onMessage(chunks);
      }
    }
  });
}

function frame(payloadChunks, length) {
  const header = Buffer.alloc(8);
  header.writeBigUInt64LE(BigInt(length));
  return [header, ...payloadChunks];
}

/** Echo every message back on `socket`; a message that starts with "S" + count asks for a stream: ack after `count` more. */
function echo(socket) {
  socket.setNoDelay(true);
  let streaming = 0;
  framer(socket, (chunks) => {
    const length = chunks.reduce((n, c) => n + c.length, 0);
    if (streaming > 0) {
      if (--streaming === 0) socket.write(Buffer.concat(frame([Buffer.from("A")], 1)));
      return;
    }
    if (length === 2 && chunks[0][0] === 0x53) {
      streaming = Buffer.concat(chunks)[1];
      return;
    }
    socket.cork();
    for (const c of frame(chunks, length)) socket.write(c);
    socket.uncork();
  });
}

const STREAM_WINDOW = 16;
/** osu_bw-style stream over `socket`: one JSON line per size with GB/s. */
async function stream(socket, sizes) {
  let resolveAck;
  framer(socket, () => resolveAck());
  for (const size of sizes.length ? sizes : [65536, 1 << 20, 4 << 20, 16 << 20]) {
    const payload = Buffer.alloc(size);
    const rounds = Math.max(4, Math.min(200, Math.round(4e8 / (size * STREAM_WINDOW))));
    let elapsed = 0;
    for (const [phase, count] of [
      [0, 2],
      [1, rounds],
    ]) {
      const t0 = performance.now();
      for (let r = 0; r < count; r++) {
        const ack = new Promise((resolve) => (resolveAck = resolve));
        socket.write(Buffer.concat(frame([Buffer.from([0x53, STREAM_WINDOW])], 2)));
        for (let i = 0; i < STREAM_WINDOW; i++) for (const c of frame([payload], size)) socket.write(c);
        await ack;
      }
      if (phase === 1) elapsed = (performance.now() - t0) / 1000;
    }
    console.log(JSON.stringify({ impl: "node-tcp", kind: "stream", size, gbps: (size * STREAM_WINDOW * rounds) / elapsed / 1e9 }));
  }
}

/** Ping-pong every size over `socket`; one JSON line per size. */
async function pingPong(socket, sizes, impl) {
  let resolveReply;
  framer(socket, () => resolveReply());
  for (const size of sizes.length ? sizes : DEFAULT_SIZES) {
    const payload = Buffer.alloc(size);
    const iters = iterations(size);
    let elapsed = 0;
    for (const [round, count] of [
      [0, 3 * iters], // warm-up as long as tsmpi's (bench/pingpong.ts)
      [1, iters],
    ]) {
      const t0 = performance.now();
      for (let i = 0; i < count; i++) {
        const reply = new Promise((resolve) => (resolveReply = resolve));
        socket.cork();
        for (const c of frame([payload], size)) socket.write(c);
        socket.uncork();
        await reply;
      }
      if (round === 1) elapsed = (performance.now() - t0) / 1000;
    }
    const half = elapsed / iters / 2;
    console.log(JSON.stringify({ impl, kind: "bytes", size, usec: half * 1e6, gbps: size / half / 1e9 }));
  }
}

const [mode, where] = process.argv.slice(2);
const sizes = process.argv
  .slice(2)
  .filter((a) => /^\d+$/.test(a))
  .map(Number);
if (mode === "--echo") {
  echo(net.connect(where));
} else if (mode === "--serve-tcp") {
  const server = net.createServer((socket) => {
    echo(socket);
    socket.on("close", () => server.close());
  });
  server.listen(0, where, () => console.log(JSON.stringify({ port: server.address().port })));
} else if (mode === "--tcp" || mode === "--stream") {
  const at = where.lastIndexOf(":");
  const socket = net.connect(Number(where.slice(at + 1)), where.slice(0, at));
  socket.setNoDelay(true);
  await new Promise((resolve) => socket.once("connect", resolve));
  if (mode === "--tcp") await pingPong(socket, sizes, "node-tcp");
  else await stream(socket, sizes);
  socket.destroy();
} else {
  const dir = mkdtempSync(join(tmpdir(), "tsmpi-floor-"));
  const path = join(dir, "sock");
  const server = net.createServer();
  await new Promise((resolve) => server.listen(path, resolve));
  const child = fork(new URL(import.meta.url).pathname, ["--echo", path]);
  const socket = await new Promise((resolve) => server.once("connection", resolve));
  await pingPong(socket, sizes, "node-unix");
  child.kill();
  server.close();
  socket.destroy();
  rmSync(dir, { recursive: true, force: true });
}
