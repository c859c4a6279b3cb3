/**
 * Loading the launcher's CommonJS bundle with V8's code cache: the bundle (0.45 MB: yargs,
 * msgpackr, the launcher) is compiled once, its code kept in the private cache directory
 * (cache-dir.ts), and later launchers start from that code instead of parsing and compiling
 * it again. Node 20's ES module loader takes no code cache (`module.enableCompileCache` is
 * Node 22+), hence a CommonJS bundle run through `node:vm`, as Node's own CommonJS loader runs
 * a file.
 *
 * A cache is used only for the very bundle file it was made from (path, size, mtime, inode)
 * under the same Node (version, architecture); V8 checks the rest (its version and flags) and
 * rejects a cache that does not fit. A rejected or stale cache is written again, over the old
 * one (one file per installed bundle).
 */
import process from "node:process";
import { Buffer } from "node:buffer";
import { readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { basename, dirname, join } from "node:path";
import { Script } from "node:vm";
import { cacheDir, cacheName } from "./cache-dir.js";

/** A loaded CommonJS bundle. */
export interface CachedModule<T> {
  exports: T;
  /** Keep the code compiled so far, if the cache was missing or stale (call it once the work is done). */
  save(): void;
}

/** Load the CommonJS file `file` (an absolute path), from the code cache when there is a fitting one. */
export function loadCommonJs<T>(file: string): CachedModule<T> {
  const require = createRequire(file);
  const dir = cacheDir();
  if (dir === undefined) return { exports: require(file) as T, save: () => undefined };
  const { size, mtimeMs, ino } = statSync(file);
  const identity = Buffer.from(JSON.stringify({ file, size, mtimeMs, ino, node: process.version, arch: process.arch }));
  const cacheFile = join(dir, `launcher-${basename(file)}-${cacheName(file)}.v8cache`);
  const cachedData = readCache(cacheFile, identity);
  // The wrapper Node's CommonJS loader puts around a file.
  const source = `(function (exports, require, module, __filename, __dirname) { ${readFileSync(file, "utf8")}\n})`;
  const script = new Script(source, { filename: file, cachedData });
  const module = { exports: {} as T, filename: file, id: file };
  (script.runInThisContext() as (...args: unknown[]) => void)(module.exports, require, module, file, dirname(file));
  const fresh = cachedData === undefined || script.cachedDataRejected === true;
  return { exports: module.exports, save: () => fresh && writeCache(cacheFile, identity, script.createCachedData()) };
}

/** The cached code in `cacheFile` if it was made from the same file under the same Node: [identity length, identity, code]. */
function readCache(cacheFile: string, identity: Buffer): Buffer | undefined {
  try {
    const data = readFileSync(cacheFile);
    const length = data.readUInt32LE(0);
    return length === identity.length && identity.equals(data.subarray(4, 4 + length)) ? data.subarray(4 + length) : undefined;
  } catch {
    return undefined;
  }
}

function writeCache(cacheFile: string, identity: Buffer, code: Buffer): void {
  try {
    const head = Buffer.alloc(4);
    head.writeUInt32LE(identity.length);
    // Renamed into place: a concurrent launcher never reads half a file.
    const temp = `${cacheFile}.${process.pid}`;
    writeFileSync(temp, Buffer.concat([head, identity, code]), { mode: 0o600 });
    renameSync(temp, cacheFile);
  } catch {
    // a cache that cannot be written is no cache
  }
}
