/**
 * Transport security: every tcp socket of a job is a CURVE server whose ZAP handler admits
 * only holders of the job's key pair. Outsiders can connect to a rank's port, but nothing they
 * send reaches tsmpi. With --insecure the same forged message does get through (the control).
 */
import { connect } from "node:net";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { execa, execaSync } from "execa";
import { Pull, Push, Router, curveKeyPair } from "zeromq";
import { encode } from "../src/comm/wire/codec.js";
import { zapGuard, secureClient, z85Decode } from "../src/comm/transport/zmq/security.js";
import { fixture, follow, leftovers, runJob, startJob } from "./helpers.js";

/** tcp ports on which the given processes listen, as host:port. */
function listening(pids: number[]): string[] {
  const out = String(execaSync("ss", ["-Hltnp"]).stdout);
  return out
    .split("\n")
    .filter((line) => pids.some((pid) => line.includes(`pid=${pid},`)))
    .map((line) => line.trim().split(/\s+/)[3]!);
}

/** Everything an outsider can try without the job's keys, against one tcp endpoint. */
async function attack(endpoint: string): Promise<void> {
  const forged = encode({ context: "w", source: 1, from: 1 }, 7, "evil").frames.map((frame) => Buffer.from(frame));
  // 1. Plain ZeroMQ, no security mechanism.
  // A send waits while the socket has no pipe to the peer, and a refused handshake may leave it
  // none: the outsider gives up after a while, as its message is refused either way.
  const plain = new Push({ linger: 0, sendTimeout: 2000 });
  plain.connect(`tcp://${endpoint}`);
  // 2. CURVE with a key pair and a server key of its own (it cannot know the job's).
  const guess = new Push({ linger: 0, sendTimeout: 2000 });
  const mine = curveKeyPair();
  secureClient(guess, mine);
  guess.connect(`tcp://${endpoint}`);
  const refused = (error: { code?: string }) => {
    if (error.code !== "EAGAIN") throw error;
  };
  await Promise.all([plain.send(forged).catch(refused), guess.send(forged).catch(refused)]);
  // 3. Garbage bytes on a raw tcp connection.
  const [host, port] = [endpoint.slice(0, endpoint.lastIndexOf(":")), Number(endpoint.slice(endpoint.lastIndexOf(":") + 1))];
  await new Promise<void>((resolve) => {
    const socket = connect(port, host, () => socket.end(randomBytes(4096), () => resolve()));
    socket.on("error", () => resolve());
  });
  await new Promise((resolve) => setTimeout(resolve, 300));
  plain.close();
  guess.close();
}

describe("authenticated tcp transport", () => {
  it.each([
    // Secure: nothing an outsider sends gets as far as tsmpi, so the ranks say nothing.
    ["by default, no outsider's message is delivered and the ranks go on", [], '"legit" from rank 1 tag 5', []],
    // Insecure: the forged message is taken (so rank 1's own is left without a receiver), and the
    // garbage reaches the ranks, which drop it (ZeroMQ may warn at exit about what it queues for the outsiders).
    [
      "with --insecure, a forged message is delivered (the reason it is not the default)",
      ["--insecure"],
      '"evil" from rank 1 tag 7',
      [
        // Random bytes fail the decoder wherever they happen to reach: the msgpack header, further
        // in, or the raw header and its array when the first byte happens to be its marker (0xd7).
        /^tsmpi: rank [01] dropped a malformed message: .+$/,
        /^tsmpi: rank 1 finished with messages queued for ranks that had all exited; they were dropped$/,
        /^\(node:\d+\) WARNING: Waiting for queued ZeroMQ messages to be delivered\./,
      ],
    ],
  ])("%s", async (_name, extra, expected, stderrLines) => {
    const { proc, marker, tmp } = startJob(2, fixture("guarded.ts"), [], { launcherArgs: ["--transport", "tcp", ...extra], timeout: 30_000 });
    const job = follow(proc);
    await job.until("2 ranks running", () => (job.out.match(/pid \d+/g) ?? []).length >= 2);
    const pids = [...job.out.matchAll(/pid (\d+)/g)].map((m) => Number(m[1]));
    const endpoints = listening([...pids, proc.pid!]);
    expect(endpoints.length).toBeGreaterThanOrEqual(3); // two inboxes and the launcher's rendezvous
    for (const endpoint of endpoints) await attack(endpoint);
    proc.stdin!.write("go\n");
    const result = await proc;
    expect(result.exitCode, String(result.stderr)).toBe(0);
    // Exactly what the ranks print: their pids, then the one message rank 0 received first.
    const ranks = [0, 1].map((rank) => `rank ${rank} pid ${new RegExp(`rank ${rank} pid (\\d+)`).exec(job.out)![1]}`);
    expect(String(result.stdout).split("\n").sort()).toEqual([`first message: ${expected}`, ...ranks]);
    const stderr = String(result.stderr) === "" ? [] : String(result.stderr).split("\n");
    for (const line of stderr)
      expect(
        stderrLines.some((pattern) => pattern.test(line)),
        line,
      ).toBe(true);
    expect(await leftovers({ marker, tmp })).toEqual({ processes: [], files: [] });
  });

  it("admits a client with the job's keys and refuses one with the right server key but its own key pair", async () => {
    const job = curveKeyPair();
    const inbox = new Pull({ linger: 0, receiveTimeout: 1500 });
    const gate = await zapGuard(inbox, job, new Router({ linger: 0, receiveTimeout: 50 }));
    const serving = gate.serve();
    await inbox.bind("tcp://127.0.0.1:*");
    const stranger = new Push({ linger: 0 });
    const own = curveKeyPair();
    stranger.curveServerKey = job.publicKey; // suppose the public key leaked
    stranger.curvePublicKey = own.publicKey;
    stranger.curveSecretKey = own.secretKey;
    stranger.connect(inbox.lastEndpoint!);
    await stranger.send("from a stranger");
    await expect(inbox.receive()).rejects.toMatchObject({ code: "EAGAIN" });
    expect(gate.refused).toBeGreaterThanOrEqual(1);
    const member = new Push({ linger: 0 });
    secureClient(member, job);
    member.connect(inbox.lastEndpoint!);
    await member.send("from a member");
    expect(String((await inbox.receive())[0])).toBe("from a member");
    for (const socket of [stranger, member, inbox]) socket.close();
    gate.close();
    await serving;
  });

  it.each([
    ["by default, neither a window's one-sided traffic nor messages cross the wire in the clear", [], false],
    ["with --insecure, messages do (the capture sees them) but a window's one-sided traffic still does not", ["--insecure"], true],
  ])("%s", async (_name, extra, sendSeen) => {
    const dir = mkdtempSync(join(tmpdir(), "tsmpi-capture-"));
    const capture = join(dir, "lo.pcap");
    // Every tcp packet on loopback, written as it comes (-U), full length (-s 0), a large
    // kernel buffer (-B, KiB), as root (-Z: the capture's folder is root's alone).
    const tcpdump = execa("tcpdump", ["-i", "lo", "-U", "-s", "0", "-B", "65536", "-Z", "root", "-w", capture, "tcp"], { reject: false });
    try {
      await new Promise<void>((resolve, reject) => {
        tcpdump.stderr!.on("data", (chunk: Buffer) => String(chunk).includes("listening on") && resolve());
        void tcpdump.then((result) => reject(new Error(`tcpdump exited: ${String(result.stderr)}`)));
      });
      // The ranks see no shared memory (as on musl: test/fixtures/lib/pretend.cjs), so each
      // rank's part of the window is served by its progress thread, over tcp.
      const pretend = ["-x", `NODE_OPTIONS=--require=${fixture("lib/pretend.cjs")}`, "-x", "TSMPI_TEST_PRETEND=musl", "-q"];
      const job = await runJob(2, fixture("window-wire.ts"), [], { launcherArgs: ["--transport", "tcp", ...pretend, ...extra] });
      expect(job.exitCode, job.stderr).toBe(0);
      expect(job.stdout.trim().split("\n").sort()).toEqual(["rank 0 ok", "rank 1 ok"]);
      // tcpdump writes what it has taken in behind the job, the more so on a busy machine: wait
      // until the file stops growing for a second before stopping it.
      for (let size = -1; size !== statSync(capture).size;) {
        size = statSync(capture).size;
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
      tcpdump.kill("SIGINT");
      await tcpdump;
      const wire = readFileSync(capture);
      expect(wire.length).toBeGreaterThan(2000); // the job's traffic was captured
      expect(wire.includes("tsmpi-window-wire-marker")).toBe(false);
      expect(wire.includes("tsmpi-send-wire-marker")).toBe(sendSeen);
    } finally {
      tcpdump.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("decodes Z85 as ZeroMQ's reference vector says", () => {
    expect(z85Decode("HelloWorld")).toEqual(Buffer.from([0x86, 0x4f, 0xd2, 0x6f, 0xb5, 0x59, 0xf7, 0x5b]));
    expect(() => z85Decode("abc")).toThrow(/multiple of 5/);
  });
});
