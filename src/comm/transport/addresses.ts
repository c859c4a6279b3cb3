/**
 * How ranks reach each other: the addresses a rank publishes at start-up and the job's keys.
 * Shared by the transports (which bind and connect) and the control protocol (which carries them).
 */
import type { SegmentAddress } from "./shm/segment.js";

/**
 * Where a rank's inboxes are: `local` (ipc, for ranks on the same node) and, in jobs that
 * span hosts or use `--transport tcp`, `net` (tcp). `node` is the index of the rank's host
 * in the job's host list: peers on the same node use `local`, others `net`.
 */
export interface PeerAddress {
  node: number;
  local: string;
  net?: string;
  /** The rank's shared-memory inbox, when it has one (peers on the same node map it). */
  shm?: SegmentAddress;
  /** CPUs the rank may run on: its host's ranks decide alike from the table whether shared memory pays (see HostTransport.connectShm). */
  cores?: number;
  /** The machine the rank runs on (its kernel's boot id): hosts that share one also share its cores (see HostTransport.shareMachine). */
  machine?: string;
}

/**
 * The tcp endpoint that binds any free port on `address` (IPv4, or IPv6 in brackets). Sockets
 * that bind or connect tcp endpoints set ZeroMQ's `ipv6` option, which admits both families.
 */
export function tcpAnyPort(address: string): string {
  return `tcp://${address.includes(":") ? `[${address}]` : address}:*`;
}

/**
 * The job's CURVE key pair (z85): every member of the job holds it, nobody else does.
 * Each tcp inbox is a CURVE server with it, and its ZAP handler admits only clients that
 * present the job's public key. Travels over the rank's start channel (a pipe from its starter) and inside ssh, never
 * in the environment or on a command line.
 */
export interface JobKeys {
  publicKey: string;
  secretKey: string;
}
