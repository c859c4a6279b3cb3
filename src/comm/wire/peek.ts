/**
 * Reading a message's headers before the message is whole, so that the transport can write
 * its array straight where a posted receive wants it (see Runtime.place).
 */
import { Buffer } from "node:buffer";
import { ArrayPlaceholder, unpackHeader } from "./codec.js";
import { MessageKind, RAW_HEADER_BYTES, RAW_MARKER, type DataHeader } from "./wire.js";

const isCount = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;

/** What a data header says about a message whose value is one typed array in one frame. */
export interface ArrayHeader {
  context: string;
  source: number;
  tag: number;
  /** Kind code of the array (see {@link arrayKind}). */
  kind: number;
  byteLength: number;
}

/**
 * Read a data message's header (frame 0) before its other frames have arrived: if the value is
 * one typed array in frame 1, where a receiver could have its bytes written. Never throws.
 */
export function peekArray(head: Buffer): ArrayHeader | undefined {
  if (head.byteLength >= RAW_HEADER_BYTES && head[0] === RAW_MARKER) return peekRaw(head);
  // A data header is a 6-element array (0x96) whose first element is MessageKind.Data (0).
  if (head.byteLength < 2 || head[0] !== 0x96 || head[1] !== MessageKind.Data) return undefined;
  try {
    const header = unpackHeader(head) as DataHeader;
    const value = header[4];
    if (!(value instanceof ArrayPlaceholder) || value.ref[2] !== 1 || value.ref[3] !== 1) return undefined;
    if (typeof header[1] !== "string") return undefined;
    return { context: header[1], source: header[2], tag: header[3], kind: value.ref[0], byteLength: value.ref[1] };
  } catch {
    return undefined;
  }
}

/** The sender and id of a payload header (frame 0 of a pulled payload), or undefined. Never throws. */
export function peekPayload(head: Uint8Array): { from: number; id: number } | undefined {
  if (head.byteLength < 2 || head[0] !== 0x93 || head[1] !== MessageKind.Payload) return undefined;
  try {
    const [, from, id] = unpackHeader(head) as [number, number, number];
    return isCount(from) && isCount(id) ? { from, id } : undefined;
  } catch {
    return undefined;
  }
}

/** The same, from a raw header (a message whose value is one typed array; see wire.ts). */
function peekRaw(head: Buffer): ArrayHeader | undefined {
  if (head.byteLength !== RAW_HEADER_BYTES + head.readUInt16LE(2)) return undefined;
  const byteLength = head.readDoubleLE(16);
  if (!isCount(byteLength)) return undefined;
  return { context: head.toString("utf8", RAW_HEADER_BYTES), source: head.readInt32LE(4), tag: head.readInt32LE(8), kind: head[1]!, byteLength };
}
