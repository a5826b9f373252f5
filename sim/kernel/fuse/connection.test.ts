// The FUSE dispatcher fed requests as the kernel writes them (and as it never would): every reply is decoded and
// checked. Runs without root: no mount, a fake channel.
import t from 'tap';
import { FuseDispatcher, FuseErrno, type FuseOps } from './connection.ts';
import { ATTR_OUT_SIZE, DT_REG, ENTRY_OUT_SIZE, INIT_OUT_SIZE, Op, S_IFREG, type Attr } from './abi.ts';

let unique = 0n;
function request(opcode: number, nodeid: number, body: Buffer = Buffer.alloc(0), opts: { uid?: number; len?: number; unique?: bigint } = {}): Buffer {
  const h = Buffer.alloc(40);
  const u = opts.unique ?? ++unique;
  h.writeUInt32LE(opts.len ?? 40 + body.length, 0);
  h.writeUInt32LE(opcode, 4);
  h.writeBigUInt64LE(u, 8);
  h.writeBigUInt64LE(BigInt(nodeid), 16);
  h.writeUInt32LE(opts.uid ?? 0, 24);
  return Buffer.concat([h, body]);
}
const u32s = (...v: number[]) => {
  const b = Buffer.alloc(v.length * 4);
  v.forEach((x, i) => b.writeUInt32LE(x, i * 4));
  return b;
};
const cstr = (s: string) => Buffer.from(`${s}\0`);

interface Reply {
  len: number;
  error: number;
  unique: bigint;
  body: Buffer;
}

function harness(ops: Partial<FuseOps> = {}) {
  const replies: Reply[] = [];
  const attr: Attr = { ino: 2, mode: S_IFREG | 0o644, size: 3, nlink: 1, uid: 0, gid: 0, timeSec: 0 };
  const full: FuseOps = {
    lookup: (_r, parent, name) => {
      if (parent !== 1 || name !== 'f') throw new FuseErrno(2);
      return { nodeid: 2, attr, entryTtlMs: 1500, attrTtlMs: 0 };
    },
    getattr: () => ({ attr, attrTtlMs: 1000 }),
    ...ops,
  };
  const d = new FuseDispatcher(
    full,
    {
      reply: (buf) => replies.push({ len: buf.readUInt32LE(0), error: buf.readInt32LE(4), unique: buf.readBigUInt64LE(8), body: buf.subarray(16) }),
      notify: async () => undefined,
    },
    { maxWrite: 32768, log: () => undefined },
  );
  const init = () => d.handle(request(Op.INIT, 0, u32s(7, 45, 131072, 0xffffffff, 0, ...new Array(11).fill(0))));
  return { d, replies, init, last: () => replies[replies.length - 1] };
}

t.test('INIT negotiates 7.31 and only the flags the kernel offered', async (t) => {
  const h = harness();
  h.d.handle(request(Op.INIT, 0, u32s(7, 45, 65536, 1 /* ASYNC_READ only */, 0, ...new Array(11).fill(0))));
  const r = h.last();
  t.equal(r.error, 0);
  t.equal(r.len, 16 + INIT_OUT_SIZE);
  t.equal(r.body.readUInt32LE(0), 7, 'major');
  t.equal(r.body.readUInt32LE(4), 31, 'minor');
  t.equal(r.body.readUInt32LE(8), 65536, 'max_readahead echoed');
  t.equal(r.body.readUInt32LE(12), 1, 'flags: the intersection');
  t.equal(r.body.readUInt32LE(20), 32768, 'max_write');
  t.equal(h.d.kernelMinor, 45);
});

t.test('a request before INIT and a wrong major are refused', async (t) => {
  const h = harness();
  h.d.handle(request(Op.GETATTR, 1, Buffer.alloc(16)));
  t.equal(h.last().error, -5, 'EIO before INIT');
  h.d.handle(request(Op.INIT, 0, u32s(6, 0, 0, 0, 0, ...new Array(11).fill(0))));
  t.equal(h.last().error, -71, 'EPROTO for FUSE 6');
});

t.test('LOOKUP, GETATTR and errno replies have the kernel layout', async (t) => {
  const h = harness();
  h.init();
  h.d.handle(request(Op.LOOKUP, 1, cstr('f')));
  let r = h.last();
  t.equal(r.error, 0);
  t.equal(r.body.length, ENTRY_OUT_SIZE);
  t.equal(Number(r.body.readBigUInt64LE(0)), 2, 'nodeid');
  t.equal(Number(r.body.readBigUInt64LE(16)), 1, 'entry_valid seconds');
  t.equal(r.body.readUInt32LE(32), 500_000_000, 'entry_valid_nsec');
  t.equal(r.body.readUInt32LE(40 + 60), S_IFREG | 0o644, 'attr.mode');
  t.equal(Number(r.body.readBigUInt64LE(40 + 8)), 3, 'attr.size');
  h.d.handle(request(Op.LOOKUP, 1, cstr('missing')));
  t.equal(h.last().error, -2, 'ENOENT');
  h.d.handle(request(Op.GETATTR, 2, Buffer.alloc(16)));
  r = h.last();
  t.equal(r.body.length, ATTR_OUT_SIZE);
  t.equal(Number(r.body.readBigUInt64LE(0)), 1, 'attr_valid');
});

t.test('malformed requests are answered or dropped, and the server goes on', async (t) => {
  const h = harness();
  h.init();
  const before = h.replies.length;
  h.d.handle(Buffer.alloc(10)); // shorter than a header: nothing to answer
  t.equal(h.replies.length, before, 'no reply to 10 bytes');
  h.d.handle(request(Op.GETATTR, 1, Buffer.alloc(16), { len: 4000 })); // says more than arrived
  t.equal(h.last().error, -22, 'length beyond the message: EINVAL');
  h.d.handle(request(Op.LOOKUP, 1, Buffer.from('no-nul')));
  t.equal(h.last().error, -22, 'name without NUL: EINVAL');
  h.d.handle(request(Op.WRITE, 2, Buffer.alloc(8)));
  t.equal(h.last().error, -38, 'WRITE without a write op: ENOSYS');
  const w = harness({ write: (_r, _n, _fh, _off, data) => data.length });
  w.init();
  const body = Buffer.alloc(40);
  body.writeUInt32LE(1000, 16); // claims 1000 bytes of data, none follow
  w.d.handle(request(Op.WRITE, 2, body));
  t.equal(w.last().error, -22, 'WRITE whose size exceeds the body: EINVAL');
  h.d.handle(request(Op.BATCH_FORGET, 0, u32s(1000, 0)));
  h.d.handle(request(Op.READ, 2, Buffer.alloc(3)));
  t.equal(h.last().error, -38, 'no read op: ENOSYS (checked before the short body)');
  h.d.handle(request(9999, 1));
  t.equal(h.last().error, -38, 'unknown opcode: ENOSYS');
  h.d.handle(request(Op.LOOKUP, 1, cstr('f')));
  t.equal(h.last().error, 0, 'a valid request after all that is still served');
  t.ok(h.d.stats.malformed >= 3, `malformed counted (${h.d.stats.malformed})`);
});

t.test('a handler that throws a plain error answers EIO and does not stop the server', async (t) => {
  const h = harness({ getattr: () => { throw new Error('bug'); } });
  h.init();
  h.d.handle(request(Op.GETATTR, 1, Buffer.alloc(16)));
  t.equal(h.last().error, -5);
  h.d.handle(request(Op.LOOKUP, 1, cstr('f')));
  t.equal(h.last().error, 0);
});

t.test('FORGET and BATCH_FORGET reach the filesystem with their counts, and get no reply', async (t) => {
  const forgotten: Array<[number, number]> = [];
  const h = harness({ forget: (n, c) => forgotten.push([n, c]) });
  h.init();
  const n = h.replies.length;
  const f = Buffer.alloc(8);
  f.writeBigUInt64LE(3n);
  h.d.handle(request(Op.FORGET, 7, f));
  const b = Buffer.alloc(8 + 32);
  b.writeUInt32LE(2, 0);
  b.writeBigUInt64LE(8n, 8);
  b.writeBigUInt64LE(1n, 16);
  b.writeBigUInt64LE(9n, 24);
  b.writeBigUInt64LE(5n, 32);
  h.d.handle(request(Op.BATCH_FORGET, 0, b));
  t.same(forgotten, [[7, 3], [8, 1], [9, 5]]);
  t.equal(h.replies.length, n, 'no replies');
});

t.test('INTERRUPT answers the pending request with EINTR and drops its late result', async (t) => {
  let release!: () => void;
  const h = harness({ read: () => new Promise<Buffer>((r) => (release = () => r(Buffer.from('late')))) });
  h.init();
  const readBody = Buffer.alloc(40);
  readBody.writeUInt32LE(4096, 16);
  h.d.handle(request(Op.READ, 2, readBody, { unique: 500n }));
  const irq = Buffer.alloc(8);
  irq.writeBigUInt64LE(500n);
  h.d.handle(request(Op.INTERRUPT, 0, irq));
  t.equal(h.last().unique, 500n);
  t.equal(h.last().error, -4, 'EINTR for the interrupted read');
  const n = h.replies.length;
  release();
  await new Promise((r) => setImmediate(r));
  t.equal(h.replies.length, n, 'the late result is not sent');
  irq.writeBigUInt64LE(12345n);
  h.d.handle(request(Op.INTERRUPT, 0, irq, { unique: 501n }));
  t.equal(h.last().unique, 501n);
  t.equal(h.last().error, -11, 'an interrupt for an unknown request: EAGAIN');
});

t.test('READDIR sends 8-byte aligned dirents from the offset, as many as fit', async (t) => {
  const names = ['.', '..', 'a', 'bbbbbbbbbbbbbbbbbbbb', 'c'];
  const h = harness({ readdir: () => names.map((name, i) => ({ ino: 10 + i, name, type: DT_REG })) });
  h.init();
  const body = (offset: number, size: number) => {
    const b = Buffer.alloc(40);
    b.writeBigUInt64LE(BigInt(offset), 8);
    b.writeUInt32LE(size, 16);
    return b;
  };
  const parse = (buf: Buffer) => {
    const out: Array<{ name: string; off: number; ino: number }> = [];
    for (let p = 0; p < buf.length; ) {
      const nl = buf.readUInt32LE(p + 16);
      out.push({ ino: Number(buf.readBigUInt64LE(p)), off: Number(buf.readBigUInt64LE(p + 8)), name: buf.toString('utf8', p + 24, p + 24 + nl) });
      p += (24 + nl + 7) & ~7;
    }
    return out;
  };
  h.d.handle(request(Op.READDIR, 1, body(0, 4096)));
  t.same(parse(h.last().body).map((e) => e.name), names);
  t.equal(h.last().body.length % 8, 0);
  h.d.handle(request(Op.READDIR, 1, body(3, 4096)));
  t.same(parse(h.last().body), [{ ino: 13, off: 4, name: 'bbbbbbbbbbbbbbbbbbbb' }, { ino: 14, off: 5, name: 'c' }]);
  h.d.handle(request(Op.READDIR, 1, body(0, 70)));
  t.same(parse(h.last().body).map((e) => e.name), ['.', '..'], 'only what fits in 70 bytes (two 32-byte records)');
  h.d.handle(request(Op.READDIR, 1, body(5, 4096)));
  t.equal(h.last().body.length, 0, 'past the end: empty');
});

t.test('refused opcodes answer their errno; OPEN without an op answers ENOSYS (zero-message open)', async (t) => {
  const h = harness({ refused: { [Op.MKDIR]: 30, [Op.UNLINK]: 1 } });
  h.init();
  h.d.handle(request(Op.MKDIR, 1, Buffer.concat([u32s(0o755, 0), cstr('x')])));
  t.equal(h.last().error, -30);
  h.d.handle(request(Op.UNLINK, 1, cstr('f')));
  t.equal(h.last().error, -1);
  h.d.handle(request(Op.OPEN, 2, u32s(0, 0)));
  t.equal(h.last().error, -38);
  h.d.handle(request(Op.FLUSH, 2, Buffer.alloc(24)));
  t.equal(h.last().error, -38, 'FLUSH ENOSYS: the kernel stops sending it');
});

t.test('SETATTR, ACCESS, STATFS and DESTROY', async (t) => {
  let setSize: number | undefined;
  let destroyed = false;
  const attr: Attr = { ino: 2, mode: S_IFREG | 0o444, size: 3, nlink: 1, uid: 0, gid: 0, timeSec: 0 };
  const h = harness({
    setattr: (_r, _n, set) => {
      setSize = set.size;
      return { attr, attrTtlMs: 0 };
    },
    access: (req, _n, mask) => {
      if (req.uid !== 0 && mask & 2) throw new FuseErrno(13);
    },
  });
  h.init();
  const sa = Buffer.alloc(88);
  sa.writeUInt32LE(1 << 3, 0);
  sa.writeBigUInt64LE(0n, 16);
  h.d.handle(request(Op.SETATTR, 2, sa));
  t.equal(h.last().error, 0);
  t.equal(setSize, 0, 'size 0 passed on');
  h.d.handle(request(Op.ACCESS, 2, u32s(2, 0), { uid: 1000 }));
  t.equal(h.last().error, -13, 'EACCES for W_OK as a user');
  h.d.handle(request(Op.ACCESS, 2, u32s(2, 0)));
  t.equal(h.last().error, 0, 'root may');
  h.d.handle(request(Op.STATFS, 1));
  t.equal(h.last().body.length, 80);
  t.equal(h.last().body.readUInt32LE(44), 255, 'namelen');
  const d2 = new FuseDispatcher(
    { lookup: () => { throw new FuseErrno(2); }, getattr: () => ({ attr, attrTtlMs: 0 }) },
    { reply: () => undefined, notify: async () => undefined },
    { maxWrite: 4096, onDestroy: () => (destroyed = true) },
  );
  d2.handle(request(Op.INIT, 0, u32s(7, 45, 0, 0, 0, ...new Array(11).fill(0))));
  d2.handle(request(Op.DESTROY, 0));
  t.ok(destroyed);
});
