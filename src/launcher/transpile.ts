/**
 * TypeScript without a build step: the launcher bundles the user's script once per job with
 * esbuild (type stripping only, no type check), so N ranks start from plain JavaScript.
 * Packages stay external and are rewritten to absolute paths, because the bundle lives in the
 * job directory where bare imports would not resolve. `import.meta.url`, `.filename` and
 * `.dirname` keep the values of the original script.
 */
import { dirname, join } from "node:path";
import { isBuiltin } from "node:module";
import { pathToFileURL } from "node:url";
import type { Plugin } from "esbuild";
import { UsageError } from "../errors.js";

const externalPackages: Plugin = {
  name: "tsmpi-external-packages",
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, async (args) => {
      if (args.pluginData === "tsmpi-resolving") return undefined;
      if (isBuiltin(args.path)) return { path: args.path, external: true };
      const found = await b.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: "tsmpi-resolving" });
      if (found.errors.length > 0) return { errors: found.errors };
      return { path: found.path, external: true };
    });
  },
};

/** @returns the file each rank should import: the script itself if JavaScript, else its bundle. */
export async function prepareScript(script: string, jobDir: string): Promise<string> {
  if (/\.(js|mjs|cjs)$/.test(script)) return script;
  const outfile = join(jobDir, "script.mjs");
  const { build } = await import("esbuild"); // loaded here, after the ranks are spawned
  try {
    await build({
      entryPoints: [script],
      outfile,
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      sourcemap: "inline",
      logLevel: "silent",
      plugins: [externalPackages],
      define: {
        "import.meta.url": JSON.stringify(pathToFileURL(script).href),
        "import.meta.filename": JSON.stringify(script),
        "import.meta.dirname": JSON.stringify(dirname(script)),
      },
    });
  } catch (error) {
    const errors = (error as { errors?: Array<{ text: string; location?: { file: string; line: number; column: number } | null }> }).errors ?? [];
    const where = errors.map((e) => (e.location ? `${e.location.file}:${e.location.line}:${e.location.column}: ${e.text}` : e.text)).join("; ");
    throw new UsageError(`cannot compile ${script}: ${where || (error as Error).message}`, { cause: error });
  }
  return outfile;
}
