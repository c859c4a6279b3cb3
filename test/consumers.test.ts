/**
 * tsmpi as another project uses it: the packed tarball installed with `npm install` into
 * fresh projects (`npm init -y`, then `"type": "module"` or npm's default CommonJS), next to
 * TypeScript 5.9 or 7 and nothing else (no @types/node), type-checked with `tsc` under
 * `module` NodeNext and bundler, and run with `npx tsmpi`. Needs the npm registry or npm's
 * cache for the TypeScript packages (CI has both).
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execa } from "execa";
import { ROOT } from "./helpers.js";

const TYPESCRIPTS = ["5.9", "7"] as const;
const PACKAGE_TYPES = ["module", "commonjs"] as const;
const MODULES = [
  { name: "NodeNext", module: "nodenext", moduleResolution: "nodenext" },
  { name: "bundler", module: "preserve", moduleResolution: "bundler" },
] as const;

/** The program every consumer writes: types from tsmpi only, a plain function as an op. */
const BODY = `const comm: Comm = await init();
const total = await comm.allreduce(comm.rank + 1, SUM);
const last = await comm.allreduce(\`rank \${comm.rank}\`, (a, b) => (b > a ? b : a));
const sums: Float64Array = await comm.allreduce(new Float64Array([comm.rank, 1]));
if (comm.rank === 0) console.log(\`size \${comm.size}: total \${total}, last \${last}, sums \${sums.join(" ")}\`);`;
const IMPORTS = `import { init, SUM, type Comm } from "tsmpi";\n\n`;
/** Top-level await: for ESM files (and any file under bundler resolution). */
const TOP_LEVEL = `${IMPORTS}${BODY}\n`;
/** A CommonJS file under NodeNext cannot await at the top level: docs/consumers.md's two-line wrapper. */
const WRAPPED = `${IMPORTS}void (async () => {\n${BODY.replace(/^/gm, "  ")}\n})();\n`;
const EXPECTED = "size 3: total 6, last rank 2, sums 3 3";
/** npm without its update check (a registry round trip on every npx). */
const NPM_ENV = { npm_config_update_notifier: "false" };

let root: string;
/** One project per TypeScript version, installed in parallel; each test sets its package type. */
const projects = new Map<string, string>();
beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "tsmpi-consumers-"));
  // dist/ is built by `npm test`'s pretest; the tarball is what `npm publish` would upload.
  const packed = await execa("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", root], { cwd: ROOT, env: NPM_ENV });
  const tarball = join(root, (JSON.parse(String(packed.stdout)) as Array<{ filename: string }>)[0]!.filename);
  await Promise.all(
    TYPESCRIPTS.map(async (typescript) => {
      const dir = join(root, `ts${typescript}`);
      mkdirSync(dir);
      expect((await inProject(dir, "npm", ["init", "-y"])).exitCode).toBe(0);
      const installed = await inProject(dir, "npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", tarball, `typescript@${typescript}`]);
      expect(installed.exitCode, installed.stderr).toBe(0);
      expect(readdirSync(join(dir, "node_modules"))).not.toContain("@types"); // nothing brings Node's types
      projects.set(typescript, dir);
    }),
  );
}, 180_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Run a command in a consumer project; resolves with its exit status and output. */
async function inProject(dir: string, command: string, args: string[]) {
  const result = await execa(command, args, {
    cwd: dir,
    reject: false,
    timeout: 120_000,
    env: { ...NPM_ENV, TSMPI_CACHE_DIR: join(root, "cache"), TMPDIR: root },
  });
  return { exitCode: result.exitCode, stdout: String(result.stdout), stderr: String(result.stderr) };
}

/** A fresh project as `npm init -y` makes it, with `"type"` set as the test says. */
function project(typescript: string, type: (typeof PACKAGE_TYPES)[number], app: string, compilerOptions: object): string {
  const dir = projects.get(typescript)!;
  const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as Record<string, unknown>;
  manifest.type = type;
  writeFileSync(join(dir, "package.json"), JSON.stringify(manifest, null, 2));
  writeFileSync(join(dir, "app.ts"), app);
  writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({ compilerOptions, files: ["app.ts"] }, null, 2));
  return dir;
}

/**
 * Projects as `npm init -y` and `npx tsc --init` make them, with each TypeScript version's own
 * tsconfig.json (5.9 and 7 both write module nodenext, target esnext, `"types": []`,
 * verbatimModuleSyntax, skipLibCheck), without @types/node, and with it as that file's comment
 * says (`npm install -D @types/node`, `"types": ["node"]`; here also skipLibCheck off, so that
 * tsmpi's declarations are checked next to Node's). The apps are docs/consumers.md's: app.ts in an ES
 * module package; in a CommonJS one, where these settings make app.ts a CommonJS file that can
 * neither `import` (TS1295) nor `await` at the top level (TS1309), app.mts, or CommonJS
 * (`import tsmpi = require("tsmpi")`) as app.cts or app.ts. Each project links the
 * node_modules of its TypeScript version's project above (the same install); @types/node is
 * installed once, in a directory above the projects that use it.
 */
describe("a project made with npm init -y and npx tsc --init", () => {
  /** docs/consumers.md's app; with @types/node it also prints its arguments (`process`: Node's types). */
  const app = (nodeTypes: boolean, indent = "", comm = "await init()") =>
    `${indent}const comm = ${comm};
${indent}const total = await comm.allreduce(comm.rank + 1, (a, b) => a + b);
${indent}if (comm.rank === 0) console.log(\`\${comm.size} ranks, total \${total}${nodeTypes ? `, args \${process.argv.slice(2).join(" ")}` : ""}\`);\n`;
  const DOCS_APP = (nodeTypes: boolean) => `import { init } from "tsmpi";\n\n${app(nodeTypes)}`;
  const COMMONJS_APP = (nodeTypes: boolean) => `import tsmpi = require("tsmpi");\n\nvoid (async () => {\n${app(nodeTypes, "  ", "await tsmpi.init()")}})();\n`;
  const expected = (nodeTypes: boolean) => `3 ranks, total 6${nodeTypes ? ", args hello" : ""}`;
  const VARIANTS = [
    { nodeTypes: false, name: "without @types/node" },
    { nodeTypes: true, name: "with @types/node" },
  ];
  const dirs = new Map<string, string>();
  const dirOf = (typescript: string, nodeTypes: boolean) => dirs.get(`${typescript} ${nodeTypes}`)!;

  beforeAll(async () => {
    const withNodeTypes = join(root, "with-node-types");
    mkdirSync(withNodeTypes);
    const nodeTypesInstalled = (async () => {
      expect((await inProject(withNodeTypes, "npm", ["init", "-y"])).exitCode).toBe(0);
      const installed = await inProject(withNodeTypes, "npm", ["install", "-D", "--prefer-offline", "--no-audit", "--no-fund", "@types/node"]);
      expect(installed.exitCode, installed.stderr).toBe(0);
    })();
    const made = TYPESCRIPTS.flatMap((typescript) =>
      VARIANTS.map(async ({ nodeTypes }) => {
        const dir = join(nodeTypes ? withNodeTypes : join(root, "without-node-types"), `ts${typescript}`);
        mkdirSync(dir, { recursive: true });
        symlinkSync(join(projects.get(typescript)!, "node_modules"), join(dir, "node_modules"));
        expect((await inProject(dir, "npm", ["init", "-y"])).exitCode).toBe(0);
        const init = await inProject(dir, "npx", ["tsc", "--init"]);
        expect(init.exitCode, init.stdout).toBe(0);
        if (nodeTypes) {
          const written = readFileSync(join(dir, "tsconfig.json"), "utf8");
          expect(written).toContain('"types": [],');
          expect(written).toContain('"skipLibCheck": true,');
          writeFileSync(
            join(dir, "tsconfig.json"),
            written.replace('"types": [],', '"types": ["node"],').replace('"skipLibCheck": true,', '"skipLibCheck": false,'),
          );
        }
        dirs.set(`${typescript} ${nodeTypes}`, dir);
      }),
    );
    await Promise.all([nodeTypesInstalled, ...made]);
  }, 240_000);

  /** The project with only `files` as its apps, and its package type set with `npm pkg set`. */
  async function withApps(typescript: string, nodeTypes: boolean, type: string, files: Record<string, string>): Promise<string> {
    const dir = dirOf(typescript, nodeTypes);
    for (const name of readdirSync(dir).filter((name) => name.startsWith("app."))) rmSync(join(dir, name));
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    expect((await inProject(dir, "npm", ["pkg", "set", `type=${type}`])).exitCode).toBe(0);
    return dir;
  }

  /** `npx tsmpi -n 3 <script> hello` succeeds with the app's one line. */
  async function runs(dir: string, script: string, nodeTypes: boolean): Promise<void> {
    const ran = await inProject(dir, "npx", ["tsmpi", "-n", "3", script, "hello"]);
    expect(ran.exitCode, `${script}: ${ran.stderr}`).toBe(0);
    expect(ran.stdout.trim(), script).toBe(expected(nodeTypes));
  }

  describe.each(TYPESCRIPTS)("by TypeScript %s", (typescript) => {
    describe.each(VARIANTS)("$name", ({ nodeTypes }) => {
      it('type-checks and runs the README\'s app as app.ts in a "type": "module" package', async () => {
        const dir = await withApps(typescript, nodeTypes, "module", { "app.ts": DOCS_APP(nodeTypes) });
        const checked = await inProject(dir, "npx", ["tsc", "--noEmit"]);
        expect(checked.stdout).toBe(""); // tsc prints its errors on stdout
        expect(checked.exitCode).toBe(0);
        await runs(dir, "app.ts", nodeTypes);
      }, 180_000);

      // CommonJS as app.cts (bundled as CommonJS) here, as app.ts (an ES module bundle that requires) there.
      const commonjs = nodeTypes ? "app.ts" : "app.cts";
      it(`type-checks and runs, in a CommonJS package, docs/consumers.md's app as app.mts and its CommonJS app as ${commonjs}`, async () => {
        const dir = await withApps(typescript, nodeTypes, "commonjs", { "app.mts": DOCS_APP(nodeTypes), [commonjs]: COMMONJS_APP(nodeTypes) });
        const checked = await inProject(dir, "npx", ["tsc", "--noEmit"]);
        expect(checked.stdout).toBe("");
        expect(checked.exitCode).toBe(0);
        await runs(dir, "app.mts", nodeTypes);
        await runs(dir, commonjs, nodeTypes);
      }, 180_000);

      // What docs/consumers.md says to write instead, and why: independent of Node's types, so once.
      it.runIf(!nodeTypes)(
        "rejects docs/consumers.md's app as app.ts in a CommonJS package: import is TS1295, top-level await TS1309",
        async () => {
          const dir = await withApps(typescript, nodeTypes, "commonjs", { "app.ts": DOCS_APP(nodeTypes) });
          const checked = await inProject(dir, "npx", ["tsc", "--noEmit"]);
          expect(checked.exitCode).not.toBe(0);
          expect(
            checked.stdout
              .split("\n")
              .map((line) =>
                line
                  .match(/^app\.ts\((\d+),\d+\): error (TS\d+)/)
                  ?.slice(1)
                  .join(" "),
              )
              .filter(Boolean),
          ).toEqual(["1 TS1295", "3 TS1309", "4 TS1309"]);
        },
        180_000,
      );
    });
  });
});

describe.each(TYPESCRIPTS)("a project using tsmpi with TypeScript %s", (typescript) => {
  describe.each(PACKAGE_TYPES)('and "type": "%s"', (type) => {
    it.each(MODULES)(
      "type-checks with module $name and runs with npx tsmpi",
      async ({ name, module, moduleResolution }) => {
        const wrapped = type === "commonjs" && name === "NodeNext";
        const dir = project(typescript, type, wrapped ? WRAPPED : TOP_LEVEL, {
          module,
          moduleResolution,
          target: "es2022",
          strict: true,
          exactOptionalPropertyTypes: true,
          noUncheckedIndexedAccess: true,
          skipLibCheck: false,
          noEmit: true,
        });
        const checked = await inProject(dir, "npx", ["tsc", "-p", "."]);
        expect(checked.stdout, `TypeScript ${typescript}, ${type}, ${name}`).toBe(""); // tsc prints its errors on stdout
        expect(checked.exitCode).toBe(0);
        const ran = await inProject(dir, "npx", ["tsmpi", "-n", "3", "app.ts"]);
        expect(ran.exitCode, ran.stderr).toBe(0);
        expect(ran.stdout.trim()).toBe(EXPECTED);
      },
      120_000,
    );

    if (type === "commonjs") {
      it("needs the wrapper under NodeNext: top-level await in a CommonJS file is TS1309", async () => {
        const dir = project(typescript, type, TOP_LEVEL, { module: "nodenext", strict: true, noEmit: true });
        const checked = await inProject(dir, "npx", ["tsc", "-p", "."]);
        expect(checked.exitCode).not.toBe(0);
        expect(checked.stdout).toMatch(/app\.ts\(4,\d+\): error TS1309: The current file is a CommonJS module and cannot use 'await' at the top level/);
      }, 120_000);

      // Independent of the TypeScript version: once is enough.
      it.runIf(typescript === "7")(
        "runs a CommonJS script that requires tsmpi",
        async () => {
          const dir = project(typescript, type, TOP_LEVEL, {});
          writeFileSync(
            join(dir, "app.js"),
            `const { init } = require("tsmpi");\ninit().then(async (comm) => {\n  const total = await comm.allreduce(comm.rank + 1, (a, b) => a + b);\n  if (comm.rank === 0) console.log(\`total \${total}\`);\n});\n`,
          );
          const ran = await inProject(dir, "npx", ["tsmpi", "-n", "3", "app.js"]);
          expect(ran.exitCode, ran.stderr).toBe(0);
          expect(ran.stdout.trim()).toBe("total 6");
        },
        60_000,
      );
    }
  });
});

/**
 * The package as a user whose npm blocks install scripts gets it (`--ignore-scripts`, as
 * pnpm and a cautious npm do): only the bundles and types ship, only what they load at run
 * time is installed, and a job runs on shared memory and on ZeroMQ from prebuilt binaries.
 */
describe("the tarball installed with --ignore-scripts in a fresh project", () => {
  /** What 0.1.0's first tarball installed in a fresh project: 28 packages, 63 759 102 bytes. */
  const FIRST = { packages: 28, bytes: 63_759_102 };
  /** Prints, on each rank, whether the rank holds a shared-memory inbox (a memfd the transport maps). */
  const APP = `import { readdirSync, readlinkSync } from "node:fs";
import { init } from "tsmpi";

const comm = await init();
const link = (fd: string) => { try { return readlinkSync(\`/proc/self/fd/\${fd}\`); } catch { return ""; } };
const inbox = readdirSync("/proc/self/fd").some((fd) => link(fd).startsWith("/memfd:tsmpi-inbox"));
const total = await comm.allreduce(comm.rank + 1, (a: number, b: number) => a + b);
console.log(\`rank \${comm.rank} of \${comm.size}: total \${total}, shared memory \${inbox ? "yes" : "no"}\`);
`;
  let dir: string;
  let shipped: string[];
  const run = async (command: string, args: string[]) => {
    const result = await execa(command, args, {
      cwd: dir,
      reject: false,
      timeout: 120_000,
      env: { ...NPM_ENV, TSMPI_CACHE_DIR: join(dir, "cache"), TMPDIR: dir },
    });
    return { exitCode: result.exitCode, stdout: String(result.stdout), stderr: String(result.stderr) };
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "tsmpi-no-scripts-"));
    const packed = await execa("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", dir], { cwd: ROOT, env: NPM_ENV });
    const [{ filename, files }] = JSON.parse(String(packed.stdout)) as Array<{ filename: string; files: Array<{ path: string }> }>;
    shipped = files.map((file) => file.path);
    expect((await run("npm", ["init", "-y"])).exitCode).toBe(0);
    expect((await run("npm", ["pkg", "set", "type=module"])).exitCode).toBe(0);
    const installed = await run("npm", ["install", "--ignore-scripts", "--prefer-offline", "--no-audit", "--no-fund", join(dir, filename)]);
    expect(installed.exitCode, installed.stderr).toBe(0);
    writeFileSync(join(dir, "app.ts"), APP);
  }, 180_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("ships the bundles, the ranks' source maps with their sources inside, and the .d.ts files: no build script, no per-module JavaScript", () => {
    const code = shipped.filter((path) => !path.endsWith(".d.ts"));
    expect(code.filter((path) => !/^dist\/chunks\/chunk-\w+\.js(\.map)?$/.test(path)).sort()).toEqual([
      "LICENSE",
      "README.md",
      "bin/tsmpi.js",
      "dist/index.js",
      "dist/index.js.map",
      "dist/launcher/agent.js",
      "dist/launcher/boot.js",
      "dist/launcher/cli.cjs",
      "dist/rank/main.js",
      "dist/rank/main.js.map",
      "package.json",
    ]);
    for (const map of code.filter((path) => path.endsWith(".map"))) {
      const { sources, sourcesContent } = JSON.parse(readFileSync(join(dir, "node_modules/tsmpi", map), "utf8")) as {
        sources: string[];
        sourcesContent?: string[];
      };
      expect(sourcesContent?.length, map).toBe(sources.length);
      expect(readFileSync(join(dir, "node_modules/tsmpi", map.replace(/\.map$/, "")), "utf8"), map).toContain(`//# sourceMappingURL=${map.split("/").pop()}`);
    }
  });

  it("installs at most half the packages of the first tarball, none that the bundles already hold", async () => {
    const lock = JSON.parse(readFileSync(join(dir, "node_modules/.package-lock.json"), "utf8")) as { packages: Record<string, unknown> };
    const names = Object.keys(lock.packages).map((key) => key.replace(/^.*node_modules\//, ""));
    expect(names.length, names.join(" ")).toBeLessThanOrEqual(FIRST.packages / 2);
    expect(names).not.toContain("msgpackr");
    expect(names).not.toContain("msgpackr-extract");
    expect(names).not.toContain("yargs");
    // Half the first install's bytes is out of reach while zeromq ships prebuilt addons for every
    // OS (34.6 MB) and a from-source build helper (cmake-ts, 6.3 MB), and esbuild an 11.4 MB
    // binary: tsmpi's own files and the whole install are held where they are. tsmpi's own files
    // were 1.8 MB (from 3.7) when this bound was set; 2.6 MB since the launch tree, the
    // hierarchical collectives and the same-host home (1.1 MB of it the source maps, which
    // carry their sources so that stack traces map without src/): 3 MB leaves room, not a hole.
    const bytes = async (path: string) => Number((await execa("du", ["-sb", path])).stdout.split("\t")[0]);
    expect(await bytes(join(dir, "node_modules/tsmpi"))).toBeLessThanOrEqual(3_000_000);
    expect(await bytes(join(dir, "node_modules"))).toBeLessThan(FIRST.bytes - 2_500_000);
  });

  it.each([
    { transport: "shared memory", args: [], memory: "yes" },
    { transport: "ZeroMQ", args: ["--transport", "zmq"], memory: "no" },
  ])(
    "runs a 2-rank job on $transport with npx tsmpi",
    async ({ args, memory }) => {
      const ran = await run("npx", ["tsmpi", "-n", "2", ...args, "app.ts"]);
      expect(ran.exitCode, ran.stderr).toBe(0);
      expect(ran.stderr).toBe("");
      expect(ran.stdout.trim().split("\n").sort()).toEqual([0, 1].map((rank) => `rank ${rank} of 2: total 3, shared memory ${memory}`));
    },
    60_000,
  );
});
