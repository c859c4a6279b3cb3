/** Entry point of the `tsmpi` command: parse, run, map errors to exit statuses. */
import process from "node:process";
import { UsageError } from "../errors.js";
import { runJob } from "./job.js";
import { parseOptions } from "./options.js";
import { runDirect } from "./direct.js";
import { separateJobs } from "./process-manager.js";
import { tsmpiVersion } from "./version.js";

export { flushAndExit } from "../rank/flush.js";

/** Run the launcher with `argv` (without node and the script); resolves with the exit status. */
export async function main(argv: string[]): Promise<number> {
  try {
    const parsed = await parseOptions(argv);
    if (parsed.kind === "help") {
      process.stdout.write(`${parsed.text}\n`);
      return 0;
    }
    if (parsed.kind === "version") {
      process.stdout.write(`tsmpi ${tsmpiVersion()}\n`);
      return 0;
    }
    if (parsed.options.direct) return await runDirect(parsed.options);
    const separate = separateJobs(parsed.options, process.env);
    if (separate !== undefined) {
      if (separate.rank === 0) process.stderr.write(`tsmpi: ${separate.message}\n`); // once, not once per task
      return 1;
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
