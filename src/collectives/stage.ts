/**
 * The stage: one shared segment per communicator whose ranks all live on one host, for arrays
 * too large for the board's slots (bcast, allgatherv, allreduce). Each rank copies its data there once
 * and every rank copies what it needs straight out, as MPI's single-copy shared-memory
 * collectives do: at n = 4, allgatherv of 8 MiB per rank moved each block through a ring
 * (two copies per block and receiver) and took 3.2 times mpi4py's time.
 *
 * The stage is mapped by the first collective that needs it (collective: every rank knows
 * every length from the board, so all decide alike) and kept for the next ones; a larger need
 * maps a larger one and lets the old one go. Board barriers, which every member calls at the
 * same points of the running collective, order the copies: in, barrier, out, barrier (so that
 * the next collective does not write over what a rank still reads).
 */
import type { Board } from "../comm/board.js";
import { mapShared } from "../comm/shm/shared.js";
import { CTORS } from "../comm/arrays.js";
import type { TypedArray } from "../comm/values.js";
import { TransportError } from "../errors.js";
import { evenCounts, resultArray } from "./arrays.js";
import { agreement } from "./board.js";
import { combine, type Op } from "./ops.js";
import type { Channel } from "./protocol.js";

const PAGE = 4096;

/**
 * A stage of at least `bytes` for `board`'s communicator (collective), or undefined if shared
 * memory cannot be mapped (then on every rank: use messages).
 */
export async function stageOf(ch: Channel, board: Board, bytes: number): Promise<Uint8Array | undefined> {
  const have = board.stage;
  if (have !== undefined && have.bytes.byteLength >= bytes) return have.bytes;
  have?.release();
  board.stage = undefined;
  const grown = Math.ceil(Math.max(bytes, 2 * (have?.bytes.byteLength ?? 0)) / PAGE) * PAGE;
  try {
    const mapped = await mapShared(agreement(ch), ch.boardLibc!, ch.call, grown, "tsmpi-stage");
    board.stage = { bytes: new Uint8Array(mapped.buffer, 0, grown), release: mapped.release };
    return board.stage.bytes;
  } catch (error) {
    if (error instanceof TransportError) return undefined;
    throw error;
  }
}

/** The bytes of `array`. */
const bytesOf = (array: TypedArray): Uint8Array => new Uint8Array(array.buffer, array.byteOffset, array.byteLength);

/**
 * Through the stage: this rank's `mine` is copied to element `at` of it; once every rank has
 * done the same, each (from, length, to) of `reads` copies stage elements [from, from + length)
 * to `out` at element `to`. Resolves once every rank has read.
 */
export async function throughStage(
  board: Board,
  ch: Channel,
  stage: Uint8Array,
  mine: TypedArray,
  at: number,
  reads: Array<[from: number, length: number, to: number]>,
  out: TypedArray,
): Promise<void> {
  const unit = mine.BYTES_PER_ELEMENT;
  stage.set(bytesOf(mine), at * unit);
  await board.barrier(ch.call);
  const target = bytesOf(out);
  for (const [from, length, to] of reads) target.set(stage.subarray(from * unit, (from + length) * unit), to * unit);
  await board.barrier(ch.call);
}

/**
 * allreduce of `value` through the stage: every member's array goes in; each member reduces
 * its share of the elements (an even split) over all members in rank order, into the stage's
 * result area; then every member copies the whole result out. Each element is reduced once, in
 * rank order, so every member gets the same bits (as on the board's slots). @returns the
 * result: `into` when it fits, else a new array; undefined if no stage can be mapped (on every
 * member alike: use messages).
 */
export async function allreduceStaged(board: Board, ch: Channel, value: TypedArray, op: Op, into: unknown): Promise<TypedArray | undefined> {
  const { rank, size } = ch;
  const length = value.length,
    unit = value.BYTES_PER_ELEMENT,
    Ctor = value.constructor as new (buffer: ArrayBufferLike, offset: number, length: number) => TypedArray;
  const stage = await stageOf(ch, board, (size + 1) * length * unit);
  if (stage === undefined) return undefined;
  const at = (member: number, from: number, count: number): TypedArray => new Ctor(stage.buffer, stage.byteOffset + (member * length + from) * unit, count);
  stage.set(bytesOf(value), rank * length * unit);
  await board.barrier(ch.call);
  const counts = evenCounts(length, size);
  let from = 0;
  for (let r = 0; r < rank; r++) from += counts[r]!;
  const share = at(size, from, counts[rank]!);
  bytesOf(share).set(bytesOf(at(0, from, counts[rank]!)));
  for (let r = 1; r < size; r++) combine(op, share, at(r, from, counts[rank]!), true);
  await board.barrier(ch.call);
  const out = resultArray(into, value.constructor, length);
  bytesOf(out).set(stage.subarray(size * length * unit, (size + 1) * length * unit));
  await board.barrier(ch.call);
  return out;
}

/**
 * bcast of an array of `length` elements of `kind` (the root's `value`) through the stage: the
 * root copies it in once and every other member copies it out, into `into` when it fits (a
 * binomial tree of messages copied the root's array through a ring per level: at n = 4, 8 MiB
 * took 2.3 times mpi4py's time). @returns the root's `value` on the root, else the array read
 * (the caller lands it in `into`); undefined if no stage can be mapped (on every member alike).
 */
export async function bcastStaged(board: Board, ch: Channel, value: unknown, root: number, length: number, kind: number, into: unknown): Promise<unknown> {
  const Ctor = CTORS[kind]!;
  const stage = await stageOf(ch, board, length * Ctor.BYTES_PER_ELEMENT);
  if (stage === undefined) return undefined;
  if (ch.rank === root) {
    await throughStage(board, ch, stage, value as TypedArray, 0, [], value as TypedArray);
    return value;
  }
  const out = resultArray(into, Ctor, length);
  await throughStage(board, ch, stage, new Ctor(0), 0, [[0, length, 0]], out);
  return out;
}
