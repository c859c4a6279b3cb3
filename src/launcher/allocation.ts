/**
 * The hosts and slots of the batch job this process runs in, read as mpirun reads them: Slurm
 * (`SLURM_JOB_NODELIST`, `SLURM_TASKS_PER_NODE`), PBS and Torque (`$PBS_NODEFILE`: a file with
 * one line per slot) and LSF (`LSB_MCPU_HOSTS`: `host n host n ...`, else `LSB_HOSTS`: one word
 * per slot). Without `--host`/`--hostfile`, a job inside one runs on its hosts (see planHosts).
 */
import { readFileSync } from "node:fs";
import { UsageError } from "../errors.js";

/** A batch system's allocation: its hosts, in its order, with their slots. */
export interface Allocation {
  system: "Slurm" | "PBS" | "LSF";
  hosts: Array<{ name: string; slots: number }>;
}

/**
 * The allocation this process runs in (Slurm first, then PBS, then LSF), or undefined outside one.
 * @throws UsageError if the batch system's variables or node file cannot be read
 */
export function batchAllocation(env: NodeJS.ProcessEnv): Allocation | undefined {
  const found = (system: Allocation["system"], hosts: Allocation["hosts"] | undefined) => (hosts === undefined ? undefined : { system, hosts });
  return found("Slurm", slurmHosts(env)) ?? found("PBS", pbsHosts(env)) ?? found("LSF", lsfHosts(env));
}

/** Expand a Slurm hostlist such as `node[01-03,07],gpu5` into host names. */
export function expandNodeList(list: string): string[] {
  const names: string[] = [];
  // Split on commas that are not inside brackets.
  for (const part of list.match(/[^,[]+(?:\[[^\]]*\][^,[]*)*/g) ?? []) {
    const match = /^([^[]*)\[([^\]]*)\](.*)$/.exec(part);
    if (!match) {
      names.push(part);
      continue;
    }
    const [, prefix, ranges, suffix] = match;
    for (const range of ranges!.split(",")) {
      const [from, to = from] = range.split("-") as [string, string?];
      const width = from.length;
      const tails = suffix === "" ? [""] : expandNodeList(suffix!);
      for (let i = Number(from); i <= Number(to); i++) for (const tail of tails) names.push(`${prefix}${String(i).padStart(width, "0")}${tail}`);
    }
  }
  return names;
}

/** Expand Slurm's `SLURM_TASKS_PER_NODE` (`2(x3),1`) into one count per node. */
export function expandTasksPerNode(text: string): number[] {
  const counts: number[] = [];
  for (const item of text.split(",")) {
    const match = /^(\d+)(?:\(x(\d+)\))?$/.exec(item.trim());
    if (!match) throw new UsageError(`cannot read SLURM_TASKS_PER_NODE=${JSON.stringify(text)}`);
    for (let i = 0; i < Number(match[2] ?? 1); i++) counts.push(Number(match[1]));
  }
  return counts;
}

/** Hosts and slots of the Slurm allocation this process runs in, or undefined outside one. */
export function slurmHosts(env: NodeJS.ProcessEnv): Allocation["hosts"] | undefined {
  const list = env.SLURM_JOB_NODELIST ?? env.SLURM_NODELIST;
  if (!env.SLURM_JOB_ID || !list) return undefined;
  const names = expandNodeList(list);
  const tasks = env.SLURM_TASKS_PER_NODE ? expandTasksPerNode(env.SLURM_TASKS_PER_NODE) : names.map(() => 1);
  if (tasks.length !== names.length)
    throw new UsageError(`Slurm gave ${names.length} nodes (${list}) but ${tasks.length} task counts (${env.SLURM_TASKS_PER_NODE})`);
  return names.map((name, i) => ({ name, slots: tasks[i]! }));
}

/**
 * Hosts and slots of the PBS (or Torque) job this process runs in: `$PBS_NODEFILE` names a file
 * with one line per slot, so a host named on 4 lines has 4 slots. Undefined outside one.
 */
export function pbsHosts(env: NodeJS.ProcessEnv): Allocation["hosts"] | undefined {
  const file = env.PBS_NODEFILE;
  if (!file) return undefined;
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new UsageError(`cannot read PBS_NODEFILE ${file}: ${(error as Error).message}`, { cause: error });
  }
  const names = text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"));
  if (names.length === 0) throw new UsageError(`PBS_NODEFILE ${file} lists no host`);
  return countSlots(names);
}

/**
 * Hosts and slots of the LSF job this process runs in: `LSB_MCPU_HOSTS` (`hostA 4 hostB 2`),
 * else `LSB_HOSTS` (`hostA hostA hostA hostA hostB hostB`: one word per slot; LSF leaves it
 * unset when the list is too long). Undefined outside one.
 */
export function lsfHosts(env: NodeJS.ProcessEnv): Allocation["hosts"] | undefined {
  const mcpu = env.LSB_MCPU_HOSTS?.trim();
  if (mcpu) {
    const words = mcpu.split(/\s+/);
    const hosts: string[] = [];
    for (let i = 0; i < words.length; i += 2) {
      const slots = Number(words[i + 1]);
      if (!/^\d+$/.test(words[i + 1] ?? "") || slots < 1)
        throw new UsageError(
          `cannot read LSB_MCPU_HOSTS=${JSON.stringify(env.LSB_MCPU_HOSTS)}: expected "host slots host slots ...", got ${JSON.stringify(words[i + 1] ?? "")} for ${words[i]}`,
        );
      for (let s = 0; s < slots; s++) hosts.push(words[i]!);
    }
    return countSlots(hosts);
  }
  const list = env.LSB_HOSTS?.trim();
  return list ? countSlots(list.split(/\s+/)) : undefined;
}

/** One slot per name: a host named n times has n slots, in the order hosts first appear. */
function countSlots(names: string[]): Allocation["hosts"] {
  const slots = new Map<string, number>();
  for (const name of names) slots.set(name, (slots.get(name) ?? 0) + 1);
  return [...slots].map(([name, n]) => ({ name, slots: n }));
}
