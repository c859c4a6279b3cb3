/**
 * A rank's link to its launcher (or node agent): the start message it got over the start
 * channel, and the two things the launcher may ask or tell later (a peer's fate; a hang
 * report). The rank bootstrap creates it and hands it to the library; the world communicator
 * listens on it once it exists.
 */
import type { PeerNotice, StartMessage } from "./control.js";

/** What the library does with the launcher's notices and requests. */
export interface LinkListener {
  /** A peer died or finished. */
  notice(notice: PeerNotice): void;
  /** The launcher asks for a hang report (SIGUSR2). */
  reportState(): void;
}

export class LauncherLink {
  #listener: LinkListener | undefined;

  constructor(
    /** The launcher's start message: entry, rendezvous address, keys. */
    readonly start: StartMessage,
    /** Report for a rank that has no runtime yet. */
    private readonly uninitialized: () => void,
  ) {}

  listen(listener: LinkListener): void {
    this.#listener = listener;
  }

  notice(notice: PeerNotice): void {
    this.#listener?.notice(notice);
  }

  reportState(): void {
    if (this.#listener) this.#listener.reportState();
    else this.uninitialized();
  }
}
