/**
 * What the `tsmpi` command (bin/tsmpi.js) imports: the launcher (cli.ts, bundled as
 * CommonJS in dist/launcher/cli.cjs), loaded with V8's code cache (code-cache.ts). Compiling
 * that bundle was ~25 ms of every launcher's start, before it could start its first rank.
 */
import { fileURLToPath } from "node:url";
import { loadCommonJs } from "./code-cache.js";

const launcher = loadCommonJs<typeof import("./cli.js")>(fileURLToPath(new URL("cli.cjs", import.meta.url)));

export const { flushAndExit } = launcher.exports;

/** Run the launcher with `argv` (without node and the script); resolves with the exit status. */
export async function main(argv: string[]): Promise<number> {
  const status = await launcher.exports.main(argv);
  launcher.save();
  return status;
}
