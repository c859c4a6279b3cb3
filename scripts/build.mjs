// Build step after `tsc` (which emits the types and one module per source file): bundle the
// entry points that every job loads, so that a rank and the launcher each read a few files
// instead of dozens. This cuts start-up by ~12 ms per rank and ~30 ms in the launcher.
// These bundles and tsc's .d.ts files are what the package ships (package.json `files`); tsc's
// per-module .js files are for the tests alone.
import { readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire, isBuiltin } from "node:module";
import { build } from "esbuild";

// Chunk names carry a content hash: remove the previous build's, or they pile up in the package.
rmSync("dist/chunks", { recursive: true, force: true });

// msgpackr's Node entry tries to load its optional native addon, msgpackr-extract, through a
// require() that can never succeed inside an ES module bundle: bundle an empty module in its
// place, so neither the addon nor its loader ships, and no rank tries and fails at start-up.
const noNativeMsgpackr = {
  name: "no-msgpackr-extract",
  setup(b) {
    b.onResolve({ filter: /^msgpackr-extract$/ }, () => ({ path: "msgpackr-extract", namespace: "empty" }));
    b.onLoad({ filter: /.*/, namespace: "empty" }, () => ({ contents: "module.exports = undefined;", loader: "js" }));
  },
};

// Node's built-in modules and the packages left external (CommonJS all) are loaded with require(),
// not import: an ES import of a built-in makes Node build an ES facade of all its exports, and of
// a CommonJS package it runs cjs-module-lexer over its source (and its re-exports'), which cost
// ~20 ms of CPU in every rank's start (importing tsmpi: 0.18 -> 0.16 s CPU, medians of 21). Each
// becomes a small ES module of the bundle that reads the module's exports by name (the names
// known at build time; esbuild drops those nobody imports): built-ins from
// process.getBuiltinModule (Node 20.16+), packages from a require made for the bundle's own
// location, so they resolve as an import from it would. (esbuild's own CommonJS wrapper would
// copy every property of each into a fresh object at load: another ~10 ms a rank.)
// zeromq too (its ES import was ~15-20 ms of cjs-module-lexer in every rank, even on one host,
// where it carries the rendezvous). A user's script that imports tsmpi's dist/ files by path is
// bundled with them: there the launcher's bundler gives each bundled file that uses `__filename`
// its own path (script-format.ts), so the require is made at tsmpi's file, not the user's (whose
// folder may have no zeromq); `import.meta.url` is the user script's there. koffi is required
// where used (comm/transport/shm/libc.ts).
const REQUIRED = ["esbuild", "zeromq"];
// Built-ins' exports that warn when merely read (Node 24: fs.F_OK … DEP0176, "use fs.constants"):
// an export per name would read each at load and print the warning in every rank.
const DEPRECATED_ON_READ = new Set(["F_OK", "R_OK", "W_OK", "X_OK"]);
const require = createRequire(import.meta.url);
const viaRequire = {
  name: "via-require",
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) =>
      REQUIRED.includes(args.path) || isBuiltin(args.path) ? { path: args.path, namespace: "via-require", sideEffects: false } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: "via-require" }, ({ path }) => {
      const load = isBuiltin(path) ? `process.getBuiltinModule(${JSON.stringify(path)})` : `__tsmpiBundleRequire(${JSON.stringify(path)})`;
      const names = Object.keys(isBuiltin(path) ? process.getBuiltinModule(path) : require(path)).filter(
        (name) => /^[A-Za-z_$][\w$]*$/.test(name) && name !== "default" && !(isBuiltin(path) && DEPRECATED_ON_READ.has(name)),
      );
      // Each read is marked pure, so esbuild drops the names nobody imports: a plain `m.name` may run
      // a getter, and was kept for every name (process.stdin, process.allowedNodeEnvironmentFlags,
      // crypto.webcrypto ... were built in every process at load).
      const exports = names.map((name) => `export const ${name} = /* @__PURE__ */ (() => m.${name})();`).join("\n");
      return { contents: `const m = ${load};\nexport default m;\n${exports}\n`, loader: "js" };
    });
  },
};
// Not the names of the banner that script-format.ts puts on a user's script bundle, which may
// bundle these files again (a script that imports tsmpi's dist/ by path).
const banner = {
  js: 'import { createRequire as __tsmpiBundleCreateRequire } from "node:module";\nconst __tsmpiBundleRequire = __tsmpiBundleCreateRequire(typeof __filename === "string" ? __filename : import.meta.url);',
};

const common = { bundle: true, platform: "node", format: "esm", target: "node20", logLevel: "warning", plugins: [noNativeMsgpackr, viaRequire], banner };
await Promise.all([
  // The library a script imports and the rank bootstrap that runs it, sharing one chunk, so that
  // the bootstrap can hand its launcher link to the very module instance the script calls init() on.
  // Packages with native addons stay external (they are the package's only dependencies).
  // Source maps, with the sources inside them (the package has no src/): ranks run with
  // --enable-source-maps, so stack traces and --cpu-prof frames name tsmpi's own .ts lines.
  build({
    ...common,
    sourcemap: true,
    entryPoints: ["src/index.ts", "src/rank/main.ts"],
    outdir: "dist",
    outbase: "src",
    splitting: true,
    chunkNames: "chunks/[name]-[hash]",
    external: ["zeromq", "koffi"],
  }),
  // The launcher, and the node agent it starts on remote hosts: no source maps, as neither
  // process runs with --enable-source-maps. The launcher is CommonJS, which Node 20 can run
  // from V8's code cache (src/launcher/code-cache.ts), loaded by the small boot.js: its
  // `import.meta.url` is the bundle's own, its dynamic imports of zeromq and esbuild requires.
  build({
    ...common,
    format: "cjs",
    entryPoints: ["src/launcher/cli.ts"],
    outfile: "dist/launcher/cli.cjs",
    external: ["zeromq", "esbuild", "koffi"],
    supported: { "dynamic-import": false },
    define: { "import.meta.url": "__tsmpiBundleUrl" },
    banner: { js: '"use strict";\nconst __tsmpiBundleUrl = require("node:url").pathToFileURL(__filename).href;\nconst __tsmpiBundleRequire = require;' },
  }),
  build({ ...common, entryPoints: ["src/launcher/boot.ts"], outfile: "dist/launcher/boot.js" }),
  build({ ...common, entryPoints: ["src/launcher/agent.ts"], outfile: "dist/launcher/agent.js", external: ["zeromq", "esbuild", "koffi"] }),
]);

// esbuild writes strings and identifiers in ASCII but keeps comments as they are: one "≤" in a
// kept doc comment makes Node decode the whole bundle as UTF-16 and V8 scan a two-byte string
// (importing tsmpi: ~5 ms of CPU per rank, medians of 30). Escape what is left, in comments only.
for (const file of [
  "dist/index.js",
  "dist/rank/main.js",
  "dist/launcher/cli.cjs",
  "dist/launcher/boot.js",
  "dist/launcher/agent.js",
  ...readdirSync("dist/chunks")
    .filter((f) => f.endsWith(".js"))
    .map((f) => `dist/chunks/${f}`),
]) {
  const text = readFileSync(file, "utf8");
  if (/[^\0-\x7f]/.test(text))
    writeFileSync(
      file,
      text.replace(/[^\0-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`),
    );
}
