// Protocol-buffers encoding of the few messages the plugin sends and receives, from static message tables (grpc-api.ts)
// instead of .proto files parsed at start (protobufjs and @grpc/proto-loader cost the bundle ~45 ms of start-up).
// proto3 rules: scalars at their default value are not written, unknown fields are skipped, a repeated or map field
// accumulates, a message field seen twice is merged. Decoded messages have the shape @grpc/proto-loader gives with
// { keepCase, longs: Number, defaults, arrays, objects }: every scalar present (default '' / false / 0), repeated
// fields [], maps {}, absent message fields null. wire.test.ts checks the tables against api/**.proto and the bytes
// against protobufjs both ways.

export type ScalarType = 'string' | 'bool' | 'int32' | 'int64';

export interface FieldSpec {
  /** the .proto field name (keepCase) */
  name: string;
  /** field number */
  no: number;
  /** a scalar, or the message the field holds */
  type: ScalarType | MessageSpec;
  repeated?: boolean;
  /** map<string, string> (the only map the APIs use): on the wire, repeated entries {key = 1; value = 2} */
  map?: true;
}

export interface MessageSpec {
  /** full name, e.g. v1beta1.Device */
  name: string;
  fields: readonly FieldSpec[];
}

export class WireError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WireError';
  }
}

// ---- encoding ----------------------------------------------------------------------------------

class Writer {
  buf: Buffer;
  pos = 0;
  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }
  /** a non-negative integer below 2^53 */
  uvarint(v: number): void {
    this.ensure(10);
    const b = this.buf;
    while (v > 0x7f) {
      b[this.pos++] = (v & 0x7f) | 0x80;
      v = v > 0xffffffff ? Math.floor(v / 128) : v >>> 7;
    }
    b[this.pos++] = v;
  }
  /** a signed integer: negative ones as 64-bit two's complement (ten bytes), as int32 and int64 are written */
  svarint(v: number): void {
    if (v >= 0) return this.uvarint(v);
    this.ensure(10);
    // two's complement of a negative number above -2^63, in two 32-bit halves
    let lo = v >>> 0;
    let hi = Math.floor(v / 0x100000000) >>> 0;
    const b = this.buf;
    for (let i = 0; i < 9; i++) {
      b[this.pos++] = (lo & 0x7f) | 0x80;
      lo = (lo >>> 7) | ((hi & 0x7f) << 25);
      hi >>>= 7;
    }
    b[this.pos++] = lo & 0x01;
  }
  string(s: string): void {
    const n = Buffer.byteLength(s);
    this.uvarint(n);
    this.ensure(n);
    this.pos += this.buf.write(s, this.pos, n, 'utf8');
  }
}

/** varint bytes of a length below 2^35 */
function varintSize(n: number): number {
  return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5;
}

type Obj = Record<string, unknown>;

function writeScalar(w: Writer, type: ScalarType, no: number, v: unknown, always: boolean): void {
  switch (type) {
    case 'string': {
      const s = typeof v === 'string' ? v : v === null || v === undefined ? '' : String(v);
      if (s === '' && !always) return;
      w.uvarint((no << 3) | 2);
      w.string(s);
      return;
    }
    case 'bool': {
      if (!v && !always) return;
      w.uvarint(no << 3);
      w.uvarint(v ? 1 : 0);
      return;
    }
    case 'int32':
    case 'int64': {
      const n = typeof v === 'number' ? Math.trunc(v) : Number(v ?? 0);
      if (!Number.isFinite(n)) throw new WireError(`field ${no}: ${String(v)} is not a number`);
      if (n === 0 && !always) return;
      w.uvarint(no << 3);
      w.svarint(type === 'int32' ? n | 0 : n);
      return;
    }
  }
}

/** Writes `body` as a length-delimited field: room for the longest length first, then the length, then the body moved up. */
function writeDelimited(w: Writer, no: number, body: () => void): void {
  w.uvarint((no << 3) | 2);
  w.ensure(5);
  const start = w.pos;
  w.pos += 5;
  body();
  const len = w.pos - start - 5;
  const n = varintSize(len);
  if (n < 5) w.buf.copyWithin(start + n, start + 5, w.pos);
  w.pos = start;
  w.uvarint(len);
  w.pos = start + n + len;
}

function writeMessage(w: Writer, spec: MessageSpec, m: Obj): void {
  for (const f of spec.fields) {
    const v = m[f.name];
    if (v === null || v === undefined) continue;
    if (f.map) {
      const rec = v as Record<string, unknown>;
      for (const k of Object.keys(rec)) {
        writeDelimited(w, f.no, () => {
          writeScalar(w, 'string', 1, k, false);
          writeScalar(w, 'string', 2, rec[k], false);
        });
      }
    } else if (f.repeated) {
      if (!Array.isArray(v)) throw new WireError(`${spec.name}.${f.name}: a repeated field needs an array`);
      const t = f.type;
      if (typeof t === 'string') for (const x of v) writeScalar(w, t, f.no, x, true);
      else for (const x of v) writeDelimited(w, f.no, () => writeMessage(w, t, (x ?? {}) as Obj));
    } else if (typeof f.type === 'string') {
      writeScalar(w, f.type, f.no, v, false);
    } else {
      const t = f.type;
      writeDelimited(w, f.no, () => writeMessage(w, t, v as Obj));
    }
  }
}

/** The message's bytes. */
export function encodeMessage(spec: MessageSpec, m: object): Buffer {
  const w = new Writer(256);
  writeMessage(w, spec, m as Obj);
  // a copy of the written part: the writer's buffer may be much bigger (the bytes outlive the call in gRPC's queue)
  return Buffer.from(w.buf.subarray(0, w.pos));
}

// ---- decoding ----------------------------------------------------------------------------------

class Reader {
  pos: number;
  constructor(
    readonly buf: Buffer,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }
  /** a varint as a number (exact below 2^53; a ten-byte negative one comes out near 2^64: see signed()) */
  varint(): number {
    const b = this.buf;
    if (this.pos < this.end && b[this.pos] < 0x80) return b[this.pos++];
    let v = 0;
    let mul = 1;
    for (let i = 0; ; i++) {
      if (i === 10) throw new WireError('varint longer than ten bytes');
      if (this.pos >= this.end) throw new WireError('truncated varint');
      const byte = b[this.pos++];
      v += (byte & 0x7f) * mul;
      if (byte < 0x80) return v;
      mul *= 128;
    }
  }
  /** a varint read as a signed 64-bit (or 32-bit) integer */
  signed(bits: 32 | 64): number {
    const start = this.pos;
    const u = this.varint();
    if (bits === 32) {
      // the low 32 bits, whatever the length (a negative int32 is written in ten bytes)
      let lo = 0;
      for (let i = 0, p = start; i < 5 && p < this.pos; i++, p++) lo |= (this.buf[p] & 0x7f) << (7 * i);
      return lo | 0;
    }
    if (this.pos - start < 10) return u;
    // ten bytes: a negative number in two's complement; rebuild from the two 32-bit halves
    let lo = 0;
    let hi = 0;
    for (let i = 0, p = start; p < this.pos; i++, p++) {
      const x = this.buf[p] & 0x7f;
      const s = 7 * i;
      if (s < 32) {
        lo |= x << s;
        if (s > 25) hi |= x >>> (32 - s);
      } else {
        hi |= x << (s - 32);
      }
    }
    return (hi | 0) * 0x100000000 + (lo >>> 0);
  }
  skip(wireType: number): void {
    switch (wireType) {
      case 0:
        this.varint();
        return;
      case 1:
        this.pos += 8;
        break;
      case 2: {
        const n = this.varint();
        this.pos += n;
        break;
      }
      case 5:
        this.pos += 4;
        break;
      default:
        throw new WireError(`unsupported wire type ${wireType}`);
    }
    if (this.pos > this.end) throw new WireError('truncated field');
  }
  delimitedEnd(): number {
    const n = this.varint();
    const end = this.pos + n;
    if (end > this.end) throw new WireError('truncated length-delimited field');
    return end;
  }
}

function defaultOf(f: FieldSpec): unknown {
  if (f.map) return {};
  if (f.repeated) return [];
  switch (f.type) {
    case 'string':
      return '';
    case 'bool':
      return false;
    case 'int32':
    case 'int64':
      return 0;
    default:
      return null;
  }
}

function newMessage(spec: MessageSpec): Obj {
  const m: Obj = {};
  for (const f of spec.fields) m[f.name] = defaultOf(f);
  return m;
}

function readScalar(r: Reader, type: ScalarType, wireType: number, where: string): unknown {
  if (type === 'string') {
    if (wireType !== 2) throw new WireError(`${where}: wire type ${wireType} for a string`);
    const end = r.delimitedEnd();
    const s = r.buf.toString('utf8', r.pos, end);
    r.pos = end;
    return s;
  }
  if (wireType !== 0) throw new WireError(`${where}: wire type ${wireType} for a ${type}`);
  if (type === 'bool') return r.varint() !== 0;
  return r.signed(type === 'int32' ? 32 : 64);
}

/** field number → field, per message table (built on first use) */
const byNumber = new WeakMap<MessageSpec, Map<number, FieldSpec>>();

function fieldsOf(spec: MessageSpec): Map<number, FieldSpec> {
  let m = byNumber.get(spec);
  if (!m) {
    m = new Map(spec.fields.map((f) => [f.no, f]));
    byNumber.set(spec, m);
  }
  return m;
}

function readInto(r: Reader, spec: MessageSpec, m: Obj, end: number): void {
  const fields = fieldsOf(spec);
  while (r.pos < end) {
    const tag = r.varint();
    const no = Math.floor(tag / 8);
    const wireType = tag & 7;
    const f = no > 0 ? fields.get(no) : undefined;
    if (!f) {
      if (no === 0) throw new WireError(`${spec.name}: field number 0`);
      r.skip(wireType);
      continue;
    }
    const where = `${spec.name}.${f.name}`;
    if (f.map) {
      if (wireType !== 2) throw new WireError(`${where}: wire type ${wireType} for a map entry`);
      const e = r.delimitedEnd();
      let key = '';
      let value = '';
      while (r.pos < e) {
        const t = r.varint();
        if (t === 10) key = readScalar(r, 'string', 2, `${where} key`) as string;
        else if (t === 18) value = readScalar(r, 'string', 2, `${where} value`) as string;
        else r.skip(t & 7);
      }
      r.pos = e;
      // defineProperty: a key named __proto__ is a key like any other, never the object's prototype
      Object.defineProperty(m[f.name], key, { value, enumerable: true, writable: true, configurable: true });
      continue;
    }
    const t = f.type;
    if (typeof t === 'string') {
      const v = readScalar(r, t, wireType, where);
      if (f.repeated) (m[f.name] as unknown[]).push(v);
      else m[f.name] = v;
      continue;
    }
    if (wireType !== 2) throw new WireError(`${where}: wire type ${wireType} for a message`);
    const e = r.delimitedEnd();
    if (f.repeated) {
      const sub = newMessage(t);
      readInto(r, t, sub, e);
      (m[f.name] as unknown[]).push(sub);
    } else {
      const sub = (m[f.name] as Obj | null) ?? newMessage(t);
      readInto(r, t, sub, e);
      m[f.name] = sub;
    }
    r.pos = e;
  }
  if (r.pos !== end) throw new WireError(`${spec.name}: field runs past the message`);
}

/** The message in `buf`, every field present (see the top of this file). */
export function decodeMessage(spec: MessageSpec, buf: Buffer): Obj {
  const m = newMessage(spec);
  readInto(new Reader(buf, 0, buf.length), spec, m, buf.length);
  return m;
}

/** A typed pair of encode and decode for one message. */
export interface Codec<T> {
  readonly spec: MessageSpec;
  encode(m: T): Buffer;
  decode(buf: Buffer): T;
}

export function codec<T extends object>(spec: MessageSpec): Codec<T> {
  return {
    spec,
    encode: (m: T) => encodeMessage(spec, m),
    decode: (buf: Buffer) => decodeMessage(spec, buf) as unknown as T,
  };
}
