// FUSE projection: serves a SysfsModel as a mounted tree. Writes run the model's side effects synchronously and
// return its errno to the writer. Must run in its own process: reading the mount from the serving process deadlocks.
import { createRequire } from 'node:module';
import type { SysfsModel } from './model.ts';
import { ERRNO, SysfsError } from './types.ts';

interface FuseStat {
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: Date;
  atime: Date;
  ctime: Date;
  nlink: number;
}
type Cb<T = never> = (err: number, value?: T) => void;
interface FuseOps {
  getattr(path: string, cb: Cb<FuseStat>): void;
  readdir(path: string, cb: (err: number, names?: string[]) => void): void;
  readlink(path: string, cb: Cb<string>): void;
  open(path: string, flags: number, cb: Cb<number>): void;
  release(path: string, fd: number, cb: Cb): void;
  read(path: string, fd: number, buf: Buffer, len: number, pos: number, cb: (n: number) => void): void;
  write(path: string, fd: number, buf: Buffer, len: number, pos: number, cb: (n: number) => void): void;
  truncate(path: string, size: number, cb: Cb): void;
  ftruncate(path: string, fd: number, size: number, cb: Cb): void;
  chmod(path: string, mode: number, cb: Cb): void;
  chown(path: string, uid: number, gid: number, cb: Cb): void;
  utimens(path: string, a: Date, m: Date, cb: Cb): void;
  create(path: string, mode: number, cb: Cb<number>): void;
  unlink(path: string, cb: Cb): void;
  mkdir(path: string, mode: number, cb: Cb): void;
}
interface FuseHandle {
  mount(cb: (err: Error | null) => void): void;
  unmount(cb: (err: Error | null) => void): void;
}
type FuseCtor = new (mnt: string, ops: FuseOps, opts: Record<string, unknown>) => FuseHandle;

export interface FuseHooks {
  /** after a successful write: mirror netdev changes before the writer's write() returns */
  afterWrite?: (path: string) => Promise<void>;
  /** before serving a read/readdir/lookup under a netdev-bearing path; `listing` for a readdir */
  beforeLookup?: (path: string, listing: boolean) => Promise<void>;
}

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const O_ACCMODE = 3;

function errnoOf(e: unknown): number {
  if (e instanceof SysfsError) return -(ERRNO[e.errno] ?? ERRNO.EIO);
  return -ERRNO.EIO;
}

export interface MountedModel {
  mountDir: string;
  unmount(): Promise<void>;
}

/** Mounts `model` at `mountDir` (an existing empty directory). Paths in the mount: `/sys/...`, `/dev/vfio/...`. */
export async function mountModel(model: SysfsModel, mountDir: string, hooks: FuseHooks = {}): Promise<MountedModel> {
  const Fuse = createRequire(import.meta.url)('@cocalc/fuse-native') as FuseCtor;
  const t0 = new Date(0);
  const stat = (kind: 'dir' | 'file' | 'link', mode: number, size: number): FuseStat => ({
    mode: (kind === 'dir' ? S_IFDIR : kind === 'link' ? S_IFLNK : S_IFREG) | mode,
    uid: 0,
    gid: 0,
    size,
    mtime: t0,
    atime: t0,
    ctime: t0,
    nlink: kind === 'dir' ? 2 : 1,
  });
  // each open file remembers what it was opened for, like kernfs checks at open
  const open = new Map<number, { path: string; content?: Buffer }>();
  let nextFd = 10;
  const before = async (path: string, listing = false) => {
    if (hooks.beforeLookup && path.includes('net')) await hooks.beforeLookup(path, listing);
  };
  const EROFS = -30;

  const ops: FuseOps = {
    getattr(path, cb) {
      before(path).then(() => {
        if (path === '/') return cb(0, stat('dir', 0o755, 0));
        try {
          const s = model.lstat(path);
          cb(0, stat(s.kind, s.mode, s.kind === 'link' ? s.size : s.kind === 'file' ? 4096 : 0));
        } catch (e) {
          cb(errnoOf(e));
        }
      }, () => cb(-ERRNO.EIO));
    },
    readdir(path, cb) {
      before(path, true).then(() => {
        try {
          cb(0, model.readdir(path === '/' ? '/' : path));
        } catch (e) {
          cb(errnoOf(e));
        }
      }, () => cb(-ERRNO.EIO));
    },
    readlink(path, cb) {
      try {
        cb(0, model.readlink(path));
      } catch (e) {
        cb(errnoOf(e));
      }
    },
    open(path, flags, cb) {
      try {
        const s = model.lstat(path);
        if (s.kind !== 'file') return cb(-ERRNO.EISDIR);
        const acc = flags & O_ACCMODE;
        const wantRead = acc === 0 || acc === 2;
        const wantWrite = acc === 1 || acc === 2;
        if ((wantRead && !(s.mode & 0o444)) || (wantWrite && !(s.mode & 0o222))) return cb(-ERRNO.EACCES);
        const fd = nextFd++;
        open.set(fd, { path });
        cb(0, fd);
      } catch (e) {
        cb(errnoOf(e));
      }
    },
    release(_path, fd, cb) {
      open.delete(fd);
      cb(0);
    },
    read(path, fd, buf, len, pos, cb) {
      const f = open.get(fd);
      const delayMs = model.takeDelay(path);
      const go = () => {
        try {
          // content is produced once per open file, like a seq_file
          let content = f?.content;
          if (!content || pos === 0) {
            content = Buffer.from(model.read(path));
            if (f) f.content = content;
          }
          if (pos >= content.length) return cb(0);
          const n = content.copy(buf, 0, pos, Math.min(content.length, pos + len));
          cb(n);
        } catch (e) {
          cb(errnoOf(e));
        }
      };
      if (delayMs > 0) setTimeout(go, delayMs);
      else go();
    },
    write(path, _fd, buf, len, _pos, cb) {
      const value = buf.subarray(0, len).toString('utf8');
      const delayMs = model.takeDelay(path);
      const go = () => {
        try {
          model.write(path, value);
        } catch (e) {
          return cb(errnoOf(e));
        }
        (hooks.afterWrite ? hooks.afterWrite(path) : Promise.resolve()).then(
          () => cb(len),
          () => cb(-ERRNO.EIO),
        );
      };
      if (delayMs > 0) setTimeout(go, delayMs);
      else go();
    },
    // `echo N > f` opens with O_TRUNC: accept the truncate of a writable attribute
    truncate(path, _size, cb) {
      try {
        const s = model.lstat(path);
        cb(s.kind === 'file' && s.mode & 0o222 ? 0 : -ERRNO.EACCES);
      } catch (e) {
        cb(errnoOf(e));
      }
    },
    ftruncate(path, _fd, size, cb) {
      ops.truncate(path, size, cb);
    },
    chmod: (_p, _m, cb) => cb(-ERRNO.EPERM),
    chown: (_p, _u, _g, cb) => cb(-ERRNO.EPERM),
    utimens: (_p, _a, _m, cb) => cb(0),
    create: (_p, _m, cb) => cb(-ERRNO.EACCES),
    unlink: (_p, cb) => cb(-ERRNO.EPERM),
    mkdir: (_p, _m, cb) => cb(EROFS),
  };
  // timeouts as strings: fuse-native drops falsy values, which would mean 1 s of kernel caching
  const fuse = new Fuse(mountDir, ops, {
    force: true,
    mkdir: true,
    entryTimeout: '0',
    attrTimeout: '0',
    acAttrTimeout: '0',
    fsname: 'sysfs',
    subtype: 'sriov-lab',
    allowOther: true,
  });
  await new Promise<void>((resolve, reject) => fuse.mount((err) => (err ? reject(err) : resolve())));
  return {
    mountDir,
    unmount: () => new Promise<void>((resolve) => fuse.unmount(() => resolve())),
  };
}
