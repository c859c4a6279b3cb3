/**
 * Heartbeats along the launch tree, so that a host that goes silent (its network cut, its
 * power gone, its node agent stopped) is noticed in seconds instead of when TCP gives up,
 * many minutes later. The launcher and each node agent send each other a `heartbeat` line
 * every interval, and each watches for the other's lines (any line counts). A launcher that
 * hears nothing from an agent for the timeout declares that host lost (remote-host.ts); an agent
 * that hears nothing from the launcher ends its ranks and exits (agent.ts).
 *
 * Liveness is per node agent, not per rank: ranks do not take part, so a rank that computes
 * for minutes without calling tsmpi never stops its host's heartbeats; an agent that is
 * stopped (SIGSTOP) does. ssh gets keep-alives of its own ({@link sshKeepAlive}).
 */
import { UsageError } from "../errors.js";

/** --heartbeat: how often each side beats, and how long a silence means the other side is lost. */
export interface HeartbeatSetting {
  intervalMs: number;
  timeoutMs: number;
}

/**
 * The default, `1s,5s`: a job on a lost host ends about 6 s after its host went silent, with a
 * beat every second that costs a few bytes; 5 s is 5 missed beats, far longer than a busy host
 * keeps a light process such as the agent from running.
 */
export const DEFAULT_HEARTBEAT: HeartbeatSetting = { intervalMs: 1000, timeoutMs: 5000 };

/** `1s`, `500ms`, `2` (seconds). */
function duration(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*(ms|s)?\s*$/.exec(text);
  if (match === null) return undefined;
  const ms = Number(match[1]) * (match[2] === "ms" ? 1 : 1000);
  return ms > 0 && Number.isFinite(ms) ? ms : undefined;
}

/**
 * Parse --heartbeat INTERVAL,TIMEOUT (`1s,5s`, `500ms,3s`, `2,10`), or `off`.
 * @returns the setting, undefined for `off`
 */
export function parseHeartbeat(text: string | undefined): HeartbeatSetting | undefined {
  if (text === undefined) return DEFAULT_HEARTBEAT;
  if (text.trim() === "off") return undefined;
  const [interval, timeout, ...more] = text.split(",").map(duration);
  if (interval === undefined || timeout === undefined || more.length > 0)
    throw new UsageError(`--heartbeat must be INTERVAL,TIMEOUT (e.g. --heartbeat 1s,5s, or 500ms,3s) or off, got ${JSON.stringify(text)}`);
  if (timeout < 2 * interval)
    throw new UsageError(
      `--heartbeat ${text}: the timeout must be at least twice the interval, or one late beat would lose a host; e.g. --heartbeat ${formatHeartbeat({ intervalMs: interval, timeoutMs: 5 * interval })}`,
    );
  return { intervalMs: interval, timeoutMs: timeout };
}

/** The setting as --heartbeat spells it. */
export function formatHeartbeat({ intervalMs, timeoutMs }: HeartbeatSetting): string {
  const s = (ms: number) => (ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`);
  return `${s(intervalMs)},${s(timeoutMs)}`;
}

/**
 * ssh's own keep-alives for the connection to a host: an ssh client never waits on a dead
 * connection for long, and a firewall never drops it for being idle. ssh sends one after an
 * interval with nothing from the server and gives up after `ServerAliveCountMax` unanswered:
 * here three intervals after the heartbeat timeout, so that the heartbeat, which names the host,
 * speaks first. Only for an ssh command that does not set them itself.
 * @returns `rsh` with `-o ServerAliveInterval=… -o ServerAliveCountMax=…` added
 */
export function sshKeepAlive(rsh: string, setting: HeartbeatSetting | undefined): string {
  const program = rsh.trim().split(/\s+/)[0]?.split("/").pop();
  if (setting === undefined || program !== "ssh" || /ServerAlive/i.test(rsh)) return rsh;
  const interval = Math.max(1, Math.ceil(setting.intervalMs / 1000));
  const count = Math.ceil(setting.timeoutMs / 1000 / interval) + 3;
  return `${rsh} -o ServerAliveInterval=${interval} -o ServerAliveCountMax=${count}`;
}

/**
 * One side's heartbeat: `beat` is called every interval (send a beat to the other side), and
 * `silent` once, when nothing was {@link heard} from the other side for the timeout. A pause of
 * this process's own (a stalled event loop, a suspended machine) is not counted as silence.
 */
export class Heartbeat {
  private lastHeard = performance.now();
  private lastTick = performance.now();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly setting: HeartbeatSetting,
    beat: () => void,
    private readonly silent: (silentMs: number) => void,
  ) {
    this.timer = setInterval(() => {
      beat();
      this.check();
    }, setting.intervalMs);
    this.timer.unref();
  }

  /** A line came from the other side. */
  heard(): void {
    this.lastHeard = performance.now();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private check(): void {
    const now = performance.now();
    // This tick came more than an interval late: we were not running, so what the other side
    // sent meanwhile may still wait to be read. Count the silence from now.
    if (now - this.lastTick > 2 * this.setting.intervalMs) this.lastHeard = now;
    this.lastTick = now;
    const silentMs = now - this.lastHeard;
    if (silentMs < this.setting.timeoutMs) return;
    this.stop();
    this.silent(silentMs);
  }
}
