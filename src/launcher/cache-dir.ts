/**
 * tsmpi's private cache directory (like Python's __pycache__), for what a launcher or node agent
 * would otherwise redo at every job: bundles of scripts (transpile.ts), the `setpriv` probe
 * (death-signal.ts), the launcher's compiled code (code-cache.ts); the launcher's own files are
 * named `launcher-*`. `TSMPI_CACHE_DIR` moves it; `TSMPI_CACHE_DIR=` (empty) turns it off.
 */
import process from "node:process";
import { mkdirSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

/** The private cache directory, or undefined if caching is off or the directory is not safe. */
export function cacheDir(): string | undefined {
  const configured = process.env.TSMPI_CACHE_DIR;
  if (configured === "") return undefined;
  const dir = configured ?? join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "tsmpi");
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const stat = statSync(dir);
    // What is in it is executed or decides what is: a directory another user can write to must not be trusted.
    if (stat.uid !== process.getuid?.() || (stat.mode & 0o022) !== 0) return undefined;
    return dir;
  } catch {
    return undefined;
  }
}

/**
 * A short name for a cache file made from `text` (two 32-bit FNV-1a hashes, 16 hex digits).
 * Not cryptographic: node:crypto would cost the launcher's start-up ~40 ms on 2 cores, and the
 * directory is this user's alone; whoever names a file by it also keeps `text` in it, or what
 * it names, and checks it, so two texts with one name only cost a rebuild.
 */
export function cacheName(text: string): string {
  let a = 0x811c9dc5,
    b = 0x01000193;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x050c5d1f) ^ (b >>> 15);
  }
  return (a >>> 0).toString(16).padStart(8, "0") + (b >>> 0).toString(16).padStart(8, "0");
}
