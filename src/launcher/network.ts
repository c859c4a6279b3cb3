/**
 * Which address a node's ranks bind their tcp inboxes on. By default, the address this host
 * uses to reach the launcher (or, on the launcher's host, the first remote host): the kernel's
 * own route choice, so docker0/virbr0-style bridges that peers cannot reach are never picked.
 * `--iface NAME` or `--bind CIDR` choose explicitly.
 */
import { createSocket } from "node:dgram";
import { lookup } from "node:dns/promises";
import { isIPv4, isIPv6 } from "node:net";
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

/**
 * This host's IPv4 and IPv6 addresses, IPv4 first. IPv6 link-local addresses (fe80::/10) are
 * left out: they need an interface scope that peers on other hosts cannot use.
 */
function hostAddresses(): Array<{ iface: string; address: string }> {
  const found: Array<{ iface: string; address: string; v6: boolean }> = [];
  for (const [iface, infos] of Object.entries(networkInterfaces())) {
    for (const info of infos ?? []) {
      if (info.family === "IPv4") found.push({ iface, address: info.address, v6: false });
      else if (!/^fe[89ab]/i.test(info.address)) found.push({ iface, address: info.address, v6: true });
    }
  }
  return found.sort((a, b) => Number(a.v6) - Number(b.v6)).map(({ iface, address }) => ({ iface, address }));
}

function listAddresses(): string {
  return hostAddresses()
    .map((a) => `${a.iface} ${a.address}`)
    .join(", ");
}

/** An IP address as a number: 32 bits for IPv4, 128 for IPv6 (`::` and embedded IPv4 allowed). */
function toBits(ip: string): bigint {
  if (isIPv4(ip)) return ip.split(".").reduce((n, part) => n * 256n + BigInt(part), 0n);
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(ip)?.[1];
  const text = tail === undefined ? ip : ip.slice(0, -tail.length) + ((n) => `${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`)(toBits(tail));
  const [head = "", rest] = text.split("::");
  const groups = (part: string) => (part === "" ? [] : part.split(":"));
  const parts =
    rest === undefined ? groups(head) : [...groups(head), ...Array<string>(8 - groups(head).length - groups(rest).length).fill("0"), ...groups(rest)];
  return parts.reduce((n, part) => (n << 16n) + BigInt(`0x${part}`), 0n);
}

/** Is `ip` inside `cidr` (IPv4 such as 10.1.0.0/16, or IPv6 such as fd00:1::/64)? */
export function inCidr(ip: string, cidr: string): boolean {
  const [base = "", bits] = cidr.split("/");
  const width = isIPv4(base) ? 32 : isIPv6(base) ? 128 : 0;
  const prefix = Number(bits ?? width);
  if (width === 0 || !Number.isInteger(prefix) || prefix < 0 || prefix > width)
    throw new UsageError(`--bind: ${JSON.stringify(cidr)} is not a CIDR such as 10.1.0.0/16 or fd00:1::/64`);
  if (!(width === 32 ? isIPv4(ip) : isIPv6(ip))) return false;
  const shift = BigInt(width - prefix);
  return toBits(ip) >> shift === toBits(base) >> shift;
}

/** The local address the kernel would use to reach `target` (no packet is sent). */
export async function routeTowards(target: string): Promise<string> {
  const { address: ip, family } = await lookup(target);
  return new Promise((resolve, reject) => {
    const socket = createSocket(family === 6 ? "udp6" : "udp4");
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
  const all = hostAddresses();
  if (choice.iface !== undefined) {
    const found = all.find((a) => a.iface === choice.iface);
    if (!found) throw new UsageError(`--iface ${choice.iface}: no such interface with an IP address on ${hostname()} (it has ${listAddresses()})`);
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
    const mine = new Set(hostAddresses().map((a) => a.address));
    return (await lookup(name, { all: true })).some(({ address }) => address.startsWith("127.") || address === "::1" || mine.has(address));
  } catch {
    return false; // unresolvable: treated as remote, and ssh will say what is wrong
  }
}
