/**
 * AES-256-GCM for the direct TCP path's records (seal.ts), in two implementations behind one
 * interface:
 *
 * - `evp`: OpenSSL's EVP API through koffi, one cipher context per connection and direction,
 *   keyed once; each record only sets its nonce, and seals or opens straight into memory the
 *   caller owns (a record buffer, a posted receive's `into`, or in place). Node exports its
 *   OpenSSL's symbols, so this binds the very library node:crypto uses (else the system's
 *   libcrypto.so.3). An 8 B record sealed and opened took 2-3.6 µs where node:crypto took
 *   11-18 µs (a cipher object per record), and 256 KiB records ran at 2.4-2.6 GB/s (Node 20's
 *   OpenSSL 3.0) or 10-17 GB/s (Node 24's 3.5, VAES) where node:crypto's fresh output buffers
 *   held it to 0.3-0.4 GB/s (2 busy cores).
 * - `node`: node:crypto, a cipher object per record: the fallback wherever koffi or the symbols
 *   cannot be loaded, and what `-x TSMPI_NET_CIPHER=node` asks for.
 *
 * Both give the same bytes (test/tcp-records.test.ts seals with one and opens with the other).
 */
import { Buffer } from "node:buffer";
import { createRequire } from "node:module";

export const TAG_BYTES = 16;

/** One direction's AES-256-GCM under one key; the caller supplies each record's 12-byte nonce. */
export interface RecordCipher {
  readonly kind: "evp" | "node";
  /** Seal `parts` back to back into `out` (their total length) and the tag into `tag`, authenticating `aad` too. */
  seal(nonce: Uint8Array, aad: Uint8Array, parts: readonly Uint8Array[], out: Uint8Array, tag: Uint8Array): void;
  /** Open `sealed` into `out` (same length; may be the same memory): false, and `out` undefined, if it or `aad` or `tag` was not what was sealed. */
  open(nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array, out: Uint8Array, tag: Uint8Array): boolean;
}

/** OpenSSL's EVP functions this needs (all buffers passed as `void *`: koffi hands over a typed array's memory). */
interface Evp {
  aes256gcm: unknown;
  ctxNew(): unknown;
  ctxFree(ctx: unknown): void;
  init(ctx: unknown, cipher: unknown, engine: null, key: Uint8Array | null, iv: Uint8Array | null, encrypt: number): number;
  update(ctx: unknown, out: Uint8Array | null, outLength: Int32Array, input: Uint8Array, length: number): number;
  final(ctx: unknown, out: Uint8Array, outLength: Int32Array): number;
  ctrl(ctx: unknown, type: number, arg: number, ptr: Uint8Array): number;
}

const GCM_GET_TAG = 0x10;
const GCM_SET_TAG = 0x11;

/** Bind EVP from `library` (null: this process's own symbols). */
function bindEvp(koffi: typeof import("koffi"), library: string | null): Evp {
  const lib = koffi.load(library);
  const cipherInit = lib.func("int EVP_CipherInit_ex(void *ctx, void *cipher, void *engine, void *key, void *iv, int enc)");
  const cipherUpdate = lib.func("int EVP_CipherUpdate(void *ctx, void *out, void *outl, void *in, int inl)");
  const cipherFinal = lib.func("int EVP_CipherFinal_ex(void *ctx, void *out, void *outl)");
  const ctxFree = lib.func("void EVP_CIPHER_CTX_free(void *ctx)");
  return {
    aes256gcm: lib.func("void *EVP_aes_256_gcm()")() as unknown,
    ctxNew: lib.func("void *EVP_CIPHER_CTX_new()") as () => unknown,
    ctxFree: (ctx) => void ctxFree(ctx),
    init: (ctx, cipher, engine, key, iv, encrypt) => cipherInit(ctx, cipher, engine, key, iv, encrypt) as number,
    update: (ctx, out, outLength, input, length) => cipherUpdate(ctx, out, outLength, input, length) as number,
    final: (ctx, out, outLength) => cipherFinal(ctx, out, outLength) as number,
    ctrl: lib.func("int EVP_CIPHER_CTX_ctrl(void *ctx, int type, int arg, void *ptr)") as Evp["ctrl"],
  };
}

let evp: Evp | { unavailable: string } | undefined;

/** EVP through koffi, loaded once per process: @returns it, or why not. */
export function loadEvp(): Evp | { unavailable: string } {
  if (evp !== undefined) return evp;
  let koffi: typeof import("koffi");
  try {
    koffi = createRequire(import.meta.url)("koffi") as typeof import("koffi");
  } catch (error) {
    return (evp = { unavailable: `koffi cannot load (${(error as Error).message.split("\n")[0]})` });
  }
  const reasons: string[] = [];
  for (const library of [null, "libcrypto.so.3"]) {
    try {
      const bound = bindEvp(koffi, library);
      if (bound.aes256gcm !== null) return (evp = bound);
      reasons.push(`${library ?? "node"}: no AES-256-GCM`);
    } catch (error) {
      reasons.push(`${library ?? "node"}: ${(error as Error).message.split("\n")[0]}`);
    }
  }
  return (evp = { unavailable: reasons.join("; ") });
}

/** Frees a context once its cipher is unreachable (the context holds the key: EVP_CIPHER_CTX_free wipes it). */
const contexts = new FinalizationRegistry<{ evp: Evp; ctx: unknown }>(({ evp, ctx }) => evp.ctxFree(ctx));

class EvpCipher implements RecordCipher {
  readonly kind = "evp";
  private readonly ctx: unknown;
  private readonly outLength = new Int32Array(1);

  constructor(
    private readonly evp: Evp,
    key: Uint8Array,
    sealing: boolean,
  ) {
    const ctx = evp.ctxNew();
    if (ctx === null) throw new Error("EVP_CIPHER_CTX_new failed");
    contexts.register(this, { evp, ctx });
    if (evp.init(ctx, evp.aes256gcm, null, key, null, sealing ? 1 : 0) !== 1) throw new Error("EVP_CipherInit_ex failed for AES-256-GCM");
    this.ctx = ctx;
  }

  seal(nonce: Uint8Array, aad: Uint8Array, parts: readonly Uint8Array[], out: Uint8Array, tag: Uint8Array): void {
    const { evp, ctx, outLength } = this;
    let ok = evp.init(ctx, null, null, null, nonce, 1) === 1 && evp.update(ctx, null, outLength, aad, aad.byteLength) === 1;
    let at = 0;
    for (const part of parts) {
      if (part.byteLength === 0) continue;
      ok &&= evp.update(ctx, out.subarray(at), outLength, part, part.byteLength) === 1;
      at += part.byteLength;
    }
    ok &&= evp.final(ctx, out.subarray(at), outLength) === 1 && evp.ctrl(ctx, GCM_GET_TAG, TAG_BYTES, tag) === 1;
    if (!ok) throw new Error("OpenSSL failed to seal a record");
  }

  open(nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array, out: Uint8Array, tag: Uint8Array): boolean {
    const { evp, ctx, outLength } = this;
    if (evp.init(ctx, null, null, null, nonce, 0) !== 1 || evp.update(ctx, null, outLength, aad, aad.byteLength) !== 1) return false;
    if (sealed.byteLength > 0 && evp.update(ctx, out, outLength, sealed, sealed.byteLength) !== 1) return false;
    return evp.ctrl(ctx, GCM_SET_TAG, TAG_BYTES, tag) === 1 && evp.final(ctx, out.subarray(sealed.byteLength), outLength) === 1;
  }
}

class NodeCipher implements RecordCipher {
  readonly kind = "node";
  constructor(private readonly key: Uint8Array) {}

  seal(nonce: Uint8Array, aad: Uint8Array, parts: readonly Uint8Array[], out: Uint8Array, tag: Uint8Array): void {
    const cipher = process.getBuiltinModule("node:crypto").createCipheriv("aes-256-gcm", this.key, nonce).setAAD(aad);
    let at = 0;
    for (const part of parts) {
      if (part.byteLength === 0) continue;
      const sealed = cipher.update(part);
      out.set(sealed, at);
      at += sealed.byteLength;
    }
    out.set(cipher.final(), at);
    tag.set(cipher.getAuthTag());
  }

  open(nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array, out: Uint8Array, tag: Uint8Array): boolean {
    const decipher = process.getBuiltinModule("node:crypto").createDecipheriv("aes-256-gcm", this.key, nonce).setAAD(aad).setAuthTag(tag);
    try {
      const plain = sealed.byteLength > 0 ? decipher.update(sealed) : Buffer.alloc(0);
      decipher.final();
      out.set(plain);
      return true;
    } catch {
      return false;
    }
  }
}

/** Which implementation: "evp" where it loads (else "node"), or "node" as asked. */
export type CipherChoice = "evp" | "node";

/** AES-256-GCM under `key` for sealing (or opening) one direction's records. */
export function recordCipher(key: Uint8Array, sealing: boolean, choice: CipherChoice = "evp"): RecordCipher {
  const lib = choice === "evp" ? loadEvp() : undefined;
  return lib !== undefined && !("unavailable" in lib) ? new EvpCipher(lib, key, sealing) : new NodeCipher(key);
}
