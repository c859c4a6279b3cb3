/**
 * Whether a rank opens the direct TCP path for data to other hosts (src/comm/transport/tcp/), and what
 * happens when a peer's stream breaks its protocol.
 */
import process from "node:process";
import type { JobKeys } from "../comm/transport/addresses.js";
import type { Runtime } from "../comm/engine/runtime.js";
import type { Transport } from "../comm/transport/port.js";
import { TcpTransport } from "../comm/transport/tcp/tcp-transport.js";
import type { Receive } from "../comm/transport/tcp/polling.js";
import { InitError } from "../errors.js";
import { ENV } from "./control.js";

/**
 * Open the direct TCP path on `address` (jobs that span hosts or run `--transport tcp`), unless
 * the user asked for ZeroMQ (`-x TSMPI_NET=zmq`).
 * @returns undefined where data between hosts stays on ZeroMQ
 */
export async function directPath(
  rank: number,
  address: string | undefined,
  keys: JobKeys | undefined,
  runtime: Runtime,
  control: Transport,
  receive: Receive | undefined,
): Promise<TcpTransport | undefined> {
  if (address === undefined || process.env[ENV.net] === "zmq") return undefined;
  try {
    return await TcpTransport.listen(
      {
        rank,
        address,
        control,
        receive,
        secret: keys?.secretKey,
        cipher: process.env[ENV.netCipher] === "node" ? "node" : "evp",
        fail: (peer, error) => {
          process.stderr.write(`tsmpi: rank ${rank}: ${error.message}\n`);
          void runtime.markFailed(peer, error.message);
        },
      },
      runtime.arrivals,
    );
  } catch (error) {
    // Every rank of a job must take this path alike: its peers will ask it to dial them.
    throw new InitError(
      `init on rank ${rank}: the direct TCP path cannot listen on ${address} (${(error as Error).message}); run with -x TSMPI_NET=zmq to send between hosts through ZeroMQ`,
      { cause: error },
    );
  }
}
