/**
 * Recycled frames for messages that arrive before their receive is posted ("unexpected"), on
 * transports that let the runtime choose where a frame goes (shared memory). A receive with
 * `into` copies such a message out and gives its frame back here; the next unexpected message
 * of that size reuses it. So a steady loop of receives into the caller's arrays allocates no
 * new memory even when the sender runs ahead. Only frames nobody else can see are kept.
 */

/** Frames smaller than this come from Node's pool anyway; larger than the keep limit are not worth pinning. */
const MIN_BYTES = 64 * 1024;
const KEEP_BYTES = 64 * 2 ** 20;
/** Frames kept per size. */
const KEEP_EACH = 4;

export class FramePool {
  private readonly spare = new Map<number, ArrayBuffer[]>();

  /** A recycled frame of exactly `bytes`, if one is spare. */
  take(bytes: number): Uint8Array | undefined {
    const buffer = this.spare.get(bytes)?.pop();
    return buffer && new Uint8Array(buffer);
  }

  /**
   * Keep the memory of `bytes`, whose contents have been copied out, for the next unexpected
   * frame of its size. The caller guarantees that nothing else refers to it.
   * @returns false if it is not a whole frame worth keeping
   */
  give(bytes: Uint8Array): boolean {
    const { buffer } = bytes;
    if (bytes.byteOffset !== 0 || bytes.byteLength !== buffer.byteLength || !(buffer instanceof ArrayBuffer)) return false;
    if (buffer.byteLength < MIN_BYTES || buffer.byteLength > KEEP_BYTES) return false;
    let list = this.spare.get(buffer.byteLength);
    if (list === undefined) this.spare.set(buffer.byteLength, (list = []));
    if (list.length < KEEP_EACH) list.push(buffer);
    return true;
  }
}
