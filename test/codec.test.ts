// The codec on its own (no transport): frame layout, every type, and malformed input.
import { describe, expect, it } from "vitest";
import { pack } from "msgpackr";
import { decode, decodeMessage, encode, encodeFlow } from "../src/comm/wire/codec.js";
import { MAX_FRAME_BYTES, MessageKind } from "../src/comm/wire/wire.js";
import { SerializationError } from "../src/errors.js";

describe("codec", () => {
  it("carries flow control: announcements, requests, payloads and credits", () => {
    const data = encode({ context: "c", source: 2, from: 6 }, 9, new Float64Array([5])).frames;
    expect(decodeMessage(data)).toMatchObject({ kind: MessageKind.Data, envelope: { context: "c", source: 2, tag: 9, from: 6 } });
    expect(decodeMessage([encodeFlow([MessageKind.Rts, "c", 2, 9, 8, 6, 41])])).toEqual({
      kind: MessageKind.Rts,
      envelope: { context: "c", source: 2, tag: 9, value: undefined, bytes: 8, from: 6, wire: 0, rendezvous: { id: 41 } },
    });
    expect(decodeMessage([encodeFlow([MessageKind.Cts, 3, 41])])).toEqual({ kind: MessageKind.Cts, from: 3, id: 41 });
    expect(decodeMessage([encodeFlow([MessageKind.Credit, 3, 1 << 22])])).toEqual({ kind: MessageKind.Credit, from: 3, bytes: 1 << 22 });
    const payload = decodeMessage([encodeFlow([MessageKind.Payload, 6, 41]), ...data]);
    expect(payload).toMatchObject({ kind: MessageKind.Payload, from: 6, id: 41, envelope: { value: new Float64Array([5]) } });
    for (const [bad, message] of [
      [[encodeFlow([MessageKind.Cts, 3, 41]), Buffer.alloc(2)], "malformed flow-control message of kind 2"],
      [[encodeFlow([MessageKind.Payload, 6, 41])], "malformed flow-control message of kind 3"],
      [[Buffer.from(pack([MessageKind.Rts, "c", 2, 9, -8, 6, 41]))], "malformed flow-control header"],
      [[Buffer.from(pack([MessageKind.Credit, "x", 1]))], "malformed flow-control header"],
      [[Buffer.from(pack([9, 1, 2]))], "malformed flow-control message of kind 9"],
    ] as Array<[Buffer[], string]>) {
      expect(() => decodeMessage(bad)).toThrow(SerializationError);
      expect(() => decodeMessage(bad)).toThrow(new SerializationError(message)); // the same message exactly
    }
  });

  it("puts a top-level typed array in its own raw frame", () => {
    const array = new Float64Array([1, 2, 3]);
    const { frames, bytes } = encode({ context: "w", source: 1, from: 1 }, 2, array);
    expect(frames).toHaveLength(2);
    expect(frames[1]).toEqual(Buffer.from(array.buffer));
    expect(bytes).toBe(frames[0]!.byteLength + 24);
    const back = decode(frames);
    expect(back).toEqual({ context: "w", source: 1, tag: 2, value: array, bytes: 24, from: 1, wire: frames[0]!.byteLength + 24 });
  });

  it("copies the sender's bytes so later writes do not change the frame", () => {
    const array = new Int32Array([7, 8]);
    const { frames } = encode({ context: "w", source: 0, from: 0 }, 0, array);
    array[0] = 99;
    expect(decode(frames).value).toEqual(new Int32Array([7, 8]));
  });

  it("decodes a frame at an odd offset by copying it into an aligned array", () => {
    const { frames } = encode({ context: "w", source: 0, from: 0 }, 0, new Float64Array([Math.E, Math.PI]));
    const shifted = Buffer.alloc(17);
    frames[1]!.copy(shifted, 1);
    const value = decode([frames[0]!, shifted.subarray(1)]).value as Float64Array;
    expect(value).toEqual(new Float64Array([Math.E, Math.PI]));
  });

  it("splits arrays larger than the frame limit and reassembles them", () => {
    expect(MAX_FRAME_BYTES).toBe(2 ** 30);
    const a = Float64Array.from({ length: 1000 }, (_, i) => i / 3);
    const b = BigInt64Array.from({ length: 10 }, (_, i) => BigInt(i) - 5n);
    const { frames } = encode({ context: "w", source: 0, from: 0 }, 0, { a, list: [b, Buffer.from("xyz")] }, 256);
    expect(frames).toHaveLength(1 + 32 + 1 + 1);
    expect(decode(frames).value).toEqual({ a, list: [b, Buffer.from("xyz")] });
  });

  it.each([
    ["an empty message", [Buffer.alloc(0)], /^malformed message: Unexpected end of MessagePack data$/],
    ["garbage msgpack", [Buffer.from([0xc1, 0xff, 0x00])], /^malformed message: /],
    ["a header that is not a tuple", [pack({ hello: 1 })], /^malformed message header$/],
    [
      "a missing typed-array frame",
      encode({ context: "w", source: 0, from: 0 }, 0, new Float64Array(4)).frames.slice(0, 1),
      /^message is missing typed array frames$/,
    ],
    [
      "a typed-array frame of the wrong length",
      [encode({ context: "w", source: 0, from: 0 }, 0, new Float64Array(4)).frames[0]!, Buffer.alloc(5)],
      /^typed array frame has the wrong length$/,
    ],
    ["an extra frame", [...encode({ context: "w", source: 0, from: 0 }, 0, 1).frames, Buffer.alloc(3)], /^message has 1 unexpected extra frames$/],
    ["an unknown message kind", [pack([9, "w", 0, 0, 1])], /^malformed message header$/],
  ])("rejects %s with a SerializationError that says what is wrong", (_name, frames, message) => {
    expect(() => decode(frames as Buffer[])).toThrow(SerializationError);
    expect(() => decode(frames as Buffer[])).toThrow(message);
  });
});
