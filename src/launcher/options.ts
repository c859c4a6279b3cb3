/**
 * Command-line options of the `tsmpi` launcher, parsed with yargs and validated in one place
 * with one message format. mpirun's spellings are taken as they are (see usage.ts), and parsing
 * stops at the script: what follows belongs to the script.
 */
import process from "node:process";
import { existsSync, mkdirSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { Arguments } from "yargs";
import { UsageError } from "../errors.js";
import type { TransportChoice } from "../rank/control.js";
import { DEFAULT_RSH_AGENT } from "./agent-link.js";
import { parseBindTo, type BindTo } from "./binding.js";
import { parseHeartbeat, type HeartbeatSetting } from "./heartbeat.js";
import { DEFAULT_FANOUT } from "./launch-tree.js";
import { merge, parseHostList, parseMapBy, readHostfile, type HostSlots, type MapBy } from "./hosts.js";
import { parseOutputFilename, type OutputFilename } from "./output-files.js";
import { mpirunSpellings, parser } from "./usage.js";

export interface LaunchOptions {
  /** Number of ranks; undefined = one per slot of the hosts (or per --npernode; or 1 without hosts). */
  np: number | undefined;
  /** Hosts and slots from --host/--hostfile; undefined = this host only (or the Slurm allocation). */
  hosts: HostSlots[] | undefined;
  /** --map-by slot|node|ppr:N:node, or --npernode N. */
  mapBy: MapBy;
  /** false with --no-oversubscribe: more ranks than slots is an error. */
  oversubscribe: boolean;
  /** Command that logs in to a remote host (--rsh-agent: ssh and its options). */
  rshAgent: string;
  /** --launch-agent: the remote command that starts tsmpi's node agent (default: node and its agent.js). */
  launchAgent: string | undefined;
  /** How long a remote host may take to start its agent. */
  launchTimeout: number;
  /** --launch-fanout: how many hosts' agents each process of the launch tree starts (launch-tree.ts). */
  launchFanout: number;
  /** --launch-retry: for how long a host that ssh cannot reach or log in to yet is tried again (0: not). */
  launchRetry: number;
  /** --heartbeat: how often the launcher and each node agent beat, and how long a silence loses a host (undefined: off). */
  heartbeat: HeartbeatSetting | undefined;
  /** Node and tsmpi paths on remote hosts (default: the same as here). */
  remoteNode: string | undefined;
  prefix: string | undefined;
  /** -x NAME[=VALUE]: variables to set in remote ranks. */
  exportEnv: Record<string, string>;
  /** --wdir: the ranks' working directory, absolute (default: the launcher's). */
  wdir: string | undefined;
  /** --bind-to: which CPUs each rank may use. */
  bindTo: BindTo;
  /** --report-bindings: print each rank's binding. */
  reportBindings: boolean;
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
  /** --output-filename: write each rank's output to files too (or only). */
  outputFilename: OutputFilename | undefined;
  /** Abort the job after this many seconds. */
  timeout: number | undefined;
  /** Report (without aborting) when every rank has been blocked this long with no message moving. */
  deadlockReport: number | undefined;
  /** When a rank fails, let the others run on instead of terminating them. */
  keepGoing: boolean;
  /** Under srun, mpiexec or flux run: this task is one rank of the job (see direct.ts). */
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

/** A string option's value (the last one, if given several times, as with mpirun). */
const value = (args: Arguments, name: string) => last(args[name] as string | string[] | undefined);

/** Parse the launcher's arguments; throws UsageError with a one-line message on bad input. */
export async function parseOptions(argv: string[]): Promise<Parsed> {
  const words = mpirunSpellings(argv);
  const p = parser(words);
  const args = await p.parseAsync();
  if (args.help) return { kind: "help", text: await p.getHelp() };
  if (args.version) return { kind: "version" };
  const npText = value(args, "np");
  const np = npText === undefined ? undefined : Number(npText);
  if (np !== undefined && (!/^\s*\d+\s*$/.test(npText!) || !Number.isSafeInteger(np) || np < 1)) {
    throw new UsageError(`-n/--np must be a positive integer, got ${JSON.stringify(npText)}`);
  }
  const [script, ...rest] = args._.map(String);
  if (script === undefined) throw new UsageError("no script given: tsmpi needs the program to run, e.g. tsmpi -n 4 hello.ts");
  if (script.startsWith("-")) throw new UsageError(`unknown option ${script}`);
  const path = resolve(script);
  if (!existsSync(path) || !statSync(path).isFile()) throw new UsageError(`script not found: ${script}`);
  if (!SCRIPT_EXTENSIONS.test(path)) throw new UsageError(`script must end in .ts, .mts, .cts, .js, .mjs or .cjs, got ${script}`);
  const hostLists = all(args.host as string | string[] | undefined).map(parseHostList);
  const hostfile = value(args, "hostfile");
  if (hostfile !== undefined) hostLists.push(readHostfile(hostfile));
  if (args.iface !== undefined && args.bind !== undefined) throw new UsageError("give --iface or --bind, not both");
  const options: LaunchOptions = {
    np,
    hosts: hostLists.length > 0 ? merge(hostLists.flat()) : undefined,
    mapBy: parseMapBy(value(args, "map-by"), value(args, "npernode")),
    oversubscribe: args.oversubscribe as boolean,
    ...remoteOptions(args),
    launchRetry: seconds("launch-retry", value(args, "launch-retry")) ?? 0,
    launchFanout: fanout(value(args, "launch-fanout")),
    bindTo: parseBindTo(value(args, "bind-to")),
    reportBindings: args["report-bindings"] as boolean,
    iface: value(args, "iface"),
    cidr: value(args, "bind"),
    transport: value(args, "transport") as TransportChoice,
    insecure: args.insecure as boolean,
    quiet: args.quiet as boolean,
    tagOutput: args["tag-output"] as boolean,
    outputFilename: parseOutputFilename(value(args, "output-filename")),
    ...timeOptions(args),
    keepGoing: args["keep-going"] as boolean,
    direct: args.direct as boolean,
    ...profilingOptions(value(args, "trace"), value(args, "cpu-prof"), words.slice(0, words.length - args._.length)),
    script: path,
    args: rest,
  };
  if (options.direct) checkDirect(options);
  return { kind: "run", options };
}

/** --launch-fanout: an integer of at least 2 (1 would make a chain of logins, not a tree). */
function fanout(text: string | undefined): number {
  if (text === undefined) return DEFAULT_FANOUT;
  const n = Number(text);
  if (!/^\s*\d+\s*$/.test(text) || !Number.isSafeInteger(n) || n < 2)
    throw new UsageError(`--launch-fanout must be an integer of at least 2, got ${JSON.stringify(text)}`);
  return n;
}

/** A number of seconds: positive, finite. */
function seconds(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--${name} must be a positive number of seconds, got ${JSON.stringify(text)}`);
  return n;
}

function timeOptions(args: Arguments): Pick<LaunchOptions, "timeout" | "deadlockReport"> {
  return { timeout: seconds("timeout", value(args, "timeout")), deadlockReport: seconds("deadlock-report", value(args, "deadlock-report")) };
}

/**
 * How ranks start on other hosts and where they run: --rsh-agent (tsmpi's ssh command; Open MPI
 * sets it with `--mca plm_rsh_agent`), --launch-agent (what that command runs there, Open MPI's
 * meaning: its orted, our node agent), --wdir, -x and the rest.
 */
function remoteOptions(
  args: Arguments,
): Pick<LaunchOptions, "rshAgent" | "launchAgent" | "launchTimeout" | "heartbeat" | "remoteNode" | "prefix" | "exportEnv" | "wdir"> {
  const launchAgent = value(args, "launch-agent");
  const login = launchAgent?.trim().split(/\s+/)[0]?.split("/").pop();
  if (login === "ssh" || login === "rsh" || login === "srun")
    throw new UsageError(
      `--launch-agent ${JSON.stringify(launchAgent)}: as in Open MPI, --launch-agent is the command that starts tsmpi's node agent on a remote host, not the login; write --rsh-agent ${JSON.stringify(launchAgent)}`,
    );
  if (launchAgent?.trim() === "")
    throw new UsageError(`--launch-agent needs a command, e.g. --launch-agent "/opt/node/bin/node /opt/tsmpi/dist/launcher/agent.js"`);
  const wdirText = value(args, "wdir");
  if (wdirText === "") throw new UsageError("--wdir needs a directory, e.g. --wdir /scratch/run1");
  return {
    rshAgent: value(args, "rsh-agent") ?? process.env.TSMPI_RSH_AGENT ?? DEFAULT_RSH_AGENT,
    launchAgent,
    launchTimeout: seconds("launch-timeout", value(args, "launch-timeout"))!,
    heartbeat: parseHeartbeat(value(args, "heartbeat")),
    remoteNode: value(args, "remote-node"),
    prefix: value(args, "prefix"),
    exportEnv: exports(all(args.x as string | string[] | undefined)),
    wdir: wdirText === undefined ? undefined : resolve(wdirText),
  };
}

/** Under --direct, the process manager starts, places, binds and feeds the ranks: what tsmpi would do instead is refused, with srun's option for it. */
function checkDirect(options: LaunchOptions): void {
  const srun: Array<[boolean, string, string]> = [
    [typeof options.mapBy === "object", "--npernode/--map-by ppr", "srun --ntasks-per-node"],
    [options.bindTo.to !== "none" || options.reportBindings, "--bind-to/--report-bindings", "srun --cpu-bind"],
    [options.wdir !== undefined, "--wdir", "srun --chdir"],
    [options.outputFilename !== undefined, "--output-filename", "srun --output"],
  ];
  const [, given, instead] = srun.find(([on]) => on) ?? [];
  if (given !== undefined)
    throw new UsageError(`--direct: the process manager starts the ranks, so ${given} cannot apply; use its own option (under Slurm: ${instead})`);
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
