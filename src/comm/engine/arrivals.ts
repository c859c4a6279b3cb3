/**
 * Where the transport hands what arrives (the {@link Delivery} side of the engine): each
 * message decoded and passed to whoever waits for its kind (the matcher for data and
 * announcements, rendezvous for requests and payloads, flow control for credit, synchronous
 * sends for acknowledgements). A malformed or unexpected message is logged and dropped, never fatal.
 */
import type { Buffer } from "node:buffer";
import process from "node:process";
import { decodeMessage, type Incoming } from "../wire/codec.js";
import type { FlowControl } from "../wire/flow.js";
import { MessageKind } from "../wire/wire.js";
import type { Delivery } from "../transport/port.js";
import type { Matcher } from "./matching.js";
import type { Placement } from "./placement.js";
import type { ParkedSends, Pulls } from "./rendezvous.js";
import type { SmallArrays } from "./small-arrays.js";
import type { SyncSends } from "./synchronous.js";

/** Who takes each kind of message. */
export interface Takers {
  matcher: Matcher;
  parked: ParkedSends;
  pulls: Pulls;
  flow: FlowControl;
  syncs: SyncSends;
  small: SmallArrays;
  placement: Placement;
}

export class Arrivals implements Delivery {
  /** Messages delivered so far (hang detection: "no message moving"). */
  delivered = 0;

  constructor(
    /** This rank (world), for the log. */
    private readonly rank: number,
    private readonly to: Takers,
  ) {}

  private drop(what: string): void {
    process.stderr.write(`tsmpi: rank ${this.rank} dropped ${what}\n`);
  }

  /** Decode and act on an arriving message. */
  deliver(frames: Buffer[]): void {
    let message: Incoming;
    try {
      message = decodeMessage(frames);
    } catch (error) {
      return this.drop(`a malformed message: ${(error as Error).message}`);
    }
    const to = this.to;
    switch (message.kind) {
      case MessageKind.Data:
      case MessageKind.Rts:
        this.delivered++;
        return to.matcher.deliver(message.envelope);
      case MessageKind.Cts:
        if (!to.parked.sendPayload(message.from, message.id)) this.drop(`a request for unknown message ${message.id} from rank ${message.from}`);
        return;
      case MessageKind.Payload:
        if (!to.pulls.arrive(message.from, message.id, message.envelope)) return this.drop(`an unrequested payload ${message.id} from rank ${message.from}`);
        this.delivered++;
        return;
      case MessageKind.Credit:
        return to.flow.credit(message.from, message.bytes);
      case MessageKind.Ack:
        return to.syncs.acked(message.from, message.id);
    }
  }

  /** A message of two frames read where it lies (see SameHostPath.sendPair); false: not a small array (it comes as frames). */
  deliverPair(bytes: Uint8Array, view: DataView, head: number, headLength: number, at: number, length: number): boolean {
    const envelope = this.to.small.arrive(bytes, view, head, headLength, at, length);
    if (envelope === undefined) return this.to.syncs.arrive(bytes, view, head, headLength);
    this.delivered++;
    this.to.matcher.deliver(envelope);
    return true;
  }

  /** A synchronous send's acknowledgement read from shared memory (see synchronous.ts). */
  acked(from: number, id: number): void {
    this.to.syncs.acked(from, id);
  }

  /** Where an arriving array may be written (see placement.ts). */
  place(prior: Buffer[], length: number): Uint8Array | undefined {
    return this.to.placement.place(prior, length);
  }
}
