// A FUSE server connection spoken from Node alone: /dev/fuse is opened here, handed to mount(8) as fd 3 (no libfuse,
// no fusermount), and every request the kernel queues on it is decoded, handed to a FuseOps table and answered.
// Written here because no maintained pure-JavaScript FUSE server exists; the ABI is include/uapi/linux/fuse.h.
//
// Requests are read without the threadpool: the fd is opened as a libuv pipe, so epoll says when a request is
// queued and any number of mounts share the event loop. Replies are single synchronous writes (the kernel never
// blocks a reply). Notifications go through the threadpool, because the kernel takes the directory's inode lock to
// invalidate an entry, and a lookup waiting for our reply may hold that lock: written from the event loop, that
// would deadlock the server.
import { closeSync, openSync, readFileSync, write as fsWrite, writeSync, read as fsRead } from 'node:fs';
import { spawn } from 'node:child_process';
import { Socket } from 'node:net';
import {
  Body,
  encodeAttrOut,
  encodeDirents,
  encodeEntryOut,
  encodeInitOut,
  encodeOpenOut,
  encodeOutHeader,
  encodeStatfsOut,
  encodeWriteOut,
  FATTR_SIZE,
  FOPEN_CACHE_DIR,
  FOPEN_DIRECT_IO,
  FOPEN_KEEP_CACHE,
  FUSE_KERNEL_VERSION,
  FUSE_SERVER_MINOR,
  IN_HEADER_SIZE,
  InitFlag,
  MalformedRequest,
  notifyDelete,
  notifyInvalEntry,
  notifyInvalInode,
  Op,
  OP_NAMES,
  readInHeader,
  type Attr,
  type Dirent,
  type InHeader,
} from './abi.ts';

const EINTR = 4;
const EIO = 5;
const EINVAL = 22;
const ENOSYS = 38;
const EAGAIN = 11;

/** An error a handler throws to answer a request with `errno` (positive, Linux's numbering). */
export class FuseErrno extends Error {
  constructor(
    readonly errno: number,
    message?: string,
  ) {
    super(message ?? `errno ${errno}`);
    this.name = 'FuseErrno';
  }
}

export type MaybePromise<T> = T | Promise<T>;

export interface FuseRequest {
  readonly opcode: number;
  readonly unique: bigint;
  readonly nodeid: number;
  readonly uid: number;
  readonly gid: number;
  readonly pid: number;
}

export interface EntryReply {
  nodeid: number;
  attr: Attr;
  entryTtlMs: number;
  attrTtlMs: number;
}
export interface AttrReply {
  attr: Attr;
  attrTtlMs: number;
}
export interface OpenReply {
  fh: number;
  directIo?: boolean;
  /** keep cached pages (or a cached listing) from one open to the next */
  keepCache?: boolean;
  /** a directory's listing may be cached (FOPEN_CACHE_DIR) */
  cacheDir?: boolean;
}
export interface SetattrIn {
  size?: number;
  mode?: number;
  uid?: number;
  gid?: number;
}

/**
 * The filesystem behind a connection, node-id based like libfuse's low-level API. A missing method answers ENOSYS;
 * for OPEN/OPENDIR/FLUSH that tells the kernel to stop sending them (zero-message open, no flush on close); the
 * kernel then keeps file pages and directory listings cached across opens (FOPEN_KEEP_CACHE | FOPEN_CACHE_DIR).
 * A handler answers with an error by throwing FuseErrno.
 */
export interface FuseOps {
  lookup(req: FuseRequest, parent: number, name: string): MaybePromise<EntryReply>;
  forget?(nodeid: number, nlookup: number): void;
  getattr(req: FuseRequest, nodeid: number): MaybePromise<AttrReply>;
  setattr?(req: FuseRequest, nodeid: number, set: SetattrIn): MaybePromise<AttrReply>;
  readlink?(req: FuseRequest, nodeid: number): MaybePromise<string>;
  open?(req: FuseRequest, nodeid: number, flags: number): MaybePromise<OpenReply>;
  read?(req: FuseRequest, nodeid: number, fh: number, offset: number, size: number): MaybePromise<Buffer>;
  write?(req: FuseRequest, nodeid: number, fh: number, offset: number, data: Buffer): MaybePromise<number>;
  flush?(req: FuseRequest, nodeid: number, fh: number): MaybePromise<void>;
  release?(req: FuseRequest, nodeid: number, fh: number): MaybePromise<void>;
  opendir?(req: FuseRequest, nodeid: number, flags: number): MaybePromise<OpenReply>;
  /** the whole listing; the connection sends the part the kernel asked for */
  readdir?(req: FuseRequest, nodeid: number, fh: number, offset: number): MaybePromise<Dirent[]>;
  releasedir?(req: FuseRequest, nodeid: number, fh: number): MaybePromise<void>;
  statfs?(req: FuseRequest, nodeid: number): MaybePromise<{ blocks: number; files: number; bsize: number; namelen: number }>;
  access?(req: FuseRequest, nodeid: number, mask: number): MaybePromise<void>;
  /** opcodes answered with a fixed errno instead of ENOSYS (e.g. what a read-only filesystem says to mkdir) */
  refused?: Partial<Record<number, number>>;
  /** called once a request has been answered (for work that must follow the reply, like notifications) */
  afterReply?(req: FuseRequest): void;
}

export interface ConnectionStats {
  requests: number;
  byOp: Record<string, number>;
  /** time from a request's arrival to its reply, summed per operation, in µs (what the server adds to a call) */
  serverUsByOp: Record<string, number>;
  notifications: number;
  /** notifications the kernel answered ENOENT to (it had already dropped the entry or inode) */
  staleNotifications: number;
  malformed: number;
  interrupted: number;
}

/** Where the connection's bytes go; tests give a fake one to feed crafted requests. */
export interface FuseChannel {
  reply(buf: Buffer): void;
  notify(buf: Buffer): Promise<void>;
}

/**
 * Decodes and answers requests for one connection. Separate from the mount so that a malformed request can be fed
 * to it directly (the kernel never sends one, so only a test can).
 */
export class FuseDispatcher {
  readonly stats: ConnectionStats = { requests: 0, byOp: {}, serverUsByOp: {}, notifications: 0, staleNotifications: 0, malformed: 0, interrupted: 0 };
  private readonly pending = new Set<bigint>();
  private readonly interrupted = new Set<bigint>();
  kernelMinor = 0;
  private initDone = false;

  constructor(
    private readonly ops: FuseOps,
    private readonly channel: FuseChannel,
    private readonly opts: { maxWrite: number; log?: (msg: string) => void; onDestroy?: () => void },
  ) {}

  /** Handles one message as read from /dev/fuse. Never throws. */
  handle(buf: Buffer): void {
    let h: InHeader;
    try {
      h = readInHeader(buf);
    } catch (e) {
      this.stats.malformed++;
      this.opts.log?.(`fuse: dropped a malformed request: ${(e as Error).message}`);
      // answer it if at least its unique id is readable, so a waiting caller is not left hanging
      if (buf.length >= 16 && buf.readBigUInt64LE(8) !== 0n) this.send(buf.readBigUInt64LE(8), -EINVAL);
      return;
    }
    this.stats.requests++;
    const name = OP_NAMES[h.opcode] ?? `op${h.opcode}`;
    this.stats.byOp[name] = (this.stats.byOp[name] ?? 0) + 1;
    const body = new Body(buf.subarray(IN_HEADER_SIZE, h.len), h.opcode);
    const req: FuseRequest = { opcode: h.opcode, unique: h.unique, nodeid: h.nodeid, uid: h.uid, gid: h.gid, pid: h.pid };
    this.arrived.set(req.unique, process.hrtime.bigint());
    let result: MaybePromise<Buffer | null>;
    try {
      result = this.dispatch(req, body);
    } catch (e) {
      if (h.opcode === Op.FORGET || h.opcode === Op.BATCH_FORGET) {
        // the kernel waits for no answer to a forget, so there is none to send
        this.arrived.delete(req.unique);
        this.stats.malformed++;
        this.opts.log?.(`fuse: malformed ${name}: ${(e as Error).message}`);
        return;
      }
      this.fail(req, e);
      return;
    }
    if (result === null) {
      this.arrived.delete(req.unique); // no reply (FORGET, INTERRUPT)
      return;
    }
    if (result instanceof Promise) {
      this.pending.add(req.unique);
      result.then(
        (payload) => {
          this.pending.delete(req.unique);
          if (this.interrupted.delete(req.unique)) return;
          if (payload) this.ok(req, payload);
        },
        (e: unknown) => {
          this.pending.delete(req.unique);
          if (this.interrupted.delete(req.unique)) return;
          this.fail(req, e);
        },
      );
      return;
    }
    this.ok(req, result);
  }

  private ok(req: FuseRequest, payload: Buffer): void {
    this.send(req.unique, 0, payload, req.opcode);
    this.ops.afterReply?.(req);
  }

  private fail(req: FuseRequest, e: unknown): void {
    let errno = EIO;
    if (e instanceof FuseErrno) errno = e.errno;
    else if (e instanceof MalformedRequest) {
      this.stats.malformed++;
      this.opts.log?.(`fuse: malformed ${OP_NAMES[req.opcode] ?? req.opcode}: ${e.message}`);
      errno = EINVAL;
    } else this.opts.log?.(`fuse: ${OP_NAMES[req.opcode] ?? req.opcode} on node ${req.nodeid} failed: ${(e as Error).stack ?? String(e)}`);
    this.send(req.unique, -errno, undefined, req.opcode);
    this.ops.afterReply?.(req);
  }

  private readonly arrived = new Map<bigint, bigint>();

  private send(unique: bigint, error: number, payload?: Buffer, opcode?: number): void {
    const t0 = this.arrived.get(unique);
    if (t0 !== undefined) {
      this.arrived.delete(unique);
      const name = OP_NAMES[opcode ?? 0] ?? `op${opcode}`;
      this.stats.serverUsByOp[name] = (this.stats.serverUsByOp[name] ?? 0) + Number(process.hrtime.bigint() - t0) / 1000;
    }
    const len = 16 + (payload?.length ?? 0);
    const h = encodeOutHeader(len, error, unique);
    this.channel.reply(payload && payload.length ? Buffer.concat([h, payload], len) : h);
  }

  private enosys(): never {
    throw new FuseErrno(ENOSYS);
  }

  /** Returns the reply payload (empty buffer = header only), a promise of it, or null for "no reply". */
  private dispatch(req: FuseRequest, b: Body): MaybePromise<Buffer | null> {
    const ops = this.ops;
    const map = <T>(v: MaybePromise<T>, f: (x: T) => Buffer): MaybePromise<Buffer> => (v instanceof Promise ? v.then(f) : f(v));
    const empty = Buffer.alloc(0);
    if (!this.initDone && req.opcode !== Op.INIT) throw new FuseErrno(EIO, 'request before INIT');
    switch (req.opcode) {
      case Op.INIT: {
        const major = b.u32(0);
        const minor = b.u32(4);
        const maxReadahead = b.u32(8);
        const kernelFlags = b.u32(12);
        if (major !== FUSE_KERNEL_VERSION) throw new FuseErrno(71 /* EPROTO */, `kernel speaks FUSE ${major}`);
        this.kernelMinor = minor;
        this.initDone = true;
        // symlinks may be cached: a node id's target never changes (a new target is a new node id)
        const want = InitFlag.ASYNC_READ | InitFlag.BIG_WRITES | InitFlag.AUTO_INVAL_DATA | InitFlag.PARALLEL_DIROPS | InitFlag.CACHE_SYMLINKS;
        return encodeInitOut({
          minor: Math.min(minor, FUSE_SERVER_MINOR),
          maxReadahead,
          flags: want & kernelFlags,
          maxBackground: 64,
          congestionThreshold: 48,
          maxWrite: this.opts.maxWrite,
        });
      }
      case Op.LOOKUP:
        return map(ops.lookup(req, req.nodeid, b.cstring(0)), (e) => encodeEntryOut(e.nodeid, e.attr, e.entryTtlMs, e.attrTtlMs));
      case Op.FORGET:
        ops.forget?.(req.nodeid, b.u64(0));
        return null;
      case Op.BATCH_FORGET: {
        const count = b.u32(0);
        for (let i = 0; i < count; i++) ops.forget?.(b.u64(8 + i * 16), b.u64(16 + i * 16));
        return null;
      }
      case Op.GETATTR:
        return map(ops.getattr(req, req.nodeid), (a) => encodeAttrOut(a.attr, a.attrTtlMs));
      case Op.SETATTR: {
        if (!ops.setattr) return this.enosys();
        const valid = b.u32(0);
        const set: SetattrIn = {};
        if (valid & FATTR_SIZE) set.size = b.u64(16);
        if (valid & 1) set.mode = b.u32(68);
        if (valid & 2) set.uid = b.u32(76);
        if (valid & 4) set.gid = b.u32(80);
        return map(ops.setattr(req, req.nodeid, set), (a) => encodeAttrOut(a.attr, a.attrTtlMs));
      }
      case Op.READLINK:
        if (!ops.readlink) return this.enosys();
        return map(ops.readlink(req, req.nodeid), (t) => Buffer.from(t));
      case Op.OPEN:
      case Op.OPENDIR: {
        const f = req.opcode === Op.OPEN ? ops.open : ops.opendir;
        if (!f) return this.enosys();
        return map(f.call(ops, req, req.nodeid, b.u32(0)), (o) => encodeOpenOut(o.fh, (o.directIo ? FOPEN_DIRECT_IO : 0) | (o.keepCache ? FOPEN_KEEP_CACHE : 0) | (o.cacheDir ? FOPEN_CACHE_DIR : 0)));
      }
      case Op.READ: {
        if (!ops.read) return this.enosys();
        return ops.read(req, req.nodeid, b.u64(0), b.u64(8), b.u32(16));
      }
      case Op.WRITE: {
        if (!ops.write) return this.enosys();
        const size = b.u32(16);
        return map(ops.write(req, req.nodeid, b.u64(0), b.u64(8), b.bytes(40, size)), encodeWriteOut);
      }
      case Op.FLUSH:
        if (!ops.flush) return this.enosys();
        return map(ops.flush(req, req.nodeid, b.u64(0)), () => empty);
      case Op.RELEASE:
        return map(ops.release?.(req, req.nodeid, b.u64(0)), () => empty);
      case Op.RELEASEDIR:
        return map(ops.releasedir?.(req, req.nodeid, b.u64(0)), () => empty);
      case Op.READDIR: {
        if (!ops.readdir) return this.enosys();
        const offset = b.u64(8);
        const size = b.u32(16);
        return map(ops.readdir(req, req.nodeid, b.u64(0), offset), (list) => encodeDirents(list, offset, size));
      }
      case Op.STATFS:
        return map(ops.statfs ? ops.statfs(req, req.nodeid) : { blocks: 0, files: 0, bsize: 4096, namelen: 255 }, encodeStatfsOut);
      case Op.ACCESS:
        if (!ops.access) return this.enosys();
        return map(ops.access(req, req.nodeid, b.u32(0)), () => empty);
      case Op.INTERRUPT: {
        const target = b.u64big(0);
        this.stats.interrupted++;
        if (this.pending.has(target)) {
          // answer the interrupted request now; its handler's late result is dropped
          this.interrupted.add(target);
          this.send(target, -EINTR);
          this.arrived.delete(target);
          return null;
        }
        // not (yet) here: EAGAIN makes the kernel queue the interrupt again, unless the request was answered
        this.send(req.unique, -EAGAIN);
        return null;
      }
      case Op.DESTROY:
        this.opts.onDestroy?.();
        return empty;
      default: {
        const errno = ops.refused?.[req.opcode];
        if (errno) throw new FuseErrno(errno);
        return this.enosys();
      }
    }
  }
}

export interface MountOptions {
  /** shown as the source in /proc/mounts */
  fsname: string;
  /** the mount type is fuse.<subtype> */
  subtype: string;
  /** let the kernel check mode bits (as sysfs does); on by default */
  defaultPermissions?: boolean;
  allowOther?: boolean;
  maxWrite?: number;
  log?: (msg: string) => void;
}

export interface FuseMount extends AsyncDisposable {
  readonly dir: string;
  /** the connection's number under /sys/fs/fuse/connections */
  readonly connection: number;
  readonly stats: ConnectionStats;
  readonly kernelMinor: number;
  /** resolves when the kernel ends the connection (unmount, abort) */
  readonly closed: Promise<void>;
  invalInode(nodeid: number, off?: number, len?: number): Promise<void>;
  invalEntry(parent: number, name: string): Promise<void>;
  deleteEntry(parent: number, child: number, name: string): Promise<void>;
  unmount(): Promise<void>;
}

function run(cmd: string, args: string[], extraFd?: number): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: extraFd === undefined ? ['ignore', 'ignore', 'pipe'] : ['ignore', 'ignore', 'pipe', extraFd] });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (e) => resolve({ code: -1, stderr: e.message }));
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

/** from /proc/self/mounts, since stat() of a dead FUSE mount fails with ENOTCONN */
export function isMounted(dir: string): boolean {
  const esc = dir.replace(/ /g, '\\040');
  return readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .some((l) => l.split(' ')[1] === esc);
}

/** The mount's device number from /proc/self/mountinfo (stat() of a dead FUSE mount fails with ENOTCONN). */
export function connectionOf(dir: string): number | undefined {
  const esc = dir.replace(/ /g, '\\040');
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const f = line.split(' ');
    if (f[4] === esc) {
      const minor = Number(f[2]?.split(':')[1]);
      if (Number.isInteger(minor)) return minor;
    }
  }
  return undefined;
}

interface PipeHandle {
  open(fd: number): number;
}
/** libuv's pipe handle, which accepts any fd; net.Socket refuses a character device by its type */
function pipeHandle(): (new (type: number) => PipeHandle) & { SOCKET: number } | undefined {
  try {
    const binding = (process as unknown as { binding(name: string): { Pipe: new (type: number) => PipeHandle; constants: { SOCKET: number } } }).binding('pipe_wrap');
    return Object.assign(binding.Pipe, { SOCKET: binding.constants.SOCKET });
  } catch {
    return undefined;
  }
}

/** Mounts `ops` at `dir` (an existing directory) as root and serves it until unmount() or the kernel ends it. */
export async function mountFuse(dir: string, ops: FuseOps, opts: MountOptions): Promise<FuseMount> {
  const maxWrite = opts.maxWrite ?? 32 * 1024;
  const fd = openSync('/dev/fuse', 'r+');
  const mountOpts = ['fd=3', 'rootmode=40000', 'user_id=0', 'group_id=0'];
  if (opts.defaultPermissions !== false) mountOpts.push('default_permissions');
  if (opts.allowOther !== false) mountOpts.push('allow_other');
  const r = await run('mount', ['-i', '-t', `fuse.${opts.subtype}`, '-o', mountOpts.join(','), opts.fsname, dir], fd);
  if (r.code !== 0) {
    closeSync(fd);
    throw new Error(`mount of ${dir} failed (exit ${r.code}): ${r.stderr.trim()}`);
  }
  const connection = connectionOf(dir) ?? -1;
  let closed = false;
  let resolveClosed!: () => void;
  const closedP = new Promise<void>((res) => (resolveClosed = res));
  const channel: FuseChannel = {
    reply(buf) {
      if (closed) return;
      try {
        writeSync(fd, buf);
      } catch (e) {
        // ENOENT: the request was interrupted or aborted meanwhile; the kernel no longer waits for it
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') opts.log?.(`fuse: reply failed: ${(e as Error).message}`);
      }
    },
    notify(buf) {
      if (closed) return Promise.resolve();
      dispatcher.stats.notifications++;
      return new Promise((resolve) => {
        fsWrite(fd, buf, 0, buf.length, null, (err) => {
          if (err) notifyFailed(err);
          resolve();
        });
      });
    },
  };
  /** ENOENT & co.: the kernel had already dropped the entry or inode; anything else is worth a log line */
  const notifyFailed = (err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR' || err.code === 'ENOTEMPTY') dispatcher.stats.staleNotifications++;
    else if (!closed) opts.log?.(`fuse: notification failed: ${err.message}`);
  };
  const dispatcher = new FuseDispatcher(ops, channel, { maxWrite, log: opts.log });
  const onMessages = (chunk: Buffer) => {
    // one read() is one request; split defensively by the length field all the same
    let off = 0;
    while (off < chunk.length) {
      const len = chunk.length - off >= 4 ? chunk.readUInt32LE(off) : 0;
      const end = len >= IN_HEADER_SIZE && off + len <= chunk.length ? off + len : chunk.length;
      dispatcher.handle(chunk.subarray(off, end));
      off = end;
    }
  };
  const finish = () => {
    if (closed) return;
    closed = true;
    resolveClosed();
  };
  let stopReading: () => void;
  const Pipe = pipeHandle();
  if (Pipe) {
    const handle = new Pipe(Pipe.SOCKET);
    const err = handle.open(fd);
    if (err !== 0) throw new Error(`cannot watch /dev/fuse (libuv error ${err})`);
    // `handle` is accepted by net.Socket but not in its published options type
    const sock = new Socket({ handle, readable: true, writable: false } as unknown as ConstructorParameters<typeof Socket>[0]);
    sock.on('data', onMessages);
    sock.on('error', () => undefined); // ENODEV once the connection is gone
    sock.on('close', finish);
    stopReading = () => sock.destroy();
  } else {
    // no pipe binding: read on the threadpool, two requests at a time
    const buffers = [Buffer.alloc(maxWrite + 4096), Buffer.alloc(maxWrite + 4096)];
    const loop = (buf: Buffer) => {
      if (closed) return;
      fsRead(fd, buf, 0, buf.length, null, (err, n) => {
        if (err) {
          if ((err as NodeJS.ErrnoException).code === 'EINTR' || (err as NodeJS.ErrnoException).code === 'EAGAIN') return loop(buf);
          finish();
          return;
        }
        onMessages(Buffer.from(buf.subarray(0, n)));
        loop(buf);
      });
    };
    buffers.forEach(loop);
    stopReading = () => {
      finish();
      try {
        closeSync(fd);
      } catch {
        /* already closed */
      }
    };
  }
  let unmounting: Promise<void> | undefined;
  const unmount = () => {
    unmounting ??= (async () => {
      if (!closed) {
        const u = await run('umount', ['-l', dir]);
        if (u.code !== 0 && connectionOf(dir) !== undefined) opts.log?.(`fuse: umount -l ${dir}: ${u.stderr.trim()}`);
      }
      // closing our end aborts the connection even if a process still holds a file in the lazily unmounted tree
      stopReading();
      finish();
    })();
    return unmounting;
  };
  return {
    dir,
    connection,
    get stats() {
      return dispatcher.stats;
    },
    get kernelMinor() {
      return dispatcher.kernelMinor;
    },
    closed: closedP,
    invalInode: (nodeid, off = 0, len = 0) => {
      if (off >= 0) return channel.notify(notifyInvalInode(nodeid, off, len));
      // attributes only: the kernel takes no sleeping lock for it, so it is written at once from here
      if (closed) return Promise.resolve();
      dispatcher.stats.notifications++;
      try {
        writeSync(fd, notifyInvalInode(nodeid, off, len));
      } catch (e) {
        notifyFailed(e as NodeJS.ErrnoException);
      }
      return Promise.resolve();
    },
    invalEntry: (parent, name) => channel.notify(notifyInvalEntry(parent, name)),
    deleteEntry: (parent, child, name) => channel.notify(notifyDelete(parent, child, name)),
    unmount,
    [Symbol.asyncDispose]: unmount,
  };
}
