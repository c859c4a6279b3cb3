/**
 * Which address a node's ranks bind their tcp inboxes on. By default, the address this host
 * uses to reach the launcher (or, on the launcher's host, the first remote host): the kernel's
 * own route choice, so docker0/virbr0-style bridges that peers cannot reach are never picked.
 * `--iface NAME` or `--bind CIDR` choose explicitly.
 */
import { createSocket } from "node:dgram";
import { lookup } from "node:dns/promises";
import { hostname, networkInterfaces } from "node:os";
import { UsageError } from "../errors.js";

export interface NetworkChoice {
  iface?: string;
  cidr?: string;
}

export interface Picked {
  address: string;
  /** Name of the interface that has it (for messages). */
  iface: string;
}

function ipv4Addresses(): Array<{ iface: string; address: string }> {
  const found: Array<{ iface: string; address: string }> = [];
  for (const [iface, infos] of Object.entries(networkInterfaces())) {
    for (const info of infos ?? []) if (info.family === "IPv4") found.push({ iface, address: info.address });
  }
  return found;
}

function listAddresses(): string {
  return ipv4Addresses()
    .map((a) => `${a.iface} ${a.address}`)
    .join(", ");
}

function toInt(ip: string): number {
  return ip.split(".").reduce((n, part) => n * 256 + Number(part), 0);
}

/** Is `ip` inside `cidr` (IPv4, e.g. 10.1.0.0/16)? */
export function inCidr(ip: string, cidr: string): boolean {
  const [base, bits = "32"] = cidr.split("/");
  const prefix = Number(bits);
  if (!/^\d+\.\d+\.\d+\.\d+$/.test(base ?? "") || !(prefix >= 0 && prefix <= 32))
    throw new UsageError(`--bind: ${JSON.stringify(cidr)} is not an IPv4 CIDR such as 10.1.0.0/16`);
  if (!/^\d+\.\d+\.\d+\.\d+$/.test(ip)) return false;
  const mask = prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0;
  return (toInt(ip) & mask) >>> 0 === (toInt(base!) & mask) >>> 0;
}

/** The local address the kernel would use to reach `target` (no packet is sent). */
export async function routeTowards(target: string): Promise<string> {
  const { address: ip } = await lookup(target, { family: 4 });
  return new Promise((resolve, reject) => {
    const socket = createSocket("udp4");
    socket.once("error", (error) => {
      socket.close();
      reject(error);
    });
    socket.connect(9, ip, () => {
      const { address } = socket.address();
      socket.close();
      resolve(address);
    });
  });
}

/** Pick this host's address as `choice` says, or by the route towards `towards`. */
export async function pickAddress(choice: NetworkChoice, towards: string): Promise<Picked> {
  const all = ipv4Addresses();
  if (choice.iface !== undefined) {
    const found = all.find((a) => a.iface === choice.iface);
    if (!found) throw new UsageError(`--iface ${choice.iface}: no such interface with an IPv4 address on ${hostname()} (it has ${listAddresses()})`);
    return found;
  }
  if (choice.cidr !== undefined) {
    const found = all.find((a) => inCidr(a.address, choice.cidr!));
    if (!found) throw new UsageError(`--bind ${choice.cidr}: no address of ${hostname()} is in that network (it has ${listAddresses()})`);
    return found;
  }
  let address: string;
  try {
    address = await routeTowards(towards);
  } catch (error) {
    throw new UsageError(`cannot find a route from ${hostname()} to ${towards} (${(error as Error).message}); choose the network with --iface or --bind`);
  }
  return { address, iface: all.find((a) => a.address === address)?.iface ?? "?" };
}

/** Does `name` mean this host (localhost, its host name, or one of its addresses)? */
export async function isThisHost(name: string): Promise<boolean> {
  const me = hostname();
  if (name === "localhost" || name === me || name === me.split(".")[0]) return true;
  try {
    const { address } = await lookup(name, { family: 4 });
    return address.startsWith("127.") || ipv4Addresses().some((a) => a.address === address);
  } catch {
    return false; // unresolvable: treated as remote, and ssh will say what is wrong
  }
}
