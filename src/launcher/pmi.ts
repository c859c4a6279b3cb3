/**
 * A PMI-1 client: the key-value space, barrier and abort that a process manager serves to
 * every task of a parallel job it started. Slurm (`srun --mpi=pmi2`), MPICH's Hydra
 * (`mpiexec`) and Flux all speak the PMI-1 wire protocol (the PMI-2 servers among them speak
 * both), on an inherited socket (`PMI_FD`) or on a port to connect to (`PMI_PORT` with
 * `PMI_ID`, Hydra's `-pmi-port`). This is how MPI libraries started by them find each other;
 * tsmpi's `--direct` mode uses it the same way. One command at a time, one line each way.
 */
import { Socket, connect } from "node:net";
import { TransportError } from "../errors.js";

/** Where this task's PMI server is: a socket it inherited, or a port to connect to. */
export type PmiEndpoint = { fd: number; rank: number; size: number } | { host: string; port: number; id: number };

export class Pmi {
  readonly #socket: Socket;
  #buffered = "";
  #pending: Array<(line: string) => void> = [];
  /** Lines that came before anyone waited for them (the port protocol sends several at once). */
  #unclaimed: string[] = [];
  #kvs = "";
  #last: Promise<unknown> = Promise.resolve();
  /** This task's rank in the job, and the job's number of tasks. */
  rank = 0;
  size = 1;

  private constructor(socket: Socket) {
    this.#socket = socket;
    this.#socket.setEncoding("utf8");
    this.#socket.on("data", (chunk: string) => {
      this.#buffered += chunk;
      for (let end = this.#buffered.indexOf("\n"); end >= 0; end = this.#buffered.indexOf("\n")) {
        const line = this.#buffered.slice(0, end);
        this.#buffered = this.#buffered.slice(end + 1);
        const waiting = this.#pending.shift();
        if (waiting) waiting(line);
        else this.#unclaimed.push(line);
      }
    });
    this.#socket.on("error", () => undefined); // a dead job ends the task anyway; commands then never answer
  }

  /** Connect to the PMI server at `endpoint` and join its key-value space. */
  static async connect(endpoint: PmiEndpoint): Promise<Pmi> {
    if ("fd" in endpoint) {
      const pmi = new Pmi(new Socket({ fd: endpoint.fd, readable: true, writable: true }));
      [pmi.rank, pmi.size] = [endpoint.rank, endpoint.size];
      return pmi.init();
    }
    const socket = connect(endpoint.port, endpoint.host);
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", (error) => reject(new TransportError(`PMI: cannot connect to PMI_PORT ${endpoint.host}:${endpoint.port}: ${error.message}`)));
    });
    const pmi = new Pmi(socket);
    // The port protocol first names the task (PMI_ID); the server answers with its rank and size.
    await pmi.command(`cmd=initack pmiid=${endpoint.id}`, "initack");
    for (const expected of ["size", "rank", "debug"]) {
      const fields = parse(await pmi.reply());
      if (fields.cmd !== "set" || fields[expected] === undefined) throw new TransportError(`PMI: expected 'cmd=set ${expected}=...' after initack`);
      if (expected === "size") pmi.size = Number(fields.size);
      if (expected === "rank") pmi.rank = Number(fields.rank);
    }
    return pmi.init();
  }

  private async init(): Promise<Pmi> {
    await this.command("cmd=init pmi_version=1 pmi_subversion=1", "response_to_init");
    this.#kvs = (await this.command("cmd=get_my_kvsname", "my_kvsname")).kvsname!;
    return this;
  }

  /** The job's key-value space: named by the process manager, unique to the job. */
  get kvsname(): string {
    return this.#kvs;
  }

  /** Publish `value` (no spaces, at most 1024 characters; base64url is safe) under `key`; visible to all after {@link barrier}. */
  async put(key: string, value: string): Promise<void> {
    await this.command(`cmd=put kvsname=${this.#kvs} key=${key} value=${value}`, "put_result");
  }

  /** Wait until every task of the job has called barrier. */
  async barrier(): Promise<void> {
    await this.command("cmd=barrier_in", "barrier_out");
  }

  async get(key: string): Promise<string> {
    return (await this.command(`cmd=get kvsname=${this.#kvs} key=${key}`, "get_result")).value ?? "";
  }

  /**
   * Say that this task is done with PMI. Hydra takes a task that exits without it for a failed
   * one, and kills the whole job.
   */
  async finalize(): Promise<void> {
    await this.command("cmd=finalize", "finalize_ack");
  }

  /** Ask the process manager to end every task of the job, exiting with `code` (no answer comes). */
  abort(code: number): void {
    this.#socket.write(`cmd=abort exitcode=${code}\n`);
  }

  close(): void {
    this.#socket.destroy();
  }

  /** The next line the server sends. */
  private reply(): Promise<string> {
    const line = this.#unclaimed.shift();
    return line !== undefined ? Promise.resolve(line) : new Promise((resolve) => this.#pending.push(resolve));
  }

  /**
   * Send one command line once the previous one is answered (slurmstepd reads one command at
   * a time: a second line sent early is lost); @returns the fields of the reply, which must be
   * `expect` with rc=0.
   */
  private async command(line: string, expect: string): Promise<Record<string, string>> {
    const turn = this.#last.then(() => {
      const answer = this.reply();
      this.#socket.write(`${line}\n`);
      return answer;
    });
    this.#last = turn.catch(() => undefined);
    const reply = await turn;
    const fields = parse(reply);
    if (fields.cmd !== expect || (fields.rc !== undefined && fields.rc !== "0"))
      throw new TransportError(`PMI: '${line.split(" ")[0]}' was answered with '${reply.trim()}'`);
    return fields;
  }
}

/** The `key=value` fields of a PMI-1 line. */
function parse(line: string): Record<string, string> {
  return Object.fromEntries(
    line
      .trim()
      .split(/\s+/)
      .map((pair) => [pair.slice(0, pair.indexOf("=")), pair.slice(pair.indexOf("=") + 1)]),
  );
}
