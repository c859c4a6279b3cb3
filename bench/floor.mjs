// The floor: two plain Node processes echoing length-prefixed messages over a socket, with the
// same sizes and iteration counts as bench/pingpong.ts. No copies beyond what sockets make.
//   node bench/floor.mjs [sizes...]                  Unix socket, echo process forked here
//   node bench/floor.mjs --serve-tcp IP              echo server on IP (prints {"port": N})
//   node bench/floor.mjs --tcp IP:PORT [sizes...]    ping-pong against that server
import net from "node:net";
import { fork } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const DEFAULT_SIZES = [1, 8, 64, 512, 4096, 32768, 262144, 1 << 20, 4 << 20, 16 << 20, 64 << 20];
const iterations = (size) => Math.max(5, Math.min(2000, Math.round(1e8 / (size + 50_000))));

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

/** Echo every message back on `socket`. */
function echo(socket) {
  socket.setNoDelay(true);
  framer(socket, (chunks) => {
    const length = chunks.reduce((n, c) => n + c.length, 0);
    socket.cork();
    for (const c of frame(chunks, length)) socket.write(c);
    socket.uncork();
  });
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
      [0, Math.max(2, iters >> 3)],
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
} else if (mode === "--tcp") {
  const at = where.lastIndexOf(":");
  const socket = net.connect(Number(where.slice(at + 1)), where.slice(0, at));
  socket.setNoDelay(true);
  await new Promise((resolve) => socket.once("connect", resolve));
  await pingPong(socket, sizes, "node-tcp");
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
