/**
 * The blocks of a v-collective on the board (allgatherv, alltoallv): each member's, at hand or
 * described, and where each goes in the result.
 */
import type { Board } from "../../comm/transport/shm/board-memory.js";
import { CTORS, arrayKind, copyArray, isTypedArray } from "../../comm/wire/arrays.js";
import { overlaps } from "../../comm/engine/into.js";
import type { TypedArray } from "../../comm/wire/values.js";
import { resultArray, sameType } from "../counts.js";
import type { Channel } from "../collective-protocol.js";

/** An array described on the board by its length and kind code (too large for a slot). */
export interface Described {
  length: number;
  kind: number;
}

/** A block of a v-collective: on the board (or this rank's own), or described there and sent as a message. */
export type Block = TypedArray | Described;

/**
 * Each member's block for this rank in a v-collective: this rank's `own`, value `index` of the
 * member's slot, or, where the member described its data, what `described` makes of that.
 */
export function blocksFor(board: Board, ch: Channel, own: TypedArray, index: number, described: (member: number) => Block): Block[] {
  const blocks: Block[] = [];
  for (let r = 0; r < ch.size; r++) blocks.push(r === ch.rank ? own : board.described(r) ? described(r) : (board.read(r, index) as TypedArray));
  return blocks;
}

/** Are all the blocks at hand (none comes as a message)? */
export function atHand(blocks: Block[]): blocks is TypedArray[] {
  for (const block of blocks) if (!isTypedArray(block)) return false;
  return true;
}

/**
 * Where each block of a v-collective goes in the result (offsets, in elements) and the result
 * itself: `into` if it fits, else a new array. Blocks of another type than `like` are refused.
 */
export function layout<T extends TypedArray>(ch: Channel, like: T, blocks: Block[], into?: T): { out: T; offsets: number[]; total: number } {
  const kind = arrayKind(like);
  const offsets: number[] = [];
  let total = 0;
  for (const block of blocks) {
    const other = isTypedArray(block) ? arrayKind(block) : block.kind;
    if (other !== kind) sameType(ch, like, isTypedArray(block) ? block : new CTORS[other]!(0));
    offsets.push(total);
    total += block.length;
  }
  return { out: resultArray<T>(into, like.constructor, total), offsets, total };
}

/**
 * This rank's `array` for a v-collective's result `into`: as it is where it does not overlap
 * `into` or sits exactly at its own place there (block `rank` of `blocks`, as with
 * MPI_IN_PLACE), else a copy, so that the result can be written around it.
 */
export function apartFrom<T extends TypedArray>(array: T, into: TypedArray | undefined, blocks: Block[], rank: number): T {
  if (!overlaps(array, into)) return array;
  let at = 0;
  for (let r = 0; r < rank; r++) at += blocks[r]!.length;
  return array.byteOffset === into!.byteOffset + at * array.BYTES_PER_ELEMENT ? array : copyArray(array);
}

/**
 * The largest block in bytes that the members described on the board (value 0: a length, or
 * an alltoallv's counts; value 1: the kind), the same on every member: it decides between
 * single copy and the stage alike everywhere.
 */
export function largestDescribed(board: Board): number {
  let most = 0;
  for (let r = 0; r < board.size; r++) {
    if (!board.described(r)) continue;
    const lengths = board.read(r, 0) as number | Int32Array;
    const unit = CTORS[board.read(r, 1) as number]?.BYTES_PER_ELEMENT ?? 1;
    if (typeof lengths === "number") most = Math.max(most, lengths * unit);
    else for (const length of lengths) most = Math.max(most, length * unit);
  }
  return most;
}
