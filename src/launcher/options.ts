/**
 * Command-line options of the `tsmpi` launcher, parsed with yargs and validated in one place
 * with one message format. Parsing stops at the script: what follows belongs to the script.
 */
import process from "node:process";
import { existsSync, mkdirSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import yargs from "yargs";
import { UsageError } from "../errors.js";
import type { TransportChoice } from "../rank/control.js";
import { DEFAULT_LAUNCH_AGENT } from "./agent-link.js";
import { merge, parseHostList, readHostfile, type HostSlots, type MapBy } from "./hosts.js";

export interface LaunchOptions {
  /** Number of ranks; undefined = one per slot of the hosts (or 1 without hosts). */
  np: number | undefined;
  /** Hosts and slots from --host/--hostfile; undefined = this host only (or the Slurm allocation). */
  hosts: HostSlots[] | undefined;
  mapBy: MapBy;
  /** false with --no-oversubscribe: more ranks than slots is an error. */
  oversubscribe: boolean;
  /** Command that starts the node agent on a remote host (ssh and its options). */
  launchAgent: string;
  /** How long a remote host may take to start its agent. */
  launchTimeout: number;
  /** Node and tsmpi paths on remote hosts (default: the same as here). */
  remoteNode: string | undefined;
  prefix: string | undefined;
  /** -x NAME[=VALUE]: variables to set in remote ranks. */
  exportEnv: Record<string, string>;
  /** Network for tcp: an interface name or a CIDR; default: the route between the hosts. */
  iface: string | undefined;
  cidr: string | undefined;
  /** "tcp": every pair of ranks talks over tcp, even on one host. */
  transport: TransportChoice;
  /** No CURVE encryption/authentication on tcp. */
  insecure: boolean;
  /** Do not print which network addresses a multi-host job uses. */
  quiet: boolean;
  /** Prefix every output line with `[1,rank]<stdout>:` / `<stderr>:`. */
  tagOutput: boolean;
  /** Abort the job after this many seconds. */
  timeout: number | undefined;
  /** Report (without aborting) when every rank has been blocked this long with no message moving. */
  deadlockReport: number | undefined;
  /** When a rank fails, let the others run on instead of terminating them. */
  keepGoing: boolean;
  /** Under srun: this task is one rank of the step's job (see slurm-direct.ts). */
  direct: boolean;
  /** --trace FILE: write a Chrome trace-event JSON of every rank's calls here. */
  trace: string | undefined;
  /** --cpu-prof DIR: write each rank's V8 CPU profile as DIR/rank-N.cpuprofile. */
  cpuProf: string | undefined;
  /** --stats[=text|json]: print per-rank communication statistics at exit. */
  stats: "text" | "json" | undefined;
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
    .usage("Usage: tsmpi [options] <script.ts|.mts|.cts|.js|.mjs|.cjs> [script args...]\n\nRun an SPMD TypeScript or JavaScript program as N ranked processes.")
    .option("np", { alias: "n", type: "string", description: "Number of ranks (default: one per slot of --host/--hostfile/Slurm, else 1)" })
    .option("host", { alias: "H", type: "string", description: "Hosts to run on: a,b:4,c:2 (:N = slots, default 1)" })
    .option("hostfile", { alias: "machinefile", type: "string", description: "File of hosts: 'host slots=N' (Open MPI) or 'host:N' (MPICH) lines" })
    .option("map-by", {
      type: "string",
      choices: ["slot", "node"],
      default: "slot",
      description: "Fill each host's slots in turn (slot) or go round-robin over hosts (node)",
    })
    .option("oversubscribe", { type: "boolean", default: true, description: "Allow more ranks than slots (with a warning); --no-oversubscribe refuses" })
    .option("launch-agent", {
      type: "string",
      description: `Command that starts tsmpi on a remote host (env TSMPI_LAUNCH_AGENT; default "${DEFAULT_LAUNCH_AGENT}")`,
    })
    .option("launch-timeout", { type: "string", default: "30", description: "Seconds a remote host may take to start its ranks" })
    .option("x", { type: "string", description: "Export NAME (or set NAME=VALUE) in every rank, on every host; repeatable" })
    .option("iface", { type: "string", description: "Network interface for traffic between hosts, e.g. eth1" })
    .option("bind", { type: "string", description: "Network (IPv4 CIDR) for traffic between hosts, e.g. 10.1.0.0/16" })
    .option("transport", {
      type: "string",
      choices: ["auto", "shm", "zmq", "tcp"],
      default: "auto",
      description:
        "auto: shared memory on a host (ZeroMQ ipc where unavailable, or where ranks outnumber cores more than twice), tcp between hosts; shm: shared memory on a host however many ranks it runs; zmq: ZeroMQ ipc on a host; tcp: tcp everywhere",
    })
    .option("insecure", { type: "boolean", default: false, description: "No encryption or authentication on tcp (trusted networks only)" })
    .option("quiet", { alias: "q", type: "boolean", default: false, description: "Do not print the addresses a multi-host job uses" })
    .option("remote-node", { type: "string", description: "Path of node on remote hosts (default: the same as here)" })
    .option("prefix", { type: "string", description: "tsmpi install directory on remote hosts (default: the same as here)" })
    .option("tag-output", { type: "boolean", default: false, description: "Prefix each output line with [1,rank]<stdout>: or <stderr>:" })
    .option("timeout", { type: "string", description: "Abort the job if it runs longer than SECONDS (exit status 124)" })
    .option("deadlock-report", { type: "string", description: "Print what each rank waits in when all have been blocked for SECONDS with no message moving" })
    .option("keep-going", {
      type: "boolean",
      default: false,
      description: "When a rank fails, let the others run on (what depends on it rejects with RankFailedError); the job still exits with its status",
    })
    .option("direct", {
      type: "boolean",
      default: false,
      description: "Inside srun: each Slurm task is one rank of one job (srun --mpi=pmi2 -n N tsmpi --direct app.ts)",
    })
    .option("trace", {
      type: "string",
      description: "Write a timeline of every rank's calls to FILE (Chrome trace JSON: Perfetto, chrome://tracing, speedscope)",
    })
    .option("cpu-prof", { type: "string", description: "Write each rank's V8 CPU profile to DIR/rank-N.cpuprofile (DevTools, speedscope)" })
    .option("stats", { type: "boolean", description: "At exit, print time in communication, messages, bytes and top calls per rank; --stats=json for JSON" })
    .option("help", { alias: "h", type: "boolean", description: "Show this help and exit" })
    .option("version", { alias: "V", type: "boolean", description: "Show the tsmpi version and exit" })
    .example("tsmpi -n 4 examples/hello.ts", "Four ranks print a greeting")
    .example("tsmpi -n 2 --tag-output app.ts --size 100", "Two ranks; --size 100 goes to app.ts")
    .example("tsmpi -n 4 --trace t.json --stats app.ts", "Write a timeline of every rank to t.json and print where the time went")
    .epilogue("Each rank sees TSMPI_RANK, TSMPI_SIZE, TSMPI_LOCAL_RANK and TSMPI_JOB_ID. stdin goes to rank 0.")
    .strict()
    .exitProcess(false)
    .wrap(100)
    .parserConfiguration({ "halt-at-non-option": true, "unknown-options-as-args": false })
    .fail((message, error) => {
      throw error instanceof UsageError ? error : new UsageError((message ?? error?.message ?? "invalid arguments").replace(/\s*\n\s*/g, " "));
    });
}

/** Parse the launcher's arguments; throws UsageError with a one-line message on bad input. */
export async function parseOptions(argv: string[]): Promise<Parsed> {
  const p = parser(argv);
  const args = await p.parseAsync();
  if (args.help) return { kind: "help", text: await p.getHelp() };
  if (args.version) return { kind: "version" };
  const np = args.np === undefined ? undefined : Number(last(args.np));
  if (np !== undefined && (!/^\s*\d+\s*$/.test(last(args.np)!) || !Number.isSafeInteger(np) || np < 1)) {
    throw new UsageError(`-n/--np must be a positive integer, got ${JSON.stringify(last(args.np))}`);
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
  const profiling = profilingOptions(args.trace, args["cpu-prof"], argv.slice(0, argv.length - args._.length));
  const hostLists = all(args.host).map(parseHostList);
  const hostfile = last(args.hostfile);
  if (hostfile !== undefined) hostLists.push(readHostfile(hostfile));
  const hosts = hostLists.length > 0 ? merge(hostLists.flat()) : undefined;
  const launchTimeout = seconds("launch-timeout", last(args["launch-timeout"]))!;
  if (args.iface !== undefined && args.bind !== undefined) throw new UsageError("give --iface or --bind, not both");
  return {
    kind: "run",
    options: {
      np,
      hosts,
      mapBy: last(args["map-by"]) as MapBy,
      oversubscribe: args.oversubscribe,
      launchAgent: last(args["launch-agent"]) ?? process.env.TSMPI_LAUNCH_AGENT ?? DEFAULT_LAUNCH_AGENT,
      launchTimeout,
      remoteNode: last(args["remote-node"]),
      prefix: last(args.prefix),
      exportEnv: exports(all(args.x)),
      iface: last(args.iface),
      cidr: last(args.bind),
      transport: last(args.transport) as TransportChoice,
      insecure: args.insecure,
      quiet: args.quiet,
      tagOutput: args["tag-output"],
      timeout,
      deadlockReport,
      keepGoing: args["keep-going"],
      direct: args.direct,
      ...profiling,
      script: path,
      args: rest,
    },
  };
}

/**
 * --trace FILE, --cpu-prof DIR, --stats[=FORMAT]. `launcherArgs` are the arguments before the
 * script: --stats is a flag (so `--stats app.ts` is not read as a format), and its optional
 * `=FORMAT` is taken from them.
 */
function profilingOptions(
  traceArg: string | string[] | undefined,
  cpuProfArg: string | string[] | undefined,
  launcherArgs: string[],
): Pick<LaunchOptions, "trace" | "cpuProf" | "stats"> {
  const given = (name: string, value: string | undefined): string | undefined => {
    if (value === undefined) return undefined;
    if (value === "") throw new UsageError(`--${name} needs a path, e.g. --${name} ${name === "trace" ? "trace.json" : "profiles"}`);
    return resolve(value);
  };
  const trace = given("trace", last(traceArg));
  if (trace !== undefined) {
    if (existsSync(trace) && statSync(trace).isDirectory())
      throw new UsageError(`--trace must name a file, got the directory ${last(traceArg)}; write e.g. --trace ${join(last(traceArg)!, "trace.json")}`);
    if (!existsSync(dirname(trace)))
      throw new UsageError(`--trace ${last(traceArg)}: directory ${dirname(trace)} does not exist; create it or write the trace elsewhere`);
  }
  const cpuProf = given("cpu-prof", last(cpuProfArg));
  if (cpuProf !== undefined) {
    if (existsSync(cpuProf) && !statSync(cpuProf).isDirectory()) throw new UsageError(`--cpu-prof must name a directory, got the file ${last(cpuProfArg)}`);
    try {
      mkdirSync(cpuProf, { recursive: true });
    } catch (error) {
      throw new UsageError(`--cpu-prof ${last(cpuProfArg)}: cannot create the directory (${(error as Error).message})`, { cause: error });
    }
  }
  let stats: LaunchOptions["stats"];
  for (const arg of launcherArgs) {
    if (arg === "--stats") stats = "text";
    else if (arg === "--no-stats") stats = undefined;
    else if (arg.startsWith("--stats=")) {
      const format = arg.slice("--stats=".length);
      if (format !== "text" && format !== "json") throw new UsageError(`--stats must be --stats, --stats=text or --stats=json, got ${arg}`);
      stats = format;
    }
  }
  return { trace, cpuProf, stats };
}

/** A repeatable option's values (yargs gives a string once, an array when repeated). */
function all(value: string | string[] | undefined): string[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

/** A single-valued option given several times: the last one wins, as with mpirun. */
function last(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[value.length - 1] : value;
}

/** -x NAME=VALUE sets; -x NAME exports this launcher's value of NAME. */
function exports(items: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const item of items) {
    const at = item.indexOf("=");
    const name = at < 0 ? item : item.slice(0, at);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new UsageError(`-x ${item}: ${JSON.stringify(name)} is not a variable name`);
    const value = at < 0 ? process.env[name] : item.slice(at + 1);
    if (value === undefined) throw new UsageError(`-x ${name}: ${name} is not set here; write -x ${name}=VALUE`);
    env[name] = value;
  }
  return env;
}
