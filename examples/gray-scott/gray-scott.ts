// Gray-Scott reaction–diffusion on a periodic 2-D grid, split over a Cartesian process grid
// (dimsCreate + cartCreate), with the halo exchanged at every step and overlapped with the
// interior update. The classic SPMD stencil program, as mpi4py users write it with Create_cart,
// Shift and Isend/Irecv.
//
// The model (Pearson 1993), two species U and V on a grid with spacing 1:
//   ∂u/∂t = Du ∇²u − u v² + F (1 − u)
//   ∂v/∂t = Dv ∇²v + u v² − (F + k) v
// explicit Euler with dt = 1 and the five-point Laplacian, periodic boundaries;
// Du = 0.16, Dv = 0.08, F = 0.035, k = 0.060 by default (spots and stripes; these are the
// parameter sets of the Gray-Scott exercise in N. Rougier's "From Python to Numpy").
// Initial condition: U = 1, V = 0, with 20 squares of U = 0.5, V = 0.25 placed by a hash,
// and a ±0.01 deterministic perturbation everywhere (model.ts), the same at any rank count.
//
//   npx tsmpi -n 4 examples/gray-scott/gray-scott.ts [--size 512 | --size 480x640] [--steps 5000]
//       [--every 1000] [--out gray-scott-png] [--feed 0.035] [--kill 0.06] [--check]
//
// prints, e.g.:
//   gray-scott 512×512 on 4 ranks (2 × 2 grid), 5000 steps: 0.61 ms per step (median 0.58 ms, halo wait 0.05 ms), checksum 6c1f0a1b2d3e4f50
// and writes gray-scott-png/v-001000.png … v-005000.png (V, colour-mapped, gathered at rank 0;
// --every 0 writes none). With --check, rank 0 also runs the whole grid serially and prints:
//   parallel U and V equal the serial run bit for bit: yes
import { createHash } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { dimsCreate, init, wtime, type CartComm } from "tsmpi";
import { Block, DEFAULTS, partStart, type Params } from "./model.js";
import { Halo, wrap } from "./halo.js";
import { writePng } from "./png.js";

const args = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1]! : fallback;
};
const [rows, cols = rows] = option("--size", "512").split("x").map(Number) as [number, number?];
const steps = Number(option("--steps", "5000")),
  every = Number(option("--every", "1000")),
  out = option("--out", "gray-scott-png");
const params: Params = { ...DEFAULTS, F: Number(option("--feed", String(DEFAULTS.F))), k: Number(option("--kill", String(DEFAULTS.k))) };

/**
 * One step of a block that is the whole periodic grid (the serial reference, and the warm-up:
 * it calls the kernel as the timed loop does, interior then ring, so V8 compiles it for those
 * calls; each cell depends only on the previous state, so the order changes no bit).
 */
function serialStep(whole: Block): void {
  wrap(whole);
  whole.updateInterior(params);
  whole.updateRing(params);
  whole.swap();
}

/**
 * Halo exchanges before timing (the twins make as many): enough for V8 to have optimised the
 * message path. With 20, functions of that path turned hot between steps 230 and 285 of the
 * timed loop, and optimising each cost that step 4-15 ms (ranks that fill the host's cores
 * compile on their own thread, see the launcher's rankNodeFlags).
 */
const WARM_UP_EXCHANGES = 1000;

const comm = await init();
const dims = dimsCreate(comm.size, 2);
if (!(rows! >= dims[0]! && cols >= dims[1]! && Number.isInteger(steps) && steps >= 0 && Number.isInteger(every) && every >= 0)) {
  if (comm.rank === 0) console.error(`gray-scott: need --size of at least ${dims[0]}x${dims[1]} for ${comm.size} ranks and integer --steps, --every ≥ 0`);
  process.exit(2);
}
// every rank fits a grid made by dimsCreate
const cart = (await comm.cartCreate(dims, [true, true])) as CartComm;
const [pr, pc] = cart.coords as [number, number];
const block = new Block(
  rows!,
  cols,
  partStart(rows!, dims[0]!, pr),
  partStart(rows!, dims[0]!, pr + 1),
  partStart(cols, dims[1]!, pc),
  partStart(cols, dims[1]!, pc + 1),
);
const halo = new Halo(cart, block);

// Warm-up before the clock starts, as the twins do (the numba one compiles its kernel first):
// V8 compiles the kernel on a small scratch block, and a few halo exchanges run the exchange
// code and touch the message buffers. Neither changes the grid (an exchange only fills the
// halo, which step 1 fills again with the same values).
const scratch = new Block(32, 32, 0, 32, 0, 32);
for (let i = 0; i < 300; i++) serialStep(scratch);
for (let i = 0; i < WARM_UP_EXCHANGES; i++) {
  await halo.start();
  await halo.finish();
}

/** U and V of the whole grid at rank 0 (undefined elsewhere), assembled from every rank's block. */
async function gatherGrid(): Promise<{ u: Float64Array; v: Float64Array } | undefined> {
  const parts = await cart.gather([block.r0, block.r1, block.c0, block.c1, block.interior()] as const, 0);
  if (parts === undefined) return undefined;
  const u = new Float64Array(rows! * cols),
    v = new Float64Array(rows! * cols);
  for (const [r0, r1, c0, c1, data] of parts) {
    const nx = r1 - r0,
      ny = c1 - c0;
    for (let i = 0; i < nx; i++) {
      u.set(data.subarray(i * ny, (i + 1) * ny), (r0 + i) * cols + c0);
      v.set(data.subarray((nx + i) * ny, (nx + i + 1) * ny), (r0 + i) * cols + c0);
    }
  }
  return { u, v };
}

if (every > 0 && cart.rank === 0) mkdirSync(out, { recursive: true });
await cart.barrier();
let stepping = 0,
  waiting = 0;
// each step's time, for the median: robust to other processes on a shared machine
const stepTimes = new Float64Array(steps);
for (let step = 1; step <= steps; step++) {
  const t0 = wtime();
  await halo.start(); // receives and sends posted; the messages travel while the interior is updated
  block.updateInterior(params);
  const t1 = wtime();
  await halo.finish();
  waiting += wtime() - t1;
  block.updateRing(params);
  block.swap();
  stepTimes[step - 1] = wtime() - t0;
  stepping += stepTimes[step - 1]!;
  if (every > 0 && step % every === 0) {
    const grid = await gatherGrid();
    if (grid) writePng(join(out, `v-${String(step).padStart(6, "0")}.png`), grid.v, rows!, cols);
  }
}

const grid = await gatherGrid();
const median = steps > 0 ? stepTimes.sort()[Math.floor(steps / 2)]! : 0;
const times = await cart.gather([stepping, waiting, median], 0);
if (grid) {
  const worst = times!.reduce((a, b) => (b[0]! > a[0]! ? b : a));
  const perStep = steps > 0 ? worst[0]! / steps : 0;
  const medianStep = Math.max(...times!.map((t) => t[2]!));
  const checksum = createHash("sha256").update(new Uint8Array(grid.u.buffer)).update(new Uint8Array(grid.v.buffer)).digest("hex").slice(0, 16);
  console.log(
    `gray-scott ${rows}×${cols} on ${cart.size} ranks (${dims.join(" × ")} grid), ${steps} steps: ${(1e3 * perStep).toFixed(3)} ms per step (median ${(1e3 * medianStep).toFixed(3)} ms, halo wait ${((1e3 * worst[1]!) / Math.max(steps, 1)).toFixed(3)} ms), checksum ${checksum}`,
  );
  if (args.includes("--check")) {
    const serial = new Block(rows!, cols, 0, rows!, 0, cols);
    for (let step = 1; step <= steps; step++) serialStep(serial);
    const own = serial.interior();
    const same = (a: Float64Array, offset: number) => a.every((x, i) => Object.is(x, own[offset + i]));
    console.log(`parallel U and V equal the serial run bit for bit: ${same(grid.u, 0) && same(grid.v, rows! * cols) ? "yes" : "NO"}`);
  }
  if (process.env.TSMPI_EXAMPLE_JSON) {
    console.log(
      JSON.stringify({ example: "gray-scott", rows, cols, steps, n: cart.size, perStep, medianStep, wait: worst[1]! / Math.max(steps, 1), checksum }),
    );
  }
}
