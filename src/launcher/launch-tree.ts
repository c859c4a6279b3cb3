/**
 * The launch tree: which node agent starts which. The launcher logs in to at most `fanout`
 * hosts itself; each of their agents logs in to up to `fanout` more, and so on, as Open MPI's
 * daemons and srun spread a launch. Hosts are taken in the order of the job's host list, so the
 * tree is the complete `fanout`-ary tree over them: `ceil(log_fanout(hosts))` levels, and
 * no process opens more than `fanout` logins. Output, exits, failures and heartbeats travel
 * back along the same edges (agent-protocol.ts). Under Slurm every host is started by srun,
 * whose own daemons form a tree: those hosts are all the launcher's children.
 */

/** Default --launch-fanout: flat up to this many remote hosts (one level of ssh), a tree beyond. */
export const DEFAULT_FANOUT = 16;

/** A host of the tree: its node index in the job's host list and how it is started. */
export interface TreeHost {
  node: number;
  via: "ssh" | "srun";
}

/** Who starts whom: `children.get(-1)` are the launcher's own; every other key is a node. */
export interface LaunchTree {
  children: Map<number, number[]>;
  /** Levels below the launcher (0 without remote hosts). */
  depth: number;
}

/** The tree over `hosts` (remote hosts in host-list order) with at most `fanout` children per process. */
export function launchTree(hosts: TreeHost[], fanout: number): LaunchTree {
  const children = new Map<number, number[]>([[-1, []]]);
  const tree = hosts.filter((h) => h.via === "ssh");
  for (const h of hosts) if (h.via === "srun") children.get(-1)!.push(h.node);
  let depth = children.get(-1)!.length > 0 ? 1 : 0;
  tree.forEach((h, i) => {
    // Position i's parent in the complete fanout-ary tree whose root is the launcher (position -1).
    const parent = i < fanout ? -1 : tree[Math.floor(i / fanout) - 1]!.node;
    const list = children.get(parent) ?? [];
    list.push(h.node);
    children.set(parent, list);
    depth = Math.max(depth, levelOf(i, fanout));
  });
  return { children, depth };
}

/** Level (1 = the launcher's children) of position `i` in the complete fanout-ary tree. */
function levelOf(i: number, fanout: number): number {
  let level = 1;
  for (let first = 0, width = fanout; i >= first + width; level++) [first, width] = [first + width, width * fanout];
  return level;
}

/** `node` and every node below it. */
export function subtree(tree: LaunchTree, node: number): number[] {
  const all = [node];
  for (let i = 0; i < all.length; i++) all.push(...(tree.children.get(all[i]!) ?? []));
  return all;
}
