// The house rules of src/, checked on the code itself: layers import only downwards, no import
// circle, no hidden globals, and the published types of Comm show no engine internals.
import { readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const SRC = resolve(__dirname, "../src");
/** Layers, bottom first: a file may import only from its own layer or below. */
const LAYERS = ["errors.ts", "comm", "collectives", "api", "rank", "pool", "index.ts", "launcher"];
/**
 * Floors of src/comm, bottom first: the wire format (what a message is), the transports (how
 * bytes reach a peer), the engine (matching, requests, protocols). A file in a floor imports
 * only from its own floor or below; every file of comm/ is in one.
 */
const FLOORS = ["wire", "transport", "engine"];
/** The same-host path's home: the only files that may import libc (shared memory, peer reads). */
const SAME_HOST_HOME = join(SRC, "comm/transport/shm");
const LIBC = join(SAME_HOST_HOME, "libc.ts");

function sources(dir = SRC): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : name.endsWith(".ts") ? [path] : [];
  });
}

function layer(file: string): number {
  return LAYERS.indexOf(relative(SRC, file).split("/")[0]!);
}

/** The floor of a file of src/comm (-1 for one outside every floor); undefined outside comm/. */
function floor(file: string): number | undefined {
  const [top, second] = relative(SRC, file).split("/");
  return top === "comm" ? FLOORS.indexOf(second!) : undefined;
}

/** Relative imports of a file (static, dynamic and type-only), as absolute .ts paths. */
function imports(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const found = [...text.matchAll(/(?:from|import)\s*\(?\s*"(\.[^"]+)"/g)].map((m) => m[1]!);
  return found.map((spec) => resolve(dirname(file), spec).replace(/\.js$/, ".ts"));
}

describe("architecture of src/", () => {
  const files = sources();
  const graph = new Map(files.map((file) => [file, imports(file).filter((target) => target.startsWith(SRC))]));

  it("puts every file in a known layer", () => {
    expect(files.filter((file) => layer(file) < 0)).toEqual([]);
  });

  it("imports only from the same layer or below", () => {
    const upward = [...graph].flatMap(([file, targets]) =>
      targets.filter((t) => layer(t) > layer(file)).map((t) => `${relative(SRC, file)} -> ${relative(SRC, t)}`),
    );
    expect(upward).toEqual([]);
  });

  it("puts every file of comm/ in a floor", () => {
    expect(files.filter((file) => floor(file) === -1).map((file) => relative(SRC, file))).toEqual([]);
  });

  it("imports within comm/ only from the same floor or below", () => {
    const upward = [...graph].flatMap(([file, targets]) =>
      floor(file) === undefined ? [] : targets.filter((t) => (floor(t) ?? -1) > floor(file)!).map((t) => `${relative(SRC, file)} -> ${relative(SRC, t)}`),
    );
    expect(upward).toEqual([]);
  });

  it("imports libc only from the same-host home (comm/transport/shm/)", () => {
    const outside = [...graph].filter(([file, targets]) => targets.includes(LIBC) && dirname(file) !== SAME_HOST_HOME);
    expect(outside.map(([file]) => relative(SRC, file))).toEqual([]);
  });

  it("gives Transport no member that only one transport fills (what only shared memory does is SameHostPath's)", () => {
    const port = readFileSync(join(SRC, "comm/transport/port.ts"), "utf8");
    const body = port.slice(port.indexOf("export interface Transport {"));
    const members = body.slice(0, body.indexOf("\n}\n"));
    expect(members.match(/^ {2}(?:readonly )?\w+\?/gm) ?? []).toEqual([]);
  });

  it("has no import circle", () => {
    const state = new Map<string, "open" | "done">();
    const circles: string[] = [];
    const visit = (file: string, path: string[]): void => {
      if (state.get(file) === "done") return;
      if (state.get(file) === "open") return void circles.push([...path.slice(path.indexOf(file)), file].map((f) => relative(SRC, f)).join(" -> "));
      state.set(file, "open");
      for (const target of graph.get(file) ?? []) visit(target, [...path, file]);
      state.set(file, "done");
    };
    for (const file of files) visit(file, []);
    expect(circles).toEqual([]);
  });

  it("uses no Symbol.for globals", () => {
    expect(files.filter((file) => readFileSync(file, "utf8").includes("Symbol.for("))).toEqual([]);
  });

  it("keeps every file under 350 lines", () => {
    const long = files.map((file) => [relative(SRC, file), readFileSync(file, "utf8").split("\n").length] as const).filter(([, n]) => n > 350);
    expect(long).toEqual([]);
  });

  it("publishes Comm's types without engine internals", () => {
    // `npm test` builds first (pretest), so the emitted declarations are there. Comm extends
    // PointToPoint (p2p.ts): both classes make up its published surface.
    const declared = (file: string, cls: string) => {
      const dts = readFileSync(resolve(__dirname, `../dist/api/${file}`), "utf8");
      return dts.slice(dts.indexOf(`export declare class ${cls}`));
    };
    const body = declared("p2p.d.ts", "PointToPoint") + declared("communicator.d.ts", "Comm");
    expect(body).toContain("send(value: unknown");
    expect(body).toContain("allreduce<T extends Reducible>");
    for (const internal of ["runtime", "channel(", "childId", "constructor(", "CommEngine", "engineOf"]) expect(body).not.toContain(internal);
  });

  it("publishes types that need no Node types (no node: import, no NodeJS. name) from dist/index.d.ts on", () => {
    // The fast twin of test/consumers.test.ts, which type-checks fresh projects without @types/node.
    const DIST = resolve(__dirname, "../dist");
    const seen = new Set<string>();
    const found: string[] = [];
    const visit = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = readFileSync(file, "utf8");
      for (const m of text.matchAll(/(?:from|import)\s*\(?\s*"([^"]+)"/g)) {
        const spec = m[1]!;
        if (spec.startsWith("node:")) found.push(`${relative(DIST, file)} imports ${spec}`);
        else if (spec.startsWith(".")) visit(resolve(dirname(file), spec).replace(/\.js$/, ".d.ts"));
      }
      if (/\bNodeJS\./.test(text)) found.push(`${relative(DIST, file)} names NodeJS.`);
      if (/reference types="node"/.test(text)) found.push(`${relative(DIST, file)} references node's types`);
    };
    visit(join(DIST, "index.d.ts"));
    expect(seen.size).toBeGreaterThan(10);
    expect(found).toEqual([]);
  });
});
