// Halo exchange for one block on a periodic Cartesian grid: the edge rows and columns of U and
// V (packed into preallocated buffers, U then V) go to the four neighbours with nonblocking
// sends; nonblocking receives bring theirs into preallocated buffers too. `start()` posts
// everything and returns, so the interior update runs while the messages travel; `finish()`
// waits and copies them into the halo. A neighbour that is this rank itself (a dimension with
// one rank) is a local copy.
import type { CartComm, Request } from "tsmpi";
import type { Block } from "./model.js";

/** Sides and directions of travel: 0 up (row −1), 1 down (row +1), 2 left (column −1), 3 right (column +1). */
const SIDES = [0, 1, 2, 3] as const;

export class Halo {
  /** The neighbour on each side. */
  private readonly peers: number[];
  /** What this rank sends towards each side: its own edge cells there, U then V. */
  private readonly out: Float64Array[];
  /** Where each side's halo arrives (receives write into them: nothing is allocated per step). */
  private readonly in: Float64Array[];
  private readonly received: Array<Request<Float64Array> | undefined> = [];
  private readonly sent: Array<Request<void>> = [];

  constructor(
    private readonly cart: CartComm,
    private readonly block: Block,
  ) {
    const rows = cart.shift(0, 1),
      cols = cart.shift(1, 1);
    this.peers = [rows.source, rows.dest, cols.source, cols.dest];
    this.out = [block.ny, block.ny, block.nx, block.nx].map((n) => new Float64Array(2 * n));
    this.in = this.out.map((buf) => new Float64Array(buf.length));
  }

  /**
   * Where side `side`'s cells lie in the block, as (first index, stride): its own edge cells
   * (`ghost` false) or the halo cells beyond them. Cell k is at first + k * stride.
   */
  private line(side: number, ghost: boolean): { first: number; stride: number } {
    const { nx, ny, width } = this.block;
    if (side < 2) {
      const row = side === 0 ? (ghost ? 0 : 1) : ghost ? nx + 1 : nx;
      return { first: row * width + 1, stride: 1 };
    }
    const col = side === 2 ? (ghost ? 0 : 1) : ghost ? ny + 1 : ny;
    return { first: width + col, stride: width };
  }

  private pack(side: number): void {
    const { u, v } = this.block,
      buf = this.out[side]!,
      n = buf.length / 2;
    const { first, stride } = this.line(side, false);
    for (let k = 0, o = first; k < n; k++, o += stride) {
      buf[k] = u[o]!;
      buf[n + k] = v[o]!;
    }
  }

  private unpack(side: number, buf: Float64Array): void {
    const { u, v } = this.block,
      n = buf.length / 2;
    const { first, stride } = this.line(side, true);
    for (let k = 0, o = first; k < n; k++, o += stride) {
      u[o] = buf[k]!;
      v[o] = buf[n + k]!;
    }
  }

  /**
   * Post the sends (tag = direction of travel), then the receives, and let the sends leave.
   * On shared memory a send is in the peer's ring when `isend` returns; an `irecv` returns at
   * once and looks for its message only when waited for, in `finish()`. Then let the sends
   * settle: over ZeroMQ (other hosts) a send queued behind another reaches ZeroMQ, whose I/O
   * thread then moves it while we compute, only when JavaScript yields.
   */
  async start(): Promise<void> {
    this.sent.length = 0;
    for (const side of SIDES) {
      this.pack(side);
      const peer = this.peers[side]!;
      if (peer === this.cart.rank) this.unpack(side ^ 1, this.out[side]!);
      else this.sent.push(this.cart.isend(this.out[side]!, peer, side));
    }
    for (const side of SIDES) {
      const peer = this.peers[side]!;
      // what arrives from the neighbour on `side` travelled the other way: direction side ^ 1
      this.received[side] = peer === this.cart.rank ? undefined : this.cart.irecv(peer, side ^ 1, { into: this.in[side]! });
    }
    // Let the sends settle (promise reactions only); yield to the event loop only if one is
    // still queued in JavaScript, waiting for its turn on a ZeroMQ socket.
    await Promise.resolve();
    if (!this.sent.every((request) => request.test().done)) await new Promise((resolve) => setImmediate(resolve));
  }

  /** Wait for the neighbours' edges and copy them into the halo. */
  async finish(): Promise<void> {
    for (const side of SIDES) {
      const request = this.received[side];
      if (request !== undefined) this.unpack(side, await request.wait());
    }
    for (const request of this.sent) await request.wait();
  }
}

/** The halo of a block that is the whole periodic grid: opposite edges, copied in place (the serial reference). */
export function wrap(block: Block): void {
  const { u, v, nx, ny, width: w } = block;
  for (const a of [u, v]) {
    a.copyWithin(0 * w, nx * w, nx * w + w);
    a.copyWithin((nx + 1) * w, 1 * w, 2 * w);
    for (let i = 1; i <= nx; i++) {
      a[i * w] = a[i * w + ny]!;
      a[i * w + ny + 1] = a[i * w + 1]!;
    }
  }
}
