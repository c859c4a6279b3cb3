/**
 * What this rank is blocked in, and which peers each wait depends on: for hang reports, and
 * so that a peer's death fails exactly the waits it dooms.
 */
import type { Site } from "./into.js";
import type { Hurry, Status } from "./request.js";
import type { TypedArray } from "../wire/values.js";

/** One operation a rank is blocked in, as a hang report shows it. */
export interface WaitState {
  call: string;
  /** communicator context id ("w" is the world; a trailing "!" marks collective traffic) */
  context: string;
  source: number;
  tag: number;
  seconds: number;
}

/** What a hang report asks a rank. */
export interface RuntimeState {
  waiting: WaitState[];
  unexpected: number;
  unexpectedBytes: number;
  delivered: number;
  unread: boolean | undefined;
}

/** A blocked operation; the object itself is the token that cancels it. */
export interface Wait {
  call: string;
  context: string;
  source: number;
  tag: number;
  /**
   * Date.now() when it was first listed (see {@link Waits.add}), or once its first poll found
   * nothing (see Posting.post); 0 before: a receive whose message comes while it polls never reads the clock.
   */
  since: number;
  /** Set when the message it waits for is there (see matching.ts). */
  done?: boolean;
  /** Its place in {@link Waits} (set there: a list through the waits themselves, so that a receive adds no entry object). */
  peers?: Peers;
  older?: Wait;
  newer?: Wait;
  /** A receive (see Runtime.receive): where its array may land; a receive's or synchronous send's: when it polls; */
  into?: TypedArray;
  hurry?: Hurry;
  /**
   * a receive's: what it resolves with: the message's value landed in `into` and `status` filled
   * (a site given: a point-to-point receive sets both once made), else the envelope;
   */
  site?: Site;
  status?: Status;
  /** its promise's settlers, called as its message is matched. */
  resolve?: (result: unknown) => void;
  reject?: (error: Error) => void;
}

/**
 * A wait that begins now, with every field in place (one object shape for all: optimised code
 * that reads waits stays valid). The request a receive or synchronous send makes, carried
 * through the engine as one object (see Runtime.receive).
 */
export function newWait(call: string, context: string, source: number, tag: number, into?: TypedArray, hurry?: Hurry): Wait {
  return {
    call,
    context,
    source,
    tag,
    // -0, not 0: a number V8 stores as a double from the start, as Date.now() will be (a field that
    // starts as a small integer changes representation at the first stamp, and code optimised on
    // waits deoptimises: "wrong map" in Posting's pollDone and HostTransport.spin, --trace-deopt).
    since: -0,
    done: false,
    peers: undefined,
    older: undefined,
    newer: undefined,
    into,
    hurry,
    site: undefined,
    status: undefined,
    resolve: undefined,
    reject: undefined,
  };
}

/** Whom a receive depends on, in world ranks: its source (-1: any), and its communicator's members. */
export interface Peers {
  source: number;
  group: readonly number[];
  /** collective traffic: any member's death dooms it */
  collective: boolean;
}

/**
 * Can a message for this wait come from a peer whose messages arrive where a receive `polls`
 * (shared memory, a polled direct path's sockets)? Not when every possible sender's arrive
 * through the event loop only (ZeroMQ): polling would only hold off the event loop that
 * delivers the message (a 2 ms spin per receive across hosts). Unknown peers (an empty group): yes.
 */
export function mayArriveNearby(peers: Peers, self: number, transport: { polls(rank: number): boolean }): boolean {
  if (peers.source >= 0) return transport.polls(peers.source);
  return peers.group.length === 0 || peers.group.some((rank) => rank !== self && transport.polls(rank));
}

/** A wait that depends on no peer in particular. */
export const ANYONE: Peers = { source: -1, group: [], collective: false };

/** The waits in progress, oldest first: a list linked through the waits (adding and removing allocate nothing). */
export class Waits {
  private oldest: Wait | undefined;
  private newest: Wait | undefined;

  /** List `wait`; `stamp`: note the time now (a receive about to poll notes it only if the poll finds nothing). */
  add(wait: Wait, peers: Peers, stamp = true): void {
    if (stamp && wait.since === 0) wait.since = Date.now();
    wait.peers = peers;
    wait.older = this.newest;
    wait.newer = undefined;
    if (this.newest === undefined) this.oldest = wait;
    else this.newest.newer = wait;
    this.newest = wait;
  }

  delete(wait: Wait): void {
    if (wait.peers === undefined) return;
    if (wait.older === undefined) this.oldest = wait.newer;
    else wait.older.newer = wait.newer;
    if (wait.newer === undefined) this.newest = wait.older;
    else wait.newer.older = wait.older;
    wait.peers = wait.older = wait.newer = undefined;
  }

  private *all(): Generator<Wait> {
    for (let wait = this.oldest; wait !== undefined; wait = wait.newer) yield wait;
  }

  /** The waits that `rank`'s death dooms (`pending`: the wait was already posted when it died). */
  doomedBy(rank: number, pending: boolean): Wait[] {
    return [...this.all()].filter((wait) => dooms(wait.peers!, rank, pending));
  }

  /** What this rank is blocked in, oldest first. */
  describe(): WaitState[] {
    const now = Date.now();
    return [...this.all()].map(({ call, context, source, tag, since }) => ({ call, context, source, tag, seconds: since === 0 ? 0 : (now - since) / 1000 }));
  }
}

/** Does the death of `rank` doom a wait on `peers`? */
export function dooms(peers: Peers, rank: number, pending: boolean): boolean {
  if (peers.source === rank) return true;
  if (!peers.group.includes(rank)) return false;
  return peers.collective || (pending && peers.source === -1);
}
