/**
 * Launcher <-> node agent (one agent per remote host, started by ssh or srun), one JSON
 * object per line over the agent's stdin/stdout. Byte payloads are base64.
 *
 * Agents form a launch tree (launch-tree.ts): an agent starts the agents of its `children` and
 * relays between them and its parent. A message meant for one host carries its node (`to`,
 * downwards); every message an agent relays upwards carries the node it came from (`node`).
 */
import type { JobKeys } from "../comm/transport/addresses.js";
import type { PeerNotice, TransportChoice } from "../rank/control.js";
import type { BindTo } from "./binding.js";
import type { HeartbeatSetting } from "./heartbeat.js";

export type ToAgent =
  | {
      type: "launch";
      /** World ranks to start on this node, with their local ranks. */
      ranks: Array<{ rank: number; localRank: number }>;
      size: number;
      node: number;
      jobId: string;
      script: string;
      args: string[];
      /** The ranks' working directory (--wdir, else the launcher's). */
      cwd: string;
      /** Variables named with -x, set in every rank on top of the node's own environment. */
      env: Record<string, string>;
      /** How to pick this node's address: an interface name, a CIDR, or the route to the launcher. */
      network: { iface?: string; cidr?: string; towards: string };
      transport: TransportChoice;
      bindTo: BindTo;
      /** --report-bindings: answer with a `note` per rank. */
      reportBindings: boolean;
      /** The job's keys, unless --insecure. */
      keys?: JobKeys;
      /** --heartbeat (absent: off): beat this often, and end the host's ranks when the launcher is silent for the timeout. */
      heartbeat?: HeartbeatSetting;
      /** The hosts whose agents this agent starts, and what each of those is told in turn. */
      children?: ChildAgent[];
    }
  /** What the ranks run: a JavaScript file at the same path on every host, or the bundle's code. */
  | { type: "entry"; path?: string; code?: string; control: string }
  /** Signal a rank (`group`: its whole process group). */
  | { type: "signal"; rank: number; signal: NodeJS.Signals; group: boolean; to?: number }
  | { type: "notice"; notice: PeerNotice }
  | { type: "stdin"; data?: string; to?: number }
  /** --trace: answer with this host's clock (see clock.ts). */
  | { type: "clock"; id: number; to?: number }
  /** The launcher is alive (see heartbeat.ts). */
  | { type: "heartbeat" };

/** A host in an agent's part of the launch tree: how to start its agent, and its launch message. */
export interface ChildAgent {
  node: number;
  /** Its name, as the launcher's host list gives it (for messages). */
  host: string;
  /** The command that starts its agent (ssh, see agentArgv). */
  argv: string[];
  launch: Extract<ToAgent, { type: "launch" }>;
}

/** What an agent says, or relays from the agents below it (`node`: the host it came from; absent: the agent's own host). */
export type FromAgent = FromHost & { node?: number };

type FromHost =
  | { type: "ready"; address: string; host: string }
  | { type: "output"; rank: number; fd: 1 | 2; data: string }
  | { type: "exit"; rank: number; code: number | null; signal: NodeJS.Signals | null }
  | { type: "failed"; message: string }
  /** A line for the launcher's stderr, as it is (--report-bindings). */
  | { type: "note"; line: string }
  | { type: "clock"; id: number; time: number }
  /** The agent is alive (see heartbeat.ts). */
  | { type: "heartbeat" };
