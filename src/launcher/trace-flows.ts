/**
 * What the merge keeps of a job's messages to draw their arrows, once it has written the spans
 * and let them go: for each message, where its send and its receive are in the trace (rank,
 * thread, µs). The two ends of a message are usually on two ranks the merge reads at different
 * times, so this lasts the whole merge; it is kept small: a message is a slot of six 32-bit
 * integers and two doubles in blocks of typed arrays, and an entry in its channel's column of
 * slots (about 45 bytes in all, against ~450 bytes of trace per message); its key
 * (`comm/from>to/tag#n`) is its channel's number and `n`, the channel's name stored once.
 */

/** A message whose send and receive are both in the trace. */
export interface FlowPair {
  key: string;
  from: number;
  fromLane: number;
  /** Where the arrow starts (µs since the trace's origin). */
  fromTs: number;
  to: number;
  toLane: number;
  /** Where the arrow ends (µs). */
  toTs: number;
}

/** Slots per block of columns. */
const BLOCK = 65_536;
/** Integer columns per slot: channel, n, sending rank, its lane, receiving rank, its lane. */
const INTS = 6;

export class FlowIndex {
  private count = 0;
  private readonly channelIds = new Map<string, number>();
  private readonly channelNames: string[] = [];
  /** For each channel, the slot + 1 of each message by n + 1 (0: none; index 0: a key without `#n`). */
  private readonly bySeq: Int32Array[] = [];
  private readonly ints: Int32Array[] = [];
  private readonly times: Float64Array[] = [];

  /** The number of a message key's channel (see {@link splitKey}), made if it is new. */
  channel(name: string): number {
    let id = this.channelIds.get(name);
    if (id === undefined) {
      id = this.channelNames.push(name) - 1;
      this.channelIds.set(name, id);
      this.bySeq.push(new Int32Array(16));
    }
    return id;
  }

  /**
   * Note one end of message `n` of `channel`: its send (`out`) or its receive, on `rank`'s
   * thread `lane` at `ts` µs. A second end of the same direction replaces the first.
   */
  note(channel: number, n: number, out: boolean, rank: number, lane: number, ts: number): void {
    const slot = this.slot(channel, n);
    const ints = this.ints[Math.floor(slot / BLOCK)]!;
    const at = (slot % BLOCK) * INTS + (out ? 2 : 4);
    ints[at] = rank;
    ints[at + 1] = lane;
    this.times[Math.floor(slot / BLOCK)]![(slot % BLOCK) * 2 + (out ? 0 : 1)] = ts;
  }

  /** Every message with both ends, in the order their keys were first noted. */
  *pairs(): Generator<FlowPair> {
    for (let slot = 0; slot < this.count; slot++) {
      const ints = this.ints[Math.floor(slot / BLOCK)]!;
      const times = this.times[Math.floor(slot / BLOCK)]!;
      const i = (slot % BLOCK) * INTS;
      const t = (slot % BLOCK) * 2;
      if (ints[i + 2]! < 0 || ints[i + 4]! < 0) continue;
      const channel = this.channelNames[ints[i]!]!;
      const key = ints[i + 1]! < 0 ? channel : `${channel}#${ints[i + 1]}`;
      yield { key, from: ints[i + 2]!, fromLane: ints[i + 3]!, fromTs: times[t]!, to: ints[i + 4]!, toLane: ints[i + 5]!, toTs: times[t + 1]! };
    }
  }

  /** The slot of message `n` of channel `id`, made (with no end noted) if it is new. */
  private slot(id: number, n: number): number {
    let seq = this.bySeq[id]!;
    if (n + 1 >= seq.length) {
      const grown = new Int32Array(Math.max(2 * seq.length, n + 2));
      grown.set(seq);
      this.bySeq[id] = seq = grown;
    }
    if (seq[n + 1]! === 0) seq[n + 1] = this.add(id, n);
    return seq[n + 1]! - 1;
  }

  /** A new slot for message `n` of channel `id`, with neither end noted; returns slot + 1. */
  private add(id: number, n: number): number {
    const slot = this.count++;
    if (slot % BLOCK === 0) {
      this.ints.push(new Int32Array(BLOCK * INTS));
      this.times.push(new Float64Array(BLOCK * 2));
    }
    const ints = this.ints[this.ints.length - 1]!;
    const i = (slot % BLOCK) * INTS;
    ints.set([id, n, -1, 0, -1, 0], i);
    return slot + 1;
  }
}

/** Message numbers kept in a channel's column; a key numbered higher is kept whole (its column would be mostly empty). */
const MAX_SEQ = 1 << 22;

/**
 * A message key's channel (`comm/from>to/tag`) and number (`n`); the whole key and -1 if it
 * has no plain `#n` up to {@link MAX_SEQ}. The trace shows the key as it was: `channel#n`.
 */
export function splitKey(key: string): [string, number] {
  const hash = key.lastIndexOf("#");
  const digits = key.slice(hash + 1);
  const n = Number(digits);
  // String(n) === digits: "#012" or "#1e3" would not come back as written.
  return hash >= 0 && Number.isSafeInteger(n) && n >= 0 && n <= MAX_SEQ && String(n) === digits ? [key.slice(0, hash), n] : [key, -1];
}
