/**
 * --bind-to core|socket|none: which CPUs each rank of a host may run on, applied before the rank
 * runs any code (`taskset -c LIST` execs the rank's node, so every thread of it, V8's included,
 * starts bound), and `--report-bindings` lines in Open MPI's format. Ranks take the host's
 * cores in order of their local rank (core i for local rank i); `socket` spreads a host's ranks
 * evenly over its sockets in the same order. More ranks than cores (or than a socket's CPUs) is
 * refused, as by Open MPI, unless `:overload-allowed` lets them share.
 */
import process from "node:process";
import { existsSync } from "node:fs";
import { hostname } from "node:os";
import { delimiter, join } from "node:path";
import { UsageError } from "../errors.js";
import { formatCpuList, readTopology, type Core, type Topology } from "./cpu-topology.js";

export interface BindTo {
  to: "none" | "core" | "socket";
  /** `:overload-allowed`: more ranks than CPUs may share them. */
  overload: boolean;
}

export const NO_BINDING: BindTo = { to: "none", overload: false };

/**
 * Parse --bind-to: `none`, `core` or `socket`, optionally with Open MPI's `:overload-allowed`.
 * @throws UsageError for anything else
 */
export function parseBindTo(text: string | undefined): BindTo {
  if (text === undefined) return NO_BINDING;
  const [to, qualifiers = ""] = text.split(/:(.*)/s) as [string, string?];
  const unknown = qualifiers.split(",").filter((q) => q !== "" && q !== "overload-allowed");
  if ((to !== "none" && to !== "core" && to !== "socket") || unknown.length > 0)
    throw new UsageError(`--bind-to must be none, core or socket, optionally with :overload-allowed, got ${JSON.stringify(text)}`);
  return { to, overload: qualifiers.split(",").includes("overload-allowed") };
}

/**
 * The CPUs of each of `count` ranks on this host, by local rank (undefined: not bound).
 * @throws UsageError if ranks would share a core (or a socket's CPUs) without `:overload-allowed`
 */
export function bindRanks(bindTo: BindTo, count: number, topology: Topology): Array<number[] | undefined> {
  if (bindTo.to === "none") return Array.from({ length: count }, () => undefined);
  const usable = (core: Core) => core.cpus.filter((cpu) => topology.allowed.has(cpu));
  const cores = topology.cores.filter((core) => usable(core).length > 0);
  const refuse = (what: string, cpus: number, unit: string) => {
    const fix = `lower -n, or write --bind-to ${bindTo.to}:overload-allowed to let ranks share ${unit}s, or --bind-to none`;
    return new UsageError(`--bind-to ${bindTo.to}: ${count} ranks on ${what}, which has ${cpus} ${unit}${cpus === 1 ? "" : "s"}; ${fix}`);
  };
  if (bindTo.to === "core") {
    if (count > cores.length && !bindTo.overload) throw refuse(hostname(), cores.length, "core");
    return Array.from({ length: count }, (_, i) => usable(cores[i % cores.length]!));
  }
  const sockets = [...new Set(cores.map((core) => core.socket))].map((socket) => cores.filter((core) => core.socket === socket).flatMap(usable));
  const socketOf = (i: number) => Math.floor((i * sockets.length) / count);
  for (const [s, cpus] of sockets.entries()) {
    const ranks = Array.from({ length: count }, (_, i) => socketOf(i)).filter((k) => k === s).length;
    if (ranks > cpus.length && !bindTo.overload) throw refuse(`socket ${s} of ${hostname()}`, cpus.length, "CPU");
  }
  return Array.from({ length: count }, (_, i) => sockets[socketOf(i)]);
}

/**
 * Open MPI's `--report-bindings` line for a rank, e.g.
 * `[node1:4242] MCW rank 0 bound to socket 0[core 0[hwt 0]]: [B/.]` (`B`: a hardware thread the
 * rank may use, `/` between cores, `[]` around each socket); a rank that may use every CPU the
 * launcher may use is "not bound".
 */
export function describeBinding(rank: number, cpus: number[] | undefined, topology: Topology): string {
  const where = `[${hostname()}:${process.pid}] MCW rank ${rank}`;
  const bound = new Set(cpus ?? []);
  if (cpus === undefined || [...topology.allowed].every((cpu) => bound.has(cpu))) return `${where} is not bound (or bound to all available processors)`;
  const threads = (core: Core) => core.cpus.flatMap((cpu, hwt) => (bound.has(cpu) ? [hwt] : []));
  const cores = topology.cores
    .filter((core) => threads(core).length > 0)
    .map((core) => `socket ${core.socket}[core ${core.index}[hwt ${formatCpuList(threads(core))}]]`);
  const sockets = [...new Set(topology.cores.map((core) => core.socket))].map(
    (socket) =>
      `[${topology.cores
        .filter((core) => core.socket === socket)
        .map((core) => core.cpus.map((cpu) => (bound.has(cpu) ? "B" : ".")).join(""))
        .join("/")}]`,
  );
  return `${where} bound to ${cores.join(", ")}: ${sockets.join("")}`;
}

let taskset: string | undefined;

/**
 * The command words that start a rank bound to `cpus`: `taskset -c LIST` (util-linux; it sets
 * the affinity, then execs the rank's node in its place), none for a rank not bound.
 * @throws UsageError where there is no taskset
 */
export function bindCommand(cpus: number[] | undefined): string[] {
  if (cpus === undefined) return [];
  taskset ??= [...(process.env.PATH ?? "").split(delimiter).filter((dir) => dir !== ""), "/usr/bin", "/bin"]
    .map((dir) => join(dir, "taskset"))
    .find((path) => existsSync(path));
  if (taskset === undefined) throw new UsageError(`--bind-to needs taskset (util-linux) on ${hostname()}; install it there, or use --bind-to none`);
  return [taskset, "-c", formatCpuList(cpus)];
}

/**
 * The binding of each rank this host starts, in the order given: the command words that start
 * it bound, and, with `report`, its --report-bindings line.
 * @throws UsageError if the ranks do not fit (see {@link bindRanks}), or where there is no taskset
 */
export function hostBindings(bindTo: BindTo, ranks: Array<{ rank: number; localRank: number }>, report: boolean): Array<{ bind: string[]; report?: string }> {
  if (bindTo.to === "none" && !report) return ranks.map(() => ({ bind: [] }));
  const topology = readTopology();
  const cpus = bindRanks(bindTo, ranks.length, topology);
  return ranks.map(({ rank, localRank }) => ({
    bind: bindCommand(cpus[localRank]),
    report: report ? describeBinding(rank, cpus[localRank], topology) : undefined,
  }));
}
