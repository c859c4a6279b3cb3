/**
 * The launcher's side of one remote host: it starts the node agent there with ssh (or the
 * `--rsh-agent` command, or srun inside a Slurm allocation) and speaks the line protocol
 * of {@link ToAgent}/{@link FromAgent} over the agent's stdin/stdout. What the agent command
 * itself prints on stderr (ssh's own errors, a missing node) is kept for the error message.
 */
import process from "node:process";
import { spawn, type ChildProcess } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";
import type { FromAgent, ToAgent } from "./agent-protocol.js";

/** Default remote login command: never prompts (a prompt would hang the job), bounded connect. */
export const DEFAULT_RSH_AGENT = "ssh -o BatchMode=yes -o ConnectTimeout=10";

/** Where the node agent is in this tsmpi install (the same path is used on remote hosts). */
export const AGENT_MAIN = join(dirname(fileURLToPath(import.meta.url)), "agent.js");

export interface RemoteCommand {
  /** ssh-style login command (--rsh-agent, split on spaces), or "srun" for Slurm. */
  rsh: string;
  /** Node executable on the remote host. */
  node: string;
  /** The agent script on the remote host. */
  agentMain: string;
  /** --launch-agent: the remote shell command that starts the node agent, in place of `node agentMain`. */
  launchAgent?: string;
  /** The ranks' working directory there. */
  cwd: string;
  /** `cwd` is --wdir's (else the launcher's own). */
  wdir?: boolean;
}

/** POSIX shell quoting for the command line that ssh hands to the remote shell. */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The argv that starts the agent on `host`. */
export function agentArgv(host: string, command: RemoteCommand): string[] {
  if (command.rsh === "srun") {
    // One single-task step per node; --overlap lets it share the allocation's CPUs with other steps.
    return [
      "srun",
      "--nodes=1",
      "--ntasks=1",
      `--nodelist=${host}`,
      "--overlap",
      "--quiet",
      "--unbuffered",
      `--chdir=${command.cwd}`,
      ...(command.launchAgent === undefined ? [command.node, command.agentMain] : ["/bin/sh", "-c", `exec ${command.launchAgent}`]),
    ];
  }
  const [cwd, node, agent] = [command.cwd, command.node, command.agentMain].map(shellQuote);
  // Check what the remote host must have, so that a missing piece gets a message that says what to do.
  const missing = (what: string, fix: string) => `{ echo "tsmpi: ${what} on $(hostname); ${fix}" >&2; exit 127; }`;
  const where = command.wdir
    ? "--wdir must name a directory that exists on every host"
    : "ranks start in the launcher's working directory, which must exist on every host";
  const installed = [
    `command -v ${node} >/dev/null || ${missing(`no node at ${command.node}`, "install Node.js at the same path or give --remote-node")}`,
    `test -f ${agent} || ${missing(`no tsmpi at ${command.agentMain}`, "install tsmpi at the same path or give --prefix")}`,
  ];
  const remote = [
    `cd ${cwd} 2>/dev/null || ${missing(`no directory ${command.cwd}`, where)}`,
    ...(command.launchAgent === undefined ? [...installed, `exec ${node} ${agent}`] : [`exec ${command.launchAgent}`]),
  ].join("; ");
  return [...command.rsh.split(/\s+/).filter((w) => w !== ""), host, remote];
}

/** How long the launcher waits, at its end, for an agent command to exit before cutting it off. */
const SETTLE_MS = 2000;

export class AgentLink {
  private readonly child: ChildProcess;
  private readonly stderrTail: string[] = [];
  /** The agent said it is ready (its address is known). */
  ready = false;
  exited = false;
  private readonly closed: Promise<void>;

  constructor(
    readonly host: string,
    argv: string[],
    onMessage: (message: FromAgent) => void,
    onExit: (why: string, clean: boolean) => void,
  ) {
    this.child = spawn(argv[0]!, argv.slice(1), { stdio: ["pipe", "pipe", "pipe"], detached: true });
    this.child.stdin!.on("error", () => undefined);
    createInterface({ input: this.child.stdout!, crlfDelay: Infinity }).on("line", (line) => {
      let message: FromAgent;
      try {
        message = JSON.parse(line) as FromAgent;
      } catch {
        this.keep(line); // not ours: a login banner or a remote shell message
        return;
      }
      if (message.type === "ready") this.ready = true;
      onMessage(message);
    });
    createInterface({ input: this.child.stderr!, crlfDelay: Infinity }).on("line", (line) => this.keep(line));
    this.child.on("error", (error) => this.keep(`${argv[0]}: ${error.message}`));
    this.closed = new Promise((resolve) => this.child.on("close", () => resolve()));
    this.child.on("close", (code, signal) => {
      this.exited = true;
      const status = signal ? `was killed by ${signal}` : `exited with status ${code}`;
      const said = this.stderrTail.length > 0 ? `: ${this.stderrTail.join(" | ")}` : "";
      onExit(`${argv[0]} to ${host} ${status}${said}`, code === 0);
    });
  }

  private keep(line: string): void {
    if (line.trim() === "") return;
    this.stderrTail.push(line.trim());
    if (this.stderrTail.length > 5) this.stderrTail.shift();
  }

  send(message: ToAgent): void {
    if (!this.exited && this.child.stdin!.writable) this.child.stdin!.write(`${JSON.stringify(message)}\n`);
  }

  /**
   * Resolves once the agent command (ssh) has exited: it does just after the agent reports its
   * ranks' ends; one that has not after {@link SETTLE_MS} is cut off (see {@link disconnect}).
   */
  async settled(): Promise<void> {
    const pause = () => new Promise<void>((resolve) => setTimeout(resolve, SETTLE_MS).unref());
    if (this.exited) return;
    await Promise.race([this.closed, pause()]);
    if (this.exited) return;
    this.disconnect();
    await Promise.race([this.closed, pause()]);
  }

  /** Drop the connection: the agent then terminates its ranks on its own. */
  disconnect(): void {
    if (this.exited || this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, "SIGTERM");
    } catch {
      // gone
    }
  }
}
