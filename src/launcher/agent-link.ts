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

/** ssh's exit status for its own failures (name not resolved, connection refused or timed out, login refused), not the remote command's. */
const SSH_FAILED = 255;
/** Pause between two attempts of --launch-retry. */
export const RETRY_MS = 1000;

/** --launch-retry: an agent command that fails as ssh does when it cannot log in is run again, until `until`. */
export interface LaunchRetry {
  /** Last moment (`Date.now()` ms) to start another attempt. */
  until: number;
  /** An attempt failed with `why` and another follows in {@link RETRY_MS}. */
  onRetry(why: string): void;
}

export class AgentLink {
  private child!: ChildProcess;
  private stderrTail: string[] = [];
  /** The agent said it is ready (its address is known). */
  ready = false;
  /** The link is over: the last attempt's agent command exited and no other follows. */
  exited = false;
  /** The agent wrote a message: it started, so its end is not a failed login and is never retried. */
  private heard = false;
  /** What was sent before the agent was ready: a retried agent gets it all again. */
  private backlog: string[] | undefined = [];
  private attempts = 0;
  private readonly firstAttempt = Date.now();
  /** A retry waiting for its turn, and what made the attempt before it fail. */
  private pending?: { timer: NodeJS.Timeout; why: string };
  /** The launcher dropped the link: nothing is retried any more. */
  private dropped = false;
  private readonly closed: Promise<void>;
  private resolveClosed!: () => void;

  constructor(
    readonly host: string,
    private readonly argv: string[],
    private readonly onMessage: (message: FromAgent) => void,
    private readonly onExit: (why: string, clean: boolean) => void,
    private readonly retry?: LaunchRetry,
  ) {
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    this.attempt();
  }

  /** Run the agent command (once more) and replay what the agent must know. */
  private attempt(): void {
    this.attempts++;
    this.stderrTail = [];
    const [command, ...args] = this.argv;
    const child = spawn(command!, args, { stdio: ["pipe", "pipe", "pipe"], detached: true });
    this.child = child;
    child.stdin!.on("error", () => undefined);
    for (const line of this.backlog ?? []) child.stdin!.write(line);
    createInterface({ input: child.stdout!, crlfDelay: Infinity }).on("line", (line) => {
      let message: FromAgent;
      try {
        message = JSON.parse(line) as FromAgent;
      } catch {
        this.keep(line); // not ours: a login banner or a remote shell message
        return;
      }
      this.heard = true;
      if (message.type === "ready") {
        this.ready = true;
        this.backlog = undefined;
      }
      this.onMessage(message);
    });
    createInterface({ input: child.stderr!, crlfDelay: Infinity }).on("line", (line) => this.keep(line));
    child.on("error", (error) => this.keep(`${command}: ${error.message}`));
    child.on("close", (code, signal) => this.attemptEnded(code, signal));
  }

  /** An attempt's agent command exited: retry it if it could not log in and --launch-retry lasts, else the link is over. */
  private attemptEnded(code: number | null, signal: NodeJS.Signals | null): void {
    const status = signal ? `was killed by ${signal}` : `exited with status ${code}`;
    const said = this.stderrTail.length > 0 ? `: ${this.stderrTail.join(" | ")}` : "";
    const why = `${this.argv[0]} to ${this.host} ${status}${said}`;
    if (this.retry !== undefined && !this.dropped && !this.heard && code === SSH_FAILED && Date.now() + RETRY_MS <= this.retry.until) {
      this.pending = { timer: setTimeout(() => ((this.pending = undefined), this.attempt()), RETRY_MS), why };
      this.retry.onRetry(why);
      return;
    }
    this.end(why, code === 0);
  }

  private end(why: string, clean: boolean): void {
    this.exited = true;
    this.resolveClosed();
    const tried = this.attempts > 1 ? `; tried ${this.attempts} times in ${((Date.now() - this.firstAttempt) / 1000).toFixed(1)} s under --launch-retry` : "";
    this.onExit(`${why}${tried}`, clean);
  }

  private keep(line: string): void {
    if (line.trim() === "") return;
    this.stderrTail.push(line.trim());
    if (this.stderrTail.length > 5) this.stderrTail.shift();
  }

  send(message: ToAgent): void {
    if (this.exited) return;
    const line = `${JSON.stringify(message)}\n`;
    this.backlog?.push(line);
    if (this.child.stdin!.writable) this.child.stdin!.write(line);
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

  /** Say no more (end the agent's stdin): the agent then ends its ranks and exits, and so does the agent command. */
  hangUp(): void {
    this.dropped = true;
    if (this.pending === undefined && !this.exited) this.child.stdin!.end();
  }

  /** Drop the connection: the agent then terminates its ranks on its own. A retry still to come is called off. */
  disconnect(): void {
    this.dropped = true;
    if (this.pending !== undefined) {
      clearTimeout(this.pending.timer);
      const { why } = this.pending;
      this.pending = undefined;
      this.end(why, false);
      return;
    }
    if (this.exited || this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, "SIGTERM");
    } catch {
      // gone
    }
  }
}
