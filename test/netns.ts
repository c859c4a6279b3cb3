/**
 * Real hosts for multi-host tests and benchmarks: Linux network namespaces joined by veth
 * pairs to a bridge (in a namespace of its own), each running Debian's openssh-server with
 * a host key and a client key made here. Needs root, iproute2 and openssh-server.
 * `teardown()` removes namespaces, daemons and keys, and is safe to call twice; it also runs
 * when the process exits or is interrupted (SIGINT, SIGTERM, SIGHUP) before calling it.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface VirtualHost {
  /** Namespace name. */
  ns: string;
  /** Its address on the shared network. */
  ip: string;
  /** Interface name inside the namespace. */
  iface: string;
}

export interface Cluster {
  hosts: VirtualHost[];
  /** The --rsh-agent value that logs in with the test key. */
  rshAgent: string;
  /** argv prefix that runs a command on host `i` (`ip netns exec ...`). */
  on(i: number): string[];
  /** Why the sshd of host `i` (from 0) is gone, with the end of its log; undefined while it runs. */
  sshdExit(i: number): string | undefined;
  /** Stop the sshd of host `i` (from 0): connections to it are refused until {@link startSshd}. */
  stopSshd(i: number): void;
  /** Start the sshd of host `i` again. */
  startSshd(i: number): void;
  /** Take the link of host `i` (from 0) down at the bridge, as a pulled cable: nothing goes in or out until {@link restoreLink}. */
  cutLink(i: number): void;
  /** Bring the link of host `i` up again. */
  restoreLink(i: number): void;
  /** Processes running in host `i`'s namespace: `pid command line`. */
  processes(i: number): string[];
  teardown(): void;
}

const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: ["ignore", "pipe", "pipe"] }).toString();

/** Can this machine make namespaces and run sshd? (root, ip, sshd) */
export function canMakeHosts(): boolean {
  try {
    return process.getuid?.() === 0 && existsSync("/usr/sbin/sshd") && run("ip", ["netns", "list"]) !== undefined;
  } catch {
    return false;
  }
}

export interface ClusterOptions {
  /**
   * IPv6 only: hosts get `fd00:<subnet>::<i>/64` and no IPv4 address but loopback, and each
   * host's `/etc/hosts` (`/etc/netns/<ns>/hosts`, which `ip netns exec` mounts) names every
   * host `w<i>.tsmpi.test` at its IPv6 address only, as a cluster's DNS would.
   */
  ipv6?: boolean;
}

/** Make `count` hosts on 10.<a>.<b>.0/24 (a, b from `subnet`), each with sshd listening. */
export function makeCluster(count: number, subnet = 200 + (process.pid % 50), options: ClusterOptions = {}): Cluster {
  const tag = `tsmpi${process.pid % 100000}`;
  const dir = mkdtempSync(join(tmpdir(), "tsmpi-hosts-"));
  const sw = `${tag}-sw`;
  const hosts: VirtualHost[] = [];
  const pids: number[] = [];
  const exits: Array<string | undefined> = [];
  const sshds: Array<ChildProcess | undefined> = [];
  /** Start the sshd of host `k` (from 0) with the configuration written for it. */
  const startSshd = (k: number) => {
    const log = join(dir, `sshd-h${k + 1}.log`);
    const sshd = spawn("ip", ["netns", "exec", hosts[k]!.ns, "/usr/sbin/sshd", "-D", "-f", join(dir, `sshd-h${k + 1}.conf`), "-E", log], { stdio: "ignore" });
    pids.push(sshd.pid!);
    [sshds[k], exits[k]] = [sshd, undefined];
    sshd.on("exit", (code, signal) => {
      if (sshds[k] !== sshd) return; // stopped on purpose
      const said = existsSync(log) ? readFileSync(log, "utf8").trim().split("\n").slice(-5).join(" | ") : "";
      exits[k] = `sshd ${signal ? `was killed by ${signal}` : `exited with status ${code}`}${said ? `: ${said}` : ""}`;
    });
  };
  const stopSshd = (k: number) => {
    const sshd = sshds[k];
    sshds[k] = undefined;
    sshd?.kill("SIGTERM");
  };
  const processes = (k: number) =>
    run("ip", ["netns", "pids", hosts[k]!.ns])
      .split("\n")
      .filter((pid) => pid !== "")
      .map((pid) => {
        try {
          return `${pid} ${readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ").trim()}`;
        } catch {
          return ""; // gone meanwhile
        }
      })
      .filter((line) => line !== "");
  const teardown = () => {
    forgetGuards();
    // Whatever still runs in a host (an sshd session whose connection was cut) goes with it.
    const inHosts = hosts.flatMap((_, k) => {
      try {
        return processes(k).map((line) => Number(line.split(" ")[0]));
      } catch {
        return []; // namespace gone
      }
    });
    // SIGTERM first, so that whatever runs in a host may clean up on the way out.
    const victims = [...pids.splice(0), ...inHosts];
    const signal = (pid: number, name: NodeJS.Signals | 0) => {
      try {
        process.kill(pid, name);
        return true;
      } catch {
        return false; // gone
      }
    };
    const alive = victims.filter((pid) => signal(pid, "SIGTERM"));
    const until = Date.now() + 1000;
    const nap = new Int32Array(new SharedArrayBuffer(4));
    while (Date.now() < until && alive.some((pid) => signal(pid, 0))) Atomics.wait(nap, 0, 0, 20);
    for (const pid of alive) signal(pid, "SIGKILL");
    for (const ns of [...hosts.map((h) => h.ns), sw]) {
      try {
        run("ip", ["netns", "del", ns]);
      } catch {
        // never made
      }
      rmSync(`/etc/netns/${ns}`, { recursive: true, force: true });
    }
    rmSync(dir, { recursive: true, force: true });
  };
  // A bench or test process that exits or is interrupted (Ctrl-C, `timeout`) before its own
  // teardown still removes its namespaces, daemons and keys: nothing is left behind.
  const onSignal = (signal: NodeJS.Signals) => {
    teardown();
    process.kill(process.pid, signal); // the signal's own outcome, now that no handler is left
  };
  const signals: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];
  const forgetGuards = () => {
    process.off("exit", teardown);
    for (const signal of signals) process.off(signal, onSignal);
  };
  process.once("exit", teardown);
  for (const signal of signals) process.once(signal, onSignal);
  try {
    run("ip", ["netns", "add", sw]);
    run("ip", ["-n", sw, "link", "add", "br0", "type", "bridge"]);
    run("ip", ["-n", sw, "link", "set", "br0", "up"]);
    run("ip", ["-n", sw, "link", "set", "lo", "up"]);
    mkdirSync("/run/sshd", { recursive: true });
    run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, "key")]);
    run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, "hostkey")]);
    writeFileSync(join(dir, "authorized_keys"), readFileSync(join(dir, "key.pub")));
    const address = (i: number) => (options.ipv6 ? `fd00:${subnet}::${i}` : `10.${subnet}.0.${i}`);
    for (let i = 1; i <= count; i++) {
      const ns = `${tag}-h${i}`;
      if (options.ipv6) {
        // Before sshd starts: `ip netns exec` mounts the namespace's files when it runs.
        const names = Array.from({ length: count }, (_, k) => `${address(k + 1)} w${k + 1}.tsmpi.test`);
        mkdirSync(`/etc/netns/${ns}`, { recursive: true });
        writeFileSync(`/etc/netns/${ns}/hosts`, ["127.0.0.1 localhost", "::1 localhost", ...names, ""].join("\n"));
      }
      const ip = address(i);
      hosts.push({ ns, ip, iface: "eth0" });
      run("ip", ["netns", "add", ns]);
      run("ip", ["link", "add", `${tag}v${i}`, "netns", ns, "type", "veth", "peer", "name", `p${i}`, "netns", sw]);
      run("ip", ["-n", ns, "link", "set", `${tag}v${i}`, "name", "eth0"]);
      run("ip", ["-n", ns, "addr", "add", ...(options.ipv6 ? [`${ip}/64`, "nodad"] : [`${ip}/24`]), "dev", "eth0"]);
      run("ip", ["-n", ns, "link", "set", "eth0", "up"]);
      run("ip", ["-n", ns, "link", "set", "lo", "up"]);
      run("ip", ["-n", sw, "link", "set", `p${i}`, "master", "br0"]);
      run("ip", ["-n", sw, "link", "set", `p${i}`, "up"]);
      const config = join(dir, `sshd-h${i}.conf`);
      writeFileSync(
        config,
        [
          `ListenAddress ${ip}`,
          "Port 22",
          `HostKey ${join(dir, "hostkey")}`,
          `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
          "PermitRootLogin prohibit-password",
          "PasswordAuthentication no",
          "KbdInteractiveAuthentication no",
          "UsePAM no",
          "StrictModes no",
          `PidFile ${join(dir, `sshd-h${i}.pid`)}`,
          "MaxStartups 100",
          "MaxSessions 100",
          // A login's bash reads root's ~/.bashrc when SHLVL < 2 (Debian's SSH_SOURCE_BASHRC):
          // there, `pyenv init` rehashes (0.9 s a login) under a lock file that a login killed by a
          // test leaves behind, and every later login then waits 60 s. The tests' logins skip it.
          "SetEnv SHLVL=1",
          "",
        ].join("\n"),
      );
      startSshd(i - 1);
    }
  } catch (error) {
    teardown();
    throw error;
  }
  const rshAgent = [
    "ssh",
    `-i ${join(dir, "key")}`,
    "-o StrictHostKeyChecking=no",
    "-o UserKnownHostsFile=/dev/null",
    "-o LogLevel=ERROR",
    "-o BatchMode=yes",
    "-o ConnectTimeout=5",
  ].join(" ");
  const setLink = (k: number, state: "up" | "down") => run("ip", ["-n", sw, "link", "set", `p${k + 1}`, state]);
  return {
    hosts,
    rshAgent,
    on: (i) => ["ip", "netns", "exec", hosts[i]!.ns],
    sshdExit: (i) => exits[i],
    stopSshd,
    startSshd,
    cutLink: (i) => setLink(i, "down"),
    restoreLink: (i) => setLink(i, "up"),
    processes,
    teardown,
  };
}

/** Wait until every host's sshd accepts a login (or throw after `limitMs`, or at once if an sshd exited). */
export async function waitForSsh(cluster: Cluster, limitMs = 10_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  for (const [i, host] of cluster.hosts.entries()) {
    for (;;) {
      try {
        run(cluster.on(0)[0]!, [...cluster.on(0).slice(1), ...cluster.rshAgent.split(" "), host.ip, "true"]);
        break;
      } catch (error) {
        const exit = cluster.sshdExit(i);
        if (exit !== undefined) throw new Error(`sshd on host ${i + 1} (${host.ip}) is gone: ${exit}`, { cause: error });
        if (Date.now() > deadline)
          throw new Error(`sshd on host ${i + 1} (${host.ip}) did not accept a login: ${String((error as { stderr?: Buffer }).stderr ?? error)}`, {
            cause: error,
          });
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }
}
