/**
 * The launcher as rendezvous: every rank's `init()` says hello with its inbox address;
 * once all have, each gets the full address table.
 */
import { pack, unpack } from "msgpackr";
import { Router } from "zeromq";
import type { ControlMessage } from "../comm/protocol.js";

export class Rendezvous {
  private readonly socket = new Router({ linger: 0 });
  /** Ranks that have said hello, in arrival order. */
  readonly arrived = new Set<number>();

  private constructor(readonly address: string) {}

  static async open(address: string): Promise<Rendezvous> {
    const r = new Rendezvous(address);
    await r.socket.bind(address);
    return r;
  }

  /** Collect `np` hellos, then send the table; `onHello` sees each rank as it arrives. */
  async run(np: number, onHello: (rank: number) => void): Promise<void> {
    const identities: Buffer[] = new Array(np);
    const endpoints: string[] = new Array(np);
    try {
      while (this.arrived.size < np) {
        const [identity, body] = await this.socket.receive();
        const hello = unpack(body!) as ControlMessage;
        if (hello.type !== "hello" || !(hello.rank >= 0 && hello.rank < np) || this.arrived.has(hello.rank)) continue;
        identities[hello.rank] = identity!;
        endpoints[hello.rank] = hello.endpoint;
        this.arrived.add(hello.rank);
        onHello(hello.rank);
      }
    } catch (error) {
      if (this.socket.closed) return; // the job ended before every rank arrived
      throw error;
    }
    const table = pack({ type: "table", endpoints } satisfies ControlMessage);
    for (const identity of identities) await this.socket.send([identity, table]);
  }

  close(): void {
    this.socket.close();
  }
}
