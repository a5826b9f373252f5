// Kubernetes protobuf request bodies: the decoder on bytes encoded here with protobufjs's Writer (every ObjectMeta
// field, the four kinds, malformed bodies, mutated bytes), the API server's answers to protobuf POSTs (201, 400 and
// 415 Statuses), and the real kubectl's generator commands, which send protobuf, with `get -o json` after them.
import t from 'tap';
import { existsSync } from 'node:fs';
import { Cluster } from '../cluster/cluster.ts';
import { FakeAgent } from '../cluster/fake-agent.ts';
import { createRng } from '../scheduler/prng.ts';
import { decodeProtobufBody, ProtobufDecodeError, PROTOBUF_CONTENT_TYPE, PROTOBUF_MAGIC } from './protobuf.ts';
import { ApiServer } from './server.ts';
import { send } from './fixtures/request.ts';
import { LEN, VARINT, Writer, entry, str, sub, tag, time } from './fixtures/protobuf-writer.ts';
import { KUBECTL, kubectlOnApiServer } from './fixtures/kubectl.ts';

/** magic + runtime.Unknown{typeMeta, raw}, as the Go client frames an object */
function envelope(apiVersion: string, kind: string, raw: Uint8Array): Uint8Array {
  const w = Writer.create();
  sub(w, 1, (m) => (apiVersion && str(m, 1, apiVersion), kind && str(m, 2, kind)));
  tag(w, 2, LEN).bytes(raw);
  str(w, 3, '');
  str(w, 4, '');
  return Buffer.concat([PROTOBUF_MAGIC, w.finish()]);
}

const object = (fill: (w: Writer) => void): Uint8Array => {
  const w = Writer.create();
  fill(w);
  return w.finish();
};

/** the body kubectl v1.32.4 sent for `kubectl create configmap cm1 --from-literal=k=v` (from its -v=8 log) */
const KUBECTL_CONFIGMAP = Buffer.from(
  '6b3873000a0f0a0276311209436f6e6669674d6170121d0a130a03636d3112001a0022002a003200380042001206' + '0a016b1201761a002200',
  'hex',
);

const v1 = { apiVersion: 'v1', kind: 'ConfigMap' };

t.test('decoder: what kubectl sends, and every ObjectMeta field', async (t) => {
  t.same(decodeProtobufBody(KUBECTL_CONFIGMAP, v1), { apiVersion: 'v1', kind: 'ConfigMap', object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm1' }, data: { k: 'v' } } }, "kubectl's bytes: the empty strings Go writes are no fields");

  const meta = (w: Writer) =>
    sub(w, 1, (m) => {
      str(m, 1, 'full');
      str(m, 2, 'full-');
      str(m, 3, 'default');
      str(m, 4, '/api/v1/x');
      str(m, 5, 'uid-1');
      str(m, 6, '42');
      tag(m, 7, VARINT).int64(3);
      time(m, 8, 1700000000, 999);
      time(m, 9, 1700000060);
      tag(m, 10, VARINT).int64(30);
      entry(m, 11, 'app', 'x');
      entry(m, 11, 'tier', '');
      entry(m, 12, 'note', 'hello');
      sub(m, 13, (o) => (str(o, 5, 'v1'), str(o, 1, 'Namespace'), str(o, 3, 'owner'), str(o, 4, 'uid-0'), tag(o, 6, VARINT).bool(true), tag(o, 7, VARINT).bool(false)));
      str(m, 14, 'a/b');
      str(m, 14, 'c/d');
      sub(m, 17, (f) => {
        str(f, 1, 'kubectl');
        str(f, 2, 'Update');
        str(f, 3, 'v1');
        time(f, 4, 1700000000);
        str(f, 6, 'FieldsV1');
        sub(f, 7, (x) => tag(x, 1, LEN).bytes(Buffer.from('{"f:data":{".":{},"f:k":{}}}')));
      });
      str(m, 99, 'a field this server does not know');
    });
  const cm = decodeProtobufBody(
    envelope('v1', 'ConfigMap', object((w) => (meta(w), tag(w, 4, VARINT).bool(true), entry(w, 2, 'k', 'v'), entry(w, 3, 'bin', Uint8Array.of(0, 255, 1))))),
    v1,
  );
  t.same(cm.object, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: 'full',
      generateName: 'full-',
      namespace: 'default',
      selfLink: '/api/v1/x',
      uid: 'uid-1',
      resourceVersion: '42',
      generation: 3,
      creationTimestamp: '2023-11-14T22:13:20Z',
      deletionTimestamp: '2023-11-14T22:14:20Z',
      deletionGracePeriodSeconds: 30,
      labels: { app: 'x', tier: '' },
      annotations: { note: 'hello' },
      ownerReferences: [{ apiVersion: 'v1', kind: 'Namespace', name: 'owner', uid: 'uid-0', controller: true, blockOwnerDeletion: false }],
      finalizers: ['a/b', 'c/d'],
      managedFields: [{ manager: 'kubectl', operation: 'Update', apiVersion: 'v1', time: '2023-11-14T22:13:20Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:data': { '.': {}, 'f:k': {} } } }],
    },
    immutable: true,
    data: { k: 'v' },
    binaryData: { bin: 'AP8B' },
  });
  t.notOk('time' in (cm.object!.metadata as object) || 'nanos' in (cm.object!.metadata as object), 'nothing beyond the fields');

  const secret = decodeProtobufBody(envelope('v1', 'Secret', object((w) => (sub(w, 1, (m) => str(m, 1, 's')), entry(w, 2, 'raw', Uint8Array.of(0xde, 0xad)), entry(w, 4, 'plain', 'text'), str(w, 3, 'kubernetes.io/basic-auth'), tag(w, 5, VARINT).bool(false)))), v1);
  t.same(secret.object, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { raw: '3q0=' }, stringData: { plain: 'text' }, type: 'kubernetes.io/basic-auth', immutable: false }, 'Secret: data as base64, a false bool kept');

  const ns = decodeProtobufBody(
    envelope('v1', 'Namespace', object((w) => (sub(w, 1, (m) => str(m, 1, 'ns')), sub(w, 2, (s) => str(s, 1, 'kubernetes')), sub(w, 3, (s) => (str(s, 1, 'Active'), sub(s, 2, (c) => (str(c, 1, 'Ready'), str(c, 2, 'True'), time(c, 4, 0 + 86400), str(c, 5, 'r'), str(c, 6, 'm')))))))),
    v1,
  );
  t.same(ns.object, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ns' }, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '1970-01-02T00:00:00Z', reason: 'r', message: 'm' }] } });

  const sa = decodeProtobufBody(
    envelope('v1', 'ServiceAccount', object((w) => (sub(w, 1, (m) => str(m, 1, 'sa')), sub(w, 2, (r) => (str(r, 1, 'Secret'), str(r, 2, 'default'), str(r, 3, 'tok'), str(r, 4, 'u'), str(r, 5, 'v1'), str(r, 6, '7'), str(r, 7, 'data'))), sub(w, 3, (r) => str(r, 1, 'pull')), tag(w, 4, VARINT).bool(false)))),
    v1,
  );
  t.same(sa.object, {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: 'sa' },
    secrets: [{ kind: 'Secret', namespace: 'default', name: 'tok', uid: 'u', apiVersion: 'v1', resourceVersion: '7', fieldPath: 'data' }],
    imagePullSecrets: [{ name: 'pull' }],
    automountServiceAccountToken: false,
  });

  const event = decodeProtobufBody(
    envelope(
      'v1',
      'Event',
      object((w) => {
        sub(w, 1, (m) => (str(m, 1, 'p.1'), str(m, 3, 'default')));
        sub(w, 2, (r) => (str(r, 1, 'Pod'), str(r, 2, 'default'), str(r, 3, 'p'), str(r, 4, 'u1'), str(r, 5, 'v1')));
        str(w, 3, 'AddedInterface');
        str(w, 4, 'Add net1 [10.56.217.2/24] from default/virt-net1');
        sub(w, 5, (x) => (str(x, 1, 'multus'), str(x, 2, '')));
        time(w, 6, 1700000000, 500_000_000);
        time(w, 7, 1700000001);
        tag(w, 8, VARINT).int32(2);
        str(w, 9, 'Normal');
        time(w, 10, 1700000000, 123_456_789);
        sub(w, 11, (x) => (tag(x, 1, VARINT).int32(4), time(x, 2, 1700000002, 1_500_000_000)));
        str(w, 12, 'Attach');
        sub(w, 13, (r) => (str(r, 1, 'Node'), str(r, 3, 'node1')));
        str(w, 14, 'multus');
        str(w, 15, 'multus-node1');
      }),
    ),
    v1,
  );
  t.same(
    event.object,
    {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: 'p.1', namespace: 'default' },
      involvedObject: { kind: 'Pod', namespace: 'default', name: 'p', uid: 'u1', apiVersion: 'v1' },
      reason: 'AddedInterface',
      message: 'Add net1 [10.56.217.2/24] from default/virt-net1',
      source: { component: 'multus' },
      firstTimestamp: '2023-11-14T22:13:20Z',
      lastTimestamp: '2023-11-14T22:13:21Z',
      count: 2,
      type: 'Normal',
      eventTime: '2023-11-14T22:13:20.123456Z',
      series: { count: 4, lastObservedTime: '2023-11-14T22:13:23.500000Z' },
      action: 'Attach',
      related: { kind: 'Node', name: 'node1' },
      reportingComponent: 'multus',
      reportingInstance: 'multus-node1',
    },
    'Event: a Time keeps whole seconds, a MicroTime microseconds (nanos past a second carried over)',
  );

  t.same(decodeProtobufBody(envelope('', '', object((w) => sub(w, 1, (m) => str(m, 1, 'x')))), v1).object, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } }, 'an envelope without its type takes the resource posted to');
  t.same(decodeProtobufBody(envelope('v1', 'Node', object((w) => sub(w, 1, (m) => str(m, 1, 'n')))), v1), { apiVersion: 'v1', kind: 'Node' }, 'a kind not decoded here: only its type');
});

t.test('decoder: malformed bodies are ProtobufDecodeErrors worded like the apiserver', async (t) => {
  const err = (b: Uint8Array) => {
    try {
      decodeProtobufBody(b, v1);
    } catch (e) {
      return e;
    }
    return undefined;
  };
  t.match(err(Buffer.from('{"kind":"ConfigMap"}')), { name: 'ProtobufDecodeError', message: 'provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]' });
  t.match(err(new Uint8Array()), { message: 'empty data' });
  t.match(err(PROTOBUF_MAGIC), { message: 'empty body' });
  t.match(err(KUBECTL_CONFIGMAP.subarray(0, KUBECTL_CONFIGMAP.length - 12)), { message: 'unexpected EOF', typeMeta: undefined }, 'a cut envelope');
  const cutObject = envelope('v1', 'ConfigMap', Buffer.from('0a130a03636d31', 'hex'));
  t.match(err(cutObject), { message: 'unexpected EOF', typeMeta: { apiVersion: 'v1', kind: 'ConfigMap' } }, 'a cut object inside a whole envelope');
  t.match(err(envelope('v1', 'ConfigMap', object((w) => tag(w, 1, VARINT).uint32(5)))), { message: 'proto: wrong wireType = 0 for field Metadata' });
  t.match(err(envelope('v1', 'ConfigMap', object((w) => sub(w, 1, (m) => tag(m, 5, VARINT).uint32(1))))), { message: 'proto: wrong wireType = 0 for field UID' });
  t.match(err(envelope('v1', 'ConfigMap', Uint8Array.of(0x00, 0x01))), { message: 'proto: ConfigMap: illegal tag 0 (wire type 0)' });
  t.match(err(envelope('v1', 'ConfigMap', object((w) => sub(w, 1, (m) => sub(m, 17, (f) => sub(f, 7, (x) => tag(x, 1, LEN).bytes(Buffer.from('{not json')))))))), { message: /^FieldsV1: / });

  // any byte changed, dropped or added: a decoded object or a ProtobufDecodeError, never anything else
  const rng = createRng('protobuf-mutations');
  const full = envelope('v1', 'Secret', object((w) => (sub(w, 1, (m) => (str(m, 1, 's'), entry(m, 11, 'a', 'b'), time(m, 8, 1700000000))), entry(w, 2, 'k', Uint8Array.of(1, 2, 3)), str(w, 3, 'Opaque'))));
  let decoded = 0;
  let refused = 0;
  const other: string[] = [];
  for (let i = 0; i < 3000; i++) {
    const b = Buffer.from(full);
    const at = PROTOBUF_MAGIC.length + rng.intn(b.length - PROTOBUF_MAGIC.length);
    const op = rng.intn(3);
    const mutated = op === 0 ? ((b[at] = rng.intn(256)), b) : op === 1 ? Buffer.concat([b.subarray(0, at), b.subarray(at + 1)]) : Buffer.concat([b.subarray(0, at), Uint8Array.of(rng.intn(256)), b.subarray(at)]);
    try {
      decodeProtobufBody(mutated, v1);
      decoded++;
    } catch (e) {
      if (e instanceof ProtobufDecodeError) refused++;
      else other.push(`${mutated.toString('hex')}: ${String(e)}`);
    }
  }
  t.same(other, [], 'no other error');
  t.ok(decoded > 0 && refused > 0, `both outcomes occur (${decoded} decoded, ${refused} refused)`);
});

t.test('the API server: protobuf creates, 400 for bad bytes, 415 for kinds not decoded', async (t) => {
  const cluster = new Cluster({ seed: 3 });
  cluster.addNode(new FakeAgent('node1', {}));
  const logs: string[] = [];
  const api = await ApiServer.start({ cluster, log: (l) => logs.push(l) });
  t.teardown(async () => {
    await api.close();
    cluster.close();
  });
  const post = (path: string, body: Uint8Array | string, type = PROTOBUF_CONTENT_TYPE) => send(api, 'POST', `${path}?fieldManager=kubectl-create&fieldValidation=Strict`, body, type, `${PROTOBUF_CONTENT_TYPE},application/json`);

  const created = await post('/api/v1/namespaces/default/configmaps', KUBECTL_CONFIGMAP);
  t.equal(created.code, 201, created.body);
  t.match(JSON.parse(created.body), { kind: 'ConfigMap', metadata: { name: 'cm1', namespace: 'default', uid: /./, managedFields: [{ manager: 'kubectl-create', operation: 'Update' }] }, data: { k: 'v' } }, 'answered in JSON, which the client accepts');
  t.same(cluster.store.get('ConfigMap', 'default', 'cm1')?.data, { k: 'v' }, 'stored');

  const secret = await post('/api/v1/namespaces/default/secrets', envelope('v1', 'Secret', object((w) => (sub(w, 1, (m) => (str(m, 1, 's1'), str(m, 2, ''))), entry(w, 2, 'pw', Buffer.from('s3cr!t')), entry(w, 4, 'user', 'admin'), str(w, 3, '')))));
  t.equal(secret.code, 201, secret.body);
  const stored = cluster.store.get('Secret', 'default', 's1');
  t.same({ data: stored?.data, type: stored?.type, stringData: (stored as { stringData?: unknown } | undefined)?.stringData }, { data: { pw: 'czNjciF0', user: 'YWRtaW4=' }, type: 'Opaque', stringData: undefined }, 'stringData merged into data, type defaulted');

  const ns = await post('/api/v1/namespaces', envelope('v1', 'Namespace', object((w) => (sub(w, 1, (m) => str(m, 1, 'ns1')), sub(w, 2, () => undefined), sub(w, 3, (s) => str(s, 1, ''))))));
  t.equal(ns.code, 201, ns.body);
  t.equal(cluster.store.get('Namespace', '', 'ns1')?.status?.phase, 'Active');
  const sa = await post('/api/v1/namespaces/ns1/serviceaccounts', envelope('v1', 'ServiceAccount', object((w) => sub(w, 1, (m) => str(m, 1, 'sa1')))));
  t.equal(sa.code, 201, sa.body);

  const ev = await post('/api/v1/namespaces/default/events', envelope('v1', 'Event', object((w) => (sub(w, 1, (m) => str(m, 1, 'cm1.1')), sub(w, 2, (r) => (str(r, 1, 'ConfigMap'), str(r, 3, 'cm1'))), str(w, 3, 'Seen'), time(w, 10, 1700000000, 1000)))));
  t.equal(ev.code, 201, ev.body);
  t.match(cluster.store.get('Event', 'default', 'cm1.1'), { involvedObject: { kind: 'ConfigMap', name: 'cm1' }, reason: 'Seen' }, 'an Event in protobuf, as Multus sends them');

  const notProto = await post('/api/v1/namespaces/default/configmaps', '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"}}');
  t.match(JSON.parse(notProto.body), { code: 400, reason: 'BadRequest', message: 'the object provided is unrecognized (must be of type ConfigMap): provided data does not appear to be a protobuf message, expected prefix [107 56 115 0] ({"apiVersion":"v1","kind":"Con ...)' });
  const cut = await post('/api/v1/namespaces/default/configmaps', envelope('v1', 'ConfigMap', Buffer.from('0a130a03636d31', 'hex')));
  t.match(JSON.parse(cut.body), { code: 400, reason: 'BadRequest', message: 'ConfigMap in version "v1" cannot be handled as a ConfigMap: unexpected EOF' });
  const wrongKind = await post('/api/v1/namespaces/default/configmaps', envelope('v1', 'Secret', object((w) => sub(w, 1, (m) => str(m, 1, 'x')))));
  t.match(JSON.parse(wrongKind.body), { code: 400, message: 'the kind in the data (Secret) does not match the expected kind (ConfigMap)' });
  const pod = await post('/api/v1/nodes', envelope('v1', 'Node', object((w) => sub(w, 1, (m) => str(m, 1, 'n')))));
  t.match(JSON.parse(pod.body), { code: 415, reason: 'UnsupportedMediaType', message: 'the body of the request was in an unknown format - accepted media types include: application/json, application/yaml' });
  const plain = await post('/api/v1/namespaces/default/configmaps', 'x', 'text/plain');
  t.match(JSON.parse(plain.body), { code: 415, message: `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, ${PROTOBUF_CONTENT_TYPE}` });
  const badSecret = await post('/api/v1/namespaces/default/secrets', '{"apiVersion":"v1","kind":"Secret","metadata":{"name":"b"},"data":{"k":"no!"}}', 'application/json');
  t.match(JSON.parse(badSecret.body), { code: 400, message: 'Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte 2' });

  // a typed client's Update and Delete: the object, and DeleteOptions, in protobuf
  const rv = cluster.store.get('ConfigMap', 'default', 'cm1')!.metadata!.resourceVersion!;
  const put = await send(api, 'PUT', '/api/v1/namespaces/default/configmaps/cm1', envelope('v1', 'ConfigMap', object((w) => (sub(w, 1, (m) => (str(m, 1, 'cm1'), str(m, 3, 'default'), str(m, 6, rv))), entry(w, 2, 'k', 'v2')))), PROTOBUF_CONTENT_TYPE);
  t.equal(put.code, 200, put.body);
  t.same(cluster.store.get('ConfigMap', 'default', 'cm1')?.data, { k: 'v2' }, 'updated from a protobuf PUT');
  const stale = await send(api, 'PUT', '/api/v1/namespaces/default/configmaps/cm1', envelope('v1', 'ConfigMap', object((w) => sub(w, 1, (m) => (str(m, 1, 'cm1'), str(m, 6, rv))))), PROTOBUF_CONTENT_TYPE);
  t.equal(stale.code, 409, 'a stale resourceVersion in protobuf is a conflict as in JSON');
  const deleteOptions = envelope('v1', 'DeleteOptions', object((w) => tag(w, 1, VARINT).int64(0)));
  const badDelete = await send(api, 'DELETE', '/api/v1/namespaces/default/configmaps/cm1', Buffer.from('k8s'), PROTOBUF_CONTENT_TYPE);
  t.match(JSON.parse(badDelete.body), { code: 400, message: /^the object provided is unrecognized \(must be of type DeleteOptions\): provided data does not appear to be a protobuf message/ });
  t.ok(cluster.store.get('ConfigMap', 'default', 'cm1'), 'and nothing was deleted');
  const deleted = await send(api, 'DELETE', '/api/v1/namespaces/default/configmaps/cm1', deleteOptions, PROTOBUF_CONTENT_TYPE);
  t.equal(deleted.code, 200, deleted.body);
  t.notOk(cluster.store.get('ConfigMap', 'default', 'cm1'), 'deleted with protobuf DeleteOptions');
  t.same(logs, [], 'nothing was an internal error');
});

if (!existsSync(KUBECTL)) {
  t.test(`the real kubectl: skipped, no kubectl at ${KUBECTL}`, async (t) => t.pass('nothing to run'));
} else {
  t.test("the real kubectl's generator commands (protobuf bodies), then get -o json", async (t) => {
    const { kubectl } = await kubectlOnApiServer(t, 'sl-pb-', 4);
    const ok = async (args: string[], out: RegExp) => {
      const r = await kubectl(args);
      t.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
      t.match(r.stdout, out);
      return r.stdout;
    };
    await ok(['create', 'configmap', 'cm1', '--from-literal=k=v', '--from-literal=empty='], /^configmap\/cm1 created/);
    await ok(['create', 'secret', 'generic', 's1', '--from-literal=user=admin', '--from-literal=pw=s3cr!t'], /^secret\/s1 created/);
    await ok(['create', 'namespace', 'ns1'], /^namespace\/ns1 created/);
    await ok(['create', 'serviceaccount', 'sa1', '-n', 'ns1'], /^serviceaccount\/sa1 created/);

    const cm = JSON.parse(await ok(['get', 'configmap', 'cm1', '-o', 'json'], /"kind": "ConfigMap"/)) as { data: unknown; metadata: { namespace: string } };
    t.same(cm.data, { k: 'v', empty: '' }, 'configmap data, an empty value kept');
    t.equal(cm.metadata.namespace, 'default');
    const s = JSON.parse(await ok(['get', 'secret', 's1', '-o', 'json'], /"kind": "Secret"/)) as { data: Record<string, string>; type: string };
    t.same(s.data, { user: Buffer.from('admin').toString('base64'), pw: Buffer.from('s3cr!t').toString('base64') }, 'secret data base64');
    t.equal(s.type, 'Opaque');
    const ns = JSON.parse(await ok(['get', 'namespace', 'ns1', '-o', 'json'], /"kind": "Namespace"/)) as { status: { phase: string } };
    t.equal(ns.status.phase, 'Active');
    const sa = JSON.parse(await ok(['get', 'serviceaccount', 'sa1', '-n', 'ns1', '-o', 'json'], /"kind": "ServiceAccount"/)) as { metadata: { name: string; namespace: string } };
    t.same([sa.metadata.name, sa.metadata.namespace], ['sa1', 'ns1']);
    await ok(['get', 'secrets'], /NAME\s+TYPE\s+DATA\s+AGE\n(.*\n)*s1\s+Opaque\s+2\s+/);

    const dup = await kubectl(['create', 'configmap', 'cm1', '--from-literal=k=v']);
    t.match(dup.stderr, /configmaps "cm1" already exists/, 'a second create: the 409, as from the apiserver');
    const badName = await kubectl(['create', 'namespace', 'Bad_Name']);
    t.match(badName.stderr, /The Namespace "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 label/, 'validation as for a JSON body');
  });
}
