/**
 * The two tiers of a communicator spread over several hosts: the ranks of each host among
 * themselves (shared memory where the host has it), and one representative per host over the
 * network. The members' hosts are learnt once per communicator, by an allgather in its first
 * collective that spans hosts, and kept (Channel.tiers); every member decides alike.
 *
 * A {@link Lane} over a tier is a view of the call's channel with its ranks renumbered: the
 * message algorithms of network/ run on it unchanged. Every pair of ranks meets in the tiers in
 * the same order on both sides, so one channel (one tag) serves every step of the call.
 */
import type { Channel, Tiers } from "../../comm/engine/engine.js";
import type { TypedArray } from "../../comm/wire/values.js";
import type { Lane } from "../collective-protocol.js";
import { bruck } from "../network/bruck.js";

export type { Tiers };

/** The tiers of `nodes` (each member's host), or null when every host holds one rank or all share one host (flat algorithms serve). */
export function tiersOf(nodes: readonly number[]): Tiers | null {
  const hostIndex = new Map<number, number>();
  const hosts: number[][] = [];
  const hostOf = nodes.map((node, rank) => {
    let h = hostIndex.get(node);
    if (h === undefined) hostIndex.set(node, (h = hosts.push([]) - 1));
    hosts[h]!.push(rank);
    return h;
  });
  if (hosts.length < 2 || hosts.length === nodes.length) return null;
  const indexOf = hostOf.map((h, rank) => hosts[h]!.indexOf(rank));
  const contiguous = hostOf.every((h, rank) => rank === 0 || h === hostOf[rank - 1] || h === hostOf[rank - 1]! + 1);
  return { hosts, hostOf, indexOf, contiguous };
}

/** The tiers of `ch`'s communicator (collective the first time: an allgather of the members' hosts), or null. */
export function tiers(ch: Channel): Tiers | null | Promise<Tiers | null> {
  const known = ch.tiers;
  if (known !== undefined) return known;
  const learnt = bruck(ch, ch.node).then((nodes) => (ch.tiers = tiersOf(nodes)));
  ch.tiers = learnt;
  return learnt;
}

/** `ch` seen through `members` (ranks of `ch`, in their new order): a lane whose rank r is `members[r]`. */
export function lane(ch: Lane, members: readonly number[]): Lane {
  return {
    call: ch.call,
    rank: members.indexOf(ch.rank),
    size: members.length,
    send: (dest: number, value: unknown) => ch.send(members[dest]!, value),
    recv: <T>(source: number, into?: TypedArray) => ch.recv<T>(members[source]!, into),
  };
}

/** The ranks of this rank's host, as a lane. */
export function hostLane(ch: Lane, t: Tiers): Lane {
  return lane(ch, t.hosts[t.hostOf[ch.rank]!]!);
}

/**
 * The ranks of this rank's index on every host, in host order, as a lane: undefined unless
 * every host holds as many ranks (then the columns pair every rank with one on each other host).
 */
export function columnLane(ch: Lane, t: Tiers): Lane | undefined {
  const count = t.hosts[0]!.length;
  if (t.hosts.some((ranks) => ranks.length !== count)) return undefined;
  const index = t.indexOf[ch.rank]!;
  return lane(
    ch,
    t.hosts.map((ranks) => ranks[index]!),
  );
}

/**
 * One rank per host: the root on its host (rooted calls), each other host's leader (its lowest
 * rank). @returns the representatives and this rank's lane over them (undefined if it is none).
 */
export function representatives(ch: Lane, t: Tiers, root = 0): { reps: number[]; leaders: Lane | undefined } {
  const reps = t.hosts.map((ranks, h) => (h === t.hostOf[root] ? root : ranks[0]!));
  return { reps, leaders: reps[t.hostOf[ch.rank]!] === ch.rank ? lane(ch, reps) : undefined };
}

/** Values of each host, in host order then rank order on the host, put back in rank order. */
export function inRankOrder<T>(t: Tiers, byHost: ReadonlyArray<readonly T[]>): T[] {
  return t.hostOf.map((h, rank) => byHost[h]![t.indexOf[rank]!]!);
}
