// Bytes a rank receives at start-up (issue 29): the launcher's real address exchange
// (dist/launcher/address-exchange.js, as built by `npm run build`) serves N ranks played by
// DEALER sockets in this process, each saying hello with an address shaped as a real rank's
// (ipc path, tcp endpoint, shared-memory inbox); each measures the reply it gets, then looks up
// the addresses of the ranks an allreduce talks to (recursive doubling: log2 N partners).
// Prints a Markdown table: per rank, bytes of its start-up reply, against the whole table
// (what every rank received before addresses on demand), and the time of the rendezvous and of
// a look-up (the ranks' sockets run in this process too: an upper bound on the launcher's part).
//
//   node bench/startup-bytes.mjs [--sizes 16,64,256] [--per-host 16]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pack, unpack } from "msgpackr";
import { Dealer } from "zeromq";
import { AddressExchange } from "../dist/launcher/address-exchange.js";

const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const sizes = flag("sizes", "16,64,256").split(",").map(Number);
const perHost = Number(flag("per-host", "16"));

/** A rank's address as init() publishes it in a multi-host job. */
const address = (dir, rank, node) => ({
  node,
  local: `ipc://${dir}/rank-${rank}`,
  net: `tcp://10.1.${node >> 8}.${node & 255}:${40000 + rank}`,
  cores: 64,
  shm: { pid: 100000 + rank, fd: 26, bytes: 33574912, inode: `1:${40000 + rank}`, ring: 1048576 },
});

async function measure(np, hostsOf) {
  const dir = mkdtempSync(join(tmpdir(), "tsmpi-bytes-"));
  const exchange = new AddressExchange(`ipc://${dir}/control`);
  const control = await exchange.bind();
  const served = exchange.run(np, () => undefined);
  const ranks = Array.from({ length: np }, (_, rank) => {
    const dealer = new Dealer({ linger: 0 });
    dealer.connect(control);
    return { rank, dealer, self: address(dir, rank, hostsOf(rank)) };
  });
  const t0 = performance.now();
  const startup = await Promise.all(
    ranks.map(async ({ rank, dealer, self }) => {
      await dealer.send(pack({ type: "hello", rank, address: self, pid: 1, host: "h" }));
      const [reply] = await dealer.receive();
      return reply.length;
    }),
  );
  const rendezvousMs = performance.now() - t0;
  // The partners of rank 0 in recursive doubling, on other hosts: the lookups of an allreduce.
  const partners = [];
  for (let bit = 1; bit < np; bit <<= 1) if (hostsOf(bit) !== hostsOf(0)) partners.push(bit);
  let lookupBytes = 0;
  const t1 = performance.now();
  for (const peer of partners) {
    await ranks[0].dealer.send(pack({ type: "lookup", ranks: [peer] }));
    const [reply] = await ranks[0].dealer.receive();
    if (unpack(reply).peers.length !== 1) throw new Error("lookup failed");
    lookupBytes += reply.length;
  }
  const lookupMs = performance.now() - t1;
  const whole = pack({ type: "table", peers: ranks.map((r) => r.self) }).length;
  for (const r of ranks) r.dealer.close();
  exchange.close();
  await served;
  rmSync(dir, { recursive: true, force: true });
  return { max: Math.max(...startup), whole, lookups: partners.length, lookupBytes, rendezvousMs, lookupMs };
}

console.log(
  `| ranks | layout | start-up reply per rank, B (largest) | whole table, B | allreduce look-ups (rank 0) | their bytes | rendezvous, ms | one look-up, ms |`,
);
console.log(`|---:|---|---:|---:|---:|---:|---:|---:|`);
for (const np of sizes) {
  for (const [layout, hostsOf] of [
    [`${perHost} per host`, (r) => Math.floor(r / perHost)],
    ["one host", () => 0],
  ]) {
    const m = await measure(np, hostsOf);
    const each = m.lookups > 0 ? (m.lookupMs / m.lookups).toFixed(2) : "–";
    console.log(`| ${np} | ${layout} | ${m.max} | ${m.whole} | ${m.lookups} | ${m.lookupBytes} | ${m.rendezvousMs.toFixed(0)} | ${each} |`);
  }
}
