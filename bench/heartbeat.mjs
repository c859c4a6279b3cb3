// Heartbeats (--heartbeat, issue 33) on three network-namespace hosts with sshd (needs root,
// iproute2, openssh-server; the cluster of test/netns.ts). Not part of `npm run bench`: the soak
// takes its full length.
//
//   node bench/heartbeat.mjs soak [--minutes 10] [--stretch 60] [--per-host 1]
//     A job whose ranks compute STRETCH s at a time (a tight loop, no tsmpi call) between
//     allreduces for MINUTES, with the default --heartbeat: it must never lose a host. Prints the
//     exit status, any loss, the load seen, and the CPU time the launcher and each node agent used.
//   node bench/heartbeat.mjs cost [--seconds 30] [--repeat 3]
//     The CPU cost of heartbeats alone: an idle job (2 ranks per host, waiting SECONDS) with the
//     default --heartbeat and its twin with --heartbeat off, interleaved; CPU seconds of the
//     launcher plus the two node agents, median of REPEAT.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { setInterval, clearInterval } from "node:timers";
import process from "node:process";
import { loadCluster } from "./multihost.mjs";

const ROOT = new URL("..", import.meta.url).pathname;
const TICKS = 100; // USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s
const [mode = "soak", ...rest] = process.argv.slice(2);
const arg = (name, fallback) => {
  const at = rest.indexOf(`--${name}`);
  return at < 0 ? fallback : Number(rest[at + 1]);
};

/** CPU seconds (user + system) that process `pid` has used so far, or undefined once it is gone. */
function cpu(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / TICKS;
  } catch {
    return undefined;
  }
}

/**
 * Run heartbeat.ts on the cluster; samples the CPU time of the launcher and of the node agents
 * every 200 ms while it runs (the last sample before each ends is kept).
 */
function run(cluster, perHost, launcherArgs, fixtureArgs) {
  const hosts = cluster.hosts.map((h) => `${h.ip}:${perHost}`).join(",");
  const argv = [...cluster.on(0), "node", join(ROOT, "bin/tsmpi.js"), "-q", "--rsh-agent", cluster.rshAgent, "--host", hosts, ...launcherArgs];
  const child = spawn(argv[0], [...argv.slice(1), "-n", String(3 * perHost), join(ROOT, "test/fixtures/heartbeat.ts"), ...fixtureArgs], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk) => (stdout += chunk));
  child.stderr.on("data", (chunk) => (stderr += chunk));
  const used = new Map();
  const loads = [];
  const sample = setInterval(() => {
    const agents = [1, 2].flatMap((i) => cluster.processes(i).filter((line) => /^\d+ \S*node \S*launcher\/agent\.js/.test(line)));
    for (const line of agents) used.set(`agent ${line.split(" ")[0]}`, cpu(Number(line.split(" ")[0])) ?? used.get(`agent ${line.split(" ")[0]}`));
    used.set("launcher", cpu(child.pid) ?? used.get("launcher"));
    loads.push(loadavg()[0]);
  }, 200);
  const started = Date.now();
  return new Promise((resolve) => {
    child.on("close", (code) => {
      clearInterval(sample);
      resolve({ code, stdout, stderr, used, seconds: (Date.now() - started) / 1000, load: loads.length ? [Math.min(...loads), Math.max(...loads)] : [] });
    });
  });
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const total = (used) => [...used.values()].reduce((sum, s) => sum + (s ?? 0), 0);

const { makeCluster, waitForSsh, canMakeHosts } = await loadCluster();
if (!canMakeHosts()) {
  console.log("needs root, iproute2 and openssh-server");
  process.exit(1);
}
const cluster = makeCluster(3, 240);
try {
  await waitForSsh(cluster);
  if (mode === "soak") {
    const minutes = arg("minutes", 10);
    const stretch = arg("stretch", 60);
    const perHost = arg("per-host", 1);
    const rounds = Math.max(1, Math.round((minutes * 60) / stretch));
    console.log(`soak: ${3 * perHost} ranks on 3 hosts compute ${stretch} s at a stretch, ${rounds} times, default --heartbeat (1s,5s)`);
    const r = await run(cluster, perHost, [], ["compute", String(stretch), String(rounds)]);
    const lost = r.stderr.split("\n").filter((line) => line.includes("nothing heard"));
    console.log(
      `exit status ${r.code} after ${r.seconds.toFixed(0)} s; rounds completed on rank 0: ${(r.stdout.match(/rank 0 round/g) ?? []).length} of ${rounds}`,
    );
    console.log(`hosts lost: ${lost.length === 0 ? "none" : lost.join(" | ")}`);
    console.log(`load average (1 min) while it ran: ${r.load.map((l) => l.toFixed(1)).join(" to ")}`);
    for (const [who, s] of r.used) console.log(`CPU time of the ${who}: ${s?.toFixed(2)} s`);
    if (r.code !== 0 || lost.length > 0) console.log(r.stderr);
  } else if (mode === "cost") {
    const seconds = arg("seconds", 30);
    const repeat = arg("repeat", 3);
    const samples = { "1s,5s": [], off: [] };
    for (let i = 0; i < repeat; i++) {
      for (const setting of Object.keys(samples)) {
        const r = await run(cluster, 2, ["--heartbeat", setting], ["idle", String(seconds)]);
        if (r.code !== 0) throw new Error(`--heartbeat ${setting}: exit status ${r.code}\n${r.stderr}`);
        samples[setting].push(total(r.used));
        console.log(
          `--heartbeat ${setting}: launcher + agents used ${total(r.used).toFixed(2)} s CPU in ${r.seconds.toFixed(1)} s (load ${r.load.map((l) => l.toFixed(1)).join("-")})`,
        );
      }
    }
    const [on, off] = [median(samples["1s,5s"]), median(samples.off)];
    console.log(
      `median of ${repeat}: --heartbeat 1s,5s ${on.toFixed(2)} s, off ${off.toFixed(2)} s, difference ${(on - off).toFixed(2)} s CPU over ${seconds} s idle (ratio ${(on / off).toFixed(2)}×)`,
    );
  } else throw new Error(`bench/heartbeat.mjs: unknown mode ${mode}; soak or cost`);
} finally {
  cluster.teardown();
}
