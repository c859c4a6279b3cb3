/**
 * The few libc calls shared memory needs, through koffi (an FFI library whose npm package
 * ships prebuilt binaries, so installing tsmpi runs no compiler). Loaded on first use; a
 * platform without koffi's binary, without memfd or without /proc gets a reason instead.
 *
 * A shared file is sealed against shrinking and growing once sized, and whoever opens another
 * process's file checks that it is the one offered, of the size offered, before mapping it:
 * touching a page past the end of a mapped file is a SIGBUS, which no JavaScript can catch.
 */
import process from "node:process";
import { fstatSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";

/** A shared file as its creator offers it: where to open it, and what the opener must find there. */
export interface SharedFile {
  pid: number;
  fd: number;
  /** Its size, fixed (sealed, where the kernel can seal) when it was made. */
  bytes: number;
  /** `<device>:<inode>`: the file itself, not whatever the descriptor number or pid leads to later. */
  inode: string;
}

/** Reading a host-mate's memory in one copy (process_vm_readv), where the host allows it. */
export type PeerMemory = Pick<Libc, "peerReads" | "addressOf" | "readPeer">;

export interface Libc {
  /**
   * A new anonymous shared file of `bytes` bytes (memfd_create + ftruncate): nothing in
   * /dev/shm. Sealed against shrinking and growing (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL),
   * so nobody, not even a process that opens it through /proc, can change its size; where the
   * kernel cannot seal, it is left unsealed.
   */
  createShared(name: string, bytes: number): SharedFile;
  /**
   * Open another process's shared file (same user, or root) through /proc.
   * @throws if the descriptor is not `file` (another inode, or another size): nothing is mapped then
   */
  openPeer(file: SharedFile): number;
  /**
   * Map `bytes` of `fd` from `offset` (page-aligned) shared, read-write; the ArrayBuffer lives
   * as long as the process. `populate`: allocate and map every page now (MAP_POPULATE).
   */
  map(fd: number, bytes: number, offset?: number, populate?: boolean): ArrayBuffer;
  close(fd: number): void;
  /**
   * Map `bytes` of `fd` shared, read-write, with a way to let go of it before the process
   * ends: `release()` puts private zero pages in its place (views of it stay safe to touch,
   * they just no longer see the shared memory), so the file's memory can go back to the system.
   * Every page is mapped now (MAP_POPULATE): a rank that loops over memory another rank filled
   * takes no page fault per 4 KiB (150 000 faults, ~40 ms, for 600 MB).
   */
  mapReleasable(fd: number, bytes: number): { buffer: ArrayBuffer; release(): void };
  /** Give the CPU to another runnable process (pollers on an oversubscribed host). */
  yieldCpu(): void;
  /**
   * Sleep while `word[0]` (shared memory) holds `expected`, for at most `timeoutUs`, or until a
   * {@link futexWake} on it from any process (FUTEX_WAIT; a spurious return is harmless).
   * Undefined where the architecture's futex call number is not known here.
   */
  futexWait?(word: Int32Array, expected: number, timeoutUs: number): void;
  /** Wake the processes sleeping in {@link futexWait} on `word[0]`. */
  futexWake?(word: Int32Array): void;
  /**
   * May this process read a peer's memory (process_vm_readv: same user, and no Yama ptrace
   * restriction)? The same answer on every rank of a host: it depends only on the host.
   */
  readonly peerReads: boolean;
  /** Where the bytes of `array` (off the V8 heap: an array of more than 64 bytes) sit in this process. */
  addressOf(array: ArrayBufferView): bigint;
  /** Copy `into.byteLength` bytes at `address` in process `pid` into `into` (one copy, process_vm_readv); throws if they cannot all be read. */
  readPeer(pid: number, address: bigint, into: Uint8Array): void;
  /** Read what socket `fd` holds into `into` without waiting (recv, MSG_DONTWAIT): @returns bytes read, 0 at its end, -1 if nothing is there. */
  receive(fd: number, into: Uint8Array): number;
}

const PROT_READ_WRITE = 3;
const MAP_SHARED = 1;
const MAP_POPULATE = 0x8000;
const MAP_PRIVATE_ANONYMOUS_FIXED = 0x02 | 0x20 | 0x10;
const MFD_CLOEXEC = 1;
const MFD_ALLOW_SEALING = 2;
const F_ADD_SEALS = 1033;
const F_SEAL_SEAL = 1;
const F_SEAL_SHRINK = 2;
const F_SEAL_GROW = 4;
const EINVAL = 22;
const O_RDWR = 2;
const MSG_DONTWAIT = 0x40;
const O_CLOEXEC = 0o2000000;
/** The futex system call's number (x86-64, arm64) and its operations (shared, not FUTEX_PRIVATE: the word is in memory several processes map). */
const SYS_FUTEX: Partial<Record<string, number>> = { x64: 202, arm64: 98 };
const FUTEX_WAIT = 0;
const FUTEX_WAKE = 1;
/** errno of an open through /proc whose process (or descriptor) is gone. */
export const ENOENT = 2;

/**
 * @returns libc through koffi, or why shared memory is not available here.
 * @param options.peerReads false: never read a peer's memory, even where the kernel allows it
 * (collectives then copy through shared segments; see ENV.singleCopy)
 */
export function loadLibc(options: { peerReads?: boolean } = {}): Libc | { unavailable: string } {
  if (process.platform !== "linux") return { unavailable: `shared memory needs Linux (this is ${process.platform})` };
  let koffi: typeof import("koffi");
  try {
    koffi = createRequire(import.meta.url)("koffi") as typeof import("koffi");
  } catch (error) {
    return { unavailable: `koffi has no prebuilt binary for ${process.platform}-${process.arch} (${(error as Error).message.split("\n")[0]})` };
  }
  try {
    return bind(koffi, options.peerReads !== false);
  } catch (error) {
    // musl (Alpine) has no libc.so.6; an old libc lacks a symbol: ZeroMQ serves instead.
    return { unavailable: `libc.so.6 cannot be used through koffi (${(error as Error).message.split("\n")[0]}); glibc 2.27 or later is needed` };
  }
}

/** libc's functions through koffi; throws where libc.so.6 or one of its symbols is missing. */
function bind(koffi: typeof import("koffi"), peerReads: boolean): Libc {
  const lib = koffi.load("libc.so.6");
  const memfdCreate = lib.func("int memfd_create(const char *name, unsigned int flags)");
  const ftruncate = lib.func("int ftruncate(int fd, int64_t length)");
  const fcntl = lib.func("int fcntl(int fd, int cmd, ...)");
  const mmap = lib.func("void *mmap(void *addr, size_t length, int prot, int flags, int fd, int64_t offset)");
  const open = lib.func("int open(const char *path, int flags)");
  const close = lib.func("int close(int fd)");
  const schedYield = lib.func("int sched_yield(void)");
  const recv = lib.func("intptr_t recv(int fd, void *buf, size_t len, int flags)");
  // memmove(p, p, 0) returns p: the address koffi passes for a typed array.
  const memmove = lib.func("void *memmove(void *dest, const void *src, size_t n)");
  // Anonymous: a named type would be defined twice if libc were loaded twice in one process.
  const iovecs = koffi.pointer(koffi.struct({ base: "uint64_t", length: "size_t" }));
  const processVmReadv = lib.func("process_vm_readv", "intptr_t", ["int", iovecs, "unsigned long", iovecs, "unsigned long", "unsigned long"]);
  const check = (what: string, result: number): number => {
    if (result < 0) {
      const errno = koffi.errno();
      throw Object.assign(new Error(`${what} failed (errno ${errno})`), { errno });
    }
    return result;
  };
  const addressOf = (array: ArrayBufferView): bigint => koffi.address(memmove(array, array, 0)) as bigint;
  const mapShared = (fd: number, bytes: number, offset: number, populate: boolean): unknown => {
    const pointer = mmap(null, bytes, PROT_READ_WRITE, MAP_SHARED | (populate ? MAP_POPULATE : 0), fd, offset) as unknown;
    if (pointer === null || pointer === -1n || pointer === BigInt("0xffffffffffffffff")) throw new Error(`mmap failed (errno ${koffi.errno()})`);
    return pointer;
  };
  return {
    createShared(name, bytes) {
      let fd = memfdCreate(name, MFD_CLOEXEC | MFD_ALLOW_SEALING) as number;
      // A kernel without sealing: an unsealed file, whose openers still check its size.
      if (fd < 0 && koffi.errno() === EINVAL) fd = memfdCreate(name, MFD_CLOEXEC) as number;
      check("memfd_create", fd);
      try {
        check("ftruncate", ftruncate(fd, bytes) as number);
      } catch (error) {
        close(fd);
        throw error;
      }
      // Best effort, like the fallback above: a file that cannot be sealed works unsealed.
      fcntl(fd, F_ADD_SEALS, "int", F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
      return { pid: process.pid, fd, ...identify(fd) };
    },
    openPeer(file) {
      const path = `/proc/${file.pid}/fd/${file.fd}`;
      const fd = check(`open ${path}`, open(path, O_RDWR | O_CLOEXEC) as number);
      const found = identify(fd);
      if (found.inode !== file.inode || found.bytes !== file.bytes) {
        close(fd);
        throw new Error(`${path} is not the shared file offered (found inode ${found.inode} of ${found.bytes} bytes, offered ${file.inode} of ${file.bytes})`);
      }
      return fd;
    },
    map: (fd, bytes, offset = 0, populate = false) => koffi.view(mapShared(fd, bytes, offset, populate), bytes) as ArrayBuffer,
    close: (fd) => void close(fd),
    mapReleasable(fd, bytes) {
      const pointer = mapShared(fd, bytes, 0, true);
      return {
        buffer: koffi.view(pointer, bytes) as ArrayBuffer,
        release: () => void mmap(pointer, bytes, PROT_READ_WRITE, MAP_PRIVATE_ANONYMOUS_FIXED, -1, 0),
      };
    },
    yieldCpu: () => void schedYield(),
    ...futexCalls(lib),
    receive: (fd, into) => Number(recv(fd, into, into.byteLength, MSG_DONTWAIT)),
    peerReads: peerReads && ptraceScope() === 0,
    addressOf,
    readPeer(pid, address, into) {
      const local = [{ base: addressOf(into), length: into.byteLength }];
      const read = check("process_vm_readv", Number(processVmReadv(pid, local, 1, [{ base: address, length: into.byteLength }], 1, 0)));
      if (read !== into.byteLength) throw new Error(`process_vm_readv read ${read} of ${into.byteLength} bytes from process ${pid}`);
    },
  };
}

/** futexWait and futexWake through syscall(2), where this architecture's call number is known. */
function futexCalls(lib: ReturnType<typeof import("koffi").load>): Pick<Libc, "futexWait" | "futexWake"> {
  const number = SYS_FUTEX[process.arch];
  if (number === undefined) return {};
  const futex = lib.func("long syscall(long number, void *word, int op, int value, void *timeout, void *word2, int value3)");
  // struct timespec { tv_sec, tv_nsec } (64-bit each), off the V8 heap: it must not move during the call.
  const timespec = new BigInt64Array(new ArrayBuffer(128), 0, 2);
  return {
    futexWait(word, expected, timeoutUs) {
      timespec[0] = BigInt(Math.floor(timeoutUs / 1e6));
      timespec[1] = BigInt(Math.floor(timeoutUs % 1e6) * 1000);
      futex(number, word, FUTEX_WAIT, expected, timespec, null, 0);
    },
    futexWake: (word) => void futex(number, word, FUTEX_WAKE, 0x7fff_ffff, null, null, 0),
  };
}

/** What a descriptor leads to: its file's identity and size (fstat). */
function identify(fd: number): Pick<SharedFile, "bytes" | "inode"> {
  const stat = fstatSync(fd, { bigint: true });
  return { bytes: Number(stat.size), inode: `${stat.dev}:${stat.ino}` };
}

/** Yama's ptrace_scope (0: classic permissions, a process may read its user's others; no Yama: 0). */
function ptraceScope(): number {
  try {
    return Number(readFileSync("/proc/sys/kernel/yama/ptrace_scope", "utf8").trim());
  } catch {
    return 0;
  }
}
