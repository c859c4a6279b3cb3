/**
 * ZeroMQ transport of one rank: a PULL socket that every peer's PUSH connects to.
 * One PUSH per peer keeps each pair's messages in order; a send queue per peer honours
 * zeromq.js's one-pending-send-per-socket rule. High-water marks are 0 (unbounded) so
 * no message is ever dropped and a send never waits for the receiver to post a receive.
 *
 * A pending `receive()` keeps Node's event loop alive, so the inbox is read only while
 * someone waits for a message ("demand"); otherwise messages wait inside ZeroMQ and a
 * finished rank can exit.
 */
import { Pull, Push } from "zeromq";
import { TransportError } from "../errors.js";

/** How long an idle receive waits before re-checking demand (bounds exit delay, no spinning). */
const IDLE_RECEIVE_MS = 50;

export class Transport {
  private readonly inbox: Pull;
  private readonly outboxes: Array<Push | undefined> = [];
  private readonly tails: Array<Promise<void>> = [];
  private endpoints: string[] = [];
  private demand = 0;
  private reading = false;
  private closed = false;

  private constructor(
    inbox: Pull,
    readonly endpoint: string,
    private readonly onMessage: (frames: Buffer[]) => void,
  ) {
    this.inbox = inbox;
  }

  /** Bind this rank's inbox at `address` (a `tcp://host:*` port is resolved). */
  static async bind(address: string, onMessage: (frames: Buffer[]) => void): Promise<Transport> {
    const inbox = new Pull({ receiveHighWaterMark: 0, receiveTimeout: IDLE_RECEIVE_MS, linger: 0 });
    await inbox.bind(address);
    return new Transport(inbox, inbox.lastEndpoint ?? address, onMessage);
  }

  /** Learn every rank's inbox address; peers are connected on first send. */
  setPeers(endpoints: string[]): void {
    this.endpoints = endpoints;
  }

  private outbox(dest: number): Push {
    let socket = this.outboxes[dest];
    if (socket === undefined) {
      const endpoint = this.endpoints[dest];
      if (endpoint === undefined) throw new TransportError(`no address known for rank ${dest}`);
      socket = new Push({ sendHighWaterMark: 0, linger: -1 });
      socket.connect(endpoint);
      this.outboxes[dest] = socket;
    }
    return socket;
  }

  /** Queue one multipart message to `dest`; resolves once ZeroMQ owns it. */
  send(dest: number, frames: Buffer[]): Promise<void> {
    const socket = this.outbox(dest);
    const previous = this.tails[dest];
    const sent = previous === undefined ? socket.send(frames) : previous.then(() => socket.send(frames));
    this.tails[dest] = sent.catch(() => undefined);
    return sent;
  }

  /** Someone waits for a message: keep reading the inbox until `release()`. */
  acquire(): void {
    this.demand++;
    if (!this.reading) void this.read();
  }

  release(): void {
    this.demand--;
  }

  /** Deliver whatever is already waiting in the inbox (progress for iprobe/test). */
  async poll(): Promise<void> {
    if (this.reading) return new Promise((resolve) => setImmediate(resolve));
    this.acquire();
    try {
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      this.release();
    }
  }

  /** Deliver everything already waiting in the inbox. */
  async drain(): Promise<void> {
    for (let i = 0; i < 10_000 && this.inbox.readable && !this.closed; i++) await this.poll();
  }

  private async read(): Promise<void> {
    this.reading = true;
    try {
      while (!this.closed && (this.demand > 0 || this.inbox.readable)) {
        let frames: Buffer[];
        try {
          frames = await this.inbox.receive();
        } catch (error) {
          if ((error as { code?: string }).code === "EAGAIN") continue;
          if (this.closed) break;
          throw new TransportError(`receive failed: ${(error as Error).message}`, { cause: error });
        }
        this.onMessage(frames);
      }
    } finally {
      this.reading = false;
    }
  }

  /** Close every socket; queued outgoing messages are still delivered unless `discard`. */
  close(discard = false): void {
    this.closed = true;
    for (const socket of this.outboxes) {
      if (socket === undefined) continue;
      if (discard) socket.linger = 0;
      socket.close();
    }
    this.inbox.close();
  }
}
