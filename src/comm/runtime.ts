/**
 * The per-process state every communicator shares: this rank's world rank and size,
 * the transport and the matcher. Communicators translate their ranks to world ranks here.
 */
import { decode, type Envelope } from "./codec.js";
import { Matcher } from "./matching.js";
import type { WaitState } from "./protocol.js";
import type { Transport } from "./transport.js";

interface Wait {
  call: string;
  context: string;
  source: number;
  tag: number;
  since: number;
}

export class Runtime {
  readonly matcher = new Matcher();
  /** Messages delivered so far (hang detection: "no message moving"). */
  delivered = 0;
  private readonly waits = new Set<Wait>();

  constructor(
    readonly rank: number,
    readonly size: number,
    readonly transport: Transport | undefined,
  ) {}

  /** Decode and match an arriving message; a malformed one is logged and dropped, never fatal. */
  readonly deliver = (frames: Buffer[]): void => {
    let envelope: Envelope;
    try {
      envelope = decode(frames);
    } catch (error) {
      process.stderr.write(`tsmpi: rank ${this.rank} dropped a malformed message: ${(error as Error).message}\n`);
      return;
    }
    this.delivered++;
    this.matcher.deliver(envelope);
  };

  /** Send encoded frames to a world rank; a message to oneself is matched at once. */
  send(worldDest: number, frames: Buffer[]): Promise<void> {
    if (worldDest === this.rank || this.transport === undefined) {
      this.deliver(frames);
      return Promise.resolve();
    }
    return this.transport.send(worldDest, frames);
  }

  /** Receive the oldest matching message, reading the inbox only while waiting. */
  async receive(context: string, source: number, tag: number, call = "recv"): Promise<Envelope> {
    return this.waitFor(this.matcher.receive(context, source, tag), { call, context, source, tag, since: performance.now() });
  }

  /** Wait until a matching message has arrived, without receiving it. */
  async probe(context: string, source: number, tag: number): Promise<Envelope> {
    return this.waitFor(this.matcher.probe(context, source, tag), { call: "probe", context, source, tag, since: performance.now() });
  }

  /** A matching message if one has arrived, after delivering whatever is waiting in the inbox. */
  async iprobe(context: string, source: number, tag: number): Promise<Envelope | undefined> {
    const ready = this.matcher.peek(context, source, tag);
    if (ready !== undefined || this.transport === undefined) return ready;
    await this.transport.poll();
    return this.matcher.peek(context, source, tag);
  }

  private async waitFor(pending: Promise<Envelope> | Envelope, wait: Wait): Promise<Envelope> {
    if (!(pending instanceof Promise)) return pending;
    this.waits.add(wait);
    this.transport?.acquire();
    try {
      return await pending;
    } finally {
      this.transport?.release();
      this.waits.delete(wait);
    }
  }

  /** What this rank is blocked in, oldest first (for hang reports). */
  describeWaits(): WaitState[] {
    const now = performance.now();
    return [...this.waits].map(({ since, ...rest }) => ({ ...rest, seconds: (now - since) / 1000 }));
  }
}
