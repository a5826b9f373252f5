// Kubernetes protobuf request bodies (`application/vnd.kubernetes.protobuf`), as kubectl's generator commands
// (`create configmap`, `create secret generic`, `create namespace`, `create serviceaccount`) send them: the 4-byte magic
// `k8s\0`, then a runtime.Unknown whose `raw` is the object's own message; Events too, as client-go's event recorders
// (Multus's among them) send them. The bytes become the object's JSON form, which then goes through the same decoding,
// defaulting and validation as a JSON body.
//
// The field numbers are those of the upstream generated.proto files (k8s.io/api core/v1, k8s.io/apimachinery
// meta/v1 and runtime); the table below is ours and covers the kinds decoded here. Wire reading is protobufjs's.
import protobuf from 'protobufjs/minimal.js';
import type { Json as JsonValue, JsonObject } from './patch.ts';

export const PROTOBUF_CONTENT_TYPE = 'application/vnd.kubernetes.protobuf';
/** what every Kubernetes protobuf body starts with: `k8s`, then encoding 0 (a runtime.Unknown follows) */
export const PROTOBUF_MAGIC: Readonly<Uint8Array> = Uint8Array.of(0x6b, 0x38, 0x73, 0x00);

const { Reader } = protobuf;
type Reader = protobuf.Reader;

/** A body that is no valid protobuf of its kind; the message is worded like the apiserver's decoder's. */
export class ProtobufDecodeError extends Error {
  /** the body's own group-version-kind, when its runtime.Unknown got that far */
  readonly typeMeta?: { apiVersion: string; kind: string };
  constructor(message: string, typeMeta?: { apiVersion: string; kind: string }) {
    super(message);
    this.name = 'ProtobufDecodeError';
    this.typeMeta = typeMeta;
  }
}

type Scalar = 'string' | 'bytes' | 'bool' | 'int64' | 'int32';

/**
 * One field: a scalar; `message` (a nested message of the table); `time` (metav1.Time: a Timestamp whose JSON form is
 * RFC 3339); `microtime` (metav1.MicroTime: the same message, RFC 3339 with microseconds); `fields` (metav1.FieldsV1: raw JSON bytes whose JSON form is that JSON); or `map` (entries key=1, value=2).
 */
type FieldSpec = { name: string; repeated?: boolean } & ({ type: Scalar } | { type: 'message'; message: string } | { type: 'time' } | { type: 'microtime' } | { type: 'fields' } | { type: 'map'; value: 'string' | 'bytes' });

const str = (name: string): FieldSpec => ({ name, type: 'string' });
const msg = (name: string, message: string, repeated = false): FieldSpec => ({ name, type: 'message', message, repeated });

/** message name → field number → field */
const MESSAGES: Record<string, Record<number, FieldSpec>> = {
  // k8s.io/apimachinery/pkg/runtime
  Unknown: { 1: msg('typeMeta', 'TypeMeta'), 2: { name: 'raw', type: 'bytes' }, 3: str('contentEncoding'), 4: str('contentType') },
  TypeMeta: { 1: str('apiVersion'), 2: str('kind') },
  // k8s.io/apimachinery/pkg/apis/meta/v1
  ObjectMeta: {
    1: str('name'),
    2: str('generateName'),
    3: str('namespace'),
    4: str('selfLink'),
    5: str('uid'),
    6: str('resourceVersion'),
    7: { name: 'generation', type: 'int64' },
    8: { name: 'creationTimestamp', type: 'time' },
    9: { name: 'deletionTimestamp', type: 'time' },
    10: { name: 'deletionGracePeriodSeconds', type: 'int64' },
    11: { name: 'labels', type: 'map', value: 'string' },
    12: { name: 'annotations', type: 'map', value: 'string' },
    13: msg('ownerReferences', 'OwnerReference', true),
    14: { name: 'finalizers', type: 'string', repeated: true },
    17: msg('managedFields', 'ManagedFieldsEntry', true),
  },
  OwnerReference: { 5: str('apiVersion'), 1: str('kind'), 3: str('name'), 4: str('uid'), 6: { name: 'controller', type: 'bool' }, 7: { name: 'blockOwnerDeletion', type: 'bool' } },
  FieldsV1: { 1: { name: 'Raw', type: 'bytes' } },
  ManagedFieldsEntry: { 1: str('manager'), 2: str('operation'), 3: str('apiVersion'), 4: { name: 'time', type: 'time' }, 6: str('fieldsType'), 7: { name: 'fieldsV1', type: 'fields' }, 8: str('subresource') },
  // k8s.io/api/core/v1
  ConfigMap: { 1: msg('metadata', 'ObjectMeta'), 4: { name: 'immutable', type: 'bool' }, 2: { name: 'data', type: 'map', value: 'string' }, 3: { name: 'binaryData', type: 'map', value: 'bytes' } },
  Secret: { 1: msg('metadata', 'ObjectMeta'), 5: { name: 'immutable', type: 'bool' }, 2: { name: 'data', type: 'map', value: 'bytes' }, 4: { name: 'stringData', type: 'map', value: 'string' }, 3: str('type') },
  Namespace: { 1: msg('metadata', 'ObjectMeta'), 2: msg('spec', 'NamespaceSpec'), 3: msg('status', 'NamespaceStatus') },
  NamespaceSpec: { 1: { name: 'finalizers', type: 'string', repeated: true } },
  NamespaceStatus: { 1: str('phase'), 2: msg('conditions', 'NamespaceCondition', true) },
  NamespaceCondition: { 1: str('type'), 2: str('status'), 4: { name: 'lastTransitionTime', type: 'time' }, 5: str('reason'), 6: str('message') },
  ServiceAccount: { 1: msg('metadata', 'ObjectMeta'), 2: msg('secrets', 'ObjectReference', true), 3: msg('imagePullSecrets', 'LocalObjectReference', true), 4: { name: 'automountServiceAccountToken', type: 'bool' } },
  Event: {
    1: msg('metadata', 'ObjectMeta'),
    2: msg('involvedObject', 'ObjectReference'),
    3: str('reason'),
    4: str('message'),
    5: msg('source', 'EventSource'),
    6: { name: 'firstTimestamp', type: 'time' },
    7: { name: 'lastTimestamp', type: 'time' },
    8: { name: 'count', type: 'int32' },
    9: str('type'),
    10: { name: 'eventTime', type: 'microtime' },
    11: msg('series', 'EventSeries'),
    12: str('action'),
    13: msg('related', 'ObjectReference'),
    14: str('reportingComponent'),
    15: str('reportingInstance'),
  },
  EventSource: { 1: str('component'), 2: str('host') },
  EventSeries: { 1: { name: 'count', type: 'int32' }, 2: { name: 'lastObservedTime', type: 'microtime' } },
  ObjectReference: { 1: str('kind'), 2: str('namespace'), 3: str('name'), 4: str('uid'), 5: str('apiVersion'), 6: str('resourceVersion'), 7: str('fieldPath') },
  LocalObjectReference: { 1: str('name') },
};

/** The kinds whose protobuf bodies are decoded (all `v1`, the core group). */
export const PROTOBUF_KINDS: ReadonlySet<string> = new Set(['ConfigMap', 'Secret', 'Namespace', 'ServiceAccount', 'Event']);

const WIRE_VARINT = 0;
const WIRE_BYTES = 2;

function wireTypeOf(f: FieldSpec): number {
  return f.type === 'bool' || f.type === 'int64' || f.type === 'int32' ? WIRE_VARINT : WIRE_BYTES;
}

/** the Go field name the generated unmarshaller names in its errors (`Name`, `UID`, `OwnerReferences`) */
function goName(f: FieldSpec): string {
  return f.name === 'uid' ? 'UID' : f.name[0].toUpperCase() + f.name.slice(1);
}

function int64(r: Reader): number {
  const v = r.int64() as unknown as number | { toNumber(): number };
  return typeof v === 'number' ? v : v.toNumber();
}

/**
 * metav1.Time and MicroTime: seconds=1, nanos=2; an empty message is the zero time (no value). A Time keeps whole
 * seconds only, as the apiserver's does; a MicroTime keeps microseconds, its JSON form's precision.
 */
function decodeTime(bytes: Uint8Array, micro: boolean): string | undefined {
  if (!bytes.length) return undefined;
  const r = Reader.create(bytes);
  let seconds = 0;
  let nanos = 0;
  while (r.pos < r.len) {
    const tag = r.uint32();
    const no = tag >>> 3;
    if (no === 1 && (tag & 7) === WIRE_VARINT) seconds = int64(r);
    else if (no === 2 && (tag & 7) === WIRE_VARINT) nanos = r.int32();
    else if (no === 1 || no === 2) throw new ProtobufDecodeError(`proto: wrong wireType = ${tag & 7} for field ${no === 1 ? 'Seconds' : 'Nanos'}`);
    else r.skipType(tag & 7);
  }
  if (micro) {
    // time.Unix(seconds, nanos) carries nanos beyond [0, 1e9) into the seconds
    const carry = Math.floor(nanos / 1e9);
    seconds += carry;
    nanos -= carry * 1e9;
  }
  const d = new Date(seconds * 1000);
  if (Number.isNaN(d.getTime())) throw new ProtobufDecodeError(`proto: Timestamp: seconds out of range: ${seconds}`);
  const whole = d.toISOString().replace(/\.\d{3}Z$/, '');
  return micro ? `${whole}.${String(Math.floor(nanos / 1000)).padStart(6, '0')}Z` : `${whole}Z`;
}

function decodeMapEntry(bytes: Uint8Array, value: 'string' | 'bytes', field: FieldSpec): [string, string] {
  const r = Reader.create(bytes);
  let k = '';
  let v = '';
  while (r.pos < r.len) {
    const tag = r.uint32();
    const no = tag >>> 3;
    if ((no === 1 || no === 2) && (tag & 7) !== WIRE_BYTES) throw new ProtobufDecodeError(`proto: wrong wireType = ${tag & 7} for field ${goName(field)}`);
    if (no === 1) k = r.string();
    else if (no === 2) v = value === 'string' ? r.string() : Buffer.from(r.bytes()).toString('base64');
    else r.skipType(tag & 7);
  }
  return [k, v];
}

/**
 * A message of the table as its JSON form. Zero scalars are left out, as the JSON of these (omitempty) fields has them:
 * the Go encoder writes every non-pointer string, even empty, so kubectl's bodies carry `name: ""`, `uid: ""` and so
 * on. A bool is kept when present (they are pointers: immutable, controller), and map values are kept as they are.
 */
function decodeMessage(type: string, bytes: Uint8Array): JsonObject {
  const fields = MESSAGES[type];
  const out: JsonObject = {};
  const r = Reader.create(bytes);
  while (r.pos < r.len) {
    const tag = r.uint32();
    const no = tag >>> 3;
    const wire = tag & 7;
    if (no === 0) throw new ProtobufDecodeError(`proto: ${type}: illegal tag 0 (wire type ${wire})`);
    const f = fields[no];
    if (!f) {
      r.skipType(wire); // an unknown field is dropped, as by the generated unmarshaller
      continue;
    }
    if (wire !== wireTypeOf(f)) throw new ProtobufDecodeError(`proto: wrong wireType = ${wire} for field ${goName(f)}`);
    let value: JsonValue | undefined;
    switch (f.type) {
      case 'string':
        value = r.string();
        if (value === '' && !f.repeated) value = undefined;
        break;
      case 'bytes':
        value = Buffer.from(r.bytes()).toString('base64');
        if (value === '') value = undefined;
        break;
      case 'bool':
        value = r.bool();
        break;
      case 'int64':
        value = int64(r);
        if (value === 0) value = undefined;
        break;
      case 'int32':
        value = r.int32();
        if (value === 0) value = undefined;
        break;
      case 'message':
        value = decodeMessage(f.message, r.bytes());
        break;
      case 'time':
      case 'microtime':
        value = decodeTime(r.bytes(), f.type === 'microtime');
        break;
      case 'fields': {
        const raw = decodeMessage('FieldsV1', r.bytes()).Raw;
        if (typeof raw === 'string' && raw) {
          try {
            value = JSON.parse(Buffer.from(raw, 'base64').toString('utf8')) as JsonValue;
          } catch (e) {
            throw new ProtobufDecodeError(`FieldsV1: ${(e as Error).message}`);
          }
        }
        break;
      }
      case 'map': {
        const [k, v] = decodeMapEntry(r.bytes(), f.value, f);
        const m = (out[f.name] ??= {}) as JsonObject;
        m[k] = v;
        continue;
      }
    }
    if (f.repeated) ((out[f.name] ??= []) as JsonValue[]).push(value ?? (f.type === 'message' ? {} : ''));
    else if (value === undefined) delete out[f.name];
    else out[f.name] = value;
  }
  return out;
}

/** protobufjs's Reader throws RangeError on a truncated message; the Go unmarshaller says `unexpected EOF` */
function wireError(e: unknown): ProtobufDecodeError {
  if (e instanceof ProtobufDecodeError) return e;
  if (e instanceof RangeError) return new ProtobufDecodeError('unexpected EOF');
  return new ProtobufDecodeError(`proto: ${(e as Error)?.message ?? String(e)}`);
}

export interface DecodedProtobuf {
  apiVersion: string;
  kind: string;
  /** the object's JSON form (with apiVersion and kind), or undefined for a kind not in PROTOBUF_KINDS */
  object?: JsonObject;
}

/**
 * A protobuf request body: its runtime.Unknown envelope, and the object in it when its kind is one decoded here. An
 * envelope without apiVersion or kind takes them from `defaults` (the resource posted to), as the apiserver's decoder
 * does. Throws ProtobufDecodeError (the apiserver's wording) for bytes that are not such a body.
 */
export function decodeProtobufBody(body: Uint8Array, defaults: { apiVersion: string; kind: string }): DecodedProtobuf {
  if (body.length === 0) throw new ProtobufDecodeError('empty data');
  if (body.length < PROTOBUF_MAGIC.length || PROTOBUF_MAGIC.some((b, i) => body[i] !== b)) {
    throw new ProtobufDecodeError(`provided data does not appear to be a protobuf message, expected prefix [${PROTOBUF_MAGIC.join(' ')}]`);
  }
  if (body.length === PROTOBUF_MAGIC.length) throw new ProtobufDecodeError('empty body');
  let unknown: JsonObject;
  try {
    unknown = decodeMessage('Unknown', body.subarray(PROTOBUF_MAGIC.length));
  } catch (e) {
    throw wireError(e);
  }
  const tm = (unknown.typeMeta ?? {}) as JsonObject;
  const typeMeta = { apiVersion: typeof tm.apiVersion === 'string' ? tm.apiVersion : defaults.apiVersion, kind: typeof tm.kind === 'string' ? tm.kind : defaults.kind };
  if (typeMeta.apiVersion !== 'v1' || !PROTOBUF_KINDS.has(typeMeta.kind)) return typeMeta;
  let object: JsonObject;
  try {
    object = decodeMessage(typeMeta.kind, Buffer.from(typeof unknown.raw === 'string' ? unknown.raw : '', 'base64'));
  } catch (e) {
    throw new ProtobufDecodeError(wireError(e).message, typeMeta);
  }
  return { ...typeMeta, object: { apiVersion: typeMeta.apiVersion, kind: typeMeta.kind, ...object } };
}
