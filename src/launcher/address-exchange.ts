/**
 * The launcher as rendezvous: every rank's `init()` says hello with its inbox address;
 * once all have, each gets the addresses of the ranks on its host (the same message for all of
 * them: what a rank receives at start-up does not grow with the job), and asks for any other
 * rank's when it first sends to it (addresses on demand). ZeroMQ is loaded only when the socket is
 * bound, after the ranks have been spawned, to keep it off the start-up critical path.
 */
import { Buffer } from "node:buffer";
import { pack, unpack } from "msgpackr/pack";
import type { Router } from "zeromq";
import type { JobKeys, PeerAddress } from "../comm/transport/addresses.js";
import { zapGuard, type Gatekeeper } from "../comm/transport/zmq/security.js";
import type { ControlMessage } from "../rank/control.js";

export class AddressExchange {
  private socket: Router | undefined;
  private closed = false;
  private gate: Gatekeeper | undefined;
  /** Ranks that have said hello, in arrival order. */
  readonly arrived = new Set<number>();

  /** `address` is ipc://... for one-host jobs, tcp://IP:* (made secure with `keys`) otherwise. */
  constructor(
    private address: string,
    private readonly keys?: JobKeys,
  ) {}

  /** Bind the control socket; resolves with its address once ranks can connect. */
  async bind(): Promise<string> {
    const { Router } = await import("zeromq");
    this.socket = new Router({ linger: 0, ipv6: true });
    if (this.keys) {
      this.gate = await zapGuard(this.socket, this.keys, new Router({ linger: 0, receiveTimeout: 1000 }));
      void this.gate.serve();
    }
    await this.socket.bind(this.address);
    this.address = this.socket.lastEndpoint ?? this.address;
    if (this.closed) this.close();
    return this.address;
  }

  /**
   * Collect `np` hellos, then send each rank the addresses of its host's ranks, and answer
   * lookups of the others' until the job ends; `onHello` sees each rank as it arrives.
   */
  async run(np: number, onHello: (rank: number) => void): Promise<void> {
    const socket = this.socket!;
    const identities: Buffer[] = new Array(np);
    const peers: PeerAddress[] = new Array(np);
    try {
      while (this.arrived.size < np) {
        const [identity, body] = await socket.receive();
        const hello = unpack(body!) as ControlMessage;
        if (hello.type !== "hello" || !(hello.rank >= 0 && hello.rank < np) || this.arrived.has(hello.rank)) continue;
        identities[hello.rank] = identity!;
        peers[hello.rank] = hello.address;
        this.arrived.add(hello.rank);
        onHello(hello.rank);
      }
      for (const [identity, table] of hostTables(identities, peers)) await socket.send([identity, table]);
      for (;;) {
        const [identity, body] = await socket.receive();
        const ask = unpack(body!) as ControlMessage;
        if (ask.type !== "lookup" || !Array.isArray(ask.ranks)) continue;
        const ranks = ask.ranks.filter((r) => peers[r] !== undefined);
        await socket.send([identity!, pack({ type: "addresses", ranks, peers: ranks.map((r) => peers[r]!) } satisfies ControlMessage)]);
      }
    } catch (error) {
      if (socket.closed) return; // the job ended
      throw error;
    }
  }

  close(): void {
    this.closed = true;
    this.socket?.close();
    this.gate?.close();
  }
}

/** Per rank, the message with its host's ranks' addresses and the count of ranks on its machine (packed once per host). */
function hostTables(identities: Buffer[], peers: PeerAddress[]): Array<[Buffer, Buffer]> {
  const hosts = new Map<number, number[]>();
  const machines = new Map<string | undefined, number>();
  peers.forEach((peer, rank) => {
    const ranks = hosts.get(peer.node);
    if (ranks) ranks.push(rank);
    else hosts.set(peer.node, [rank]);
    machines.set(peer.machine, (machines.get(peer.machine) ?? 0) + 1);
  });
  return [...hosts.values()].flatMap((ranks) => {
    const first = peers[ranks[0]!]!;
    const machineRanks = first.machine === undefined ? ranks.length : machines.get(first.machine)!;
    const table = pack({ type: "host-table", ranks, peers: ranks.map((r) => peers[r]!), machineRanks } satisfies ControlMessage);
    return ranks.map((r): [Buffer, Buffer] => [identities[r]!, table]);
  });
}
