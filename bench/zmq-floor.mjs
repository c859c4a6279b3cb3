// The ZeroMQ floor under tsmpi's ZeroMQ transport: two plain Node processes ping-ponging the
// same two frames tsmpi sends for an 8-byte Float64Array (a 26-byte header and 8 bytes of
// data) through zeromq.js PUSH/PULL over ipc, one socket pair per direction, as tsmpi does.
//   node bench/zmq-floor.mjs            prints {"impl":"zmq-bare","size":8,"usec":...}
import { fork } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Pull, Push } from "zeromq";

const ITERATIONS = 2000;
/** Round trips before timing: three times as many, as tsmpi's ping-pong warms up. */
const WARM_UP = 3 * ITERATIONS;
const frames = () => [Buffer.alloc(26), Buffer.alloc(8)];

async function endpoint(bindAt, connectTo) {
  const pull = new Pull();
  await pull.bind(bindAt);
  const push = new Push();
  push.connect(connectTo);
  return { pull, push };
}

if (process.argv[2] === "--echo") {
  const [, , , bindAt, connectTo] = process.argv;
  const { pull, push } = await endpoint(bindAt, connectTo);
  process.send("ready");
  for (let i = 0; i < ITERATIONS + WARM_UP; i++) await push.send(await pull.receive());
  pull.close();
  push.close();
} else {
  const dir = mkdtempSync(join(tmpdir(), "tsmpi-zmq-floor-"));
  const [a, b] = [`ipc://${dir}/a`, `ipc://${dir}/b`];
  const echo = fork(new URL(import.meta.url).pathname, ["--echo", b, a]);
  const { pull, push } = await endpoint(a, b);
  await new Promise((resolve) => echo.once("message", resolve));
  let elapsed = 0;
  for (const [round, count] of [
    [0, WARM_UP],
    [1, ITERATIONS],
  ]) {
    const t0 = performance.now();
    for (let i = 0; i < count; i++) {
      await push.send(frames());
      await pull.receive();
    }
    if (round === 1) elapsed = performance.now() - t0;
  }
  console.log(JSON.stringify({ impl: "zmq-bare", kind: "bytes", size: 8, usec: (elapsed * 1000) / ITERATIONS / 2 }));
  pull.close();
  push.close();
  rmSync(dir, { recursive: true, force: true });
}
