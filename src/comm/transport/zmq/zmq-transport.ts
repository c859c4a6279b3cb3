/**
 * ZeroMQ transport of one rank (between hosts, and on one host when shared memory is off): PULL inboxes that every peer's PUSH connects to: `local`
 * (ipc, in the job's private directory) for peers on the same node, and in jobs that span
 * hosts `net` (tcp, CURVE-encrypted and ZAP-authenticated unless --insecure) for the others.
 * One PUSH per peer keeps each pair's messages in order (a pair always uses the same path);
 * a send queue per peer honours zeromq.js's one-pending-send-per-socket rule. High-water
 * marks are 0 (unbounded) so no message is ever dropped and a send never waits for the
 * receiver to post a receive.
 *
 * A pending `receive()` keeps Node's event loop alive, so the inboxes (and the ZAP handler)
 * are read only while someone waits for a message ("demand"); otherwise messages wait inside
 * ZeroMQ and a finished rank can exit.
 */
import { Buffer } from "node:buffer";
import { Pull, Push, Router } from "zeromq";
import { TransportError } from "../../../errors.js";
import { tcpAnyPort, type JobKeys, type PeerAddress } from "../addresses.js";
import type { Delivery, Transport } from "../port.js";
import { zapGuard, secureClient, type Gatekeeper } from "./security.js";
import { SideChannel } from "./side.js";

/**
 * How long an idle receive waits before re-checking demand (bounds exit delay, no spinning),
 * then doubled after every wait in which nothing came, up to {@link IDLE_RECEIVE_MAX_MS}: each
 * timeout wakes the rank (a rejected receive, a look at shared memory, a new receive), and a
 * rank blocked 10 s in recv used 1 % of a core waking every 50 ms. Closing the socket ends
 * a pending receive at once, so a long timeout does not hold a rank's exit.
 */
const IDLE_RECEIVE_MS = 50;
const IDLE_RECEIVE_MAX_MS = 1000;

/**
 * How long a rank's exit waits for its side messages (credits, doorbells) to leave: a live
 * peer takes them in microseconds; one that exited never will, and must not hold the rank.
 */
const SIDE_LINGER_MS = 100;

export interface TransportConfig {
  /** ipc address of the local inbox. */
  local: string;
  /** Index of this rank's node. */
  node: number;
  /** Bind a tcp inbox on this IP address (jobs that span hosts or use --transport tcp). */
  net?: { address: string; keys?: JobKeys };
  /** Reach every peer over tcp, even on the same node. */
  netOnly?: boolean;
}

/** An inbox, and the receive timeout it has now (see {@link IDLE_RECEIVE_MS}). */
interface Inbox {
  readonly socket: Pull;
  patience: number;
}

/** Something the transport reads while there is demand: an inbox or the ZAP handler. */
interface Source {
  readonly readable: boolean;
  /** Handle one item (or time out); false once the source is closed. */
  step(): Promise<boolean>;
  running: boolean;
}

/** Send on `socket` after the previous send queued under `tails[dest]` (one send in flight per socket). */
function queued(socket: Push, tails: Array<Promise<void>>, dest: number, frames: Buffer[]): Promise<void> {
  const previous = tails[dest];
  const sent = previous === undefined ? socket.send(frames) : previous.then(() => socket.send(frames));
  tails[dest] = sent.catch(() => undefined);
  return sent;
}

export class ZmqTransport implements Transport {
  private readonly outboxes: Array<Push | undefined> = [];
  /** Per peer, a second PUSH for side messages (credits, doorbells) that must never hold a rank at exit. */
  private readonly sideboxes: Array<SideChannel | undefined> = [];
  private readonly tails: Array<Promise<void>> = [];
  private readonly sources: Source[] = [];
  private peers: PeerAddress[] = [];
  private lookup?: (rank: number) => Promise<PeerAddress>;
  private readonly learning: Array<Promise<unknown>> = [];
  private demand = 0;
  private closed = false;

  private constructor(
    private readonly config: TransportConfig,
    private readonly inboxes: Pull[],
    private readonly gate: Gatekeeper | undefined,
    /** Where peers reach this rank. */
    readonly address: PeerAddress,
    private readonly sink: Delivery,
  ) {
    for (const socket of inboxes) {
      const inbox: Inbox = { socket, patience: IDLE_RECEIVE_MS };
      this.sources.push({
        running: false,
        step: () => this.receiveFrom(inbox),
        get readable() {
          return socket.readable;
        },
      });
    }
    if (gate)
      this.sources.push({
        running: false,
        step: () => gate.serveOne(),
        get readable() {
          return gate.readable;
        },
      });
  }

  /** Bind this rank's inboxes. */
  static async bind(config: TransportConfig, sink: Delivery): Promise<ZmqTransport> {
    const options = { receiveHighWaterMark: 0, receiveTimeout: IDLE_RECEIVE_MS, linger: 0, ipv6: true };
    const local = new Pull(options);
    await local.bind(config.local);
    const inboxes = [local];
    const address: PeerAddress = { node: config.node, local: config.local };
    let gate: Gatekeeper | undefined;
    if (config.net) {
      const net = new Pull(options);
      if (config.net.keys) gate = await zapGuard(net, config.net.keys, new Router({ linger: 0, receiveTimeout: IDLE_RECEIVE_MS }));
      await net.bind(tcpAnyPort(config.net.address));
      address.net = net.lastEndpoint!;
      inboxes.push(net);
    }
    return new ZmqTransport(config, inboxes, gate, address, sink);
  }

  /** Learn the ranks' addresses (`lookup`: how to learn one missing from `peers`); peers are connected on first send. */
  setPeers(peers: PeerAddress[], lookup?: (rank: number) => Promise<PeerAddress>): void {
    this.peers = peers;
    this.lookup = lookup;
  }

  /**
   * `dest`'s address was not known at start: resolves once it is (asked once). Every send to
   * such a peer goes through this promise, also later, so that sends keep their order.
   */
  private learn(dest: number): Promise<unknown> | undefined {
    if (this.learning[dest] === undefined && (this.peers[dest] !== undefined || this.lookup === undefined)) return undefined;
    return (this.learning[dest] ??= this.lookup!(dest).then((address) => (this.peers[dest] = address)));
  }

  /** A PUSH connected to `dest`'s inbox (ipc on the same node, tcp otherwise). */
  private connect(dest: number, linger: number): Push {
    const peer = this.peers[dest];
    if (peer === undefined) throw new TransportError(`no address known for rank ${dest}`);
    const sameNode = peer.node === this.config.node && !this.config.netOnly;
    const endpoint = sameNode ? peer.local : peer.net;
    if (endpoint === undefined) throw new TransportError(`rank ${dest} has no tcp address, but it runs on another node`);
    const socket = new Push({ sendHighWaterMark: 0, linger, ipv6: true });
    if (!sameNode && this.config.net?.keys) secureClient(socket, this.config.net.keys);
    socket.connect(endpoint);
    return socket;
  }

  /**
   * Data was handed to ZeroMQ, and may still wait in its queues: then the process must end
   * through ZeroMQ's context termination, which delivers it first.
   */
  get holdsData(): boolean {
    return this.outboxes.some((socket) => socket !== undefined);
  }

  /** Data goes through a socket that delivers what is queued before the rank exits. */
  private outbox(dest: number): Push {
    return (this.outboxes[dest] ??= this.connect(dest, -1));
  }

  /**
   * Send a one-frame side message (flow-control credit, doorbell): unordered with respect to
   * data, and dropped if it has not left {@link SIDE_LINGER_MS} after the rank's exit began
   * (its peer may have exited already: a doorbell rung just as the peer found the message itself).
   */
  advise(dest: number, frame: Buffer): void {
    const learning = this.learn(dest);
    if (learning)
      return void learning.then(
        () => this.sidebox(dest).send(frame),
        () => undefined,
      );
    this.sidebox(dest).send(frame);
  }

  private sidebox(dest: number): SideChannel {
    return (this.sideboxes[dest] ??= new SideChannel(this.connect(dest, SIDE_LINGER_MS)));
  }

  /** ZeroMQ sends large frames zero-copy, after `send` returns: the frames must be the sender's own. */
  borrows(): boolean {
    return false;
  }

  /** Queue one multipart message to `dest`; resolves once ZeroMQ owns it (its I/O thread then sends it). */
  send(dest: number, frames: Buffer[]): Promise<void> {
    const learning = this.learn(dest);
    if (learning) return learning.then(() => queued(this.outbox(dest), this.tails, dest, frames));
    return queued(this.outbox(dest), this.tails, dest, frames);
  }

  /** Someone waits for a message: keep reading the inboxes until `release()`. */
  acquire(): void {
    this.demand++;
    for (const source of this.sources) if (!source.running) void this.run(source);
  }

  release(): void {
    this.demand--;
  }

  /** Messages wait in an inbox, not yet read. */
  get unread(): boolean {
    return this.inboxes.some((inbox) => inbox.readable);
  }

  private get reading(): boolean {
    return this.sources.some((source) => source.running);
  }

  /** Deliver whatever is already waiting in the inboxes (progress for iprobe/test). */
  async poll(): Promise<void> {
    if (this.reading) return new Promise((resolve) => setImmediate(resolve));
    this.acquire();
    try {
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      this.release();
    }
  }

  /** Deliver everything already waiting in the inboxes. */
  async drain(): Promise<void> {
    for (let i = 0; i < 10_000 && this.inboxes.some((inbox) => inbox.readable) && !this.closed; i++) await this.poll();
  }

  private async run(source: Source): Promise<void> {
    source.running = true;
    try {
      while (!this.closed && (this.demand > 0 || source.readable)) {
        if (!(await source.step())) break;
      }
    } finally {
      source.running = false;
    }
  }

  private async receiveFrom(inbox: Inbox): Promise<boolean> {
    let frames: Buffer[];
    try {
      frames = await inbox.socket.receive();
    } catch (error) {
      if ((error as { code?: string }).code === "EAGAIN") {
        if (this.demand > 0) this.sink.idle?.();
        if (!this.closed && inbox.patience < IDLE_RECEIVE_MAX_MS)
          inbox.socket.receiveTimeout = inbox.patience = Math.min(2 * inbox.patience, IDLE_RECEIVE_MAX_MS);
        return true;
      }
      if (this.closed) return false;
      throw new TransportError(`receive failed: ${(error as Error).message}`, { cause: error });
    }
    if (inbox.patience !== IDLE_RECEIVE_MS) inbox.socket.receiveTimeout = inbox.patience = IDLE_RECEIVE_MS;
    this.sink.deliver(frames);
    return true;
  }

  /**
   * Nothing to do: a ZeroMQ socket to a peer that is gone costs nothing until used. Data still
   * queued for it holds this rank's exit, so that the launcher can say it was never received.
   */
  peerGone(): void {}

  /** Close every socket; queued outgoing messages are still delivered unless `discard`. */
  close(discard = false): void {
    this.closed = true;
    for (const socket of this.outboxes) {
      if (socket === undefined) continue;
      if (discard) socket.linger = 0;
      socket.close();
    }
    for (const side of this.sideboxes) side?.close();
    for (const inbox of this.inboxes) inbox.close();
    this.gate?.close();
  }
}
