/**
 * The script's hand-over: ranks boot (Node + tsmpi) while the launcher bundles the script and
 * binds the rendezvous socket (loading esbuild and ZeroMQ); then every host is told what to
 * run and where the rendezvous is, and the launcher serves it.
 */
import { readFileSync } from "node:fs";
import type { AddressExchange } from "./address-exchange.js";
import type { JobContext, JobHost } from "./job-host.js";
import { say } from "./output.js";
import { prepareScript } from "./transpile.js";
import { tsmpiVersion } from "./version.js";

/** Hand the script to `hosts` and run the rendezvous; a script that cannot be bundled aborts the job. */
export async function handOutScript({ options, plan, jobDir, supervisor }: JobContext, control: AddressExchange, hosts: JobHost[]): Promise<void> {
  const ready = Promise.all([prepareScript(options.script, jobDir.path, tsmpiVersion()), control.bind()]);
  ready.catch(() => undefined);
  try {
    const [path, address] = await ready;
    void control.run(plan.np, (rank) => supervisor.rankJoined(rank)).catch((error: Error) => supervisor.abort(1, `rendezvous failed: ${error.message}`));
    // Remote hosts get a bundle's code (it lives only here); a JavaScript script is at the same path there.
    const code = plan.remote && path !== options.script ? readFileSync(path, "utf8") : undefined;
    for (const host of hosts) host.start({ path, code, control: address, keys: plan.keys });
  } catch (error) {
    say((error as Error).message);
    supervisor.abort(1, "");
  }
}
