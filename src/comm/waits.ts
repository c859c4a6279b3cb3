/**
 * What this rank is blocked in, and which peers each wait depends on: for hang reports, and
 * so that a peer's death fails exactly the waits it dooms.
 */

/** One operation a rank is blocked in, as a hang report shows it. */
export interface WaitState {
  call: string;
  /** communicator context id ("w" is the world; a trailing "!" marks collective traffic) */
  context: string;
  source: number;
  tag: number;
  seconds: number;
}

/** A blocked operation; the object itself is the token that cancels it. */
export interface Wait {
  call: string;
  context: string;
  source: number;
  tag: number;
  /** Date.now() when it began (cheaper than performance.now() on every receive; hang reports count seconds). */
  since: number;
  /** Set when the message it waits for is there (see matching.ts). */
  done?: boolean;
}

/** Whom a receive depends on, in world ranks: its source (-1: any), and its communicator's members. */
export interface Peers {
  source: number;
  group: readonly number[];
  /** collective traffic: any member's death dooms it */
  collective: boolean;
}

/**
 * Can a message for this wait come from a peer whose messages arrive `nearby` (through the
 * shared memory a receive polls)? Not when every possible sender is on another host: polling
 * would only hold off the event loop that delivers the message (a 2 ms spin per receive across
 * hosts). Unknown peers (an empty group): yes.
 */
export function mayArriveNearby(peers: Peers, self: number, nearby: (rank: number) => boolean): boolean {
  if (peers.source >= 0) return nearby(peers.source);
  return peers.group.length === 0 || peers.group.some((rank) => rank !== self && nearby(rank));
}

/** A wait that depends on no peer in particular. */
export const ANYONE: Peers = { source: -1, group: [], collective: false };

export class Waits {
  private readonly waits = new Map<Wait, Peers>();

  add(wait: Wait, peers: Peers): void {
    this.waits.set(wait, peers);
  }

  delete(wait: Wait): void {
    this.waits.delete(wait);
  }

  /** The waits that `rank`'s death dooms (`pending`: the wait was already posted when it died). */
  doomedBy(rank: number, pending: boolean): Wait[] {
    return [...this.waits].filter(([, peers]) => dooms(peers, rank, pending)).map(([wait]) => wait);
  }

  /** What this rank is blocked in, oldest first. */
  describe(): WaitState[] {
    const now = Date.now();
    return [...this.waits.keys()].map(({ call, context, source, tag, since }) => ({ call, context, source, tag, seconds: (now - since) / 1000 }));
  }
}

/** Does the death of `rank` doom a wait on `peers`? */
export function dooms(peers: Peers, rank: number, pending: boolean): boolean {
  if (peers.source === rank) return true;
  if (!peers.group.includes(rank)) return false;
  return peers.collective || (pending && peers.source === -1);
}
