/**
 * How a script's kind of module survives bundling, so that any script runs as Node would run
 * it: a `.cts` script is bundled as CommonJS; `.ts` and `.mts` scripts as ES modules (where
 * top-level `await` works in any package) that can still `require`, through a `require` made
 * by `createRequire` for the script's path (esbuild's ES module output otherwise throws
 * "Dynamic require of … is not supported"). `import.meta.url`, `.filename` and `.dirname` are
 * the script's; `__filename` and `__dirname` are each bundled file's own.
 */
import { readFile } from "node:fs/promises";
import { dirname } from "node:path";
import { pathToFileURL } from "node:url";
import type { Format, Loader, Plugin } from "esbuild";

/** What the bundle of a script is made with (all of it part of the bundle cache's key). */
export interface BundleSettings {
  format: Format;
  /** Of the bundle, so that Node loads it as the module kind it was bundled as. */
  extension: "mjs" | "cjs";
  /** Code put before the bundle. */
  banner: string;
  define: Record<string, string>;
}

/** @returns how to bundle `script` (an absolute path to a `.ts`, `.mts` or `.cts` file). */
export function bundleSettings(script: string): BundleSettings {
  const url = JSON.stringify(pathToFileURL(script).href);
  const commonjs = script.endsWith(".cts");
  return {
    format: commonjs ? "cjs" : "esm",
    extension: commonjs ? "cjs" : "mjs",
    banner: commonjs
      ? "require.main = module;" // as `node app.cjs` has it (the rank's bootstrap is the process's main)
      : `import { createRequire as __tsmpiCreateRequire } from "node:module";\nconst require = __tsmpiCreateRequire(${url});`,
    define: {
      "import.meta.url": url,
      "import.meta.filename": JSON.stringify(script),
      "import.meta.dirname": JSON.stringify(dirname(script)),
    },
  };
}

const LOADERS: Record<string, Loader> = { ts: "ts", mts: "ts", cts: "ts", tsx: "tsx", js: "js", mjs: "js", cjs: "js", jsx: "jsx" };
/** CommonJS's path variables, and how to tell that a file uses one or declares it itself. */
const PATH_VARIABLES = (["__filename", "__dirname"] as const).map((name) => ({
  name,
  used: new RegExp(`\\b${name}\\b`),
  declared: new RegExp(`\\b(?:var|let|const|function|class)\\s+${name}\\b`),
}));

/**
 * `__filename` and `__dirname` for each bundled file that uses them without declaring them
 * (CommonJS code), with the file's own path: in a bundle they would name the bundle, or not
 * exist at all in an ES module bundle.
 */
export const commonjsPaths: Plugin = {
  name: "tsmpi-commonjs-paths",
  setup(b) {
    b.onLoad({ filter: /\.(?:[cm]?[jt]s|[jt]sx)$/ }, async ({ path }) => {
      const text = await readFile(path, "utf8");
      const wanted = PATH_VARIABLES.filter(({ used, declared }) => used.test(text) && !declared.test(text));
      if (wanted.length === 0) return undefined;
      const values = wanted.map(({ name }) => `${name} = ${JSON.stringify(name === "__filename" ? path : dirname(path))}`);
      // Within the first line of code (after a `#!` line), so that line numbers stay the file's.
      const at = text.startsWith("#!") ? text.indexOf("\n") + 1 : 0;
      return { contents: `${text.slice(0, at)}var ${values.join(", ")}; ${text.slice(at)}`, loader: LOADERS[path.slice(path.lastIndexOf(".") + 1)]! };
    });
  },
};
