/**
 * Source maps for tsmpi's own frames, read only when a failure's stack is reported. Ranks load
 * tsmpi's bundle with source maps off (Node would read and index its 0.8 MB map at start-up,
 * ~25 ms of CPU per rank, for stacks that most jobs never print) and turn them on before the
 * user's script loads ({@link mapScriptsFromHere}): the script's frames are mapped by Node
 * itself, and tsmpi's here, from the `.map` file next to its bundle.
 */
import process from "node:process";
import { existsSync, readFileSync } from "node:fs";
import { SourceMap } from "node:module";
import { dirname, resolve } from "node:path";

/** Modules loaded from now on have their source maps kept (the user's script and its imports). */
export function mapScriptsFromHere(): void {
  if (!process.sourceMapsEnabled) process.setSourceMapsEnabled(true);
}

const FRAME = /(\(|at )(?:file:\/\/)?(\/[^():]+\.m?js):(\d+):(\d+)(\)?)$/;

/** `stack` with frames of files that Node did not map (tsmpi's bundle) mapped through their `.map` files; unmapped frames stay. */
export function mapStack(stack: string): string {
  const maps = new Map<string, SourceMap | undefined>();
  return stack
    .split("\n")
    .map((line) => {
      const match = FRAME.exec(line);
      if (match === null) return line;
      const [whole, open, file, row, column, close] = match as unknown as [string, string, string, string, string, string];
      if (!maps.has(file)) maps.set(file, load(file));
      const entry = maps.get(file)?.findEntry(Number(row) - 1, Number(column) - 1) as {
        originalSource?: string;
        originalLine?: number;
        originalColumn?: number;
      };
      if (entry?.originalSource === undefined || entry.originalLine === undefined) return line;
      const source = resolve(dirname(file), entry.originalSource.replace(/^file:\/\//, ""));
      return `${line.slice(0, line.length - whole.length)}${open}${source}:${entry.originalLine + 1}:${(entry.originalColumn ?? 0) + 1}${close}`;
    })
    .join("\n");
}

function load(file: string): SourceMap | undefined {
  try {
    const path = `${file}.map`;
    return existsSync(path) ? new SourceMap(JSON.parse(readFileSync(path, "utf8")) as ConstructorParameters<typeof SourceMap>[0]) : undefined;
  } catch {
    return undefined;
  }
}
