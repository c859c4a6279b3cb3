/**
 * A rank's addresses of its peers (addresses on demand): at start-up the launcher sends the
 * addresses of the ranks on this rank's host only, so the bytes a rank receives do not grow
 * with the job; the address of a rank elsewhere is asked for when this rank first sends to it,
 * over the same connection to the launcher, several at once when several sends wait.
 */
import process from "node:process";
import { hostname } from "node:os";
import { pack, unpack } from "msgpackr/pack";
import { Dealer } from "zeromq";
import type { JobKeys, PeerAddress } from "../comm/transport/addresses.js";
import { secureClient } from "../comm/transport/zmq/security.js";
import { InitError, TransportError } from "../errors.js";
import type { ControlMessage } from "./control.js";

/** What the launcher sent at start-up, and how to learn the rest. */
export interface AddressBook {
  /** By rank: every rank's address (--direct), or those of this rank's host. */
  peers: PeerAddress[];
  /** The address of a rank not in {@link peers}; undefined when the table is whole. */
  lookup?: (rank: number) => Promise<PeerAddress>;
  /** Ranks of the job on this rank's machine, its host's and those of other hosts on the same kernel (see PeerAddress.machine). */
  machineRanks: number;
}

/** Say hello to the launcher's address exchange; @returns the addresses it sends back. */
export async function exchangeAddresses(rank: number, size: number, control: string, address: PeerAddress, keys: JobKeys | undefined): Promise<AddressBook> {
  const dealer = new Dealer({ linger: 0, ipv6: true });
  let keep = false;
  try {
    if (keys && control.startsWith("tcp:")) secureClient(dealer, keys);
    dealer.connect(control);
    const hello: ControlMessage = { type: "hello", rank, address, pid: process.pid, host: hostname() };
    await dealer.send(pack(hello));
    const [reply] = await dealer.receive();
    const table = unpack(reply!) as ControlMessage;
    if (table.type === "refused") throw new InitError(`init on rank ${rank}: ${table.reason}`);
    if (table.type === "table" && table.peers.length === size) return { peers: table.peers, machineRanks: onMachine(table.peers, address) };
    if (table.type !== "host-table") throw new InitError(`init on rank ${rank}: the launcher sent an unexpected reply`);
    const peers = new Array<PeerAddress>(size);
    table.ranks.forEach((r, i) => (peers[r] = table.peers[i]!));
    const machineRanks = table.machineRanks ?? table.ranks.length;
    if (table.ranks.length === size) return { peers, machineRanks }; // one host: nothing to look up, the socket closes now
    keep = true;
    return { peers, machineRanks, lookup: lookups(rank, dealer) };
  } finally {
    if (!keep) dealer.close();
  }
}

/** Ranks of `peers` on the machine of `address`. */
function onMachine(peers: PeerAddress[], address: PeerAddress): number {
  return peers.filter((peer) => (address.machine === undefined ? peer.node === address.node : peer.machine === address.machine)).length;
}

/**
 * Ask the launcher for addresses over `dealer`: one request in flight at a time, for every rank
 * asked for meanwhile. The socket only waits for a reply while a request is out, so it never
 * holds the rank's exit.
 */
function lookups(rank: number, dealer: Dealer): (peer: number) => Promise<PeerAddress> {
  const waiting = new Map<number, Array<{ resolve: (address: PeerAddress) => void; reject: (error: Error) => void }>>();
  let asking = false;
  const ask = async (): Promise<void> => {
    asking = true;
    try {
      while (waiting.size > 0) {
        const ranks = [...waiting.keys()];
        await dealer.send(pack({ type: "lookup", ranks } satisfies ControlMessage));
        const [body] = await dealer.receive();
        const reply = unpack(body!) as ControlMessage;
        if (reply.type !== "addresses") throw new TransportError(`rank ${rank}: the launcher answered a lookup with ${reply.type}`);
        reply.ranks.forEach((r, i) => {
          for (const w of waiting.get(r) ?? []) w.resolve(reply.peers[i]!);
          waiting.delete(r);
        });
      }
    } catch (error) {
      const why = new TransportError(`rank ${rank}: could not learn a peer's address from the launcher: ${(error as Error).message}`, { cause: error });
      for (const list of waiting.values()) for (const w of list) w.reject(why);
      waiting.clear();
    } finally {
      asking = false;
    }
  };
  return (peer) =>
    new Promise<PeerAddress>((resolve, reject) => {
      waiting.set(peer, [...(waiting.get(peer) ?? []), { resolve, reject }]);
      if (!asking) void ask();
    });
}
