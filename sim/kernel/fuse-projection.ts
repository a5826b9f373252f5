// FUSE projection: serves a SysfsModel as a mounted tree through the TypeScript FUSE server (fuse/connection.ts).
// Writes run the model's side effects synchronously and return its errno to the writer. Must run in a process of
// its own: reading the mount from the serving process deadlocks.
//
// The kernel caches names, attributes, symlinks, listings and constant content for a long time, and is told the
// moment the model changes, so that a lookup costs what a tmpfs lookup costs and is never stale:
// - after every change (a write, a control-socket request, a netdev sync), the names the kernel knows are checked
//   against the model: a name that is gone gets FUSE_NOTIFY_DELETE, a name that now is something else (another
//   link target, kind or mode) FUSE_NOTIFY_INVAL_ENTRY, and its old node id is never used again;
// - a directory's listing is cached; when its names change, its mtime (its version) changes and its attributes are
//   invalidated (FUSE_NOTIFY_INVAL_INODE with a negative offset: no page lock, so it is safe to wait for before the
//   reply), and the kernel drops the cached listing when a process next starts reading it;
// - attributes that can change (writable ones, netdev ones, any seen to change) are opened with FOPEN_DIRECT_IO and
//   produce their value once per open, like kernfs's seq_file; constant ones keep their pages cached, and if one
//   changes after all, its attributes are invalidated and its mtime (its version) moves, so that the kernel
//   (FUSE_AUTO_INVAL_DATA) drops the pages at its next read;
// - names inside a `net` directory (netdevs, which move between network namespaces behind the model's back) and
//   the listings of `net` directories are not cached: each lookup and listing reaches the server, which first
//   brings the netdev view up to date.
// Invalidations are written before the reply to the request that caused them, except entry invalidations caused
// by a lookup or readdir: the kernel holds that directory's lock while it waits, so they follow the reply.
import type { SysfsModel } from './model.ts';
import { ERRNO, SysfsError } from './types.ts';
import { seedToUint32 } from '../scheduler/prng.ts';
import { Op, S_IFDIR, S_IFLNK, S_IFREG, DT_DIR, DT_LNK, DT_REG, type Attr, type Dirent } from './fuse/abi.ts';
import { FuseErrno, mountFuse, type AttrReply, type ConnectionStats, type EntryReply, type FuseOps } from './fuse/connection.ts';

export interface FuseHooks {
  /** after a successful write: mirror netdev changes before the writer's write() returns */
  afterWrite?: (path: string) => Promise<void>;
  /**
   * before serving a lookup/readdir under a netdev-bearing path: bring the netdev view up to date; `force` when it
   * must look at the real links now (a listing of a net/ directory, a netdev name that is not there)
   */
  beforeLookup?: (path: string, force: boolean) => Promise<void>;
  log?: (msg: string) => void;
}

export interface MountedModel {
  mountDir: string;
  /** the FUSE connection number (under /sys/fs/fuse/connections) */
  connection: number;
  stats(): ConnectionStats & { inodes: number; cachedFiles: number };
  /** tells the kernel about every model change since the last call; resolves once the kernel has taken it */
  refresh(): Promise<void>;
  unmount(): Promise<void>;
}

/** how long the kernel may keep names and attributes without asking: until told otherwise */
const LONG_TTL_MS = 24 * 3600 * 1000;

interface Inode {
  id: number;
  path: string;
  segs: string[];
  parent: number;
  name: string;
  kind: 'dir' | 'file' | 'link';
  mode: number;
  target?: string;
  /** kind, mode and link target: if this changes, the name means something else */
  sig: string;
  nlookup: number;
  /** still what the model has at `path` (false once retired: the kernel may still hold it) */
  live: boolean;
  /** content as last described to the kernel in an attribute reply (READ serves this, matching the size) */
  reported?: string;
  /** content last seen by refresh() */
  seen?: string;
  /** a directory's names as last listed to the kernel (which caches listings) */
  listing?: string;
  /** its content has changed once: it is read directly from now on */
  changed?: boolean;
  version: number;
}

function errnoOf(e: unknown): number {
  if (e instanceof SysfsError) return ERRNO[e.errno] ?? ERRNO.EIO;
  return ERRNO.EIO;
}

function sigOf(e: { kind: string; mode: number; target?: string }): string {
  return `${e.kind}:${e.mode}:${e.target ?? ''}`;
}

/** A stable, non-zero inode number for a readdir entry the kernel has not looked up (above every node id). */
const pathIno = (path: string): number => 0x100000000 + seedToUint32(path);

const EROFS = 30;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Mounts `model` at `mountDir` (an existing empty directory). Paths in the mount: `/sys/...`, `/dev/vfio/...`. */
export async function mountModel(model: SysfsModel, mountDir: string, hooks: FuseHooks = {}): Promise<MountedModel> {
  const root: Inode = { id: 1, path: '/', segs: [], parent: 1, name: '', kind: 'dir', mode: 0o755, sig: 'dir:493:', nlookup: 1, live: true, version: 0 };
  const byId = new Map<number, Inode>([[1, root]]);
  const byPath = new Map<string, Inode>([['/', root]]);
  /** files whose content the kernel may hold */
  const cached = new Set<Inode>();
  let nextId = 2;
  /** open files read directly: the value produced by the first read, like a seq_file buffer */
  const handles = new Map<number, { content?: string }>();
  let nextFh = 1;
  let lastGen = model.treeGeneration();
  /** entry invalidations that must wait for the reply of the request in progress */
  let deferred: Array<() => Promise<void>> = [];

  const volatileName = (parent: Inode) => parent.name === 'net';

  /** an attribute that can change: opened with FOPEN_DIRECT_IO, never in the page cache */
  const direct = (ino: Inode) => !!(ino.mode & 0o222) || !!ino.changed || ino.path.includes('/net/');

  const attrOf = (ino: Inode): Attr => {
    let size = 0;
    if (ino.kind === 'link') size = Buffer.byteLength(ino.target ?? '');
    else if (ino.kind === 'file' && direct(ino)) size = 4096; // what sysfs says of every attribute
    else if (ino.kind === 'file') {
      const content = ino.live ? model.peek(ino.segs) : ino.reported;
      // an unreadable file (or one whose read fails) keeps sysfs's 4096, so the read reaches us and fails there
      // a cached constant: its exact size, so that the kernel's page holds exactly the value
      if (content !== undefined && !content.startsWith('\0')) {
        if (content !== ino.reported) {
          if (ino.reported !== undefined) ino.version++;
          ino.reported = content;
        }
        ino.seen = content;
        cached.add(ino);
        size = Buffer.byteLength(content);
      } else {
        ino.reported = content;
        size = 4096;
      }
    }
    const type = ino.kind === 'dir' ? S_IFDIR : ino.kind === 'link' ? S_IFLNK : S_IFREG;
    return { ino: ino.id, mode: type | ino.mode, size, nlink: ino.kind === 'dir' ? 2 : 1, uid: 0, gid: 0, timeSec: ino.version };
  };

  const inode = (id: number): Inode => {
    const ino = byId.get(id);
    if (!ino) throw new FuseErrno(ERRNO.ENOENT, `unknown node ${id}`);
    return ino;
  };

  const retire = (ino: Inode) => {
    ino.live = false;
    if (byPath.get(ino.path) === ino) byPath.delete(ino.path);
    cached.delete(ino);
  };

  let mount: Awaited<ReturnType<typeof mountFuse>> | undefined;

  /**
   * Compares what the kernel may hold with the model and sends the invalidations. `deferEntries` when serving a
   * lookup or readdir, whose directory lock the kernel holds: entry invalidations then follow the reply.
   */
  const refresh = async (opts: { deferEntries?: boolean } = {}): Promise<void> => {
    if (!mount) return;
    const m = mount;
    const now: Array<Promise<void>> = [];
    const entries: Array<() => Promise<void>> = [];
    const gen = model.treeGeneration();
    if (gen !== lastGen) {
      lastGen = gen;
      for (const ino of [...byPath.values()]) {
        if (ino === root) continue;
        const e = model.entryAt(ino.segs);
        if (e && sigOf(e) === ino.sig) continue;
        retire(ino);
        if (!e && ino.kind !== 'dir') entries.push(() => m.deleteEntry(ino.parent, ino.id, ino.name));
        else entries.push(() => m.invalEntry(ino.parent, ino.name));
      }
      // a cached listing is checked against the directory's mtime when a process starts reading it
      for (const ino of byPath.values()) {
        if (ino.listing === undefined) continue;
        let names: string;
        try {
          names = model.readdir(ino.path).join('/');
        } catch {
          names = '';
        }
        if (names === ino.listing) continue;
        ino.listing = undefined;
        ino.version++;
        now.push(m.invalInode(ino.id, -1, 0));
      }
    }
    for (const ino of cached) {
      const content = model.peek(ino.segs);
      if (content === ino.seen) continue;
      // a "constant" that changed: from now on it is read directly; the new size and mtime drop its pages
      ino.seen = content;
      ino.changed = true;
      ino.version++;
      cached.delete(ino);
      now.push(m.invalInode(ino.id, -1, 0));
    }
    for (const p of model.delayedPaths()) {
      const ino = byPath.get(p);
      if (ino?.reported !== undefined) {
        // the next read must reach the server, where the delay is applied
        ino.version++;
        ino.reported = undefined;
        now.push(m.invalInode(ino.id, -1, 0));
      }
    }
    await Promise.all(now);
    if (opts.deferEntries) deferred.push(...entries);
    else await Promise.all(entries.map((f) => f()));
  };

  const needsSync = (path: string) => !!hooks.beforeLookup && path.includes('/net');
  const before = async (path: string, force: boolean) => {
    if (!needsSync(path)) return;
    await hooks.beforeLookup?.(path, force);
    await refresh({ deferEntries: true });
  };

  const lookupNow = (parent: Inode, path: string, name: string): EntryReply => {
    if (!parent.live) throw new FuseErrno(ERRNO.ENOENT);
    const segs = [...parent.segs, name];
    const e = model.entryAt(segs);
    if (!e) throw new FuseErrno(ERRNO.ENOENT);
    const sig = sigOf(e);
    let ino = byPath.get(path);
    if (ino && ino.sig !== sig) {
      retire(ino);
      ino = undefined;
    }
    if (!ino) {
      ino = { id: nextId++, path, segs, parent: parent.id, name, kind: e.kind, mode: e.mode, target: e.target, sig, nlookup: 0, live: true, version: 0 };
      byId.set(ino.id, ino);
      byPath.set(path, ino);
    }
    ino.nlookup++;
    // a netdev name is looked up every time; what it names (a directory or a link with its target) has constant
    // attributes, since a change of kind or target makes it another node id
    const reply: EntryReply = { nodeid: ino.id, attr: attrOf(ino), entryTtlMs: volatileName(parent) ? 0 : LONG_TTL_MS, attrTtlMs: LONG_TTL_MS };
    return reply;
  };

  const childPath = (parent: Inode, name: string) => (parent === root ? `/${name}` : `${parent.path}/${name}`);

  const ops: FuseOps = {
    lookup(_req, parentId, name) {
      const parent = inode(parentId);
      if (!parent.live || parent.kind !== 'dir') throw new FuseErrno(ERRNO.ENOENT);
      const path = childPath(parent, name);
      // answered at once unless the netdev view must be brought up to date first
      if (!needsSync(path)) return lookupNow(parent, path, name);
      return before(path, false).then(async () => {
        try {
          return lookupNow(parent, path, name);
        } catch (e) {
          if (!(e instanceof FuseErrno) || e.errno !== ERRNO.ENOENT || !(volatileName(parent) || name === 'net')) throw e;
          // a netdev name (or a device's net/ directory) that is not there may just have come back from a pod,
          // before the link monitor said so: look at the real links before answering that it does not exist
          await before(path, true);
          return lookupNow(parent, path, name);
        }
      });
    },
    forget(id, n) {
      const ino = byId.get(id);
      if (!ino || ino === root) return;
      ino.nlookup -= n;
      if (ino.nlookup <= 0) {
        byId.delete(id);
        if (byPath.get(ino.path) === ino) byPath.delete(ino.path);
        cached.delete(ino);
      }
    },
    getattr(_req, id): AttrReply {
      const ino = inode(id);
      return { attr: attrOf(ino), attrTtlMs: LONG_TTL_MS };
    },
    setattr(_req, id, set): AttrReply {
      const ino = inode(id);
      if (set.mode !== undefined || set.uid !== undefined || set.gid !== undefined) throw new FuseErrno(ERRNO.EPERM);
      // O_TRUNC arrives as a size change: sysfs accepts it on a writable attribute and changes nothing
      if (set.size !== undefined && (ino.kind !== 'file' || !(ino.mode & 0o222))) throw new FuseErrno(ino.kind === 'dir' ? ERRNO.EISDIR : ERRNO.EACCES);
      return { attr: attrOf(ino), attrTtlMs: LONG_TTL_MS };
    },
    readlink(_req, id) {
      const ino = inode(id);
      if (ino.kind !== 'link' || ino.target === undefined) throw new FuseErrno(ERRNO.EINVAL);
      if (ino.live) model.readlink(ino.path); // for the trace
      return ino.target;
    },
    open(_req, id) {
      const ino = inode(id);
      if (ino.kind !== 'file') throw new FuseErrno(ERRNO.EISDIR);
      if (!ino.live) throw new FuseErrno(ERRNO.ENOENT);
      // An attribute that can change is read past the page cache, a whole value per open like kernfs's seq_file:
      // a cached page could be torn by a writer's bytes or by a size learnt before the change. Constant ones
      // (vendor, device, class, …) stay cached.
      if (direct(ino)) {
        const fh = nextFh++;
        handles.set(fh, {});
        return { fh, directIo: true };
      }
      return { fh: 0, keepCache: true };
    },
    release(_req, _id, fh) {
      handles.delete(fh);
    },
    read(_req, id, fh, offset, size) {
      const ino = inode(id);
      if (ino.kind !== 'file') throw new FuseErrno(ERRNO.EISDIR);
      const handle = handles.get(fh);
      const serve = (): Buffer => {
        let content = handle ? (offset === 0 || handle.content === undefined ? undefined : handle.content) : ino.reported;
        if (content === undefined || !ino.live) {
          if (!ino.live) throw new FuseErrno(ERRNO.ENODEV);
          content = model.peek(ino.segs);
        }
        if (content === undefined) throw new FuseErrno(ERRNO.EACCES);
        if (handle) handle.content = content;
        if (offset === 0) model.noteRead(ino.path, content);
        if (content.startsWith('\0')) {
          ino.reported = undefined; // a failing read is never cached: ask the model again next time
          throw new FuseErrno(ERRNO[content.slice(1) as keyof typeof ERRNO] ?? ERRNO.EIO);
        }
        const buf = Buffer.from(content);
        return buf.subarray(Math.min(offset, buf.length), Math.min(buf.length, offset + size));
      };
      const delayMs = model.takeDelay(ino.path);
      if (delayMs > 0) {
        // the delayed read must see the content as it is when it ends
        return sleep(delayMs).then(() => {
          if (ino.live) ino.reported = model.peek(ino.segs);
          return serve();
        });
      }
      return serve();
    },
    async write(_req, id, _fh, _offset, data) {
      const ino = inode(id);
      if (!ino.live) throw new FuseErrno(ERRNO.ENODEV);
      const delayMs = model.takeDelay(ino.path);
      if (delayMs > 0) await sleep(delayMs);
      try {
        model.write(ino.path, data.toString('utf8'));
      } catch (e) {
        await refresh();
        throw new FuseErrno(errnoOf(e));
      }
      try {
        await hooks.afterWrite?.(ino.path);
      } catch (e) {
        hooks.log?.(`sysfs: after write of ${ino.path}: ${(e as Error).message}`);
        await refresh();
        throw new FuseErrno(ERRNO.EIO);
      }
      await refresh();
      return data.length;
    },
    opendir(_req, id) {
      const ino = inode(id);
      if (ino.kind !== 'dir') throw new FuseErrno(ERRNO.ENOTDIR);
      // a netdev directory is listed afresh every time (its names follow real links); others are cached
      const fresh = ino.name === 'net';
      return { fh: 0, cacheDir: !fresh, keepCache: !fresh };
    },
    async readdir(_req, id) {
      const ino = inode(id);
      if (ino.kind !== 'dir') throw new FuseErrno(ERRNO.ENOTDIR);
      await before(ino.path, /\/net$/.test(ino.path));
      if (!ino.live) throw new FuseErrno(ERRNO.ENOENT);
      let names: string[];
      try {
        names = model.readdir(ino.path);
      } catch (e) {
        throw new FuseErrno(errnoOf(e));
      }
      if (ino.name !== 'net') ino.listing = names.join('/');
      const parent = byId.get(ino.parent) ?? root;
      const list: Dirent[] = [
        { ino: ino.id, name: '.', type: DT_DIR },
        { ino: parent.id, name: '..', type: DT_DIR },
      ];
      for (const name of names) {
        const segs = [...ino.segs, name];
        const e = model.entryAt(segs);
        if (!e) continue;
        const p = childPath(ino, name);
        list.push({ ino: byPath.get(p)?.id ?? pathIno(p), name, type: e.kind === 'dir' ? DT_DIR : e.kind === 'link' ? DT_LNK : DT_REG });
      }
      return list;
    },
    statfs() {
      return { blocks: 0, files: byId.size, bsize: 4096, namelen: 255 };
    },
    access(req, id, mask) {
      // generic_permission: root may read and write anything, and execute what has an execute bit
      const ino = inode(id);
      const X = 1;
      if (req.uid === 0) {
        if (mask & X && ino.kind === 'file' && !(ino.mode & 0o111)) throw new FuseErrno(ERRNO.EACCES);
        return;
      }
      const bits = ino.mode & 0o007; // everything is root's: others' bits apply
      if ((mask & 4 && !(bits & 4)) || (mask & 2 && !(bits & 2)) || (mask & X && !(bits & 1))) throw new FuseErrno(ERRNO.EACCES);
    },
    // sysfs has no create, link or rename: what kernfs answers
    refused: { [Op.CREATE]: ERRNO.EACCES, [Op.MKNOD]: ERRNO.EACCES, [Op.MKDIR]: EROFS, [Op.SYMLINK]: ERRNO.EPERM, [Op.LINK]: ERRNO.EPERM, [Op.UNLINK]: ERRNO.EPERM, [Op.RMDIR]: ERRNO.EPERM, [Op.RENAME]: ERRNO.EPERM },
    afterReply() {
      if (!deferred.length) return;
      const todo = deferred;
      deferred = [];
      for (const f of todo) void f();
    },
  };

  mount = await mountFuse(mountDir, ops, { fsname: 'sysfs', subtype: 'sriov-lab', log: hooks.log });
  const m = mount;
  return {
    mountDir,
    connection: m.connection,
    stats: () => ({ ...m.stats, inodes: byId.size, cachedFiles: cached.size }),
    refresh: () => refresh(),
    unmount: () => m.unmount(),
  };
}
