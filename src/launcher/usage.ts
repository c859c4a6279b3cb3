/**
 * The launcher's options as a user sees them: names, aliases, help texts, and the sections
 * `tsmpi --help` groups them in, those of `mpirun --help <category>` (general, mapping, binding,
 * output, launch) and two of tsmpi's own (network, debugging and profiling). The yargs parser
 * and the single-dash spellings ({@link mpirunSpellings}) are both made from this one table.
 */
import yargs, { type Argv } from "yargs";
import { UsageError } from "../errors.js";
import { DEFAULT_RSH_AGENT } from "./agent-link.js";
import { DEFAULT_FANOUT } from "./launch-tree.js";

interface OptionSpec {
  name: string;
  alias?: string | string[];
  type: "string" | "boolean";
  description: string;
  choices?: string[];
  default?: string | boolean;
}

const string = (name: string, description: string, more: Partial<OptionSpec> = {}): OptionSpec => ({ name, type: "string", description, ...more });
const flag = (name: string, description: string, more: Partial<OptionSpec> = {}): OptionSpec => ({ name, type: "boolean", description, ...more });

/** Every option, by section, in the order `--help` shows them. */
const SECTIONS: Array<[title: string, options: OptionSpec[]]> = [
  [
    "General options:",
    [
      string("np", "Number of ranks (default: one per slot of --host/--hostfile/Slurm/PBS/LSF, else 1)", { alias: "n" }),
      flag("quiet", "Do not print the addresses a multi-host job uses", { alias: "q", default: false }),
      flag("help", "Show this help and exit", { alias: "h" }),
      flag("version", "Show the tsmpi version and exit", { alias: "V" }),
    ],
  ],
  [
    "Mapping options:",
    [
      string("host", "Hosts to run on: a,b:4,c:2 (:N = slots, default 1); repeatable", { alias: "H" }),
      string("map-by", "slot: fill each host's slots in turn (default); node: round-robin over hosts; ppr:N:node: N ranks per host"),
      string("npernode", "N ranks on each host (same as --map-by ppr:N:node)", { alias: "N" }),
      flag("oversubscribe", "Allow more ranks than slots (with a warning); --no-oversubscribe refuses", { default: true }),
    ],
  ],
  [
    "Binding options:",
    [
      string("bind-to", "Bind each rank to a core or a socket of its host, or not (default none); :overload-allowed lets ranks share"),
      flag("report-bindings", "Print each rank's binding on stderr", { default: false }),
    ],
  ],
  [
    "Output options:",
    [
      flag("tag-output", "Prefix each output line with [1,rank]<stdout>: or <stderr>:", { default: false }),
      string("output-filename", "Also write each rank's output to DIR/1/rank.N/stdout and stderr (DIR:nocopy: only there)"),
    ],
  ],
  [
    "Launch options:",
    [
      string("hostfile", "File of hosts: 'host slots=N' (Open MPI) or 'host:N' (MPICH) lines", { alias: "machinefile" }),
      string("x", "Export NAME (or set NAME=VALUE) in every rank, on every host; repeatable"),
      string("wdir", "Working directory of the ranks, on every host (default: the launcher's)", { alias: "wd" }),
      string("rsh-agent", `Command that logs in to a remote host (env TSMPI_RSH_AGENT; default "${DEFAULT_RSH_AGENT}")`),
      string("launch-agent", "Command that starts tsmpi's node agent on a remote host (default: node <prefix>/dist/launcher/agent.js)"),
      string("launch-timeout", "Seconds a remote host may take to start its ranks", { default: "30" }),
      string("launch-fanout", "Hosts whose node agents each process starts: the launcher logs in to N hosts, their agents to N more each, and so on", {
        default: String(DEFAULT_FANOUT),
      }),
      string("launch-retry", "For SECONDS, try again every second a host that ssh cannot reach or log in to yet (its sshd still starting, as on Kubernetes)"),
      string("heartbeat", "INTERVAL,TIMEOUT: launcher and node agents beat every INTERVAL; a host silent for TIMEOUT is lost (off: never)", {
        default: "1s,5s",
      }),
      string("prefix", "tsmpi install directory on remote hosts (default: the same as here)"),
      string("remote-node", "Path of node on remote hosts (default: the same as here)"),
      flag("direct", "Under srun, mpiexec (MPICH) or flux run: each task is one rank of one job (srun --mpi=pmi2 -n N tsmpi --direct app.ts)", {
        default: false,
      }),
      flag("allow-run-as-root", "Accepted for mpirun command lines; tsmpi runs as root without it", { default: false }),
    ],
  ],
  [
    "Network options:",
    [
      string(
        "transport",
        "auto: shared memory on a host (ZeroMQ ipc where unavailable, or where ranks outnumber cores more than twice), tcp between hosts; shm: shared memory on a host however many ranks it runs; zmq: ZeroMQ ipc on a host; tcp: tcp everywhere",
        { choices: ["auto", "shm", "zmq", "tcp"], default: "auto" },
      ),
      string("iface", "Network interface for traffic between hosts, e.g. eth1"),
      string("bind", "Network (CIDR, IPv4 or IPv6) for traffic between hosts, e.g. 10.1.0.0/16 or fd00:1::/64"),
      flag("insecure", "No encryption or authentication on tcp (trusted networks only)", { default: false }),
    ],
  ],
  [
    "Debugging and profiling options:",
    [
      string("timeout", "Abort the job if it runs longer than SECONDS (exit status 124)"),
      string("deadlock-report", "Print what each rank waits in when all have been blocked for SECONDS with no message moving"),
      flag("keep-going", "When a rank fails, let the others run on (what depends on it rejects with RankFailedError); the job still exits with its status", {
        default: false,
      }),
      string("trace", "Write a timeline of every rank's calls to FILE (Chrome trace JSON: Perfetto, chrome://tracing, speedscope)"),
      string("cpu-prof", "Write each rank's V8 CPU profile to DIR/rank-N.cpuprofile (DevTools, speedscope)"),
      flag("stats", "At exit, print time in communication, messages, bytes and top calls per rank; --stats=json for JSON"),
    ],
  ],
];

const ALL = SECTIONS.flatMap(([, options]) => options);
const names = (spec: OptionSpec) => [spec.name, ...[spec.alias ?? []].flat()];

/** Names (and aliases) of the options that take a value: `np`, `n`, `host`, `H` … */
const TAKES_VALUE = new Set(ALL.filter((spec) => spec.type === "string").flatMap(names));
/** mpirun's own spellings of what tsmpi spells otherwise. */
const SYNONYMS: Record<string, string> = { nooversubscribe: "--no-oversubscribe" };

/**
 * mpirun's spellings made tsmpi's, before the script only (what follows it is the script's):
 * `-np 4`, `-map-by node`, `-bind-to core`, `-host a,b` … become `--np 4`, `--map-by node` …, as
 * Open MPI takes every word of one dash and several letters for a long option (so an unknown
 * `-mca` is reported as `mca`, not as `m`, `c`, `a`); `--nooversubscribe` becomes
 * `--no-oversubscribe`. Short options (`-n 4`, `-n4`, `-H a`, `-x NAME`) stay as they are.
 * @param argv the launcher's arguments
 * @returns the same arguments, each launcher option spelled with two dashes
 */
export function mpirunSpellings(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--" || !arg.startsWith("-") || arg === "-") return [...out, ...argv.slice(i)];
    const match = /^--?([A-Za-z][\w-]*)(=.*)?$/.exec(arg);
    const [name, value] = match ? [match[1]!, match[2]] : ["", undefined];
    const long = arg.startsWith("--") || (name.length > 1 && !/^[nN]\d+$/.test(name));
    const word = SYNONYMS[name] ?? (long && match ? `--${name}${value ?? ""}` : arg);
    out.push(word);
    // An option that takes a value takes the next word too, which may start with a dash (-n -2).
    if (match && value === undefined && TAKES_VALUE.has(name) && i + 1 < argv.length) out.push(argv[++i]!);
  }
  return out;
}

/** The yargs parser of the launcher's options: parsing stops at the script. */
export function parser(argv: string[]): Argv {
  let p: Argv = yargs(argv)
    .help(false)
    .version(false)
    .scriptName("tsmpi")
    .usage(
      "Usage: tsmpi [options] <script.ts|.mts|.cts|.js|.mjs|.cjs> [script args...]\n\nRun an SPMD TypeScript or JavaScript program as N ranked processes.",
    );
  for (const [title, options] of SECTIONS) {
    for (const { name, ...spec } of options) p = p.option(name, spec);
    p = p.group(
      options.map((spec) => spec.name),
      title,
    );
  }
  return p
    .example("tsmpi -n 4 examples/hello.ts", "Four ranks print a greeting")
    .example("tsmpi -np 2 -bind-to core app.ts", "mpirun's spellings work too: two ranks, each bound to a core")
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
