/**
 * MPI message matching for one rank: posted receives against arrived ("unexpected")
 * messages, per communicator context, in order. Messages from one source on one
 * context arrive in send order (one ZeroMQ pipe per pair), and both queues are scanned
 * oldest first, so same-(source, tag) messages never overtake each other.
 */
import type { Envelope, TypedArray } from "../wire/codec.js";
import { ANY_SOURCE, ANY_TAG } from "../wire/validate.js";
import { seam } from "./seam.js";
import { Queue } from "./queue.js";

export { ANY_SOURCE, ANY_TAG };

/** A posted receive. */
interface Waiter {
  source: number;
  tag: number;
  token: Token;
  /** Where the receiver wants the message's array bytes written, if it can be (see {@link Matcher.destination}). */
  into?: TypedArray;
}

/** A posted probe. */
interface ProbeWaiter {
  source: number;
  tag: number;
  token: Token | undefined;
  resolve: (envelope: Envelope) => void;
  reject: (error: Error) => void;
}

/** What the runtime identifies a wait by; `done` turns true, synchronously, once it is matched. */
export interface Token {
  done?: boolean;
}

/**
 * Where a posted receive ends, synchronously, as its message is matched or it is cancelled:
 * the runtime (a receive's promise is the runtime's, resolved from here with no promise between).
 */
export interface Receiving {
  matched(token: Token, envelope: Envelope): void;
  aborted(token: Token, error: Error): void;
}

/** Does a message from `source` with `tag` match the pattern `want` (ANY_SOURCE/ANY_TAG allowed)? */
function fits(want: { source: number; tag: number }, source: number, tag: number): boolean {
  return (want.source === ANY_SOURCE || want.source === source) && (want.tag === ANY_TAG || want.tag === tag);
}

/** Remove and return the oldest waiter whose pattern a message from `source` with `tag` fits. */
function takeWaiter<W extends { source: number; tag: number }>(list: Queue<W>, source: number, tag: number): W | undefined {
  let index = 0;
  while (index < list.length && !fits(list.at(index), source, tag)) index++;
  return list.removeAt(index < list.length ? index : -1);
}

/** Remove and return the oldest message that fits the pattern (`source`, `tag`). */
function takeMessage(list: Queue<Envelope>, source: number, tag: number): Envelope | undefined {
  const pattern = { source, tag };
  let index = 0;
  while (index < list.length && !fits(pattern, list.at(index).source, list.at(index).tag)) index++;
  return list.removeAt(index < list.length ? index : -1);
}

/** Remove and return the first item of `list` accepted by `accept`. */
function takeFirst<T>(list: Queue<T>, accept: (item: T) => boolean): T | undefined {
  return list.removeAt(list.findIndex(accept));
}

/** The queues of one communicator context: arrived messages, posted receives, posted probes. */
interface Queues {
  context: string;
  unexpected: Queue<Envelope>;
  receives: Queue<Waiter>;
  probes: Queue<ProbeWaiter>;
}

const queuesOf = (context: string): Queues => ({ context, unexpected: new Queue(), receives: new Queue(), probes: new Queue() });

export class Matcher {
  private readonly contexts = new Map<string, Queues>();
  /**
   * The queues looked up last: a rank mostly talks on one context at a time, and a lookup by
   * string in the map cost more than the rest of matching a small message.
   */
  private last: Queues = queuesOf("");

  constructor(private readonly receiving: Receiving) {}

  /** The queues of `context` (made on first use). */
  private of(context: string): Queues {
    if (context === this.last.context) return this.last;
    let queues = this.contexts.get(context);
    if (queues === undefined) this.contexts.set(context, (queues = queuesOf(context)));
    return (this.last = queues);
  }

  /** A message arrived: hand it to the oldest matching receive, or queue it. */
  deliver(envelope: Envelope): void {
    const queues = this.of(envelope.context);
    const receive = takeWaiter(queues.receives, envelope.source, envelope.tag);
    if (receive !== undefined) {
      if (receive.into !== undefined) this.intoPosted--;
      receive.token.done = true;
      this.receiving.matched(receive.token, envelope);
      return seam.tracer?.delivered(envelope);
    }
    queues.unexpected.push(envelope);
    const probes = queues.probes;
    for (let probe; probes.length > 0 && (probe = takeWaiter(probes, envelope.source, envelope.tag)) !== undefined;) {
      if (probe.token) probe.token.done = true;
      probe.resolve(envelope);
    }
  }

  /**
   * The oldest matching message that has arrived, taken; or undefined: the receive is posted,
   * and its message (or its failure) goes to the {@link Receiving} with `token`.
   * @param into bytes the message's array may be written to as it arrives (see {@link destination})
   */
  receive(context: string, source: number, tag: number, token: Token, into?: TypedArray): Envelope | undefined {
    const queues = this.of(context);
    const ready = takeMessage(queues.unexpected, source, tag);
    if (ready !== undefined) return ready;
    if (into !== undefined) this.intoPosted++;
    queues.receives.push({ source, tag, token, into });
    return undefined;
  }

  /** Posted receives that carry an `into` buffer (0: nobody needs to look at arriving headers). */
  intoPosted = 0;

  /**
   * The `into` bytes of the posted receive that a message from `source` with `tag` will match,
   * if that receive names its source: then only this sender's messages, which arrive in order,
   * can match it, so the message's bytes may be written there before it is whole.
   */
  destination(context: string, source: number, tag: number): TypedArray | undefined {
    const list = this.of(context).receives;
    for (let i = 0; i < list.length; i++) {
      const receive = list.at(i);
      if (fits(receive, source, tag)) return receive.source !== ANY_SOURCE ? receive.into : undefined;
    }
    return undefined;
  }

  /** Withdraw the receive or probe posted with `token` and fail it with `error`; false if there is none. */
  cancel(token: Token, error: Error): boolean {
    seam.tracer?.cancelled(token);
    for (const { receives } of this.contexts.values()) {
      const waiter = takeFirst(receives, (w) => w.token === token);
      if (waiter === undefined) continue;
      if (waiter.into !== undefined) this.intoPosted--;
      this.receiving.aborted(token, error);
      return true;
    }
    for (const { probes } of this.contexts.values()) {
      const waiter = takeFirst(probes, (w) => w.token === token);
      if (waiter === undefined) continue;
      waiter.reject(error);
      return true;
    }
    return false;
  }

  /** The oldest matching arrived message, left in place (MPI_Iprobe). */
  peek(context: string, source: number, tag: number): Envelope | undefined {
    const unexpected = this.of(context).unexpected;
    const index = unexpected.findIndex((e) => fits({ source, tag }, e.source, e.tag));
    return index < 0 ? undefined : unexpected.at(index);
  }

  /** How many arrived messages wait unmatched, and their bytes (for hang reports). */
  unexpectedSummary(): { count: number; bytes: number } {
    let count = 0;
    let bytes = 0;
    for (const { unexpected } of this.contexts.values()) {
      count += unexpected.length;
      for (const envelope of unexpected) bytes += envelope.bytes;
    }
    return { count, bytes };
  }

  /** Wait for a matching message without receiving it (MPI_Probe). */
  probe(context: string, source: number, tag: number, token?: Token): Promise<Envelope> | Envelope {
    const ready = this.peek(context, source, tag);
    if (ready !== undefined) return ready;
    return new Promise((resolve, reject) => this.of(context).probes.push({ source, tag, resolve, reject, token }));
  }
}
