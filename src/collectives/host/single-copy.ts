/**
 * Single-copy alltoallv, allgatherv and bcast between the ranks of one host, as Open MPI's shared-memory
 * transport does with CMA: each member says on the board where its array sits (process,
 * address), and every member reads its blocks straight out of the others' memory into its
 * result with process_vm_readv: one copy per block instead of two (into a ring, then out). A
 * board barrier then lets the owners go on, and change their arrays.
 *
 * Whether the members may read each other is decided by trying, when the communicator's board
 * is set up ({@link agreeOnReads}: Yama, a non-dumpable rank, SELinux or a seccomp profile may
 * refuse what the permissions allow), and agreed: all read or none. A read refused later makes
 * every member redo the call another way (the barrier after the reads is an agreement), never
 * one alone, and turns single copy off for the communicator. Used for arrays too large for the
 * board's slots (off the V8 heap, so they do not move).
 */
import process from "node:process";
import type { Board } from "../../comm/transport/shm/board-memory.js";
import type { PeerMemory } from "../../comm/transport/shm/on-host.js";
import type { TypedArray } from "../../comm/wire/values.js";
import { checkInto, overlaps, put } from "../../comm/engine/into.js";
import { TransportError } from "../../errors.js";
import { bruck } from "../network/bruck.js";
import { layout, type Block, type Described } from "./blocks.js";
import { resultArray } from "../counts.js";
import { CTORS } from "../../comm/wire/arrays.js";
import type { Channel } from "../collective-protocol.js";

/** Bytes of the probe each member offers to be read at set-up (off the V8 heap: more than 64). */
const PROBE = 256;

/** The probe's byte `i` on `member`: a pattern a reader can check. */
const probeByte = (member: number, i: number): number => (i * 31 + member * 7 + 1) & 255;

/**
 * Collective, once per communicator (at board set-up): every member that may read its peers
 * (PeerMemory.peerReads: not turned off here, no Yama restriction) offers a probe; each reads every
 * other member's probe and checks it; then all share their verdicts. @returns `memory` if every
 * member read every other, on every member alike; else undefined.
 */
export async function agreeOnReads(ch: Channel, memory: PeerMemory): Promise<PeerMemory | undefined> {
  let probe: Uint8Array | undefined;
  if (memory.peerReads) {
    probe = new Uint8Array(PROBE);
    for (let i = 0; i < PROBE; i++) probe[i] = probeByte(ch.rank, i);
  }
  const where = await bruck(ch, probe === undefined ? undefined : whereabouts(memory, probe));
  let ok = where.every((w) => w !== undefined);
  const seen = new Uint8Array(PROBE);
  for (let s = 0; ok && s < ch.size; s++) {
    if (s === ch.rank) continue;
    try {
      memory.readPeer(where[s]![0]!, BigInt(where[s]![1]!), seen);
      ok = seen.every((byte, i) => byte === probeByte(s, i));
    } catch {
      ok = false;
    }
  }
  const verdicts = await bruck(ch, ok);
  probe?.fill(0); // held until every member has read it
  return verdicts.every(Boolean) ? memory : undefined;
}

/**
 * Bytes from which a block is read straight from its owner's memory rather than copied through
 * the stage. process_vm_readv is a system call that pins the peer's pages every time: on the
 * 2-core VM it costs 4-5 µs for 8 B, 5-6 µs for 32 KiB, 8-9 µs for 128 KiB and 60-79 µs for
 * 1 MiB, where copying between mapped pages takes 0.5, 1.3 and 21-24 µs. The stage's two copies
 * win below this (alltoallv at n = 2, median per call: 32 KiB 14-18 µs against 30-52, 128 KiB
 * 23 against 34-38; at 512 KiB 56-65 against 48-56).
 */
export const SINGLE_COPY_FROM = 512 * 1024;

/** `board.reads` if blocks of `bytes` (the largest of the call, the same on every member) go by single copy, else undefined. */
export function readsFor(board: Board, bytes: number): PeerMemory | undefined {
  return bytes >= SINGLE_COPY_FROM ? board.reads : undefined;
}

/** The board values that say where `array` sits: this process, and the address of its bytes. */
export function whereabouts(memory: PeerMemory, array: TypedArray): number[] {
  return [process.pid, Number(memory.addressOf(array))];
}

/** A single-copy call: the board its members describe their arrays on, its channel, and how to read a member's memory. */
export interface Reads {
  board: Board;
  ch: Channel;
  memory: PeerMemory;
}

/**
 * alltoallv once every member has described its array on the board as [counts, kind, pid,
 * address] (`blocks`: the length and kind of each member's block for this rank; `own`: this
 * rank's block for itself): each block is read straight into its place in the result. Every
 * member passes the barrier whatever happened (a type mismatch, an `into` that does not fit), so
 * that nobody waits for a member that gave up. @returns the result (`into` when it fits).
 */
export function alltoallvRead<T extends TypedArray>(reads: Reads, like: T, own: TypedArray, blocks: Block[], redo: () => Promise<T>, into?: T): Promise<T> {
  const { board, ch } = reads;
  return thenAgree(reads, redo, () => {
    const { out, offsets, total } = layout(ch, like, blocks, into);
    put(out, own, offsets[ch.rank]);
    const unit = like.BYTES_PER_ELEMENT;
    for (let s = 0; s < ch.size; s++) {
      if (s === ch.rank || blocks[s]!.length === 0) continue;
      const counts = board.read(s, 0) as Int32Array;
      let displacement = 0;
      for (let r = 0; r < ch.rank; r++) displacement += counts[r]!;
      const place = new Uint8Array(out.buffer, out.byteOffset + offsets[s]! * unit, blocks[s]!.length * unit);
      readFrom(reads, s, displacement * unit, place, `rank ${s}'s block`);
    }
    if (into !== undefined) checkInto(ch, into, like, total);
    return out;
  });
}

/**
 * allgatherv once every member has described its block on the board as [length, kind, pid,
 * address] (`blocks`: each member's length and kind): each block is read straight into its
 * place in the result, one copy instead of two through the stage. `array` may sit at its own
 * place in `into` (MPI_IN_PLACE); one elsewhere in `into` (the others read it meanwhile) has its
 * result read into a new array, copied to `into` once every member is done.
 * @returns the result (`into` when it fits).
 */
export async function allgathervRead<T extends TypedArray>(reads: Reads, array: T, blocks: Block[], redo: () => Promise<T>, into?: T): Promise<T> {
  const { ch } = reads;
  const { out, offsets, total } = layout(ch, array, blocks, into);
  const clear = !overlaps(array, out) || array.byteOffset === out.byteOffset + offsets[ch.rank]! * array.BYTES_PER_ELEMENT;
  const result = clear ? out : resultArray<T>(undefined, array.constructor, total);
  const read = await thenAgree(reads, redo, () => {
    put(result, array, offsets[ch.rank]);
    const unit = array.BYTES_PER_ELEMENT;
    for (let s = 0; s < ch.size; s++) {
      if (s === ch.rank || blocks[s]!.length === 0) continue;
      readFrom(reads, s, 0, new Uint8Array(result.buffer, result.byteOffset + offsets[s]! * unit, blocks[s]!.length * unit), `rank ${s}'s block`);
    }
    return result;
  });
  // Redone another way (a read refused): that way's result, checked there.
  if (read !== result) return read;
  if (result !== out) put(out, result);
  if (into !== undefined) checkInto(ch, into, array, total);
  return out;
}

/**
 * bcast of an array (`array`: its length and kind) the root described on the board as [length,
 * kind, pid, address]: every other member reads it straight from the root's memory into its
 * result (`into` if it holds it), then all pass a board barrier, after which the root may change
 * its array. One copy per reader, and the root copies nothing: at n = 2, the ring's pipelined
 * copies needed both ranks on a core at once, and a rank descheduled mid-message stalled the
 * other for milliseconds.
 */
export function bcastRead(reads: Reads, value: unknown, root: number, array: Described, into: unknown, redo: () => Promise<unknown>): Promise<unknown> {
  const { ch } = reads;
  return thenAgree(reads, redo, () => {
    if (ch.rank === root) return value;
    const Ctor = CTORS[array.kind]!;
    const out = resultArray(into, Ctor, array.length);
    readFrom(reads, root, 0, new Uint8Array(out.buffer, out.byteOffset, array.length * Ctor.BYTES_PER_ELEMENT), `the root's (rank ${root}) array`);
    return out;
  });
}

/**
 * Copy into `place` the bytes at `offset` in the array member `member` described on the board
 * ([..., pid, address] in its values 2 and 3); throws a TransportError naming `what` if they
 * cannot all be read.
 */
function readFrom({ board, ch, memory }: Reads, member: number, offset: number, place: Uint8Array, what: string): void {
  try {
    memory.readPeer(board.read(member, 2) as number, BigInt(board.read(member, 3) as number) + BigInt(offset), place);
  } catch (error) {
    throw new TransportError(`${ch.call} on rank ${ch.rank}: could not read ${what} from its memory (${(error as Error).message})`, { cause: error });
  }
}

/**
 * Run `work`, then agree on the board whatever happened, so that nobody waits for a member
 * that gave up and no owner changes its array while another member still reads it. If any
 * member's read was refused (a TransportError from readFrom), every member drops single copy
 * for the communicator and runs `redo` (another way, which reads nobody's memory); else `work`'s
 * error, if any, is rethrown. @returns what `work` (or `redo`) returned.
 */
async function thenAgree<R>({ board, ch }: Reads, redo: () => Promise<R>, work: () => R): Promise<R> {
  let result: R | undefined;
  let failure: unknown;
  try {
    result = work();
  } catch (error) {
    failure = error;
  }
  if (!(await board.agree(ch.call, !(failure instanceof TransportError)))) {
    board.reads = undefined;
    return redo();
  }
  if (failure !== undefined) throw failure;
  return result!;
}
