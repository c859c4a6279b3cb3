/**
 * The ranks on the launcher's own host: started as a node agent starts them elsewhere, their
 * output forwarded to the launcher's stdout/stderr, their ends decided by the supervisor, and
 * the launcher's stdin piped to rank 0.
 */
import process from "node:process";
import type { JobContext, JobHost } from "./job-host.js";
import type { PlannedHost } from "./hosts.js";
import { startLocalRanks } from "./local-ranks.js";
import { say, writeErr } from "./output.js";

export function startLocalHost(host: PlannedHost, node: number, { options, plan, jobDir, supervisor }: JobContext): JobHost {
  const { script, args, exportEnv: env, transport, bindTo, reportBindings, wdir: cwd } = options;
  const ranks = startLocalRanks(
    {
      ranks: host.ranks.map((rank, localRank) => ({ rank, localRank })),
      size: plan.np,
      node,
      jobId: jobDir.id,
      jobDir: jobDir.path,
      script,
      args,
      env: { ...env, ...supervisor.profile?.env(false) },
      address: plan.picked?.address,
      transport,
      cwd,
      bindTo,
      reportBindings,
    },
    {
      output: (rank, fd, chunk) => {
        const r = supervisor.ranks[rank]!;
        (fd === 1 ? r.out : r.err).push(chunk);
      },
      failed: (rank, error) => say(`rank ${rank} could not start: ${error.message}`),
      note: (line) => writeErr(`${line}\n`),
      exit: (rank, code, signal) => {
        if (rank === 0 && stdin) process.stdin.unpipe(stdin);
        supervisor.rankExited(supervisor.ranks[rank]!, code, signal);
      },
    },
  );
  for (const rank of host.ranks) supervisor.addRank(rank, host, (signal, group) => ranks.signal(rank, signal, group));
  const stdin = ranks.stdin;
  if (stdin) process.stdin.pipe(stdin);
  return {
    start: ({ path, control, keys }) => ranks.start({ type: "start", entry: path, control, keys }),
    notify: (notice) => ranks.notify(notice),
    disconnect: () => undefined,
    close: () => undefined,
    settled: () => Promise.resolve(),
  };
}
