// A writer for the "newc" cpio format (the one the kernel unpacks as an initramfs). Only what an initramfs needs:
// directories, regular files, symlinks and character devices, all owned by root.
import { createHash } from 'node:crypto';

export type CpioEntry =
  | { kind: 'dir'; path: string; mode?: number }
  | { kind: 'file'; path: string; data: Buffer; mode?: number }
  | { kind: 'symlink'; path: string; target: string }
  | { kind: 'chardev'; path: string; major: number; minor: number; mode?: number };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;

function hex8(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}

function pad4(len: number): Buffer {
  return Buffer.alloc((4 - (len % 4)) % 4);
}

function header(ino: number, mode: number, size: number, nameLen: number, rdevMajor = 0, rdevMinor = 0): string {
  // magic, ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor, rdevmajor, rdevminor, namesize, check
  return ['070701', hex8(ino), hex8(mode), hex8(0), hex8(0), hex8(mode & S_IFDIR ? 2 : 1), hex8(0), hex8(size), hex8(0), hex8(0), hex8(rdevMajor), hex8(rdevMinor), hex8(nameLen), hex8(0)].join('');
}

/** Serialises entries (paths relative, without a leading slash) into one archive ending with the TRAILER!!! entry. */
export function writeCpio(entries: CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  let ino = 1;
  const push = (hdr: string, name: string, data: Buffer): void => {
    const nameBuf = Buffer.from(`${name}\0`);
    const head = Buffer.concat([Buffer.from(hdr, 'ascii'), nameBuf]);
    parts.push(head, pad4(head.length), data, pad4(data.length));
  };
  for (const e of entries) {
    const name = e.path.replace(/^\/+/, '');
    const nameLen = Buffer.byteLength(name) + 1;
    switch (e.kind) {
      case 'dir':
        push(header(ino++, S_IFDIR | (e.mode ?? 0o755), 0, nameLen), name, Buffer.alloc(0));
        break;
      case 'file':
        push(header(ino++, S_IFREG | (e.mode ?? 0o644), e.data.length, nameLen), name, e.data);
        break;
      case 'symlink': {
        const t = Buffer.from(e.target);
        push(header(ino++, S_IFLNK | 0o777, t.length, nameLen), name, t);
        break;
      }
      case 'chardev':
        push(header(ino++, S_IFCHR | (e.mode ?? 0o600), 0, nameLen, e.major, e.minor), name, Buffer.alloc(0));
        break;
    }
  }
  push(header(0, 0, 0, 'TRAILER!!!'.length + 1), 'TRAILER!!!', Buffer.alloc(0));
  return Buffer.concat(parts);
}

/** Reads back a newc archive (tests, and `vm build --list`). */
export function readCpio(buf: Buffer): Array<{ path: string; mode: number; data: Buffer }> {
  const out: Array<{ path: string; mode: number; data: Buffer }> = [];
  let off = 0;
  const align = (n: number): number => (n + 3) & ~3;
  while (off + 110 <= buf.length) {
    const magic = buf.toString('ascii', off, off + 6);
    if (magic !== '070701') throw new Error(`cpio: bad magic ${JSON.stringify(magic)} at offset ${off}`);
    const field = (i: number): number => parseInt(buf.toString('ascii', off + 6 + i * 8, off + 14 + i * 8), 16);
    const mode = field(1);
    const size = field(6);
    const nameSize = field(11);
    const name = buf.toString('utf8', off + 110, off + 110 + nameSize - 1);
    const dataOff = align(off + 110 + nameSize);
    if (name === 'TRAILER!!!') break;
    out.push({ path: name, mode, data: buf.subarray(dataOff, dataOff + size) });
    off = align(dataOff + size);
  }
  return out;
}

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}
