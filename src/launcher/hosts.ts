/**
 * Placement: which hosts a job runs on, how many slots each has, and which rank goes where.
 * Hosts come from `--host a,b:4`, from a hostfile (Open MPI `host slots=N` or MPICH `host:N`
 * lines, `#` comments; IPv6 addresses bare or, before `:N`, in brackets), or from the allocation of a Slurm, PBS or LSF job (allocation.ts);
 * ranks fill hosts slot by slot
 * (`--map-by slot`, the default), round-robin (`--map-by node`) or N to a host
 * (`--map-by ppr:N:node`, `--npernode N`), as with mpirun.
 */
import { readFileSync } from "node:fs";
import { isIPv6 } from "node:net";
import { hostname } from "node:os";
import { UsageError } from "../errors.js";
import { batchAllocation } from "./allocation.js";
import { isThisHost } from "./network.js";

export interface HostSlots {
  name: string;
  slots: number;
}

/** Fill slots in turn, go round-robin over hosts, or put `perNode` ranks on each host (ppr:N:node). */
export type MapBy = "slot" | "node" | { perNode: number };

/**
 * The placement policy of --map-by (`slot`, `node`, `ppr:N:node`) or --npernode N (the same as
 * `ppr:N:node`); `slot` when neither is given.
 * @throws UsageError for another policy, N not a positive integer, or both options given
 */
export function parseMapBy(mapBy: string | undefined, npernode: string | undefined): MapBy {
  const perNode = (where: string, text: string) => {
    const n = Number(text);
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < 1) throw new UsageError(`${where} must be a positive integer, got ${JSON.stringify(text)}`);
    return { perNode: n };
  };
  if (npernode !== undefined) {
    if (mapBy !== undefined) throw new UsageError(`give --npernode or --map-by, not both (--npernode ${npernode} is --map-by ppr:${npernode}:node)`);
    return perNode("-N/--npernode", npernode);
  }
  if (mapBy === undefined || mapBy === "slot" || mapBy === "node") return mapBy ?? "slot";
  const ppr = /^ppr:([^:]*):node$/.exec(mapBy);
  if (ppr) return perNode("the N of --map-by ppr:N:node", ppr[1]!);
  throw new UsageError(`--map-by must be slot, node or ppr:N:node (N ranks on each host), got ${JSON.stringify(mapBy)}`);
}

/** Parse `a,b:4,c:2` (`:N` = slots, default 1). */
export function parseHostList(text: string): HostSlots[] {
  return text
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "")
    .map((item) => {
      if (isIPv6(item)) return { name: item, slots: 1 }; // a bare IPv6 address: its colons are not `:slots`
      const match = /^([^\s:]+|\[[^\]]+\])(?::(\d+))?$/.exec(item);
      if (!match) throw new UsageError(`--host: cannot read ${JSON.stringify(item)}; write host or host:slots, e.g. --host node1:4,node2:4`);
      return { name: unbracket(match[1]!), slots: slotCount(match[2], `--host ${item}`) };
    });
}

/** `[fd00::2]` → `fd00::2`: IPv6 addresses are written in brackets where `:N` may follow. */
function unbracket(name: string): string {
  return name.replace(/^\[(.*)\]$/, "$1");
}

function slotCount(text: string | undefined, where: string): number {
  if (text === undefined) return 1;
  const slots = Number(text);
  if (!Number.isSafeInteger(slots) || slots < 1) throw new UsageError(`${where}: slots must be a positive integer, got ${JSON.stringify(text)}`);
  return slots;
}

/** Parse a hostfile in the Open MPI form (`host slots=N`) or the MPICH form (`host:N`). */
export function parseHostfile(text: string, file: string): HostSlots[] {
  const hosts: HostSlots[] = [];
  for (const [index, raw] of text.split("\n").entries()) {
    const line = raw.replace(/#.*/, "").trim();
    if (line === "") continue;
    const where = `hostfile ${file}:${index + 1}`;
    const openMpi = /^(\S+)((?:\s+\w+=\S+)*)$/.exec(line);
    const mpich = /^([^\s:]+|\[[^\]]+\]):(\d+)$/.exec(line);
    if (mpich) {
      hosts.push({ name: unbracket(mpich[1]!), slots: slotCount(mpich[2], where) });
    } else if (openMpi) {
      const settings = new Map(
        openMpi[2]!
          .trim()
          .split(/\s+/)
          .filter((s) => s !== "")
          .map((s) => s.split("=") as [string, string]),
      );
      const slots = settings.get("slots") ?? settings.get("max_slots");
      hosts.push({ name: unbracket(openMpi[1]!), slots: slotCount(slots, where) });
    } else {
      throw new UsageError(`${where}: cannot read ${JSON.stringify(raw.trim())}; write "host slots=N" or "host:N"`);
    }
  }
  if (hosts.length === 0) throw new UsageError(`hostfile ${file} lists no host`);
  return merge(hosts);
}

export function readHostfile(file: string): HostSlots[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new UsageError(`cannot read hostfile ${file}: ${(error as Error).message}`);
  }
  return parseHostfile(text, file);
}

/** A host named twice gets the sum of its slots, in the position it first appeared. */
export function merge(hosts: HostSlots[]): HostSlots[] {
  const byName = new Map<string, HostSlots>();
  for (const host of hosts) {
    const seen = byName.get(host.name);
    if (seen) seen.slots += host.slots;
    else byName.set(host.name, { ...host });
  }
  return [...byName.values()];
}

/**
 * Assign `np` ranks to hosts: the host index of each rank. Beyond the total slot count,
 * ranks keep being placed in the same order (oversubscription), unless `oversubscribe` is
 * false, which is an error.
 */
export function mapRanks(hosts: HostSlots[], np: number, mapBy: MapBy, oversubscribe: boolean): { placement: number[]; oversubscribed: boolean } {
  if (typeof mapBy === "object") return mapPerNode(hosts, np, mapBy.perNode, oversubscribe);
  const total = hosts.reduce((sum, host) => sum + host.slots, 0);
  if (np > total && !oversubscribe) {
    throw new UsageError(
      `-n ${np} is more than the ${total} slot${total === 1 ? "" : "s"} of ${describeHosts(hosts)} and --no-oversubscribe is set; lower -n or give more slots`,
    );
  }
  const placement: number[] = [];
  const used = hosts.map(() => 0);
  const full = () => used.every((u, k) => u >= hosts[k]!.slots);
  if (mapBy === "node") {
    // Round-robin over the hosts with a free slot; once all are full, over all hosts.
    for (let k = 0; placement.length < np; k = (k + 1) % hosts.length) {
      if (used[k]! < hosts[k]!.slots || full()) {
        placement.push(k);
        used[k]!++;
      }
    }
  } else {
    // Fill each host's slots in order; once all are full, go round again the same way.
    while (placement.length < np) {
      for (const [k, host] of hosts.entries()) for (let s = 0; s < host.slots && placement.length < np; s++) placement.push(k);
    }
  }
  return { placement, oversubscribed: np > total };
}

/**
 * `perNode` ranks on each host in turn (ranks 0..N-1 on the first), as mpirun's ppr:N:node: more
 * ranks than that makes is an error; more than a host's slots oversubscribes it.
 */
function mapPerNode(hosts: HostSlots[], np: number, perNode: number, oversubscribe: boolean): { placement: number[]; oversubscribed: boolean } {
  if (np > perNode * hosts.length) {
    const on = `${hosts.length} host${hosts.length === 1 ? "" : "s"} (${hosts.map((h) => h.name).join(",")})`;
    throw new UsageError(`-n ${np} is more than the ${perNode * hosts.length} ranks that --npernode ${perNode} places on ${on}; lower -n or raise --npernode`);
  }
  const placement = Array.from({ length: np }, (_, rank) => Math.floor(rank / perNode));
  const crowded = hosts.findIndex((host, k) => Math.min(perNode, np - k * perNode) > host.slots);
  if (crowded >= 0 && !oversubscribe) {
    const host = hosts[crowded]!;
    throw new UsageError(
      `--npernode ${perNode} is more than the ${host.slots} slot${host.slots === 1 ? "" : "s"} of ${host.name} and --no-oversubscribe is set; lower --npernode or give more slots`,
    );
  }
  return { placement, oversubscribed: crowded >= 0 };
}

export function describeHosts(hosts: HostSlots[]): string {
  return hosts.map((h) => `${h.name}:${h.slots}`).join(",");
}

/** A host of the job as planned: how its ranks start and which world ranks it runs. */
export interface PlannedHost extends HostSlots {
  /** local: spawned by the launcher; ssh/srun: by a node agent started that way. */
  via: "local" | "ssh" | "srun";
  /** World ranks placed on it, in order (their local ranks are their positions). */
  ranks: number[];
}

/**
 * Where the job runs: the hosts of --host/--hostfile (over ssh unless they are this host), or
 * of the Slurm allocation (over srun), or of the PBS or LSF allocation (over ssh unless they are
 * this host), or this host alone; only hosts that get a rank.
 * @returns the hosts, and a warning to print if -n oversubscribes the slots
 */
export async function planHosts(
  request: { hosts: HostSlots[] | undefined; np: number | undefined; mapBy: MapBy; oversubscribe: boolean },
  env: NodeJS.ProcessEnv,
): Promise<{ hosts: PlannedHost[]; warning?: string }> {
  const batch = request.hosts === undefined ? batchAllocation(env) : undefined;
  const listed = request.hosts ?? batch?.hosts;
  const srun = batch?.system === "Slurm";
  if (listed === undefined) {
    const perNode = typeof request.mapBy === "object" ? request.mapBy.perNode : undefined;
    const np = request.np ?? perNode ?? 1;
    if (perNode !== undefined) mapPerNode([{ name: hostname(), slots: np }], np, perNode, true); // -n more than N: refused
    return { hosts: [{ name: hostname(), slots: np, via: "local", ranks: Array.from({ length: np }, (_, i) => i) }] };
  }
  const np = request.np ?? (typeof request.mapBy === "object" ? request.mapBy.perNode * listed.length : listed.reduce((sum, h) => sum + h.slots, 0));
  const { placement, oversubscribed } = mapRanks(listed, np, request.mapBy, request.oversubscribe);
  const hosts = await Promise.all(
    listed.map(async (h): Promise<PlannedHost> => ({ ...h, via: srun ? "srun" : (await isThisHost(h.name)) ? "local" : "ssh", ranks: [] })),
  );
  placement.forEach((k, rank) => hosts[k]!.ranks.push(rank));
  const warning = oversubscribed ? `${np} ranks on ${describeHosts(listed)} oversubscribe its slots; ranks will share cores` : undefined;
  return { hosts: hosts.filter((h) => h.ranks.length > 0), warning };
}
