/**
 * A node agent's part of the launch tree: it starts the agents of its child hosts (as the
 * launcher starts its own, through {@link AgentLink}), passes down what the launcher says to
 * them, and passes up what they say, marked with the node it came from. A child that cannot be
 * started, whose connection dies, or that goes silent for the --heartbeat timeout is reported
 * up as a failure of that host, naming it, and of every host below it (whose agents lose their
 * connection with it and end their ranks).
 */
import type { ChildAgent, FromAgent, ToAgent } from "./agent-protocol.js";
import { AgentLink } from "./agent-link.js";
import { Heartbeat, formatHeartbeat, type HeartbeatSetting } from "./heartbeat.js";

interface Child {
  spec: ChildAgent;
  link: AgentLink;
  /** Nodes at or below this child. */
  nodes: Set<number>;
  beat?: Heartbeat;
}

export class ChildAgents {
  private readonly children: Child[];

  /** Start the children's agents; `up` sends a message to this agent's parent, `settled` hears when the last child link has ended. */
  constructor(
    specs: ChildAgent[],
    private readonly up: (message: FromAgent) => void,
    private readonly heartbeat: HeartbeatSetting | undefined,
    private readonly settled: () => void,
  ) {
    this.children = specs.map((spec) => this.start(spec));
    for (const child of this.children) child.link.send(child.spec.launch);
  }

  private start(spec: ChildAgent): Child {
    const child: Child = { spec, nodes: new Set(below(spec)), link: undefined as unknown as AgentLink };
    child.link = new AgentLink(
      spec.host,
      spec.argv,
      (message) => {
        child.beat?.heard();
        if (message.type === "heartbeat") return; // each edge of the tree beats on its own
        if (message.type === "ready" && message.node === undefined) child.beat = this.watch(child);
        this.up({ ...message, node: message.node ?? spec.node });
      },
      (why) => {
        child.beat?.stop();
        this.lost(child, `${child.link.ready ? "lost its connection" : "could not start its ranks"} (${why})`);
        if (this.allExited) this.settled();
      },
    );
    return child;
  }

  /** Beat towards a child whose agent is ready; a child silent for the timeout is lost, and dropped. */
  private watch(child: Child): Heartbeat | undefined {
    const setting = this.heartbeat;
    if (setting === undefined) return undefined;
    return new Heartbeat(
      setting,
      () => child.link.send({ type: "heartbeat" }),
      (silentMs) => {
        const why = `nothing heard from its node agent for ${(silentMs / 1000).toFixed(1)} s (--heartbeat ${formatHeartbeat(setting)}): its network or power is gone, or the agent is stopped`;
        this.lost(child, why);
        child.link.disconnect();
      },
    );
  }

  /** The child's host failed with `why` (nothing, if its ranks have all ended); the hosts below it go with it. */
  private lost(child: Child, why: string): void {
    this.up({ type: "failed", node: child.spec.node, message: why });
    for (const node of child.nodes) {
      if (node !== child.spec.node)
        this.up({ type: "failed", node, message: `lost with the node agent on ${child.spec.host}, which started its agent (${why})` });
    }
  }

  /**
   * Pass a message of the launcher's down: one meant for a host below goes towards it (@returns
   * true: not for this agent), the script and peer notices to every child as well as this agent.
   */
  route(message: ToAgent): boolean {
    const to = "to" in message ? message.to : undefined;
    const towards = to === undefined ? undefined : this.children.find((c) => c.nodes.has(to));
    if (towards !== undefined) {
      towards.link.send(message);
      return true;
    }
    if (message.type === "entry" || message.type === "notice") for (const child of this.children) child.link.send(message);
    return false;
  }

  /** Every child's agent command has exited (or there are none). */
  get allExited(): boolean {
    return this.children.every((c) => c.link.exited);
  }

  /**
   * Hang up on every child (their agents then end their ranks, and the hosts below them theirs),
   * and stop beating; a child whose agent command is still there after `graceMs` is cut off.
   */
  drop(graceMs: number): void {
    for (const child of this.children) {
      child.beat?.stop();
      child.link.hangUp();
    }
    setTimeout(() => this.children.forEach((c) => c.link.disconnect()), graceMs).unref();
  }
}

/** The nodes at or below `spec`. */
function below(spec: ChildAgent): number[] {
  return [spec.node, ...(spec.launch.children ?? []).flatMap(below)];
}
