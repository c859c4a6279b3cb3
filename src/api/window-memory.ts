/**
 * Where a window's memory lives and how each rank reaches every part of it. The parts of the
 * ranks of one host lie in one anonymous memfd segment that all of them map (after a control
 * block of two lock words per part, see ../comm/engine/rma/kernel.ts): a rank operates on a
 * host-mate's part itself, at memory speed, whatever the host-mate is doing. When the window's
 * ranks span hosts (or a host has no shared memory), every rank also starts a progress thread
 * (../comm/engine/rma/progress-thread.ts) that serves its part to the others over tcp, while the rank computes.
 */
import process from "node:process";
import type { TypedArray } from "../comm/wire/values.js";
import type { Locality } from "../comm/transport/locality.js";
import type { Mapped } from "../comm/transport/shm/on-host.js";
import { CONTROL_WORDS } from "../comm/engine/rma/kernel.js";
import { startProgress, type Progress, type ProgressPart } from "../comm/engine/rma/progress-thread.js";
import { RemotePart, type ProgressAddress } from "../comm/engine/rma/remote.js";
import { ArgumentError, callError } from "../errors.js";

/** A typed array class, e.g. `Float64Array`. */
export type TypedArrayClass<T extends TypedArray> = {
  new (buffer: ArrayBuffer, byteOffset: number, length: number): T;
  readonly BYTES_PER_ELEMENT: number;
  readonly name: string;
};

/** An array of the same kind as `T` over any buffer (ArrayBuffer or SharedArrayBuffer): what a window's operations take. */
export type SameKind<T extends TypedArray> = T extends Float64Array
  ? Float64Array
  : T extends Float32Array
    ? Float32Array
    : T extends Int32Array
      ? Int32Array
      : T extends Uint32Array
        ? Uint32Array
        : T extends Int16Array
          ? Int16Array
          : T extends Uint16Array
            ? Uint16Array
            : T extends Int8Array
              ? Int8Array
              : T extends Uint8ClampedArray
                ? Uint8ClampedArray
                : T extends Uint8Array
                  ? Uint8Array
                  : T extends BigInt64Array
                    ? BigInt64Array
                    : BigUint64Array;

/** What a window needs of its communicator (a `Comm`; kept structural to keep imports one-way). */
export interface WindowComm {
  readonly rank: number;
  readonly size: number;
  bcast<V>(value: V, root?: number): Promise<V>;
  allgather<V>(value: V): Promise<V[]>;
  barrier(): Promise<void>;
  splitShared(): Promise<WindowComm & { free(): Promise<void> }>;
}

/** Where this rank runs: its host's index in the job, the IP a progress thread may listen on, and the same-host path. */
export type Placement = Locality;

/** What a window is allocated with (see {@link allocate}). */
export interface Allocation<T extends TypedArray> {
  comm: WindowComm;
  Kind: TypedArrayClass<T>;
  /** Elements of this rank's part. */
  localLength: number;
  place: Placement;
  /**
   * "allocateShared": every rank must be on one host, and every part is a host-mate's;
   * "createWindow": `array` (over a SharedArrayBuffer) is this rank's part, served by its progress thread to every other rank
   */
  call: "allocateShared" | "allocateWindow" | "createWindow";
  array?: T;
}

/** How this rank reaches one rank's part. */
export interface Target<T extends TypedArray> {
  length: number;
  /** A host-mate's part (or this rank's), in this rank's mapping, with its lock words at `at`. */
  part?: T;
  words?: Int32Array;
  at: number;
  /** A part served by the rank's progress thread. */
  remote?: RemotePart;
}

export interface WindowMemory<T extends TypedArray> {
  targets: Target<T>[];
  yieldCpu: () => void;
  release(): Promise<void>;
}

/** Each rank's part starts on a cache line of its own. */
const ALIGN = 64;
const PAGE = 4096;
const CONTROL_BYTES = CONTROL_WORDS * 4;
const roundUp = (n: number, to: number): number => Math.ceil(n / to) * to;

/** What each rank passed, and where it runs. */
interface Member {
  length: number;
  kind: string;
  width: number;
  host: number;
  /** Its host has shared memory. */
  shm: boolean;
}

/**
 * Allocate a window of `localLength` elements per rank on `comm` (collective). Every rank
 * checks what all passed, so a mismatch is an ArgumentError on every rank (never a rank that
 * maps more than the segment holds and dies of SIGBUS).
 */
export async function allocate<T extends TypedArray>(allocation: Allocation<T>): Promise<WindowMemory<T>> {
  const { comm, Kind, localLength, place, call, array } = allocation;
  if (typeof Kind !== "function" || !Number.isInteger(Kind.BYTES_PER_ELEMENT)) {
    throw callError(ArgumentError, call, comm.rank, `the first argument must be a typed array class such as Float64Array, got ${String(Kind)}`);
  }
  if (!Number.isSafeInteger(localLength) || localLength < 0) {
    throw callError(ArgumentError, call, comm.rank, `localLength must be a non-negative integer, got ${String(localLength)}`);
  }
  const { onHost } = place;
  const shm = array === undefined && onHost.unavailable === undefined;
  const members = await comm.allgather<Member>({ length: localLength, kind: Kind.name, width: Kind.BYTES_PER_ELEMENT, host: place.node, shm });
  const disagreement = disagree(members, call === "allocateShared");
  if (disagreement !== undefined) throw callError(ArgumentError, call, comm.rank, disagreement);
  const onOneHost = members.every((m) => m.host === members[0]!.host);
  // Every rank decides alike, from the table: progress threads where some part cannot be reached through shared memory.
  const progress = comm.size > 1 && (!onOneHost || members.some((m) => !m.shm));
  const mates = members.flatMap((m, r) => (m.host === place.node ? [r] : []));
  const node = onOneHost ? comm : await comm.splitShared();
  let mapped: Mapped | undefined;
  let local: { memory: ArrayBuffer | SharedArrayBuffer; offsets: number[]; control?: SharedArrayBuffer };
  try {
    if (shm || call === "allocateShared") {
      const offsets = layout(
        mates.map((r) => members[r]!.length * Kind.BYTES_PER_ELEMENT),
        mates.length,
      );
      const bytes = Math.max(PAGE, roundUp(offsets.at(-1)!, PAGE));
      const agreement = { rank: node.rank, bcast: <V>(value: V) => node.bcast(value, 0), allgather: <V>(value: V) => node.allgather(value) };
      mapped = await onHost.map({ group: agreement, call, bytes, name: "tsmpi-window", keepFile: progress });
      local = { memory: mapped.buffer, offsets };
    } else if (array !== undefined) {
      local = { memory: array.buffer, offsets: [array.byteOffset], control: new SharedArrayBuffer(CONTROL_BYTES) };
    } else {
      // No shared memory on this host: this rank's part alone, in memory its progress thread shares.
      const offsets = layout([localLength * Kind.BYTES_PER_ELEMENT], 1);
      local = { memory: new SharedArrayBuffer(Math.max(8, offsets[1]!)), offsets };
    }
  } finally {
    if (node !== comm) await (node as WindowComm & { free(): Promise<void> }).free();
  }
  const mine = shm || call === "allocateShared" ? mates.indexOf(comm.rank) : 0;
  let thread: Progress | undefined;
  let addresses: ProgressAddress[] = [];
  if (progress) {
    // node:crypto is loaded only here (see remote.ts): importing it costs every rank's start-up.
    const token = process.getBuiltinModule("node:crypto").randomBytes(32).toString("hex");
    const address = place.address ?? "127.0.0.1";
    const part: ProgressPart = {
      ...(mapped !== undefined ? { file: mapped.file } : { memory: local.memory as SharedArrayBuffer, control: local.control }),
      kind: Kind.name,
      at: mine * CONTROL_WORDS,
      offset: local.offsets[mine]!,
      length: localLength,
      token,
      address,
    };
    thread = await startProgress(part);
    addresses = await comm.allgather<ProgressAddress>({ address, port: thread.port, token });
    mapped?.closeFile();
  }
  const words = new Int32Array(local.control ?? local.memory, 0, Math.max(1, local.offsets.length - 1) * CONTROL_WORDS);
  const targets = members.map(({ length }, r): Target<T> => {
    const at = shm || call === "allocateShared" ? mates.indexOf(r) : r === comm.rank ? 0 : -1;
    if (at >= 0) return { length, part: new Kind(local.memory as ArrayBuffer, local.offsets[at]!, length), words, at: at * CONTROL_WORDS };
    return { length, at: 0, remote: new RemotePart(addresses[r]!, comm.rank, r) };
  });
  const release = async (): Promise<void> => {
    for (const target of targets) target.remote?.close();
    await thread?.stop();
    mapped?.release();
  };
  return { targets, yieldCpu: shm ? onHost.yieldCpu : () => {}, release };
}

/** The bytes of a typed array (a view of the same memory). */
export function bytesOf(array: TypedArray): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}

/**
 * Byte offsets of the parts of `sizes` bytes after the control blocks of `count` parts, each on
 * a line of its own; the last entry is the end.
 */
function layout(sizes: number[], count: number): number[] {
  const offsets = [roundUp(count * CONTROL_BYTES, ALIGN)];
  for (const bytes of sizes) offsets.push(offsets.at(-1)! + roundUp(bytes, ALIGN));
  return offsets;
}

/** Why the ranks' calls cannot make one window (the same answer on every rank), or undefined. */
function disagree(members: Member[], oneHost: boolean): string | undefined {
  const [first] = members;
  const other = members.findIndex((m) => m.kind !== first!.kind || m.width !== first!.width);
  if (other >= 0) {
    const { kind, width } = members[other]!;
    return (
      `rank 0 passed ${first!.kind} (${first!.width} bytes per element) but rank ${other} passed ${kind} (${width} bytes); ` +
      "a window has one element type: pass the same typed array class on every rank"
    );
  }
  const elsewhere = members.findIndex((m) => m.host !== first!.host);
  if (oneHost && elsewhere >= 0) {
    return (
      `rank 0 and rank ${elsewhere} run on different hosts, and memory is shared only within a host; ` +
      "allocate on the communicator of one host's ranks: comm.splitShared(), or use comm.allocateWindow"
    );
  }
  return undefined;
}
