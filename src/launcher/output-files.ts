/**
 * --output-filename DIR: every rank's output written to DIR/1/rank.N/stdout and
 * DIR/1/rank.N/stderr, as Open MPI 4 lays them out ("1" is the job; N is zero-padded to the
 * digits of the job's size, so that listings sort: rank.00 … rank.11 for 12 ranks), and still
 * shown on the terminal unless the option says `DIR:nocopy`. The files hold what the terminal
 * gets (tagged with --tag-output, as Open MPI's are), byte for byte: a last line without a
 * newline stays without one. The launcher writes the files of every rank, wherever it runs, so
 * they are all on the launcher's host.
 */
import { closeSync, mkdirSync, openSync, writeSync } from "node:fs";
import { join, resolve } from "node:path";
import { UsageError } from "../errors.js";

export interface OutputFilename {
  /** Absolute path of DIR. */
  dir: string;
  /** Also show the output on the terminal (false with `:nocopy`). */
  copy: boolean;
}

/**
 * Parse --output-filename DIR[:nocopy], relative to the launcher's working directory, and make DIR.
 * @throws UsageError if DIR is empty or cannot be made
 */
export function parseOutputFilename(text: string | undefined): OutputFilename | undefined {
  if (text === undefined) return undefined;
  const nocopy = text.endsWith(":nocopy");
  const path = nocopy ? text.slice(0, -":nocopy".length) : text;
  if (path === "") throw new UsageError(`--output-filename needs a directory, e.g. --output-filename out, got ${JSON.stringify(text)}`);
  const dir = resolve(path);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (error) {
    throw new UsageError(`--output-filename ${path}: cannot create the directory (${(error as Error).message})`, { cause: error });
  }
  return { dir, copy: !nocopy };
}

/** A rank's output as its forwarder emits it: `unterminated` when the newline at its end was added. */
export type OutputWriter = (text: string, unterminated?: boolean) => void;

/** The open files of a job's ranks. */
export class OutputFiles {
  private readonly fds: number[][] = [];

  /** Make DIR/1/rank.N/ and its (empty) stdout and stderr for each of `np` ranks. */
  constructor(
    private readonly option: OutputFilename,
    np: number,
  ) {
    const width = String(np).length;
    for (let rank = 0; rank < np; rank++) {
      const dir = join(option.dir, "1", `rank.${String(rank).padStart(width, "0")}`);
      try {
        mkdirSync(dir, { recursive: true });
        this.fds.push([openSync(join(dir, "stdout"), "w"), openSync(join(dir, "stderr"), "w")]);
      } catch (error) {
        this.close();
        throw new UsageError(`--output-filename ${option.dir}: cannot write ${dir} (${(error as Error).message})`, { cause: error });
      }
    }
  }

  /** Where rank `rank`'s stdout (`fd` 1) or stderr (2) goes: its file, and `terminal` unless `:nocopy`. */
  writer(rank: number, fd: 1 | 2, terminal: OutputWriter): OutputWriter {
    return (text, unterminated) => {
      if (this.option.copy) terminal(text, unterminated);
      const file = this.fds[rank]?.[fd - 1]; // none once closed, at the job's end
      if (file !== undefined) writeSync(file, unterminated ? text.slice(0, -1) : text);
    };
  }

  close(): void {
    for (const fd of this.fds.splice(0).flat()) closeSync(fd);
  }
}
