/**
 * This host's processors as --bind-to sees them: sockets, their cores, and each core's hardware
 * threads (Linux CPU numbers), read from /sys; and which of the CPUs this process may use (its
 * affinity, which its ranks inherit: a cpuset, Slurm's binding or `taskset` around the launcher),
 * from /proc. Cores and sockets are numbered as hwloc and Open MPI number them (logical indexes
 * over the whole host), so `--report-bindings` reads like Open MPI's.
 */
import { readFileSync } from "node:fs";
import { cpus } from "node:os";

export interface Core {
  /** Logical index among the host's cores (socket by socket). */
  index: number;
  /** Logical index of its socket. */
  socket: number;
  /** Its hardware threads (Linux CPU numbers), in order. */
  cpus: number[];
}

export interface Topology {
  cores: Core[];
  /** CPUs this process may run on. */
  allowed: Set<number>;
}

/** Parse a Linux CPU list such as `0-3,8,10-11`. */
export function parseCpuList(text: string): number[] {
  return text
    .trim()
    .split(",")
    .filter((part) => part !== "")
    .flatMap((part) => {
      const [from, to = from] = part.split("-").map(Number) as [number, number?];
      return Array.from({ length: to - from + 1 }, (_, i) => from + i);
    });
}

/** Write CPUs as a Linux CPU list (`0-3,8`), the form of taskset -c and /proc's Cpus_allowed_list. */
export function formatCpuList(cpus: number[]): string {
  const list = [...cpus].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < list.length; i++) {
    let j = i;
    while (j + 1 < list.length && list[j + 1] === list[j]! + 1) j++;
    parts.push(i === j ? `${list[i]}` : `${list[i]}-${list[j]}`);
    i = j;
  }
  return parts.join(",");
}

const read = (path: string): string | undefined => {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
};

/** The host's sockets, cores and threads, and the CPUs this process may use. */
export function readTopology(): Topology {
  const online = parseCpuList(read("/sys/devices/system/cpu/online") ?? `0-${cpus().length - 1}`);
  const allowedList = /^Cpus_allowed_list:\s*(\S+)/m.exec(read("/proc/self/status") ?? "")?.[1];
  // Without /sys topology (some containers), each CPU counts as a core of socket 0.
  const where = online.map((cpu) => {
    const topology = `/sys/devices/system/cpu/cpu${cpu}/topology`;
    const socket = Number(read(`${topology}/physical_package_id`) ?? 0);
    const core = Number(read(`${topology}/core_id`) ?? cpu);
    return { cpu, socket, core };
  });
  where.sort((a, b) => a.socket - b.socket || a.core - b.core || a.cpu - b.cpu);
  const sockets = [...new Set(where.map((w) => w.socket))];
  const cores: Core[] = [];
  for (const w of where) {
    const last = cores[cores.length - 1];
    const socket = sockets.indexOf(w.socket);
    if (last && last.socket === socket && where.find((v) => v.cpu === last.cpus[0])!.core === w.core) last.cpus.push(w.cpu);
    else cores.push({ index: cores.length, socket, cpus: [w.cpu] });
  }
  return { cores, allowed: new Set(allowedList === undefined ? online : parseCpuList(allowedList)) };
}
