/**
 * Shared windows (MPI_Win_allocate_shared): a {@link Window} whose parts are all on one host,
 * each readable and writable directly through `of`; and the factory behind both kinds.
 */
import type { TypedArray } from "../comm/wire/values.js";
import { checkPeer, describe } from "../comm/wire/validate.js";
import { ArgumentError, callError } from "../errors.js";
import { Window } from "./window.js";
import { allocate, type Allocation, type Placement, type TypedArrayClass, type WindowComm, type WindowMemory } from "./window-memory.js";

/**
 * Memory shared by the ranks of one host (MPI_Win_allocate_shared): each rank owns a part,
 * and every rank can read and write every part directly through {@link of}, as well as with
 * every one-sided operation of {@link Window}. Collective: every rank of the communicator
 * allocates and frees it together.
 *
 * @example
 * ```ts
 * const node = await comm.splitShared();
 * const win = await node.allocateShared(Float64Array, node.rank === 0 ? 1_000_000 : 0);
 * if (node.rank === 0) win.local.fill(1);
 * await win.fence(); // rank 0's writes are visible to every rank of the host
 * const total = win.of(0).reduce((a, b) => a + b, 0);
 * await win.free();
 * ```
 */
export class SharedWindow<T extends TypedArray> extends Window<T> {
  readonly #parts: T[];
  readonly #rank: number;
  readonly #size: number;
  #freed = false;

  /** @internal Use `comm.allocateShared`. */
  constructor(comm: WindowComm, Kind: TypedArrayClass<T>, memory: WindowMemory<T>) {
    super(comm, Kind, memory);
    this.#parts = memory.targets.map((t) => t.part!);
    [this.#rank, this.#size] = [comm.rank, comm.size];
  }

  /** Rank `rank`'s part of the window, writable (MPI_Win_shared_query). */
  of(rank: number): T {
    if (this.#freed) throw callError(ArgumentError, "of", this.#rank, "the window has been freed; allocate a new one");
    checkPeer({ call: "of", rank: this.#rank, size: this.#size }, "rank", rank);
    return this.#parts[rank]!;
  }

  override async free(): Promise<void> {
    await super.free();
    this.#freed = true;
  }
}

/** `comm.allocateShared` and `comm.allocateWindow` (see window-memory.ts); `comm.createWindow` with `array`. */
export async function allocateWindow<T extends TypedArray>(allocation: Allocation<T>): Promise<SharedWindow<T> | Window<T>> {
  const { comm, Kind, call } = allocation;
  const memory = await allocate(allocation);
  return call === "allocateShared" ? new SharedWindow(comm, Kind, memory) : new Window(comm, Kind, memory);
}

/** `comm.createWindow(array)`: a window over the caller's array, which must live in a SharedArrayBuffer (its progress thread serves it). */
export function createWindow<T extends TypedArray>(comm: WindowComm, array: T, place: Placement): Promise<Window<T>> {
  if (!ArrayBuffer.isView(array) || array instanceof DataView || !(array.buffer instanceof SharedArrayBuffer)) {
    const fix =
      "pass a typed array over a SharedArrayBuffer, e.g. new Float64Array(new SharedArrayBuffer(8 * n)), which this rank's progress thread can serve while the rank computes; " +
      "or use comm.allocateWindow(Float64Array, n), whose memory host-mates also share";
    return Promise.reject(
      callError(ArgumentError, "createWindow", comm.rank, `array must be a typed array over a SharedArrayBuffer, got ${describe(array)}; ${fix}`),
    );
  }
  const Kind = array.constructor as TypedArrayClass<T>;
  return allocateWindow({ comm, Kind, localLength: array.length, place, call: "createWindow", array }) as Promise<Window<T>>;
}
