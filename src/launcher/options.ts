/**
 * Command-line options of the `tsmpi` launcher, parsed with yargs and validated in one place
 * with one message format. Parsing stops at the script: what follows belongs to the script.
 */
import { existsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import yargs from "yargs";
import { UsageError } from "../errors.js";

export interface LaunchOptions {
  /** Number of ranks. */
  np: number;
  /** Prefix every output line with `[1,rank]<stdout>:` / `<stderr>:`. */
  tagOutput: boolean;
  /** Abort the job after this many seconds. */
  timeout: number | undefined;
  /** Report (without aborting) when every rank has been blocked this long with no message moving. */
  deadlockReport: number | undefined;
  /** When a rank fails, let the others run on instead of terminating them. */
  keepGoing: boolean;
  /** Absolute path of the user's script. */
  script: string;
  /** Arguments for the script. */
  args: string[];
}

export type Parsed = { kind: "run"; options: LaunchOptions } | { kind: "help"; text: string } | { kind: "version" };

const SCRIPT_EXTENSIONS = /\.(ts|mts|cts|js|mjs|cjs)$/;

function parser(argv: string[]) {
  return yargs(argv)
    .help(false)
    .version(false)
    .scriptName("tsmpi")
    .usage("Usage: tsmpi [options] <script.ts|.mts|.js|.mjs> [script args...]\n\nRun an SPMD TypeScript or JavaScript program as N ranked processes.")
    .option("np", { alias: "n", type: "string", description: "Number of ranks to start on this host", default: "1", defaultDescription: "1" })
    .option("tag-output", { type: "boolean", default: false, description: "Prefix each output line with [1,rank]<stdout>: or <stderr>:" })
    .option("timeout", { type: "string", description: "Abort the job if it runs longer than SECONDS (exit status 124)" })
    .option("deadlock-report", { type: "string", description: "Print what each rank waits in when all have been blocked for SECONDS with no message moving" })
    .option("keep-going", {
      type: "boolean",
      default: false,
      description: "When a rank fails, let the others run on (what depends on it rejects with RankFailedError); the job still exits with its status",
    })
    .option("help", { alias: "h", type: "boolean", description: "Show this help and exit" })
    .option("version", { alias: "V", type: "boolean", description: "Show the tsmpi version and exit" })
    .example("tsmpi -n 4 examples/hello.ts", "Four ranks print a greeting")
    .example("tsmpi -n 2 --tag-output app.ts --size 100", "Two ranks; --size 100 goes to app.ts")
    .epilogue("Each rank sees TSMPI_RANK, TSMPI_SIZE, TSMPI_LOCAL_RANK and TSMPI_JOB_ID. stdin goes to rank 0.")
    .strict()
    .exitProcess(false)
    .wrap(100)
    .parserConfiguration({ "halt-at-non-option": true, "unknown-options-as-args": false })
    .fail((message, error) => {
      throw error instanceof UsageError ? error : new UsageError(message ?? error?.message ?? "invalid arguments");
    });
}

/** Parse the launcher's arguments; throws UsageError with a one-line message on bad input. */
export async function parseOptions(argv: string[]): Promise<Parsed> {
  const p = parser(argv);
  const args = await p.parseAsync();
  if (args.help) return { kind: "help", text: await p.getHelp() };
  if (args.version) return { kind: "version" };
  const np = Number(args.np);
  if (!/^\s*\d+\s*$/.test(args.np) || !Number.isSafeInteger(np) || np < 1) {
    throw new UsageError(`-n/--np must be a positive integer, got ${JSON.stringify(args.np)}`);
  }
  const seconds = (name: string, value: string | undefined): number | undefined => {
    if (value === undefined) return undefined;
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--${name} must be a positive number of seconds, got ${JSON.stringify(value)}`);
    return n;
  };
  const timeout = seconds("timeout", args.timeout);
  const deadlockReport = seconds("deadlock-report", args["deadlock-report"]);
  const [script, ...rest] = args._.map(String);
  if (script === undefined) throw new UsageError("no script given: tsmpi needs the program to run, e.g. tsmpi -n 4 hello.ts");
  if (script.startsWith("-")) throw new UsageError(`unknown option ${script}`);
  const path = resolve(script);
  if (!existsSync(path) || !statSync(path).isFile()) throw new UsageError(`script not found: ${script}`);
  if (!SCRIPT_EXTENSIONS.test(path)) throw new UsageError(`script must end in .ts, .mts, .cts, .js, .mjs or .cjs, got ${script}`);
  return { kind: "run", options: { np, tagOutput: args["tag-output"], timeout, deadlockReport, keepGoing: args["keep-going"], script: path, args: rest } };
}
