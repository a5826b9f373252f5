// The static gRPC definitions (grpc-api.ts, wire.ts) against api/**.proto as protobufjs reads it: every message table
// has exactly the .proto's fields (names, numbers, types, repeated, maps), every service method its path and
// streaming; and random messages of every type go through our encoder into protobufjs's decoder and back the other
// way unchanged. No root needed. FUZZ_RUNS raises the count of random messages (default 200 per message).
import t from 'tap';
import fc from 'fast-check';
import protobuf from 'protobufjs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sortedJson } from './allocate.ts';
import { MESSAGES, SERVICES } from './grpc-api.ts';
import { decodeMessage, encodeMessage, WireError, type FieldSpec, type MessageSpec } from './wire.ts';

const API = join(dirname(fileURLToPath(import.meta.url)), '../../api');
const root = new protobuf.Root();
root.loadSync([join(API, 'deviceplugin/v1beta1/api.proto'), join(API, 'pluginregistration/v1/api.proto')], { keepCase: true });
root.resolveAll();
const RUNS = Number(process.env.FUZZ_RUNS ?? 200);
const TO_OBJECT: protobuf.IConversionOptions = { longs: Number, enums: String, defaults: true, arrays: true, objects: true };

function protoTypes(ns: protobuf.NamespaceBase, out: protobuf.Type[] = []): protobuf.Type[] {
  for (const n of ns.nestedArray) {
    if (n instanceof protobuf.Type) out.push(n);
    if (n instanceof protobuf.Namespace || n instanceof protobuf.Type) protoTypes(n, out);
  }
  return out;
}
const fullName = (x: protobuf.ReflectionObject) => x.fullName.replace(/^\./, '');

t.test('every message table is the .proto message: field names, numbers, types, repeated and maps', async (t) => {
  const types = protoTypes(root);
  t.same(types.map(fullName).sort(), [...MESSAGES.keys()].sort(), 'the same messages');
  for (const type of types) {
    const spec = MESSAGES.get(fullName(type));
    if (!spec) continue;
    const ours = spec.fields.map((f) => ({
      name: f.name,
      no: f.no,
      type: typeof f.type === 'string' ? f.type : f.type.name,
      repeated: !!f.repeated && !f.map,
      map: f.map ? 'string→string' : null,
    }));
    const theirs = type.fieldsArray.map((f) => ({
      name: f.name,
      no: f.id,
      type: f.resolvedType ? fullName(f.resolvedType) : f.type,
      repeated: f.repeated && !f.map,
      map: f instanceof protobuf.MapField ? `${f.keyType}→${f.type}` : null,
    }));
    t.same(ours, theirs, `${spec.name}: fields in .proto order`);
  }
});

t.test('every service method: path, request and response streaming', async (t) => {
  const services: Array<[string, Record<string, { path: string; requestStream: boolean; responseStream: boolean }>]> = [
    ['v1beta1.Registration', SERVICES.registration],
    ['v1beta1.DevicePlugin', SERVICES.devicePlugin],
    ['pluginregistration.Registration', SERVICES.pluginRegistration],
  ];
  for (const [name, def] of services) {
    const svc = root.lookupService(name);
    const theirs = svc.methodsArray.map((m) => ({ name: m.name, path: `/${name}/${m.name}`, requestStream: !!m.requestStream, responseStream: !!m.responseStream }));
    const ours = Object.entries(def).map(([k, m]) => ({ name: k, path: m.path, requestStream: m.requestStream, responseStream: m.responseStream }));
    t.same(ours, theirs, name);
  }
});

const str = fc.string({ unit: 'grapheme', maxLength: 12 });
function arb(spec: MessageSpec, depth = 0): fc.Arbitrary<Record<string, unknown>> {
  const rec: Record<string, fc.Arbitrary<unknown>> = {};
  for (const f of spec.fields) rec[f.name] = fieldArb(f, depth);
  return fc.record(rec, { requiredKeys: [] });
}
function scalarArb(type: string): fc.Arbitrary<unknown> {
  switch (type) {
    case 'string':
      return str;
    case 'bool':
      return fc.boolean();
    case 'int32':
      return fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
    default:
      return fc.oneof(fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }), fc.integer({ min: -300, max: 300 }));
  }
}
function fieldArb(f: FieldSpec, depth: number): fc.Arbitrary<unknown> {
  if (f.map) return fc.dictionary(str.filter((k) => k !== '__proto__'), str, { maxKeys: 4 });
  const one = typeof f.type === 'string' ? scalarArb(f.type) : arb(f.type, depth + 1);
  if (f.repeated) return fc.array(one, { maxLength: depth > 1 ? 2 : 4 });
  return typeof f.type === 'string' ? one : fc.option(one, { nil: null });
}
/** what a decoder gives for `m`: every field, defaults filled in */
function normal(spec: MessageSpec, m: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of spec.fields) {
    const v = m[f.name];
    const t = f.type;
    if (f.map) out[f.name] = { ...((v as Record<string, string>) ?? {}) };
    else if (f.repeated) out[f.name] = ((v as unknown[]) ?? []).map((x) => (typeof t === 'string' ? x : normal(t, x as Record<string, unknown>)));
    else if (typeof t !== 'string') out[f.name] = v === null || v === undefined ? null : normal(t, v as Record<string, unknown>);
    else out[f.name] = v ?? (t === 'string' ? '' : t === 'bool' ? false : 0);
  }
  return out;
}

for (const spec of MESSAGES.values()) {
  t.test(`${spec.name}: our bytes decode in protobufjs, protobufjs's bytes in ours`, async (t) => {
    const type = root.lookupType(spec.name);
    let n = 0;
    fc.assert(
      fc.property(arb(spec), (m) => {
        const want = normal(spec, m);
        const ours = encodeMessage(spec, m);
        const byThem = type.toObject(type.decode(ours), TO_OBJECT);
        const theirs = Buffer.from(type.encode(type.fromObject(m)).finish());
        const byUs = decodeMessage(spec, theirs);
        n++;
        const w = sortedJson(want);
        return sortedJson(byThem) === w && sortedJson(byUs) === w && sortedJson(decodeMessage(spec, ours)) === w;
      }),
      { numRuns: RUNS },
    );
    t.equal(n >= RUNS, true, `${n} messages`);
  });
}

t.test('wire details: proto3 defaults are not written, unknown fields skipped, bad bytes are a WireError', async (t) => {
  const dev = MESSAGES.get('v1beta1.Device')!;
  t.same(encodeMessage(dev, { ID: '', health: '', topology: null }), Buffer.alloc(0), 'an all-default message is no bytes');
  t.same([...encodeMessage(dev, { ID: 'a', health: 'Healthy', topology: { nodes: [{ ID: 1 }] } })], [10, 1, 97, 18, 7, ...Buffer.from('Healthy'), 26, 4, 10, 2, 8, 1]);
  // field 9 (varint), field 10 (fixed64), field 11 (bytes), field 12 (fixed32): skipped
  const unknown = Buffer.from([72, 5, 81, 1, 2, 3, 4, 5, 6, 7, 8, 90, 2, 0, 0, 101, 1, 2, 3, 4, 10, 1, 98]);
  t.same(decodeMessage(dev, unknown), { ID: 'b', health: '', topology: null });
  const node = MESSAGES.get('v1beta1.NUMANode')!;
  t.same(decodeMessage(node, encodeMessage(node, { ID: -1 })), { ID: -1 }, 'negative int64');
  t.equal(encodeMessage(node, { ID: -1 }).length, 11, 'a negative int64 is ten bytes');
  t.throws(() => decodeMessage(dev, Buffer.from([10, 5, 97])), WireError, 'truncated string');
  t.throws(() => decodeMessage(dev, Buffer.from([8, 1])), WireError, 'varint where a string is');
  t.throws(() => decodeMessage(dev, Buffer.from([0x80])), WireError, 'truncated varint');
  t.throws(() => decodeMessage(dev, Buffer.from([11])), WireError, 'group wire type');
  const car = MESSAGES.get('v1beta1.ContainerAllocateResponse')!;
  const withProto = decodeMessage(car, Buffer.from([10, 15, 10, 9, ...Buffer.from('__proto__'), 18, 2, 104, 105]));
  t.same(Object.keys(withProto.envs as object), ['__proto__'], 'a map key __proto__ is a key');
  t.equal(Object.getPrototypeOf(withProto.envs), Object.prototype);
});
