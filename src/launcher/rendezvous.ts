/**
 * The launcher as rendezvous: every rank's `init()` says hello with its inbox address;
 * once all have, each gets the full address table. ZeroMQ is loaded only when the socket is
 * bound, after the ranks have been spawned, to keep it off the start-up critical path.
 */
import { pack, unpack } from "msgpackr/pack";
import type { Router } from "zeromq";
import type { ControlMessage } from "../comm/protocol.js";

export class Rendezvous {
  private socket: Router | undefined;
  private closed = false;
  /** Ranks that have said hello, in arrival order. */
  readonly arrived = new Set<number>();

  constructor(readonly address: string) {}

  /** Bind the control socket; resolves once ranks can connect. */
  async bind(): Promise<void> {
    const { Router } = await import("zeromq");
    this.socket = new Router({ linger: 0 });
    await this.socket.bind(this.address);
    if (this.closed) this.socket.close();
  }

  /** Collect `np` hellos, then send the table; `onHello` sees each rank as it arrives. */
  async run(np: number, onHello: (rank: number) => void): Promise<void> {
    const socket = this.socket!;
    const identities: Buffer[] = new Array(np);
    const endpoints: string[] = new Array(np);
    try {
      while (this.arrived.size < np) {
        const [identity, body] = await socket.receive();
        const hello = unpack(body!) as ControlMessage;
        if (hello.type !== "hello" || !(hello.rank >= 0 && hello.rank < np) || this.arrived.has(hello.rank)) continue;
        identities[hello.rank] = identity!;
        endpoints[hello.rank] = hello.endpoint;
        this.arrived.add(hello.rank);
        onHello(hello.rank);
      }
    } catch (error) {
      if (socket.closed) return; // the job ended before every rank arrived
      throw error;
    }
    const table = pack({ type: "table", endpoints } satisfies ControlMessage);
    for (const identity of identities) await socket.send([identity, table]);
  }

  close(): void {
    this.closed = true;
    this.socket?.close();
  }
}
