// How close ZeroMQ itself gets between hosts (issue 36, part 1): two plain Node processes over
// zeromq.js PUSH/PULL tcp, one socket pair per direction as tsmpi uses them, ping-pong and an
// osu_bw-style stream (WINDOW messages back to back, then a 1-byte ack), with ZeroMQ's knobs:
//   node bench/zmq-tcp-floor.mjs --serve IP [--io N] [--buf BYTES]     prints {"port": N}
//   node bench/zmq-tcp-floor.mjs --client IP:PORT [--io N] [--buf BYTES] [--seal] [sizes...]
// --seal encrypts every frame with AES-256-GCM in this process (frames you seal yourself).
import { createCipheriv, createDecipheriv } from "node:crypto";
import { Context, Pull, Push } from "zeromq";

const args = process.argv.slice(2);
const flag = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const io = Number(flag("--io", "1"));
const buf = Number(flag("--buf", "0"));
const seal = args.includes("--seal");
const context = new Context({ ioThreads: io });
const base = { context, linger: 0 };
const pullOptions = { ...base, receiveHighWaterMark: 0, ...(buf ? { receiveBufferSize: buf } : {}) };
const pushOptions = { ...base, sendHighWaterMark: 0, ...(buf ? { sendBufferSize: buf } : {}) };
const KEY = Buffer.alloc(32, 1);
let counter = 0n;
const nonce = Buffer.alloc(12);
const sealed = (data) => {
  if (!seal) return data;
  nonce.writeBigUInt64LE(counter++, 4);
  const c = createCipheriv("aes-256-gcm", KEY, nonce);
  const out = Buffer.concat([nonce, c.update(data), c.final(), c.getAuthTag()]);
  return out;
};
const opened = (data) => {
  if (!seal) return data;
  const d = createDecipheriv("aes-256-gcm", KEY, data.subarray(0, 12));
  d.setAuthTag(data.subarray(data.length - 16));
  return Buffer.concat([d.update(data.subarray(12, data.length - 16)), d.final()]);
};
const WINDOW = 64;

if (args[0] === "--serve") {
  const pull = new Pull(pullOptions);
  await pull.bind(`tcp://${args[1]}:*`);
  const port = Number(pull.lastEndpoint.split(":").pop());
  const push = new Push(pushOptions);
  console.log(JSON.stringify({ port }));
  let connected = false;
  for (;;) {
    const [head, data] = await pull.receive();
    if (!connected) {
      push.connect(`tcp://${head.subarray(2).toString()}`);
      connected = true;
    }
    const [kind, count] = [head[0], head[1]];
    if (kind === 0x50)
      await push.send([head, sealed(opened(data))]); // ping
    else if (kind === 0x53) {
      opened(data);
      for (let i = 1; i < count; i++) opened((await pull.receive())[1]);
      await push.send([head, Buffer.from("A")]);
    } else if (kind === 0x51) break;
  }
  pull.close();
  push.close();
} else {
  const [ip, port] = args[1].split(":");
  const pull = new Pull(pullOptions);
  await pull.bind(`tcp://${flag("--me", ip)}:*`);
  const push = new Push(pushOptions);
  push.connect(`tcp://${ip}:${port}`);
  const me = pull.lastEndpoint.replace("tcp://", "");
  const sizes = args.filter((a) => /^\d+$/.test(a)).map(Number);
  const hello = (kind, count = 0) => {
    const h = Buffer.from(`xx${me}`);
    h[0] = kind;
    h[1] = count;
    return h;
  };
  // first message carries our address; the server connects back
  for (const size of sizes) {
    const payload = Buffer.alloc(size, 7);
    const iters = Math.max(10, Math.min(5000, Math.round(2e8 / (size + 20000))));
    let t0 = 0;
    for (let i = 0; i < iters * 2; i++) {
      if (i === iters) t0 = performance.now();
      await push.send([hello(0x50), sealed(payload)]);
      opened((await pull.receive())[1]);
    }
    const usec = ((performance.now() - t0) * 1000) / iters / 2;
    let gbps;
    if (size >= 65536) {
      const rounds = Math.max(3, Math.min(50, Math.round(2e9 / (size * WINDOW))));
      let t1 = 0;
      for (let r = 0; r < rounds + 1; r++) {
        if (r === 1) t1 = performance.now();
        for (let i = 0; i < WINDOW; i++) await push.send([hello(0x53, WINDOW), sealed(payload)]);
        await pull.receive();
      }
      gbps = (size * WINDOW * rounds) / ((performance.now() - t1) / 1000) / 1e9;
    }
    console.log(JSON.stringify({ impl: `zmq-tcp io=${io}${buf ? ` buf=${buf}` : ""}${seal ? " aes" : ""}`, size, usec, gbps }));
  }
  await push.send([hello(0x51), Buffer.alloc(0)]);
  pull.close();
  push.close();
}
