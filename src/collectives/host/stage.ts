/**
 * The stage: one shared segment per communicator whose ranks all live on one host, for arrays
 * too large for the board's slots (bcast, allgatherv, allreduce). Each rank copies its data there once
 * and every rank copies what it needs straight out, as MPI's single-copy shared-memory
 * collectives do: at n = 4, allgatherv of 8 MiB per rank moved each block through a ring
 * (two copies per block and receiver) and took 3.2 times mpi4py's time.
 *
 * The stage is mapped by the first collective that needs it (collective: every rank knows
 * every length from the board, so all decide alike) and kept for the next ones; a larger need
 * maps a larger one and lets the old one go, up to STAGE_MAX: larger data goes through in
 * rounds, so a 1 GiB allreduce maps no more than a 64 MiB one. After SHRINK_AFTER calls in a
 * row that need four times less, it shrinks to what they need; Comm.free lets go of it. Board barriers, which every member
 * calls at the same points of the running collective, order the copies: in, barrier, out.
 * The stage's two halves take turns (each staged round uses the other half than the last), so
 * that no second barrier has to keep the next round or collective from writing over what a
 * rank still reads: a member writes a half again only after the barrier of the turn between,
 * which every member reaches after its reads. One barrier fewer per call: on 2 cores a
 * barrier waits, more often than any copy, for a peer the scheduler has put aside.
 */
import type { Board } from "../../comm/transport/shm/board-memory.js";
import { CTORS } from "../../comm/wire/arrays.js";
import type { TypedArray } from "../../comm/wire/values.js";
import { TransportError } from "../../errors.js";
import { evenCounts, resultArray } from "../counts.js";
import { layout, type Block, type Described } from "./blocks.js";
import { checkInto, put } from "../../comm/engine/into.js";
import { agreement } from "./on-board.js";
import { combine, grain, type Op } from "../ops.js";
import type { Channel } from "../collective-protocol.js";

const PAGE = 4096;
/** The most a communicator's stage maps (bytes): larger data goes through it in rounds. */
export const STAGE_MAX = 64 * 1024 * 1024;

/**
 * Staged calls in a row that need a quarter of the stage or less before it shrinks: a one-off
 * large call does not hold its stage for the rest of the job, and a loop that alternates a
 * large call and small ones does not map a stage per call.
 */
const SHRINK_AFTER = 16;

/** The communicator's stage (see Board.stage). */
type Stage = NonNullable<Board["stage"]>;

/**
 * A stage whose halves hold at least `bytes` each (the mapping at most STAGE_MAX) for
 * `board`'s communicator (collective), or undefined if shared memory cannot be mapped (then on
 * every rank: use messages). Every member sees the same needs in the same order, so all map,
 * keep or shrink alike. A new mapping is agreed over messages by every member, which therefore
 * all read the old one no more.
 */
async function stageOf(ch: Channel, board: Board, bytes: number): Promise<Stage | undefined> {
  const need = Math.min(2 * bytes, STAGE_MAX);
  const have = board.stage;
  const size = have?.bytes.byteLength ?? 0;
  if (have !== undefined && size >= need) {
    have.small = size > 4 * Math.max(need, PAGE) ? have.small + 1 : 0;
    if (have.small < SHRINK_AFTER) return have;
  }
  have?.release();
  board.stage = undefined;
  // Growing: double, so that a series of growing calls maps O(log) times; shrinking: what is needed.
  const grown = Math.ceil(Math.min(STAGE_MAX, Math.max(need, size < need ? 2 * size : 0)) / PAGE) * PAGE;
  try {
    const mapped = await ch.onHost!.map({ group: agreement(ch), call: ch.call, bytes: grown, name: "tsmpi-stage" });
    return (board.stage = { bytes: new Uint8Array(mapped.buffer, 0, grown), release: mapped.release, small: 0, turns: 0 });
  } catch (error) {
    if (error instanceof TransportError) return undefined;
    throw error;
  }
}

/** The half of `stage` for the next staged round (the same on every member: all count the same turns). */
function turn(stage: Stage): Uint8Array {
  const half = stage.bytes.byteLength / 2; // pages: a multiple of 2048, so element-aligned
  const at = (stage.turns++ & 1) * half;
  return stage.bytes.subarray(at, at + half);
}

/** The bytes of `array`. */
const bytesOf = (array: TypedArray): Uint8Array => new Uint8Array(array.buffer, array.byteOffset, array.byteLength);

/** Elements per round (a turn: half the stage at most) for `areas` areas of `unit`-byte elements, and `length` elements in all. */
const perRound = (length: number, areas: number, unit: number): number => Math.max(1, Math.min(length, Math.floor(STAGE_MAX / (2 * areas * unit))));

/** A staged call: the board whose barriers order it, its channel, and the stage. */
interface Staging {
  board: Board;
  ch: Channel;
  stage: Stage;
}

/**
 * Through the stage (its half for this turn): this rank's `mine` is copied to element `at` of
 * it; once every rank has done the same, each (from, length, to) of `reads` copies stage
 * elements [from, from + length) to `out` at element `to`.
 */
async function throughStage(
  { board, ch, stage }: Staging,
  mine: TypedArray,
  at: number,
  reads: Array<[from: number, length: number, to: number]>,
  out: TypedArray,
): Promise<void> {
  const unit = mine.BYTES_PER_ELEMENT;
  const half = turn(stage);
  half.set(bytesOf(mine), at * unit);
  await board.barrier(ch.call);
  const target = bytesOf(out);
  for (const [from, length, to] of reads) target.set(half.subarray(from * unit, (from + length) * unit), to * unit);
}

/**
 * allreduce of `value` through the stage, in rounds of at most half of STAGE_MAX: each round, every
 * member's part goes in; each member reduces its share of the part's elements (an even split)
 * over all members in rank order, into the stage's result area; then every member copies the
 * result out. Each element is reduced once, in rank order, so every member gets the same bits
 * (as on the board's slots); each round on a half of its own (see {@link turn}). @returns the
 * result: `into` when it fits, else a new array; undefined if no stage can be mapped (on every
 * member alike: use messages).
 */
export async function allreduceStaged(board: Board, ch: Channel, value: TypedArray, op: Op, into: unknown): Promise<TypedArray | undefined> {
  const { length, BYTES_PER_ELEMENT: unit } = value;
  // Rounds and shares keep pairs (MINLOC, complex) whole.
  const most = perRound(length, ch.size + 1, unit);
  const chunk = Math.max(grain(op), most - (most % grain(op)));
  const stage = await stageOf(ch, board, (ch.size + 1) * chunk * unit);
  if (stage === undefined) return undefined;
  const out = resultArray(into, value.constructor, length);
  for (let lo = 0; lo < length; lo += chunk) {
    const count = Math.min(chunk, length - lo);
    await reduceRound(board, ch, turn(stage), value.subarray(lo, lo + count), op, out.subarray(lo, lo + count));
  }
  return out;
}

/**
 * One round of {@link allreduceStaged} on `stage` (this turn's half): `part` in (areas of
 * `part.length` elements, one per member, then the result's), barrier, this member's share
 * reduced, barrier, result out.
 */
async function reduceRound(board: Board, ch: Channel, stage: Uint8Array, part: TypedArray, op: Op, out: TypedArray): Promise<void> {
  const { rank, size } = ch;
  const { length, BYTES_PER_ELEMENT: unit } = part;
  const Ctor = part.constructor as new (buffer: ArrayBufferLike, offset: number, length: number) => TypedArray;
  const at = (member: number, from: number, count: number): TypedArray => new Ctor(stage.buffer, stage.byteOffset + (member * length + from) * unit, count);
  stage.set(bytesOf(part), rank * length * unit);
  await board.barrier(ch.call);
  const counts = evenCounts(length, size, grain(op));
  let from = 0;
  for (let r = 0; r < rank; r++) from += counts[r]!;
  const share = at(size, from, counts[rank]!);
  bytesOf(share).set(bytesOf(at(0, from, counts[rank]!)));
  for (let r = 1; r < size; r++) combine(op, share, at(r, from, counts[rank]!), true);
  await board.barrier(ch.call);
  bytesOf(out).set(stage.subarray(size * length * unit, (size + 1) * length * unit));
}

/**
 * bcast of an array of `length` elements of `kind` (the root's `value`) through the stage, in
 * rounds of at most half of STAGE_MAX: the root copies each part in once and every other member copies
 * it out, into `into` when it fits (a binomial tree of messages copied the root's array through
 * a ring per level: at n = 4, 8 MiB took 2.3 times mpi4py's time). @returns the root's `value`
 * on the root, else the array read (the caller lands it in `into`); undefined if no stage can
 * be mapped (on every member alike).
 */
export async function bcastStaged(board: Board, ch: Channel, value: unknown, root: number, array: Described, into: unknown): Promise<unknown> {
  const { length, kind } = array;
  const Ctor = CTORS[kind]!;
  const chunk = perRound(length, 1, Ctor.BYTES_PER_ELEMENT);
  const stage = await stageOf(ch, board, chunk * Ctor.BYTES_PER_ELEMENT);
  if (stage === undefined) return undefined;
  const out = ch.rank === root ? (value as TypedArray) : resultArray(into, Ctor, length);
  const none = new Ctor(0);
  const staging = { board, ch, stage };
  for (let lo = 0; lo < length; lo += chunk) {
    const count = Math.min(chunk, length - lo);
    if (ch.rank === root) await throughStage(staging, out.subarray(lo, lo + count), 0, [], none);
    else await throughStage(staging, none, 0, [[0, count, 0]], out.subarray(lo, lo + count));
  }
  return out;
}

/**
 * allgatherv through the stage, in rounds over windows of at most half of STAGE_MAX of the result:
 * each member copies in the part of its block inside the window, and out the others' parts.
 * @returns the result (`into` when it fits), or undefined if no stage can be mapped (on every
 * member alike).
 */
export async function allgathervStaged<T extends TypedArray>(board: Board, ch: Channel, array: T, blocks: Block[], into?: T): Promise<T | undefined> {
  const { out, offsets, total } = layout(ch, array, blocks, into);
  const chunk = perRound(total, 1, array.BYTES_PER_ELEMENT);
  const stage = await stageOf(ch, board, chunk * array.BYTES_PER_ELEMENT);
  if (stage === undefined) return undefined;
  put(out, array, offsets[ch.rank]);
  for (let lo = 0; lo < total; lo += chunk) {
    const hi = Math.min(total, lo + chunk);
    // The part of member r's block in [lo, hi): [start, end) of the result.
    const part = (r: number): [number, number] => [Math.max(lo, offsets[r]!), Math.min(hi, offsets[r]! + blocks[r]!.length)];
    const reads: Array<[number, number, number]> = [];
    for (let r = 0; r < ch.size; r++) {
      const [start, end] = part(r);
      if (r !== ch.rank && end > start) reads.push([start - lo, end - start, start]);
    }
    const [start, end] = part(ch.rank);
    const inside = end > start;
    await throughStage(
      { board, ch, stage },
      array.subarray(inside ? start - offsets[ch.rank]! : 0, inside ? end - offsets[ch.rank]! : 0),
      inside ? start - lo : 0,
      reads,
      out,
    );
  }
  if (into !== undefined) checkInto(ch, into, array, total);
  return out;
}

/**
 * alltoallv through the stage, once every member described its array on the board ([counts,
 * kind, …]): each member copies its whole array into its own area, and every member copies its
 * block out of each other's area straight into place (`blocks`: each member's block for this
 * rank, this rank's own at hand), on this turn's half of the stage. The barrier is passed
 * whatever happened here (a type mismatch, an `into` that does not fit), so that nobody waits
 * for a member that gave up. @returns the result (`into` when it fits), or undefined if the
 * areas need more than half of STAGE_MAX or no stage can be mapped (on every member alike).
 */
export async function alltoallvStaged<T extends TypedArray>(board: Board, ch: Channel, array: T, blocks: Block[], into?: T): Promise<T | undefined> {
  // Read off the board now: its barriers below move on to other slots.
  const counts: Int32Array[] = [];
  const areas: number[] = [];
  let bytes = 0;
  for (let s = 0; s < ch.size; s++) {
    areas.push(bytes);
    counts.push(board.read(s, 0) as Int32Array);
    let sent = 0;
    for (const count of counts[s]!) sent += count;
    bytes += Math.ceil((sent * CTORS[board.read(s, 1) as number]!.BYTES_PER_ELEMENT) / 64) * 64;
  }
  const staged = 2 * bytes <= STAGE_MAX ? await stageOf(ch, board, bytes) : undefined;
  if (staged === undefined) return undefined;
  const stage = turn(staged);
  let failure: unknown;
  let placed: ReturnType<typeof layout<T>> | undefined;
  try {
    placed = layout(ch, array, blocks, into);
  } catch (error) {
    failure = error;
  }
  copyIn(stage, areas[ch.rank]!, counts[ch.rank]!, array, ch.rank);
  await board.barrier(ch.call);
  if (placed !== undefined) copyOut(ch.rank, stage, areas, counts, placed, blocks);
  if (failure !== undefined) throw failure;
  if (into !== undefined) checkInto(ch, into, array, placed!.total);
  return placed!.out;
}

/** {@link alltoallvStaged}'s reads: member s's block for `rank` sits in s's area after s's blocks for lower ranks. */
function copyOut(
  rank: number,
  stage: Uint8Array,
  areas: number[],
  counts: Int32Array[],
  { out, offsets }: { out: TypedArray; offsets: number[] },
  blocks: Block[],
): void {
  const unit = out.BYTES_PER_ELEMENT;
  const target = bytesOf(out);
  for (let s = 0; s < blocks.length; s++) {
    const block = blocks[s]!;
    if (s === rank) {
      put(out, block as TypedArray, offsets[s]);
      continue;
    }
    let displacement = 0;
    for (let r = 0; r < rank; r++) displacement += counts[s]![r]!;
    const from = areas[s]! + displacement * unit;
    target.set(stage.subarray(from, from + block.length * unit), offsets[s]! * unit);
  }
}

/** This member's blocks for the others into its area (each at its displacement; its own stays out). */
function copyIn(stage: Uint8Array, area: number, counts: Int32Array, array: TypedArray, rank: number): void {
  const unit = array.BYTES_PER_ELEMENT;
  const bytes = bytesOf(array);
  let at = 0;
  for (let r = 0; r < counts.length; r++) {
    const length = counts[r]! * unit;
    if (r !== rank) stage.set(bytes.subarray(at, at + length), area + at);
    at += length;
  }
}
