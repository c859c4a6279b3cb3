/**
 * TypeScript without a build step: the launcher bundles the user's script once per job with
 * esbuild (type stripping only, no type check), so N ranks start from plain JavaScript.
 * Packages stay external and are rewritten to absolute paths, because the bundle lives in the
 * job directory where bare imports would not resolve. `import.meta.url`, `.filename` and
 * `.dirname` keep the values of the original script; `require` works in every script (see
 * script-format.ts).
 *
 * Bundles are cached (like Python's __pycache__): in a private directory (mode 0700, owned
 * by this user, else not used), keyed by the script's path, and reused while every file that
 * went into the bundle is unchanged (same size and mtime) and every package it imports is
 * still where it was. A cache hit does not even load esbuild. `TSMPI_CACHE_DIR` moves the
 * cache; `TSMPI_CACHE_DIR=` (empty) turns it off.
 */
import { Buffer } from "node:buffer";
import process from "node:process";
import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { isBuiltin } from "node:module";
import type { Plugin } from "esbuild";
import { UsageError } from "../errors.js";
import { cacheDir, cacheName } from "./cache-dir.js";
import { bundleSettings, commonjsPaths } from "./script-format.js";

/** What a cached bundle was made from. */
interface CacheRecord {
  /** What the bundle's file is named after (its name is a hash of it, see cacheName). */
  made: string;
  inputs: Array<{ path: string; size: number; mtimeMs: number }>;
  /** Files that bare imports resolved to (they must still exist). */
  externals: string[];
}

function unchanged(record: CacheRecord): boolean {
  try {
    return (
      record.inputs.every((input) => {
        const stat = statSync(input.path);
        return stat.size === input.size && stat.mtimeMs === input.mtimeMs;
      }) && record.externals.every((path) => existsSync(path))
    );
  } catch {
    return false;
  }
}

/** Keep packages external, at the absolute paths they resolve to (collected in `externals`). */
const externalPackages = (externals: Set<string>): Plugin => ({
  name: "tsmpi-external-packages",
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, async (args) => {
      if (args.pluginData === "tsmpi-resolving") return undefined;
      if (isBuiltin(args.path)) return { path: args.path, external: true };
      const found = await b.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: "tsmpi-resolving" });
      if (found.errors.length > 0) return { errors: found.errors };
      externals.add(found.path);
      return { path: found.path, external: true };
    });
  },
});

/**
 * @param version tsmpi's version, part of the cache key
 * @returns the file each rank should import: the script itself if JavaScript, else its bundle.
 */
export async function prepareScript(script: string, jobDir: string, version = ""): Promise<string> {
  if (/\.(js|mjs|cjs)$/.test(script)) return script;
  const cache = cacheDir();
  const settings = bundleSettings(script);
  // The settings are part of the key: a bundle made another way is not reused.
  const made = `${script}\0${version}\0${process.version}\0${JSON.stringify(settings)}`;
  const key = cacheName(made);
  if (cache) {
    try {
      const record = JSON.parse(readFileSync(join(cache, `${key}.json`), "utf8")) as CacheRecord;
      if (record.made === made && unchanged(record)) return join(cache, `${key}.${settings.extension}`);
    } catch {
      // no usable record: build
    }
  }
  const outfile = join(jobDir, `script.${settings.extension}`);
  const externals = new Set<string>();
  const { build } = await import("esbuild"); // loaded here, after the ranks are spawned
  const started = Date.now();
  let inputs: string[];
  try {
    const result = await build({
      entryPoints: [script],
      outfile,
      write: false,
      bundle: true,
      platform: "node",
      format: settings.format,
      target: "node20",
      sourcemap: "external",
      logLevel: "silent",
      metafile: true,
      plugins: [externalPackages(externals), commonjsPaths],
      banner: { js: settings.banner },
      define: settings.define,
    });
    inputs = Object.keys(result.metafile.inputs).map((input) => resolve(input));
    writeBundle(outfile, result.outputFiles);
  } catch (error) {
    const errors = (error as { errors?: Array<{ text: string; location?: { file: string; line: number; column: number } | null }> }).errors ?? [];
    const where = errors.map((e) => (e.location ? `${e.location.file}:${e.location.line}:${e.location.column}: ${e.text}` : e.text)).join("; ");
    const hint =
      settings.format === "cjs" && /Top-level await/.test(where) ? " (a .cts script is CommonJS: await inside an async function, or name it .mts)" : "";
    throw new UsageError(`cannot compile ${script}: ${where || (error as Error).message}${hint}`, { cause: error });
  }
  if (cache) {
    try {
      // Written under temporary names and renamed: a concurrent job never reads half a file.
      const record: CacheRecord = { made, inputs: inputs.map((path) => ({ path, ...pick(statSync(path)) })), externals: [...externals] };
      // A file changed while it was being bundled may not be in the bundle as it is now: no cache.
      if (record.inputs.some((input) => input.mtimeMs >= started - 1000)) return outfile;
      const temp = `${process.pid}-${Date.now()}`;
      const bundle = join(cache, `${key}.${settings.extension}`);
      writeFileSync(`${bundle}.${temp}`, readFileSync(outfile), { mode: 0o600 });
      renameSync(`${bundle}.${temp}`, bundle);
      writeFileSync(join(cache, `${key}.json.${temp}`), JSON.stringify(record), { mode: 0o600 });
      renameSync(join(cache, `${key}.json.${temp}`), join(cache, `${key}.json`));
    } catch {
      // a cache that cannot be written is no cache
    }
  }
  return outfile;
}

/**
 * Write the bundle with its source map inline, the map naming each source by absolute path:
 * esbuild names them relative to the output file, which would point into the cache
 * directory once the bundle is copied there (stack traces of every cached run named
 * `~/.cache/<project>/app.ts`).
 */
function writeBundle(outfile: string, files: ReadonlyArray<{ path: string; text: string }>): void {
  const code = files.find((f) => f.path === outfile)!.text.replace(/\n\/\/# sourceMappingURL=\S*\n?$/, "\n");
  const map = JSON.parse(files.find((f) => f.path === `${outfile}.map`)!.text) as { sources: string[]; sourceRoot?: string };
  map.sources = map.sources.map((source) => resolve(dirname(outfile), map.sourceRoot ?? "", source));
  delete map.sourceRoot;
  const inline = Buffer.from(JSON.stringify(map)).toString("base64");
  writeFileSync(outfile, `${code}//# sourceMappingURL=data:application/json;base64,${inline}\n`);
}

function pick(stat: { size: number; mtimeMs: number }): { size: number; mtimeMs: number } {
  return { size: stat.size, mtimeMs: stat.mtimeMs };
}
