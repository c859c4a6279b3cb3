/**
 * The job's end, decided as its ranks end: the first failure aborts the job (or, with
 * --keep-going, is remembered while the others go on), every rank hears which peers failed or
 * finished, a rank that exits without init() while others wait for it aborts the job, ranks
 * stuck at exit with messages nobody can receive are ended, and a host lost as a whole loses
 * its ranks. Aborting terminates every rank still alive, wherever it runs.
 */
import type { PeerNotice } from "../rank/control.js";
import { describeExit } from "./exits.js";
import type { PlannedHost } from "./hosts.js";
import type { LaunchOptions } from "./options.js";
import { say } from "./output.js";
import type { OutputFiles } from "./output-files.js";
import type { JobProfile } from "./profiling.js";
import { makeRank, type Rank, type RankOutputs } from "./rank-state.js";
import { KILL_GRACE_MS, terminateRanks } from "./spawn.js";

/** Between telling the ranks that one died and terminating them: time to see a RankFailedError. */
const NOTICE_MS = 200;
/**
 * A rank that has finished its script but still holds messages for ranks that have all
 * exited (nobody can ever receive them) is ended this long after the last of them.
 */
const UNDELIVERABLE_MS = 1000;
/** Exit status when a host is lost or cannot start its ranks (as ssh's own failure status). */
const HOST_FAILED_STATUS = 255;

/** What the supervisor does to a host's ranks as a whole. */
export interface SupervisedHost {
  /** Tell its live ranks that a peer failed or finished. */
  notify(notice: PeerNotice): void;
  /** Cut a remote host off (its agent then ends its ranks); nothing for the launcher's own host. */
  disconnect(): void;
}

export class Supervisor {
  /** Every rank, by world rank, as its host starts it. */
  readonly ranks: Rank[];
  /** Resolves when every rank has ended. */
  readonly finished: Promise<void>;
  private finish!: () => void;
  private readonly hosts: SupervisedHost[] = [];
  /** The launcher's exit status, once the job is being ended. */
  private status: number | undefined;
  private firstFailure: { status: number } | undefined;
  private readonly exitedWithoutInit: number[] = [];
  /** Where every rank's output and reports go (see makeRank). */
  private readonly outputs: RankOutputs;

  /** `arrived`: the ranks that have reached the rendezvous in init(). */
  constructor(
    private readonly np: number,
    private readonly options: Pick<LaunchOptions, "keepGoing" | "tagOutput">,
    private readonly arrived: ReadonlySet<number>,
    /** --trace/--stats/--cpu-prof: hears failures and ranks' profile reports. */
    readonly profile?: JobProfile,
    /** --output-filename: where each rank's output is written. */
    files?: OutputFiles,
  ) {
    this.ranks = new Array<Rank>(np);
    this.outputs = { tagOutput: options.tagOutput, onExiting: () => this.checkUndeliverable(), profile, files };
    this.finished = new Promise<void>((resolve) => (this.finish = resolve));
  }

  addHost(host: SupervisedHost): void {
    this.hosts.push(host);
  }

  /** Record a rank as its host starts it; `kill` signals it wherever it runs. */
  addRank(rank: number, host: PlannedHost, kill: Rank["kill"]): Rank {
    return (this.ranks[rank] = makeRank(rank, host, kill, this.outputs));
  }

  /** Some rank has been started (so the job has something to wait for). */
  get started(): boolean {
    return this.ranks.some(Boolean);
  }

  /** The launcher's exit status: why the job was ended, else its first failure (--keep-going), else 0. */
  get exitStatus(): number {
    return this.status ?? this.firstFailure?.status ?? 0;
  }

  /**
   * End the job with `code`, terminating every rank still running (after `delayMs`, to let
   * them see a failure). `others`: a rank or host failed, so the rest are the "other" ranks
   * (false for a signal to the launcher or --timeout: the launcher is not a rank).
   */
  abort(code: number, why: string, delayMs = 0, others = true): void {
    if (this.status !== undefined) return;
    this.status = code;
    const alive = this.live();
    if (why) this.profile?.note(`job aborted: ${why}`);
    const count = `${alive.length}${others ? " other" : ""} rank${alive.length === 1 ? "" : "s"}`;
    if (why) say(alive.length > 0 ? `${why}; terminating ${count}` : why);
    const terminate = () => {
      terminateRanks(alive, (r, signal) => r.kill(signal, true));
      // A host whose agent does not report its ranks' ends in time is cut off (its agent then kills them).
      setTimeout(() => this.hosts.forEach((h) => h.disconnect()), 4 * KILL_GRACE_MS).unref();
    };
    if (alive.length > 0) {
      if (delayMs > 0) setTimeout(terminate, delayMs).unref();
      else terminate();
    }
    this.checkDone();
  }

  /** A rank said hello to the rendezvous. */
  rankJoined(rank: number): void {
    this.ranks[rank]!.joined = true;
    this.checkInit();
  }

  rankExited(r: Rank, code: number | null, signal: NodeJS.Signals | null): void {
    if (r.done) return;
    r.done = true;
    r.out.end();
    r.err.end();
    if (this.status === undefined) {
      const failure = describeExit({ ...r, where: r.host.via === "local" ? "" : r.host.name }, code, signal);
      if (failure !== undefined) {
        this.profile?.note(`rank ${r.rank} ${failure.reason}`, r.rank, failure.message);
        this.notifyPeers(r.rank, failure.reason);
        if (this.options.keepGoing) {
          this.firstFailure ??= failure;
          say(`${failure.message}; --keep-going: the other ranks go on`);
        } else this.abort(failure.status, failure.message, NOTICE_MS);
      } else {
        this.notifyPeers(r.rank);
        if (!r.joined && this.arrived.size < this.np) {
          this.exitedWithoutInit.push(r.rank);
          this.checkInit();
        }
      }
      this.checkUndeliverable();
    }
    this.checkDone();
  }

  /**
   * A host failed as a whole (could not start, its connection died, it went silent): its ranks
   * are lost, and every other rank is told. With --keep-going, ranks that had all joined the job
   * are failed ranks like any other and the rest go on (ranks still to join would hold the
   * others in init() for ever: the job is aborted then).
   */
  hostLost(host: PlannedHost, why: string): void {
    const lost = host.ranks.map((k) => this.ranks[k]!).filter((r) => !r.done);
    if (lost.length === 0) return;
    for (const r of lost) {
      r.done = true;
      this.notifyPeers(r.rank, why);
    }
    const message = `host ${host.name} (rank${lost.length === 1 ? "" : "s"} ${lost.map((r) => r.rank).join(", ")}): ${why}`;
    if (this.status === undefined) {
      this.profile?.note(message);
      if (this.options.keepGoing && lost.every((r) => r.joined)) {
        this.firstFailure ??= { status: HOST_FAILED_STATUS };
        say(`${message}; --keep-going: the other ranks go on`);
        this.checkUndeliverable();
      } else this.abort(HOST_FAILED_STATUS, message);
    }
    this.checkDone();
  }

  private live(): Rank[] {
    return this.ranks.filter((r) => !r.done);
  }

  /**
   * Tell the live ranks that `rank` died (their operations that depend on it reject with
   * RankFailedError) or finished (`reason` undefined: what they hold for it can be dropped).
   */
  private notifyPeers(rank: number, reason?: string): void {
    const notice: PeerNotice = reason === undefined ? { type: "rank-exited", rank } : { type: "rank-failed", rank, reason };
    for (const host of this.hosts) host.notify(notice);
  }

  private checkDone(): void {
    if (this.ranks.every((r) => r.done) && this.ranks.filter(Boolean).length === this.np) this.finish();
  }

  /** A rank exited without init() while another waits for everyone in init(): that wait can never end. */
  private checkInit(): void {
    const { arrived, exitedWithoutInit } = this;
    if (arrived.size > 0 && exitedWithoutInit.length > 0 && arrived.size + exitedWithoutInit.length <= this.np) {
      this.abort(1, `rank ${exitedWithoutInit[0]} exited without calling init() while rank ${[...arrived][0]} waits for it in init()`);
    }
  }

  /** Every rank still alive has finished its script: what they wait to send has no receiver left. */
  private checkUndeliverable(): void {
    if (this.status === undefined && this.live().every((r) => r.exiting !== undefined)) setTimeout(() => this.endUndeliverable(), UNDELIVERABLE_MS).unref();
  }

  private endUndeliverable(): void {
    const stuck = this.live();
    if (stuck.length === 0 || !stuck.every((r) => r.exiting !== undefined)) return;
    for (const r of stuck) {
      say(`rank ${r.rank} finished with messages queued for ranks that had all exited; they were dropped`);
      r.undeliverable = true;
      r.kill("SIGKILL", true);
    }
  }
}
