/**
 * The calls that compare communicators and make them from groups (MPI_Comm_compare,
 * MPI_Comm_idup, MPI_Comm_group, MPI_Comm_create, MPI_Comm_create_group,
 * MPI_Comm_split_type) and COMM_SELF, installed on {@link Comm} here so that communicator.ts
 * stays about the collectives.
 */
import { agree, refusal, type Proposal } from "../collectives/agreement/agree.js";
import { sameColor } from "../collectives/agreement/split.js";
import type { Channel } from "../comm/engine/engine.js";
import { CommEngine } from "../comm/engine/engine.js";
import { Request } from "../comm/engine/request.js";
import type { Runtime } from "../comm/engine/runtime.js";
import { checkTag, describe, UNDEFINED } from "../comm/wire/validate.js";
import { ArgumentError, CollectiveMismatchError, callError } from "../errors.js";
import { backed, Comm } from "./communicator.js";
import { compareMembers, CONGRUENT, Group, IDENT, membersOf } from "./group.js";
import { engineOf } from "./p2p.js";

/** splitType: the ranks that share memory, i.e. a host (MPI_COMM_TYPE_SHARED). */
export const COMM_TYPE_SHARED = 0;

declare module "./communicator.js" {
  interface Comm {
    /**
     * The communicator's group (MPI_Comm_group, mpi4py `comm.group`): its processes in rank
     * order, to make other groups and communicators from. Local; a new {@link Group} each time.
     */
    readonly group: Group;
    /**
     * This process alone (MPI_COMM_SELF, mpi4py `MPI.COMM_SELF`): a communicator of size 1 on
     * which every call works, the same one from every communicator of the process. It cannot be freed.
     * @example
     * ```ts
     * const self = (await init()).self;
     * await self.allreduce(3); // 3
     * ```
     */
    readonly self: Comm;
    /**
     * IDENT (the same communicator), CONGRUENT (same ranks in the same order, other contexts, as
     * after `dup()`), SIMILAR (same processes, another order) or UNEQUAL (MPI_Comm_compare). Local.
     * @throws ArgumentError if `other` is not a communicator
     */
    compare(other: Comm): number;
    /**
     * Duplicate without waiting (MPI_Comm_idup, mpi4py `Idup`): a request whose `wait()` resolves
     * to the new communicator. Collective, like `dup()`: every rank calls it in the same order.
     * @example
     * ```ts
     * const request = comm.idup();
     * const copy = await request.wait();
     * ```
     * @throws ArgumentError if the communicator was freed
     */
    idup(): Request<Comm>;
    /**
     * A communicator of the processes of `group`, in the group's order (MPI_Comm_create).
     * Collective over this communicator: every rank calls it, with the same group or (as MPI-2.2
     * allows) with disjoint groups, each rank passing the one it is in. Ranks outside the group
     * they passed get `undefined` (MPI_COMM_NULL).
     * @example
     * ```ts
     * const firstTwo = await comm.create(comm.group.incl([0, 1])); // undefined on ranks ≥ 2
     * ```
     * @throws ArgumentError (rejects) if `group` is not a group of this communicator's processes
     * @throws CollectiveMismatchError (rejects) if ranks passed overlapping, different groups
     */
    create(group: Group): Promise<Comm | undefined>;
    /**
     * A communicator of the processes of `group` (MPI_Comm_create_group): collective over the
     * group's members only, who all call it with the same group and `tag`; other ranks do not
     * call it. Concurrent calls over overlapping groups must use different tags.
     * @param tag tells apart concurrent createGroup calls @default 0
     * @throws ArgumentError (rejects) if `group` is not a group of this communicator's processes
     *   or does not contain this process, or `tag` is not a tag
     */
    createGroup(group: Group, tag?: number): Promise<Comm>;
    /**
     * Split by kind of shared resource (MPI_Comm_split_type): with COMM_TYPE_SHARED, the ranks
     * that share this rank's host (and memory), ordered by `key` then by rank; UNDEFINED gets
     * `undefined`. Collective. `comm.splitShared()` is `splitType(COMM_TYPE_SHARED)`.
     * @param key orders the ranks of each new communicator @default 0
     * @throws ArgumentError (rejects on this rank, CollectiveMismatchError on the others) if
     *   `splitType` is neither COMM_TYPE_SHARED nor UNDEFINED, or `key` is not a number
     */
    splitType(splitType: number, key?: number): Promise<Comm | undefined>;
  }
}

/** The COMM_SELF of each runtime (one per process): made once, so that its children's contexts never repeat. */
const selves = new WeakMap<Runtime, Comm>();

Object.defineProperties(Comm.prototype, {
  group: {
    get(this: Comm): Group {
      const engine = engineOf(this);
      return new Group(engine.members, engine.runtime.rank);
    },
  },
  self: {
    get(this: Comm): Comm {
      const { runtime, locality } = engineOf(this);
      let self = selves.get(runtime);
      // Context "s": only this process ever sends on it, so it is unique in the job as it is.
      if (self === undefined) selves.set(runtime, (self = new Comm(new CommEngine(runtime, "s", [runtime.rank], locality))));
      return self;
    },
  },
});

Comm.prototype.compare = function compare(this: Comm, other: Comm): number {
  if (!(other instanceof Comm)) throw callError(ArgumentError, "compare", this.rank, `other must be a communicator, got ${describe(other)}`);
  const [mine, theirs] = [engineOf(this), engineOf(other)];
  if (mine === theirs) return IDENT;
  const members = compareMembers(mine.members, theirs.members);
  return members === IDENT ? CONGRUENT : members;
};

Comm.prototype.idup = function idup(this: Comm): Request<Comm> {
  engineOf(this).ensureOpen("idup");
  return new Request(this.dup());
};

/** The ranks in `engine` of `group`'s processes; throws an ArgumentError naming `call` unless each is in it. */
function ranksIn(comm: Comm, call: string, group: unknown): number[] {
  if (!(group instanceof Group))
    throw callError(ArgumentError, call, comm.rank, `group must be a Group (comm.group or one made from it), got ${describe(group)}`);
  const { members } = engineOf(comm);
  return membersOf(group).map((world) => {
    const rank = members.indexOf(world);
    if (rank < 0)
      throw callError(ArgumentError, call, comm.rank, `the group holds world rank ${world}, which is not in this communicator; make the group from comm.group`);
    return rank;
  });
}

/** create's check of every rank's group: each rank of a group passed that group, and different groups do not overlap. */
function checkGroups(ch: Channel, all: ReadonlyArray<{ ranks: number[] }>): void {
  const show = (ranks: readonly number[]) => `[${ranks.join(", ")}]`;
  all.forEach(({ ranks }, passer) => {
    for (const member of ranks) {
      const theirs = all[member]!.ranks;
      if (show(theirs) !== show(ranks)) {
        const why = `rank ${passer} passed a group ${show(ranks)} (ranks of this communicator) that holds rank ${member}, which passed ${show(theirs)}`;
        throw callError(CollectiveMismatchError, ch.call, ch.rank, `${why}; pass the same group everywhere, or disjoint groups, each rank the one it is in`);
      }
    }
  });
}

Comm.prototype.create = async function create(this: Comm, group: Group): Promise<Comm | undefined> {
  const engine = engineOf(this);
  engine.ensureOpen("create");
  const ch = engine.channel("create");
  let mine: Proposal<{ ranks: number[] }>;
  try {
    mine = { ranks: ranksIn(this, "create", group) };
  } catch (error) {
    mine = { error: (error as Error).message };
  }
  const all = await agree(ch, mine);
  checkGroups(ch, all);
  const { ranks } = all[this.rank]!;
  // Every rank takes one child id, in a group or not; disjoint groups differ in their first rank.
  const child = engine.child(
    `:g${ranks[0] ?? ""}`,
    ranks.map((r) => engine.members[r]!),
  );
  return ranks.includes(this.rank) ? backed(new Comm(child)) : undefined;
};

Comm.prototype.createGroup = async function createGroup(this: Comm, group: Group, tag = 0): Promise<Comm> {
  const engine = engineOf(this);
  engine.ensureOpen("createGroup");
  const ranks = ranksIn(this, "createGroup", group);
  checkTag({ call: "createGroup", rank: this.rank, size: this.size }, tag);
  if (!ranks.includes(this.rank)) {
    throw callError(
      ArgumentError,
      "createGroup",
      this.rank,
      "this rank is not in the group; only the group's members call createGroup (every rank calls create(group))",
    );
  }
  return backed(
    new Comm(
      engine.groupChild(
        tag,
        ranks.map((r) => engine.members[r]!),
      ),
    ),
  );
};

Comm.prototype.splitType = async function splitType(this: Comm, type: number, key = 0): Promise<Comm | undefined> {
  const engine = engineOf(this);
  engine.ensureOpen("splitType");
  const ch = engine.channel("splitType");
  const color = type === COMM_TYPE_SHARED ? engine.locality.node : UNDEFINED;
  const mine =
    (type === COMM_TYPE_SHARED || type === UNDEFINED) && Number.isFinite(key)
      ? ([color, key] as [number, number])
      : refusal(ch, `splitType must be COMM_TYPE_SHARED or UNDEFINED and key a number, got splitType ${describe(type)}, key ${describe(key)}`);
  const all = await agree(ch, mine);
  const ranks = color < 0 ? [] : sameColor(all, color);
  const child = engine.child(
    `:t${color}`,
    ranks.map((r) => engine.members[r]!),
  );
  return color < 0 ? undefined : backed(new Comm(child));
};
