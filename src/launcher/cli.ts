/** Entry point of the `tsmpi` command: parse, run, map errors to exit statuses. */
import { readFileSync } from "node:fs";
import { UsageError } from "../errors.js";
import { runJob } from "./job.js";
import { parseOptions } from "./options.js";

export { flushAndExit } from "./flush.js";

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}

/** Run the launcher with `argv` (without node and the script); resolves with the exit status. */
export async function main(argv: string[]): Promise<number> {
  try {
    const parsed = await parseOptions(argv);
    if (parsed.kind === "help") {
      process.stdout.write(`${parsed.text}\n`);
      return 0;
    }
    if (parsed.kind === "version") {
      process.stdout.write(`tsmpi ${version()}\n`);
      return 0;
    }
    return await runJob(parsed.options);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`tsmpi: ${error.message} (see 'tsmpi --help')\n`);
      return 1;
    }
    throw error;
  }
}
