/**
 * A PMI-1 client: the key-value space and barrier that Slurm's `srun --mpi=pmi2` serves to
 * every task of a step (slurmstepd speaks the PMI-1 wire protocol on the inherited socket
 * `PMI_FD`). This is how MPI libraries launched directly by srun find each other; tsmpi's
 * `--direct` mode uses it the same way. One command at a time, one line each way.
 */
import { Socket } from "node:net";
import { TransportError, UsageError } from "../errors.js";

export class Pmi {
  readonly #socket: Socket;
  #buffered = "";
  #pending: Array<(line: string) => void> = [];
  #kvs = "";
  #last: Promise<unknown> = Promise.resolve();

  private constructor(fd: number) {
    this.#socket = new Socket({ fd, readable: true, writable: true });
    this.#socket.setEncoding("utf8");
    this.#socket.on("data", (chunk: string) => {
      this.#buffered += chunk;
      for (let end = this.#buffered.indexOf("\n"); end >= 0; end = this.#buffered.indexOf("\n")) {
        const line = this.#buffered.slice(0, end);
        this.#buffered = this.#buffered.slice(end + 1);
        this.#pending.shift()?.(line);
      }
    });
    this.#socket.on("error", () => undefined); // a dead step ends the task anyway; commands then never answer
  }

  /** Connect to the PMI server of this Slurm task; @throws UsageError if srun gave it none. */
  static async connect(env: NodeJS.ProcessEnv, call: string): Promise<Pmi> {
    const fd = Number(env.PMI_FD);
    if (env.PMI_FD === undefined || !Number.isInteger(fd))
      throw new UsageError(
        `${call}: srun gave this task no PMI (PMI_FD is not set): start the step with srun --mpi=pmi2 (or set MpiDefault=pmi2 in slurm.conf)`,
      );
    const pmi = new Pmi(fd);
    await pmi.command("cmd=init pmi_version=1 pmi_subversion=1", "response_to_init");
    pmi.#kvs = (await pmi.command("cmd=get_my_kvsname", "my_kvsname")).kvsname!;
    return pmi;
  }

  /** Publish `value` (no spaces; base64url is safe) under `key`; visible to all after {@link barrier}. */
  async put(key: string, value: string): Promise<void> {
    await this.command(`cmd=put kvsname=${this.#kvs} key=${key} value=${value}`, "put_result");
  }

  /** Wait until every task of the step has called barrier. */
  async barrier(): Promise<void> {
    await this.command("cmd=barrier_in", "barrier_out");
  }

  async get(key: string): Promise<string> {
    return (await this.command(`cmd=get kvsname=${this.#kvs} key=${key}`, "get_result")).value ?? "";
  }

  close(): void {
    this.#socket.destroy();
  }

  /**
   * Send one command line once the previous one is answered (slurmstepd reads one command at
   * a time: a second line sent early is lost); @returns the fields of the reply, which must be
   * `expect` with rc=0.
   */
  private async command(line: string, expect: string): Promise<Record<string, string>> {
    const turn = this.#last.then(
      () =>
        new Promise<string>((resolve) => {
          this.#pending.push(resolve);
          this.#socket.write(`${line}\n`);
        }),
    );
    this.#last = turn.catch(() => undefined);
    const reply = await turn;
    const fields = Object.fromEntries(
      reply
        .trim()
        .split(/\s+/)
        .map((pair) => [pair.slice(0, pair.indexOf("=")), pair.slice(pair.indexOf("=") + 1)]),
    );
    if (fields.cmd !== expect || (fields.rc !== undefined && fields.rc !== "0"))
      throw new TransportError(`PMI: '${line.split(" ")[0]}' was answered with '${reply.trim()}'`);
    return fields;
  }
}
