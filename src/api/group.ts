/**
 * Groups of processes (MPI_Group, mpi4py `MPI.Group`): an ordered set of processes, made from a
 * communicator (`comm.group`) and from other groups, with no communication. Communicators are
 * made from one with `comm.create(group)` and `comm.createGroup(group)` (api/create.ts). A
 * group holds world ranks, so groups of different communicators compare and translate.
 */
import { ArgumentError, callError } from "../errors.js";
import { describe, PROC_NULL, UNDEFINED } from "../comm/wire/validate.js";

/** Same members in the same order; for communicators, the same communicator (MPI_IDENT). */
export const IDENT = 0;
/** Communicators with the same members in the same order but different contexts, as after `dup()` (MPI_CONGRUENT). */
export const CONGRUENT = 1;
/** The same members in another order (MPI_SIMILAR). */
export const SIMILAR = 2;
/** Different members (MPI_UNEQUAL). */
export const UNEQUAL = 3;

/**
 * @internal The world ranks of a group, for the api modules that make communicators from one.
 * Not exported from the package.
 */
export let membersOf: (group: Group) => readonly number[];

/**
 * An ordered set of processes (MPI_Group). Get one from `comm.group`; make others with
 * {@link Group.incl}, {@link Group.excl}, {@link Group.union}, {@link Group.intersection} and
 * {@link Group.difference}. Every method is local (no communication) and returns a new group.
 *
 * @example
 * ```ts
 * const world = await init();
 * const evens = world.group.incl([...Array(Math.ceil(world.size / 2)).keys()].map((i) => 2 * i));
 * const comm = await world.create(evens); // undefined on odd ranks
 * evens.translateRanks([0, 1], world.group); // [0, 2]
 * ```
 */
export class Group {
  /** This process's rank in the group, or UNDEFINED if it is not a member (MPI_Group_rank). */
  readonly rank: number;
  /** Number of processes in the group (MPI_Group_size). */
  readonly size: number;
  readonly #members: readonly number[];
  /** This process's world rank (for `rank` of the groups made from this one, and error messages). */
  readonly #self: number;

  static {
    membersOf = (group) => group.#members;
  }

  /** @internal Use `comm.group`. */
  constructor(members: readonly number[], self: number) {
    this.#members = Object.freeze([...members]);
    this.#self = self;
    this.size = members.length;
    const at = members.indexOf(self);
    this.rank = at < 0 ? UNDEFINED : at;
  }

  /**
   * The group of the listed members of this group, in the order listed (MPI_Group_incl).
   * @param ranks distinct ranks of this group, in [0, size)
   * @throws ArgumentError if a rank is out of range or repeated
   */
  incl(ranks: readonly number[]): Group {
    this.#checkRanks("incl", ranks);
    return this.#make(ranks.map((r) => this.#members[r]!));
  }

  /**
   * This group without the listed members, the others in their order (MPI_Group_excl).
   * @param ranks distinct ranks of this group, in [0, size)
   * @throws ArgumentError if a rank is out of range or repeated
   */
  excl(ranks: readonly number[]): Group {
    const gone = new Set(this.#checkRanks("excl", ranks));
    return this.#make(this.#members.filter((_, r) => !gone.has(r)));
  }

  /**
   * The members at the ranks of `ranges`, each `[first, last, stride]` (last included), in
   * order (MPI_Group_range_incl, mpi4py `Range_incl`).
   * @example
   * ```ts
   * world.group.rangeIncl([[0, world.size - 1, 2]]); // the even ranks
   * ```
   * @throws ArgumentError for a range that is not three integers with a non-zero stride, or
   *   ranks out of range or repeated
   */
  rangeIncl(ranges: ReadonlyArray<readonly [number, number, number]>): Group {
    return this.#make(this.#checkRanks("rangeIncl", this.#expand("rangeIncl", ranges)).map((r) => this.#members[r]!));
  }

  /** This group without the members at the ranks of `ranges` (`[first, last, stride]`), the others in order (MPI_Group_range_excl). */
  rangeExcl(ranges: ReadonlyArray<readonly [number, number, number]>): Group {
    const gone = new Set(this.#checkRanks("rangeExcl", this.#expand("rangeExcl", ranges)));
    return this.#make(this.#members.filter((_, r) => !gone.has(r)));
  }

  /** The ranks of `[first, last, stride]` ranges, unchecked against the group's size (checkRanks does that). */
  #expand(call: string, ranges: unknown): number[] {
    const ok = (r: unknown) => Array.isArray(r) && r.length === 3 && r.every(Number.isInteger) && r[2] !== 0 && Math.abs((r[1] - r[0]) / r[2]) <= this.size;
    if (!Array.isArray(ranges) || !ranges.every(ok)) {
      throw callError(
        ArgumentError,
        call,
        this.#self,
        `ranges must be an array of [first, last, stride] integer triples with stride ≠ 0, got ${describe(ranges)}`,
      );
    }
    return (ranges as Array<[number, number, number]>).flatMap(([first, last, stride]) => {
      const ranks: number[] = [];
      for (let r = first; stride > 0 ? r <= last : r >= last; r += stride) ranks.push(r);
      return ranks;
    });
  }

  /** This group's members, then `other`'s that are not in it (MPI_Group_union). */
  union(other: Group): Group {
    const mine = new Set(this.#members);
    return this.#make([...this.#members, ...this.#other("union", other).filter((m) => !mine.has(m))]);
  }

  /** This group's members that are also in `other`, in this group's order (MPI_Group_intersection). */
  intersection(other: Group): Group {
    const theirs = new Set(this.#other("intersection", other));
    return this.#make(this.#members.filter((m) => theirs.has(m)));
  }

  /** This group's members that are not in `other`, in this group's order (MPI_Group_difference). */
  difference(other: Group): Group {
    const theirs = new Set(this.#other("difference", other));
    return this.#make(this.#members.filter((m) => !theirs.has(m)));
  }

  /**
   * The ranks in `other` of the processes at `ranks` in this group (MPI_Group_translate_ranks):
   * UNDEFINED for a process that is not in `other`, PROC_NULL for PROC_NULL.
   * @example
   * ```ts
   * const sub = world.group.excl([0]);
   * sub.translateRanks([0], world.group); // [1]
   * world.group.translateRanks([0, 1], sub); // [UNDEFINED, 0]
   * ```
   * @param ranks ranks of this group, in [0, size), or PROC_NULL (repeats allowed)
   * @throws ArgumentError if a rank is out of range or `other` is not a Group
   */
  translateRanks(ranks: readonly number[], other: Group): number[] {
    const theirs = this.#other("translateRanks", other);
    this.#checkRanks("translateRanks", ranks, true);
    const where = new Map(theirs.map((m, r) => [m, r]));
    return ranks.map((r) => (r === PROC_NULL ? PROC_NULL : (where.get(this.#members[r]!) ?? UNDEFINED)));
  }

  /** IDENT (same members, same order), SIMILAR (same members, another order) or UNEQUAL (MPI_Group_compare). */
  compare(other: Group): number {
    return compareMembers(this.#members, this.#other("compare", other));
  }

  #make(members: readonly number[]): Group {
    return new Group(members, this.#self);
  }

  #other(call: string, other: unknown): readonly number[] {
    if (other instanceof Group) return other.#members;
    throw callError(ArgumentError, call, this.#self, `other must be a Group (from comm.group or a Group method), got ${describe(other)}`);
  }

  /** Throw unless `ranks` are integers in [0, size) (or PROC_NULL if `procNull`), distinct unless `procNull`. */
  #checkRanks(call: string, ranks: unknown, procNull = false): readonly number[] {
    const valid = (r: unknown) => Number.isInteger(r) && (((r as number) >= 0 && (r as number) < this.size) || (procNull && r === PROC_NULL));
    const list = Array.isArray(ranks) ? `[${ranks.map(describe).join(", ")}]` : describe(ranks);
    if (!Array.isArray(ranks) || !ranks.every(valid)) {
      throw callError(
        ArgumentError,
        call,
        this.#self,
        `ranks must be an array of ranks of the group, in [0, ${this.size})${procNull ? " or PROC_NULL" : ""}, got ${list}`,
      );
    }
    if (!procNull && new Set(ranks).size !== ranks.length) {
      throw callError(ArgumentError, call, this.#self, `ranks must not repeat a rank, got ${list}; list each member once`);
    }
    return ranks as number[];
  }
}

/** IDENT, SIMILAR or UNEQUAL for two member lists (groups; communicators add CONGRUENT). */
export function compareMembers(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) return UNEQUAL;
  if (a.every((m, i) => m === b[i])) return IDENT;
  const set = new Set(a);
  return b.every((m) => set.has(m)) ? SIMILAR : UNEQUAL;
}
