// osu_latency-style ping-pong between ranks 0 and 1: warm-up, then many round trips; reports
// the half round trip (typed arrays received into a preallocated array). Prints one JSON line
// per (kind, size) on rank 0. With --median it also times every round trip of the timed run and
// reports the median half round trip (`p50usec`): a few round trips stalled for milliseconds
// (a rank descheduled, or V8 optimising a function on the rank's thread) can weigh on the mean.
//   tsmpi -n 2 bench/pingpong.ts [sizes...] [--kinds Float64Array,object] [--median]
import { init, wtime } from "tsmpi";
import { DEFAULT_SIZES, iterations, objectPayload } from "./sizes.js";

const comm = await init();
const sizes = process.argv
  .slice(2)
  .filter((a) => /^\d+$/.test(a))
  .map(Number);
const peer = 1 - comm.rank;

const kindsAt = process.argv.indexOf("--kinds");
const median = process.argv.includes("--median");
// "value": the Float64Array received without `into` (the value API: a fresh array per receive).
const kinds = kindsAt > 0 ? process.argv[kindsAt + 1]!.split(",") : ["Float64Array", "value", "object"];

/**
 * `n` round trips of `payload` (rank 0 sends first; rank 1 echoes what it received); with
 * `trips`, each one's time in ms. A function of its own, called in chunks: V8 optimises it
 * like any hot function. Written inline in the module body, the loop was compiled on the
 * stack (OSR) in the middle of the timed run: the module body is large, so each of its two
 * compiles stalled both ranks for ~10 ms (with --trace-opt; ranks that fill the cores compile
 * on their main thread, see rankNodeFlags), which was a third of the 8 B run's time.
 */
async function roundTrips(n: number, payload: unknown, options: { into?: ArrayBufferView }, trips: Float64Array | undefined, at: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const start = trips ? performance.now() : 0;
    if (comm.rank === 0) {
      await comm.send(payload, peer, 1);
      await comm.recv(peer, 1, options);
    } else if (comm.rank === 1) {
      await comm.send(await comm.recv(peer, 1, options), peer, 1);
    }
    if (trips) trips[at + i] = performance.now() - start;
  }
}

/** Round trips per call of {@link roundTrips}. */
const CHUNK = 100;

for (const kind of ["Float64Array", "value", "object"] as const) {
  if (!kinds.includes(kind)) continue;
  for (const size of sizes.length ? sizes : DEFAULT_SIZES) {
    if (kind === "object" && size > 4 << 20) continue;
    // below 8 bytes the raw payload is a Uint8Array of exactly `size` bytes
    // A payload holds data written here, as the twin's buffer does once it has received (a typed
    // array never written may be the kernel's zero page, which copies read at several times memory speed).
    const payload = kind === "object" ? objectPayload(size) : size >= 8 ? new Float64Array(size / 8).fill(1.5) : new Uint8Array(size).fill(7);
    // Typed arrays are received into a preallocated array, as mpi4py's Recv(buf) does (but for "value").
    const options = ArrayBuffer.isView(payload) && kind !== "value" ? { into: payload.slice() } : {};
    const iters = iterations(size);
    const chunk = Math.min(CHUNK, iters);
    const trips = median ? new Float64Array(iters) : undefined;
    // Warm-up round trips three times as many as the timed ones, then the clock starts without
    // a pause, as osu_latency does. V8 optimises the ~50 functions a message passes through
    // over the first ~15 000 round trips; a barrier between warm-up and timing ran code the
    // ping-pong does not, and the functions it deoptimised were optimised again inside the
    // timed run, stalling a round trip for 2-8 ms each.
    await comm.barrier();
    for (let done = 0; done < 3 * iters; done += chunk)
      await roundTrips(Math.min(chunk, 3 * iters - done), payload, options, trips && new Float64Array(chunk), 0);
    const t0 = wtime();
    for (let done = 0; done < iters; done += chunk) await roundTrips(Math.min(chunk, iters - done), payload, options, trips, done);
    const elapsed = wtime() - t0;
    const half = elapsed / iters / 2;
    const row: Record<string, unknown> = { impl: "tsmpi", kind, size, usec: half * 1e6, gbps: size / half / 1e9 };
    if (trips) row.p50usec = (trips.sort()[iters >> 1]! / 2) * 1000;
    if (comm.rank === 0) console.log(JSON.stringify(row));
  }
}
