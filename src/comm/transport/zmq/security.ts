/**
 * Authenticated, encrypted tcp: every tcp socket of a job uses ZeroMQ CURVE with the job's
 * one key pair (made fresh by the launcher for each job), and every CURVE server answers
 * ZAP requests by admitting only clients that prove they hold that pair. A process outside
 * the job can open a tcp connection to a rank, but its handshake fails (no or wrong keys),
 * so not a single frame of it reaches tsmpi's decoder.
 */
import { Buffer } from "node:buffer";
import type { Router, Socket } from "zeromq";
import type { JobKeys } from "../addresses.js";

/** ZAP (ZeroMQ RFC 27) domain of tsmpi's sockets. */
const ZAP_DOMAIN = "tsmpi";
const ZAP_ENDPOINT = "inproc://zeromq.zap.01";

/** Make `socket` a CURVE server with the job's keys (set before bind). */
function secureServer(socket: Socket, keys: JobKeys): void {
  socket.curveServer = true;
  socket.curveSecretKey = keys.secretKey;
  socket.zapDomain = ZAP_DOMAIN;
}

/** Make `socket` a CURVE client of a job server (set before connect). */
export function secureClient(socket: Socket, keys: JobKeys): void {
  socket.curveServerKey = keys.publicKey;
  socket.curvePublicKey = keys.publicKey;
  socket.curveSecretKey = keys.secretKey;
}

/**
 * Make `socket` a CURVE server that admits only the job (set before bind): its ZAP handler
 * is bound on `router` first, so no handshake can slip through unchecked.
 * @param router a fresh ROUTER socket with a short receive timeout (the caller loads ZeroMQ)
 * @returns the handler, which someone must serve
 */
export async function zapGuard(socket: Socket, keys: JobKeys, router: Router): Promise<Gatekeeper> {
  const gate = new Gatekeeper(keys, router);
  await gate.ready();
  secureServer(socket, keys);
  return gate;
}

const Z85 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

/** Decode a Z85 string (ZeroMQ RFC 32) to bytes. */
export function z85Decode(text: string): Buffer {
  if (text.length % 5 !== 0) throw new RangeError(`z85: length ${text.length} is not a multiple of 5`);
  const out = Buffer.alloc((text.length / 5) * 4);
  for (let i = 0; i < text.length; i += 5) {
    let value = 0;
    for (let j = 0; j < 5; j++) {
      const digit = Z85.indexOf(text[i + j]!);
      if (digit < 0) throw new RangeError(`z85: invalid character ${JSON.stringify(text[i + j])}`);
      value = value * 85 + digit;
    }
    out.writeUInt32BE(value, (i / 5) * 4);
  }
  return out;
}

/**
 * The ZAP handler of this process: admits CURVE clients whose long-term public key is the
 * job's, refuses everything else (other mechanisms, other keys, other domains).
 */
export class Gatekeeper {
  private readonly publicKey: Buffer;
  private readonly bound: Promise<void>;
  /** Handshakes refused so far (for logs and tests). */
  refused = 0;

  /**
   * @param router a fresh ROUTER socket (the caller loads ZeroMQ, so that the launcher can
   *   keep it off its start-up path), with a short receive timeout
   */
  constructor(
    keys: JobKeys,
    private readonly router: Router,
  ) {
    this.publicKey = z85Decode(keys.publicKey);
    this.bound = this.router.bind(ZAP_ENDPOINT);
  }

  ready(): Promise<void> {
    return this.bound;
  }

  get readable(): boolean {
    return this.router.readable;
  }

  /** Answer one request if one arrives within the receive timeout; false when closed. */
  async serveOne(): Promise<boolean> {
    let frames: Buffer[];
    try {
      frames = await this.router.receive();
    } catch (error) {
      if ((error as { code?: string }).code === "EAGAIN") return !this.router.closed;
      if (this.router.closed) return false;
      throw error;
    }
    // [peer identity, empty, version, request id, domain, address, identity, mechanism, credentials...]
    const [peer, , version, requestId, domain, , , mechanism, key] = frames;
    const ok =
      version?.toString() === "1.0" &&
      domain?.toString() === ZAP_DOMAIN &&
      mechanism?.toString() === "CURVE" &&
      key !== undefined &&
      key.equals(this.publicKey);
    if (!ok) this.refused++;
    await this.router.send([peer!, Buffer.alloc(0), "1.0", requestId ?? "", ok ? "200" : "400", ok ? "OK" : "not a member of this job", "", ""]);
    return true;
  }

  /** Serve until closed (for long-lived processes: the launcher). */
  async serve(): Promise<void> {
    while (await this.serveOne());
  }

  close(): void {
    this.router.close();
  }
}
