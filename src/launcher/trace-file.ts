/**
 * A file written piece by piece as its text is made, for the merged trace: a trace of a
 * gigabyte is never one string (V8 refuses strings past ~512 MB) and never waits in memory.
 * Pieces are gathered up to {@link CHUNK} bytes, then written with a blocking write, which
 * returns once the kernel has the bytes: the writer can never run ahead of the disk by more
 * than one chunk (the backpressure a write stream would give, without making the job's
 * cleanup, which runs this before it removes the job directory, asynchronous).
 */
import { Buffer } from "node:buffer";
import { closeSync, openSync, rmSync, writeSync } from "node:fs";

/** Bytes gathered before they are written. */
export const CHUNK = 1 << 20;

/**
 * Write the file at `path` (created or truncated) with the text `produce` hands to `write`.
 * @param produce called once; each `write(text)` appends `text` to the file
 * @throws what opening or writing threw, or what `produce` threw; the half-written file is then removed
 */
export function writeInPieces(path: string, produce: (write: (text: string) => void) => void): void {
  const fd = openSync(path, "w");
  // Each piece is encoded into this buffer at once: the strings die young (no rope of them
  // survives to be promoted to the old generation, which made the heap grow in steps of ranks).
  const chunk = Buffer.allocUnsafe(CHUNK);
  let used = 0;
  const flush = () => {
    writeAll(fd, chunk.subarray(0, used));
    used = 0;
  };
  try {
    produce((text) => {
      // At most 3 bytes per UTF-16 unit: a piece that might not fit goes after a flush, or alone.
      if (used + 3 * text.length > CHUNK) flush();
      if (3 * text.length > CHUNK) writeAll(fd, Buffer.from(text));
      else used += chunk.write(text, used);
    });
    flush();
  } catch (error) {
    closeSync(fd);
    // A truncated trace opens in no viewer: better none than one that looks complete.
    rmSync(path, { force: true });
    throw error;
  }
  closeSync(fd);
}

/** writeSync until every byte is out (a write may take fewer bytes than it was given). */
function writeAll(fd: number, bytes: Uint8Array): void {
  for (let offset = 0; offset < bytes.length;) offset += writeSync(fd, bytes, offset);
}
