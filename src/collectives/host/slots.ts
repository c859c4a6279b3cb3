/**
 * Bcast, allreduce, allgather(v) and alltoall(v) on the communicator's board (all its ranks on
 * one host; the dispatchers pick these through host/on-board.ts): each rank writes its part
 * once, and the others read it there, with no message. Values that do not fit a slot (or are
 * not typed arrays or numbers) fall back, on every rank alike, to the message algorithms.
 */
import { AHEAD, FALLBACK, type Board } from "../../comm/transport/shm/board-memory.js";
import { CTORS, arrayKind, isTypedArray } from "../../comm/wire/arrays.js";
import type { TypedArray } from "../../comm/wire/values.js";
import type { PeerMemory } from "../../comm/transport/shm/on-host.js";
import { describe } from "../../comm/wire/validate.js";
import { OpError } from "../../errors.js";
import { bruck, bruckAllgatherv } from "../network/bruck.js";
import { pairwiseAlltoall, pairwiseAlltoallv } from "../network/pairwise.js";
import { checkArray, concat, displacements, holds, sameType } from "../counts.js";
import { binomialBcast } from "../network/binomial.js";
import { allgathervStaged, allreduceStaged, alltoallvStaged, bcastStaged } from "./stage.js";
import { apartFrom, atHand, blocksFor, largestDescribed, layout, type Block } from "./blocks.js";
import { allgathervRead, alltoallvRead, bcastRead, readsFor, whereabouts } from "./single-copy.js";
import { apart, checkInto, land, put } from "../../comm/engine/into.js";
import { checkOperand, combine, type Op } from "../ops.js";
import { collectiveGuard, settle, type Channel, type CollectiveFailure } from "../collective-protocol.js";
import { messageAllreduce } from "../network/reductions.js";

/** A value a board slot holds: a number or a typed array (not a Buffer, which must come back a Buffer). */
const boardable = (value: unknown): boolean => typeof value === "number" || arrayKind(value) > 0;

/** A board value the caller may keep: numbers as they are, arrays copied off the board. */
const keep = <T>(value: TypedArray | number): T => (typeof value === "number" ? value : value.slice()) as T;

/** Each member's value `index` of its slot, copied off the board (this rank's: `own`, as it is). */
function keptFrom<T>(board: Board, ch: Channel, own: T, index: number): T[] {
  // A loop, not Array.from with a map function: in blocksFor that cost 0.4 µs of a 0.7 µs allgatherv.
  const values: T[] = [];
  for (let r = 0; r < ch.size; r++) values.push(r === ch.rank ? own : keep<T>(board.read(r, index)));
  return values;
}

/** `next()` once `wait` is over: at once if there is nothing to wait for (the usual case: no promise, no microtask). */
const after = <T>(wait: Promise<void> | undefined, next: () => T | Promise<T>): T | Promise<T> => (wait === undefined ? next() : wait.then(next));

/**
 * Single copy for a bcast of `bytes` that does not fit a slot: at n = 2 at any size (the one
 * reader's copy is the whole cost; the stage adds the root's copy and a barrier, and messages
 * went through the ring at 331-732 µs per call for 64-512 KiB in osu_bcast against 29-50 by
 * single copy), else from {@link readsFor}'s threshold.
 */
const bcastReads = (board: Board, bytes: number): PeerMemory | undefined => (board.size === 2 ? board.reads : readsFor(board, bytes));

/** Bcast on the board (root checked): a value that fits a slot is read there; a larger array through single copy or the stage. */
export function boardBcast<T>(board: Board, ch: Channel, value: T, root: number, into?: T): T | Promise<T> {
  const finish = (fits: boolean): T | Promise<T> => {
    if (!fits) return binomialBcast(ch, value, root, into);
    const data = ch.rank === root ? value : board.read(root, 0);
    if (into !== undefined) return land(ch, into, data);
    return ch.rank === root ? value : keep<T>(data as TypedArray | number);
  };
  // An array too large for the slot is described there (length, kind, and where it sits if the
  // members may read each other's memory), then read from the root's memory or through the stage.
  // (`reads`: the board's agreed single copy, asked of large arrays only; a refused read redoes it through the stage.)
  const staged = async (length: number, kind: number, memory: PeerMemory | undefined): Promise<T> => {
    const array = { length, kind };
    const viaStage = () => bcastStaged(board, ch, value, root, array, into);
    const data = await (memory ? bcastRead({ board, ch, memory }, value, root, array, into, viaStage) : viaStage());
    if (data === undefined) return binomialBcast(ch, value, root, into);
    return into !== undefined ? land(ch, into, data as T) : (data as T);
  };
  // A small value may run far ahead of the readers; a larger one only AHEAD (see board.ts).
  const ahead = typeof value === "number" || (ArrayBuffer.isView(value) && value.byteLength <= 1024) ? undefined : AHEAD;
  if (ch.rank === root)
    return after(board.next(ch.call, true, ahead), () => {
      // Without single copy, at n = 2 one ring moves the array with the copies in and out
      // overlapping: faster than the stage's two in turn.
      const whole = !boardable(value) || board.fits([value]);
      const reads = whole ? undefined : bcastReads(board, (value as TypedArray).byteLength);
      if (whole || (ch.size === 2 && !reads)) return finish(board.publish(boardable(value) ? [value] : FALLBACK));
      const { length } = value as TypedArray,
        kind = arrayKind(value);
      board.publish([length, kind, ...(reads ? whereabouts(reads, value as TypedArray) : [])], true);
      return staged(length, kind, reads);
    });
  board.next(ch.call, false);
  board.publish();
  return after(board.from(root), () => {
    if (!board.described(root)) return finish(!board.fellBack(root));
    const length = board.read(root, 0) as number,
      kind = board.read(root, 1) as number;
    return staged(length, kind, bcastReads(board, length * CTORS[kind]!.BYTES_PER_ELEMENT));
  });
}

/** Publish `values` (or fall back) once the slots are free, then `done(true)` once every member has, or `done(false)` if any fell back. */
function exchange<R>(
  board: Board,
  ch: Channel,
  values: readonly unknown[] | typeof FALLBACK,
  described: boolean,
  done: (fits: boolean) => R | Promise<R>,
): R | Promise<R> {
  return after(board.next(ch.call, true), () => {
    board.publish(values, described);
    return after(board.all(), () => done(!board.anyFellBack()));
  });
}

/** Allreduce on the board (op resolved): in rank order over the slots, or on the stage for arrays too large for them. */
export function boardAllreduce<T>(board: Board, ch: Channel, value: T, op: Op, into?: T): T | Promise<T> {
  const usable = op.kind !== "user" && boardable(value) && collectiveGuard(ch, () => checkOperand(op, value)) === undefined;
  // An array too large for the slot is described there (length, kind), and reduced on the stage.
  const described = usable && !board.fits([value]);
  const values = !usable ? FALLBACK : described ? [(value as TypedArray).length, arrayKind(value)] : [value];
  return exchange(board, ch, values, described, (fits) => {
    if (!fits) return messageAllreduce(ch, value, op, into);
    if (anyDescribed(board)) return reduceStaged(board, ch, value as TypedArray, op, into);
    const result = settle(
      ch,
      collectiveGuard(ch, () => reduceSlots(board, op, value, into)),
    );
    return into === undefined || result === into ? (result as T) : land(ch, into, result);
  });
}

/** Did any member describe its data instead of writing it into its slot? */
function anyDescribed(board: Board): boolean {
  for (let r = 0; r < board.size; r++) if (board.described(r)) return true;
  return false;
}

/** Did every member describe its data? */
function allDescribed(board: Board): boolean {
  for (let r = 0; r < board.size; r++) if (!board.described(r)) return false;
  return true;
}

/** allreduce of arrays too large for the slots: on the stage, once every member's array is known to have this one's shape. */
async function reduceStaged<T>(board: Board, ch: Channel, value: TypedArray, op: Op, into?: T): Promise<T> {
  const shapes = collectiveGuard(ch, () => {
    for (let r = 0; r < board.size; r++) {
      const [length, kind] = board.described(r) ? [board.read(r, 0) as number, board.read(r, 1) as number] : [-1, -1];
      if (length !== value.length || kind !== arrayKind(value))
        throw new OpError(`${op.name} got arrays of different shapes on ranks ${ch.rank} and ${r}; every rank must pass the same type and length`);
    }
  });
  settle(ch, shapes);
  const result = await allreduceStaged(board, ch, value, op, into);
  if (result === undefined) return messageAllreduce(ch, value as T, op, into);
  return into === undefined || result === into ? (result as T) : land(ch, into, result);
}

/**
 * op over every member's value in rank order (the same on every rank, so all get the same
 * bits): into `into` when it fits this rank's value (in place when it is the value), else a new array.
 */
function reduceSlots(board: Board, op: Op, value: unknown, into: unknown): unknown {
  const first = board.read(0, 0);
  if (typeof first === "number") {
    let acc: unknown = first;
    for (let r = 1; r < board.size; r++) acc = combine(op, acc, board.read(r, 0), true);
    return acc;
  }
  for (let r = 1; r < board.size; r++) {
    const other = board.read(r, 0);
    if (typeof other === "number" || other.constructor !== first.constructor || other.length !== first.length) {
      throw new OpError(`${op.name} got arrays of different shapes: ${describe(first)} and ${describe(other)}; every rank must pass the same type and length`);
    }
  }
  const fitsInto = isTypedArray(value) && holds(into, first.constructor, first.length);
  const acc = fitsInto ? (into.length === first.length ? into : into.subarray(0, first.length)) : first.slice();
  if (fitsInto) put(acc, first);
  for (let r = 1; r < board.size; r++) combine(op, acc, board.read(r, 0), true);
  return fitsInto && acc !== into ? into : acc;
}

/** Allgather on the board: numbers and typed arrays that fit a slot; other values by Bruck's algorithm. */
export function boardAllgather<T>(board: Board, ch: Channel, value: T): T[] | Promise<T[]> {
  return exchange(board, ch, boardable(value) ? [value] : FALLBACK, false, (fits) => {
    if (!fits) return bruck(ch, value);
    return keptFrom(board, ch, value, 0);
  });
}

/**
 * Allgatherv on the board: blocks in the slots, or described there and read from the others'
 * memory (single copy), or through the stage (or sent straight into place) when larger.
 * `array` may overlap `into` (the caller's, not copied: where it sits at its own place, as with
 * MPI_IN_PLACE, it is read there; elsewhere, see {@link apartFrom}).
 */
export function boardAllgatherv<T extends TypedArray>(board: Board, ch: Channel, array: T, into?: T): T | Promise<T> {
  // Data too large for the slot is described there (length, kind, and where it sits if the members may read each other's memory).
  const data = [array];
  const described = boardable(array) && !board.fits(data);
  const reads = described ? board.reads : undefined;
  const published = !boardable(array) ? FALLBACK : described ? [array.length, arrayKind(array), ...(reads ? whereabouts(reads, array) : [])] : data;
  return exchange(board, ch, published, described, (fits) => {
    if (!fits) return bruckAllgatherv(ch, apart(array, into), into);
    const blocks = blocksFor(board, ch, array, 0, (r) => ({ length: board.read(r, 0) as number, kind: board.read(r, 1) as number }));
    const own = (blocks[ch.rank] = apartFrom(array, into, blocks, ch.rank));
    if (atHand(blocks) && !described) return concat(ch, own, blocks, into);
    // Some member's data did not fit its slot (every member sees it alike): read from its memory, or through the stage.
    const staged = () => gatherStaged(board, ch, own, blocks, described, into);
    const memory = reads && allDescribed(board) ? readsFor(board, largestDescribed(board)) : undefined;
    if (memory) return allgathervRead({ board, ch, memory }, array, blocks, staged, into);
    return staged();
  });
}

/** Alltoall on the board: numbers and typed arrays that fit the slots; other values pairwise. */
export function boardAlltoall<T>(board: Board, ch: Channel, values: readonly T[]): T[] | Promise<T[]> {
  const usable = Array.isArray(values) && values.length === ch.size && values.every(boardable);
  return exchange(board, ch, usable ? values : FALLBACK, false, (fits) => {
    if (!fits) return pairwiseAlltoall(ch, values);
    return keptFrom(board, ch, values[ch.rank]!, ch.rank);
  });
}

/**
 * Alltoallv on the board: blocks in the slots, or described there and read from the others'
 * memory (single copy) or sent; `failed`: a misuse this rank found before (see displs.ts).
 */
export function boardAlltoallv<T extends TypedArray>(
  board: Board,
  ch: Channel,
  array: T,
  counts: readonly number[],
  into?: T,
  failed?: CollectiveFailure,
): T | Promise<T> {
  const blocks =
    failed ??
    collectiveGuard(ch, () => {
      const offsets = displacements(ch, counts, checkArray(ch, "array", array).length);
      return counts.map((count, dest) => array.subarray(offsets[dest]!, offsets[dest]! + count) as TypedArray);
    });
  const usable = Array.isArray(blocks) && boardable(array);
  const described = usable && !board.fits(blocks);
  // Described (too large for the slot): where it sits too, if the members may read each other's
  // memory. Only then: the address is a call through koffi, which an 8 B alltoall cannot afford.
  const reads = described ? board.reads : undefined;
  const published = !usable ? FALLBACK : described ? [Int32Array.from(counts), arrayKind(array), ...(reads ? whereabouts(reads, array) : [])] : blocks;
  return exchange(board, ch, published, described, (fits) => {
    if (!fits) return pairwiseAlltoallv(ch, array, counts, into, failed);
    const mine = blocks as TypedArray[];
    const got = blocksFor(board, ch, mine[ch.rank]!, ch.rank, (s) => ({
      length: (board.read(s, 0) as Int32Array)[ch.rank]!,
      kind: board.read(s, 1) as number,
    }));
    if (atHand(got) && !described) return concat(ch, array, got, into);
    // Through the stage or straight from the others' memory only if every member described its array (else some send).
    const sendAll = () => direct(ch, array, got, described, (dest) => mine[dest]!, into);
    if (!allDescribed(board)) return sendAll();
    const memory = reads && readsFor(board, largestDescribed(board));
    if (memory) return alltoallvRead({ board, ch, memory }, array, mine[ch.rank]!, got, sendAll, into);
    return alltoallvStaged(board, ch, array, got, into).then((out) => out ?? sendAll());
  });
}

/** allgatherv through the stage (see stage.ts), or {@link direct} where it cannot be mapped. */
async function gatherStaged<T extends TypedArray>(board: Board, ch: Channel, array: T, blocks: Block[], sends: boolean, into?: T): Promise<T> {
  return (await allgathervStaged(board, ch, array, blocks, into)) ?? direct(ch, array, blocks, sends, () => array, into);
}

/**
 * The v-collectives once every block is on the board or described there: each lands at its
 * place in the result (`into` if it fits), described ones as messages received straight
 * there, pairwise (round s: send to rank + s, receive from rank - s), as far as the sender
 * described its data. An `into` that does not fit is refused only after the exchange, so that
 * no other rank waits for this one.
 */
async function direct<T extends TypedArray>(
  ch: Channel,
  like: T,
  blocks: Block[],
  sends: boolean,
  outgoing: (dest: number) => TypedArray,
  into?: T,
): Promise<T> {
  const { rank, size } = ch;
  const { out, offsets, total } = layout(ch, like, blocks, into);
  const round = async (s: number): Promise<void> => {
    const dest = (rank + s) % size,
      source = (rank - s + size) % size;
    const place = out.subarray(offsets[source]!, offsets[source]! + blocks[source]!.length);
    // The receive is posted first: a large send polls while it writes, and what arrives
    // meanwhile lands straight in `place` only if its receive is there to say so (else in fresh
    // memory, then copied: allgatherv of 8 MiB into at n = 2 took 2.3 ms instead of ~0.5).
    const receiving = isTypedArray(blocks[source]) ? undefined : ch.recv<TypedArray>(source, place);
    const [, received] = await Promise.all([sends ? ch.send(dest, outgoing(dest)) : undefined, receiving]);
    if (received !== undefined) {
      sameType(ch, like, received);
      put(place, received);
    }
  };
  // The first round starts before the blocks at hand are copied, so that its peer need not wait for that.
  const first = size > 1 ? round(1) : undefined;
  for (let r = 0; r < size; r++) if (isTypedArray(blocks[r])) put(out, blocks[r] as TypedArray, offsets[r]);
  await first;
  for (let s = 2; s < size; s++) await round(s);
  if (into !== undefined) checkInto(ch, into, like, total);
  return out;
}
