// The kernel's FUSE ABI (include/uapi/linux/fuse.h): opcodes, flags and the byte layouts this server reads and
// writes. Little-endian, as on every architecture the simulator runs on. Sizes are the kernel's, protocol 7.31.

export const FUSE_KERNEL_VERSION = 7;
/** the minor version this server speaks (the kernel adapts to it; every struct below has its 7.31 size) */
export const FUSE_SERVER_MINOR = 31;

export const Op = {
  LOOKUP: 1,
  FORGET: 2,
  GETATTR: 3,
  SETATTR: 4,
  READLINK: 5,
  SYMLINK: 6,
  MKNOD: 8,
  MKDIR: 9,
  UNLINK: 10,
  RMDIR: 11,
  RENAME: 12,
  LINK: 13,
  OPEN: 14,
  READ: 15,
  WRITE: 16,
  STATFS: 17,
  RELEASE: 18,
  FSYNC: 20,
  SETXATTR: 21,
  GETXATTR: 22,
  LISTXATTR: 23,
  REMOVEXATTR: 24,
  FLUSH: 25,
  INIT: 26,
  OPENDIR: 27,
  READDIR: 28,
  RELEASEDIR: 29,
  FSYNCDIR: 30,
  ACCESS: 34,
  CREATE: 35,
  INTERRUPT: 36,
  DESTROY: 38,
  BATCH_FORGET: 42,
  READDIRPLUS: 44,
} as const;

export const OP_NAMES: Record<number, string> = Object.fromEntries(Object.entries(Op).map(([k, v]) => [v, k]));

export const Notify = { INVAL_INODE: 2, INVAL_ENTRY: 3, DELETE: 6 } as const;

/** fuse_init_out.flags */
export const InitFlag = {
  ASYNC_READ: 1 << 0,
  BIG_WRITES: 1 << 5,
  AUTO_INVAL_DATA: 1 << 12,
  DO_READDIRPLUS: 1 << 13,
  PARALLEL_DIROPS: 1 << 18,
  NO_OPEN_SUPPORT: 1 << 17,
  CACHE_SYMLINKS: 1 << 23,
  NO_OPENDIR_SUPPORT: 1 << 24,
} as const;

/** fuse_open_out.open_flags */
export const FOPEN_DIRECT_IO = 1 << 0;
export const FOPEN_KEEP_CACHE = 1 << 1;
export const FOPEN_CACHE_DIR = 1 << 3;

/** fuse_setattr_in.valid */
export const FATTR_SIZE = 1 << 3;

export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
export const S_IFLNK = 0o120000;
export const DT_DIR = 4;
export const DT_REG = 8;
export const DT_LNK = 10;

export const IN_HEADER_SIZE = 40;
export const OUT_HEADER_SIZE = 16;
export const ATTR_SIZE = 88;
export const ENTRY_OUT_SIZE = 40 + ATTR_SIZE;
export const ATTR_OUT_SIZE = 16 + ATTR_SIZE;
export const INIT_OUT_SIZE = 64;
export const STATFS_OUT_SIZE = 80;
export const OPEN_OUT_SIZE = 16;
export const WRITE_IN_SIZE = 40;
/** the kernel refuses a read() of /dev/fuse smaller than this */
export const MIN_READ_BUFFER = 8192;

export interface InHeader {
  len: number;
  opcode: number;
  unique: bigint;
  nodeid: number;
  uid: number;
  gid: number;
  pid: number;
}

export class MalformedRequest extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MalformedRequest';
  }
}

export function readInHeader(buf: Buffer): InHeader {
  if (buf.length < IN_HEADER_SIZE) throw new MalformedRequest(`request of ${buf.length} bytes is shorter than its header`);
  const len = buf.readUInt32LE(0);
  if (len < IN_HEADER_SIZE || len > buf.length) throw new MalformedRequest(`header says ${len} bytes, ${buf.length} arrived`);
  return {
    len,
    opcode: buf.readUInt32LE(4),
    unique: buf.readBigUInt64LE(8),
    nodeid: Number(buf.readBigUInt64LE(16)),
    uid: buf.readUInt32LE(24),
    gid: buf.readUInt32LE(28),
    pid: buf.readUInt32LE(32),
  };
}

/** A view of a request's body that fails with MalformedRequest instead of reading past its end. */
export class Body {
  constructor(
    private readonly buf: Buffer,
    readonly opcode: number,
  ) {}
  get length(): number {
    return this.buf.length;
  }
  private need(off: number, n: number): void {
    if (off + n > this.buf.length) throw new MalformedRequest(`${OP_NAMES[this.opcode] ?? this.opcode}: body of ${this.buf.length} bytes, field at ${off}+${n}`);
  }
  u32(off: number): number {
    this.need(off, 4);
    return this.buf.readUInt32LE(off);
  }
  u64(off: number): number {
    this.need(off, 8);
    return Number(this.buf.readBigUInt64LE(off));
  }
  u64big(off: number): bigint {
    this.need(off, 8);
    return this.buf.readBigUInt64LE(off);
  }
  bytes(off: number, n: number): Buffer {
    this.need(off, n);
    return this.buf.subarray(off, off + n);
  }
  /** a NUL-terminated name starting at `off` */
  cstring(off: number): string {
    const end = this.buf.indexOf(0, off);
    if (end < 0) throw new MalformedRequest(`${OP_NAMES[this.opcode] ?? this.opcode}: name is not NUL-terminated`);
    return this.buf.toString('utf8', off, end);
  }
}

export interface Attr {
  ino: number;
  mode: number;
  size: number;
  nlink: number;
  uid: number;
  gid: number;
  /** seconds since the epoch for atime/mtime/ctime */
  timeSec: number;
}

function writeAttr(out: Buffer, off: number, a: Attr): void {
  out.writeBigUInt64LE(BigInt(a.ino), off);
  out.writeBigUInt64LE(BigInt(a.size), off + 8);
  out.writeBigUInt64LE(BigInt(Math.ceil(a.size / 512)), off + 16); // blocks
  for (const t of [24, 32, 40]) out.writeBigUInt64LE(BigInt(a.timeSec), off + t);
  // atimensec, mtimensec, ctimensec stay 0
  out.writeUInt32LE(a.mode, off + 60);
  out.writeUInt32LE(a.nlink, off + 64);
  out.writeUInt32LE(a.uid, off + 68);
  out.writeUInt32LE(a.gid, off + 72);
  out.writeUInt32LE(0, off + 76); // rdev
  out.writeUInt32LE(4096, off + 80); // blksize
  out.writeUInt32LE(0, off + 84); // flags
}

function ttl(ms: number): { sec: bigint; nsec: number } {
  const sec = Math.floor(ms / 1000);
  return { sec: BigInt(sec), nsec: Math.round((ms - sec * 1000) * 1e6) };
}

export function encodeEntryOut(nodeid: number, attr: Attr, entryTtlMs: number, attrTtlMs: number, out = Buffer.alloc(ENTRY_OUT_SIZE), off = 0): Buffer {
  const e = ttl(entryTtlMs);
  const a = ttl(attrTtlMs);
  out.writeBigUInt64LE(BigInt(nodeid), off);
  out.writeBigUInt64LE(1n, off + 8); // generation: node ids are never reused, so one generation serves
  out.writeBigUInt64LE(e.sec, off + 16);
  out.writeBigUInt64LE(a.sec, off + 24);
  out.writeUInt32LE(e.nsec, off + 32);
  out.writeUInt32LE(a.nsec, off + 36);
  writeAttr(out, off + 40, attr);
  return out;
}

export function encodeAttrOut(attr: Attr, attrTtlMs: number): Buffer {
  const out = Buffer.alloc(ATTR_OUT_SIZE);
  const a = ttl(attrTtlMs);
  out.writeBigUInt64LE(a.sec, 0);
  out.writeUInt32LE(a.nsec, 8);
  writeAttr(out, 16, attr);
  return out;
}

export interface InitReply {
  minor: number;
  maxReadahead: number;
  flags: number;
  maxBackground: number;
  congestionThreshold: number;
  maxWrite: number;
}

export function encodeInitOut(r: InitReply): Buffer {
  const out = Buffer.alloc(INIT_OUT_SIZE);
  out.writeUInt32LE(FUSE_KERNEL_VERSION, 0);
  out.writeUInt32LE(r.minor, 4);
  out.writeUInt32LE(r.maxReadahead, 8);
  out.writeUInt32LE(r.flags >>> 0, 12);
  out.writeUInt16LE(r.maxBackground, 16);
  out.writeUInt16LE(r.congestionThreshold, 18);
  out.writeUInt32LE(r.maxWrite, 20);
  out.writeUInt32LE(1, 24); // time_gran: 1 ns
  return out;
}

export function encodeOpenOut(fh: number, openFlags: number): Buffer {
  const out = Buffer.alloc(OPEN_OUT_SIZE);
  out.writeBigUInt64LE(BigInt(fh), 0);
  out.writeUInt32LE(openFlags, 8);
  return out;
}

export function encodeWriteOut(size: number): Buffer {
  const out = Buffer.alloc(8);
  out.writeUInt32LE(size, 0);
  return out;
}

export function encodeStatfsOut(s: { blocks: number; files: number; bsize: number; namelen: number }): Buffer {
  const out = Buffer.alloc(STATFS_OUT_SIZE);
  out.writeBigUInt64LE(BigInt(s.blocks), 0);
  out.writeBigUInt64LE(BigInt(s.files), 24);
  out.writeUInt32LE(s.bsize, 40);
  out.writeUInt32LE(s.namelen, 44);
  out.writeUInt32LE(s.bsize, 48); // frsize
  return out;
}

export interface Dirent {
  ino: number;
  name: string;
  type: number;
}

/**
 * fuse_dirent records for the entries from index `offset` on, as many as fit in `size` bytes. Each record's `off`
 * is the index of the entry after it, which the kernel sends back as the next READDIR's offset.
 */
export function encodeDirents(entries: Dirent[], offset: number, size: number): Buffer {
  const parts: Buffer[] = [];
  let used = 0;
  for (let i = offset; i < entries.length; i++) {
    const name = Buffer.from(entries[i].name);
    const recLen = (24 + name.length + 7) & ~7;
    if (used + recLen > size) break;
    const rec = Buffer.alloc(recLen);
    rec.writeBigUInt64LE(BigInt(entries[i].ino), 0);
    rec.writeBigUInt64LE(BigInt(i + 1), 8);
    rec.writeUInt32LE(name.length, 16);
    rec.writeUInt32LE(entries[i].type, 20);
    name.copy(rec, 24);
    parts.push(rec);
    used += recLen;
  }
  return Buffer.concat(parts, used);
}

export function encodeOutHeader(len: number, error: number, unique: bigint): Buffer {
  const h = Buffer.alloc(OUT_HEADER_SIZE);
  h.writeUInt32LE(len, 0);
  h.writeInt32LE(error, 4);
  h.writeBigUInt64LE(unique, 8);
  return h;
}

/** A notification: a reply-shaped message with unique 0 and the notify code in the error field. */
export function encodeNotify(code: number, body: Buffer): Buffer {
  return Buffer.concat([encodeOutHeader(OUT_HEADER_SIZE + body.length, code, 0n), body]);
}

export function notifyInvalInode(nodeid: number, off: number, len: number): Buffer {
  const b = Buffer.alloc(24);
  b.writeBigUInt64LE(BigInt(nodeid), 0);
  b.writeBigInt64LE(BigInt(off), 8);
  b.writeBigInt64LE(BigInt(len), 16);
  return encodeNotify(Notify.INVAL_INODE, b);
}

export function notifyInvalEntry(parent: number, name: string): Buffer {
  const n = Buffer.from(name);
  const b = Buffer.alloc(16 + n.length + 1);
  b.writeBigUInt64LE(BigInt(parent), 0);
  b.writeUInt32LE(n.length, 8);
  n.copy(b, 16);
  return encodeNotify(Notify.INVAL_ENTRY, b);
}

export function notifyDelete(parent: number, child: number, name: string): Buffer {
  const n = Buffer.from(name);
  const b = Buffer.alloc(24 + n.length + 1);
  b.writeBigUInt64LE(BigInt(parent), 0);
  b.writeBigUInt64LE(BigInt(child), 8);
  b.writeUInt32LE(n.length, 16);
  n.copy(b, 24);
  return encodeNotify(Notify.DELETE, b);
}
