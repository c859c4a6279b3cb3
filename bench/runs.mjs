// What the bench scripts share to run their jobs: the JSON lines a job prints, and mpirun's own
// arguments for an mpi4py twin.
import { execFileSync } from "node:child_process";
import { cpus } from "node:os";

const ROOT = new URL("..", import.meta.url).pathname;

/** Run a command in the repository and parse the JSON lines it prints (other lines are ignored). */
export function jsonLines(cmd, argv, env = {}) {
  const text = execFileSync(cmd, argv, {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, ...env },
    maxBuffer: 1 << 26,
    stdio: ["ignore", "pipe", "inherit"],
  });
  return text
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l));
}

/** `mpirun`'s arguments for `n` ranks: as root it must be allowed, past the cores it must oversubscribe. */
export function mpirunArgs(n) {
  return ["-n", String(n), ...(process.getuid?.() === 0 ? ["--allow-run-as-root"] : []), ...(n > cpus().length ? ["--oversubscribe"] : [])];
}

/** `name=value` arguments of an OSU demo (bench/osu/run_demo.py and the tsmpi ports). */
export const kv = (params) => Object.entries(params).map(([k, v]) => `${k}=${v}`);

/** An OSU demo's output: `size value` lines after `#` headers. */
export function rows(text) {
  const found = new Map();
  for (const line of text.split("\n")) {
    const m = /^\s*(\d+)\s+([\d.]+)\s*$/.exec(line);
    if (m) found.set(Number(m[1]), Number(m[2]));
  }
  if (found.size === 0) throw new Error(`no result lines in:\n${text}`);
  return found;
}
