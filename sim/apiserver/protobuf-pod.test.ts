// Pods in protobuf, as client-go sends them when a client asks for `application/vnd.kubernetes.protobuf` (Multus
// does: its pods/status UPDATE that writes the network-status annotation). Field numbers checked on bytes written
// here field by field; every pod the simulator makes (the deployments' DaemonSets, the tutorial's pod, Running and
// Pending) encoded and decoded back unchanged; and the API server's PUT pods/status with a protobuf body.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { Cluster } from '../cluster/cluster.ts';
import { FakeAgent } from '../cluster/fake-agent.ts';
import { projectRoot } from '../paths.ts';
import { decodeProtobufBody, encodeProtobufBody, ProtobufEncodeError, PROTOBUF_CONTENT_TYPE, PROTOBUF_MAGIC } from './protobuf.ts';
import { Registry } from './rest.ts';
import { resourceOfKind, type ResourceInfo } from './resources.ts';
import { ApiServer } from './server.ts';
import { send } from './fixtures/request.ts';
import { LEN, VARINT, Writer, str, sub, tag, varint } from './fixtures/protobuf-writer.ts';

const podKind = { apiVersion: 'v1', kind: 'Pod' };

/** JSON null is the zero value (the Go encoder writes `lastProbeTime: null`), which protobuf does not carry */
function withoutNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutNulls);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).filter(([, x]) => x !== null).map(([k, x]) => [k, withoutNulls(x)]));
  return v;
}

const TIME_MS = /(?<=^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.\d+Z$/;

/** an object as the API server writes it: its JSON form (the store holds Dates), times in whole seconds, no nulls */
const asJson = (v: unknown) => withoutNulls(JSON.parse(JSON.stringify(v ?? null), (_k, x: unknown) => (typeof x === 'string' && TIME_MS.test(x) ? x.replace(TIME_MS, 'Z') : x)));

t.test('field numbers: a pod written field by field (generated.proto numbers)', async (t) => {
  const raw = Writer.create();
  sub(raw, 1, (m) => (str(m, 1, 'p1'), str(m, 3, 'default'), sub(m, 12, (e) => (str(e, 1, 'k8s.v1.cni.cncf.io/networks'), str(e, 2, 'virt-net1')))));
  sub(raw, 2, (s) => {
    sub(s, 1, (v) => (str(v, 1, 'dev'), sub(v, 2, (vs) => sub(vs, 1, (hp) => (str(hp, 1, '/dev'), str(hp, 2, 'Directory'))))));
    sub(s, 1, (v) => (str(v, 1, 'cfg'), sub(v, 2, (vs) => sub(vs, 19, (cm) => (sub(cm, 1, (l) => str(l, 1, 'sriovdp-config')), tag(cm, 3, VARINT).int32(420))))));
    sub(s, 2, (c) => {
      str(c, 1, 'app');
      str(c, 2, 'busybox');
      str(c, 3, 'sleep');
      str(c, 4, 'inf');
      sub(c, 6, (p) => (tag(p, 3, VARINT).int32(8080), str(p, 4, 'TCP')));
      sub(c, 7, (e) => (str(e, 1, 'A'), str(e, 2, 'b')));
      sub(c, 8, (r) => (sub(r, 1, (e) => (str(e, 1, 'kernel.org/virt'), sub(e, 2, (q) => str(q, 1, '1')))), sub(r, 2, (e) => (str(e, 1, 'cpu'), sub(e, 2, (q) => str(q, 1, '100m'))))));
      sub(c, 9, (vm) => (str(vm, 1, 'dev'), tag(vm, 2, VARINT).bool(false), str(vm, 3, '/dev')));
      sub(c, 10, (p) => (sub(p, 1, (h) => sub(h, 2, (g) => (str(g, 1, '/healthz'), sub(g, 2, (i) => (varint(i, 1, 0), tag(i, 2, VARINT).int32(8080)))))), tag(p, 4, VARINT).int32(10)));
      sub(c, 15, (sc) => (tag(sc, 2, VARINT).bool(true), sub(sc, 1, (cap) => str(cap, 1, 'NET_ADMIN'))));
      tag(c, 16, VARINT).bool(false);
      tag(c, 18, VARINT).bool(true);
    });
    str(s, 3, 'Always');
    varint(s, 4, 0);
    str(s, 10, 'node1');
    tag(s, 11, VARINT).bool(false);
    sub(s, 18, (a) => sub(a, 1, (na) => sub(na, 1, (ns) => sub(ns, 1, (term) => sub(term, 2, (req) => (str(req, 1, 'metadata.name'), str(req, 2, 'In'), str(req, 3, 'node1')))))));
    sub(s, 22, (x) => (str(x, 1, 'node.kubernetes.io/not-ready'), str(x, 2, 'Exists'), str(x, 4, 'NoExecute'), varint(x, 5, 300)));
    tag(s, 25, VARINT).int32(0);
  });
  sub(raw, 3, (st) => {
    str(st, 1, 'Running');
    sub(st, 2, (c) => (str(c, 1, 'Ready'), str(c, 2, 'True'), sub(c, 3, () => undefined), sub(c, 4, (x) => varint(x, 1, 1700000000))));
    str(st, 5, '10.0.0.1');
    sub(st, 16, (h) => str(h, 1, '10.0.0.1'));
    str(st, 6, '10.244.0.5');
    sub(st, 12, (h) => str(h, 1, '10.244.0.5'));
    sub(st, 7, (x) => varint(x, 1, 1700000000));
    sub(st, 8, (cs) => {
      str(cs, 1, 'app');
      sub(cs, 2, (s) => sub(s, 2, (r) => sub(r, 1, (x) => varint(x, 1, 1700000001))));
      sub(cs, 3, (s) => sub(s, 3, (x) => (tag(x, 1, VARINT).int32(0), str(x, 3, 'Completed'))));
      tag(cs, 4, VARINT).bool(true);
      tag(cs, 5, VARINT).int32(0);
      str(cs, 6, 'busybox');
      str(cs, 7, '');
      str(cs, 8, 'containerd://abc');
      tag(cs, 9, VARINT).bool(true);
    });
    str(st, 9, 'Burstable');
  });
  const w = Writer.create();
  sub(w, 1, (m) => (str(m, 1, 'v1'), str(m, 2, 'Pod')));
  tag(w, 2, LEN).bytes(raw.finish());
  const body = Buffer.concat([PROTOBUF_MAGIC, w.finish()]);
  t.same(decodeProtobufBody(body, podKind).object, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p1', namespace: 'default', annotations: { 'k8s.v1.cni.cncf.io/networks': 'virt-net1' } },
    spec: {
      volumes: [
        { name: 'dev', hostPath: { path: '/dev', type: 'Directory' } },
        { name: 'cfg', configMap: { name: 'sriovdp-config', defaultMode: 420 } },
      ],
      containers: [
        {
          name: 'app',
          image: 'busybox',
          command: ['sleep'],
          args: ['inf'],
          ports: [{ containerPort: 8080, protocol: 'TCP' }],
          env: [{ name: 'A', value: 'b' }],
          resources: { limits: { 'kernel.org/virt': '1' }, requests: { cpu: '100m' } },
          volumeMounts: [{ name: 'dev', mountPath: '/dev' }],
          livenessProbe: { httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 10 },
          securityContext: { privileged: true, capabilities: { add: ['NET_ADMIN'] } },
          tty: true,
        },
      ],
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 0,
      nodeName: 'node1',
      affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['node1'] }] }] } } },
      tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 }],
      priority: 0,
    },
    status: {
      phase: 'Running',
      conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2023-11-14T22:13:20Z' }],
      hostIP: '10.0.0.1',
      hostIPs: [{ ip: '10.0.0.1' }],
      podIP: '10.244.0.5',
      podIPs: [{ ip: '10.244.0.5' }],
      startTime: '2023-11-14T22:13:20Z',
      containerStatuses: [
        {
          name: 'app',
          state: { running: { startedAt: '2023-11-14T22:13:21Z' } },
          lastState: { terminated: { exitCode: 0, reason: 'Completed' } },
          ready: true,
          restartCount: 0,
          image: 'busybox',
          imageID: '',
          containerID: 'containerd://abc',
          started: true,
        },
      ],
      qosClass: 'Burstable',
    },
  }, 'the zero values a pointer or a field without omitempty keeps (0 grace, priority 0, exitCode 0, restartCount 0) are kept; plain false bools are not');
});

/** the deployments' objects (DaemonSets, ConfigMaps, ServiceAccounts, NADs) created through the registry */
function createDeployments(registry: Registry): void {
  const dir = join(projectRoot(), 'deployments');
  for (const f of ['virt-crd.yaml', 'sriovdp-configmap.yaml', 'virtdp-daemonset.yaml', 'sriovdp-daemonset.yaml', 'sriov-cni-daemonset.yaml']) {
    for (const doc of parseAllDocuments(readFileSync(join(dir, f), 'utf8'))) {
      const o = doc.toJS() as { kind: string; metadata?: { namespace?: string } } | null;
      if (!o) continue;
      const r: ResourceInfo = resourceOfKind(o.kind as Parameters<typeof resourceOfKind>[0]);
      registry.create({ r, namespace: o.metadata?.namespace ?? 'default' }, o, { fieldValidation: 'Strict', warnings: [] });
    }
  }
}

const TUTORIAL_POD = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'virtdevicepod1', annotations: { 'k8s.v1.cni.cncf.io/networks': 'virt-net1' } },
  spec: { containers: [{ name: 'appcntr1', image: 'busybox', command: ['sleep', 'infinity'], resources: { requests: { 'kernel.org/virt': '1' }, limits: { 'kernel.org/virt': '1' } } }] },
};

t.test("round trips: every pod the simulator made, through the encoder and the decoder, unchanged", async (t) => {
  const cluster = new Cluster({ seed: 11 });
  const registry = new Registry(cluster);
  registry.bootstrap();
  cluster.addNode(new FakeAgent('node1', { 'kernel.org/virt': 1 }), { labels: { 'kubernetes.io/arch': 'amd64' } });
  t.teardown(() => cluster.close());
  createDeployments(registry);
  const podTarget = { r: resourceOfKind('Pod'), namespace: 'default' };
  registry.create(podTarget, TUTORIAL_POD, { fieldValidation: 'Strict', warnings: [] });
  registry.create(podTarget, { ...TUTORIAL_POD, metadata: { ...TUTORIAL_POD.metadata, name: 'virtdevicepod2' } }, { fieldValidation: 'Strict', warnings: [] });
  await cluster.settle();
  const pods = cluster.store.list('Pod');
  t.ok(pods.length >= 4, `${pods.length} pods: the DaemonSets' and the tutorial's`);
  t.ok(pods.some((p) => p.status?.phase === 'Running') && pods.some((p) => p.status?.phase === 'Pending'), 'Running and Pending ones');
  for (const p of pods) {
    // as the API server writes it (a pod has no MicroTime)
    const json = asJson({ apiVersion: 'v1', kind: 'Pod', ...p }) as Record<string, unknown>;
    const back = decodeProtobufBody(encodeProtobufBody(json), podKind).object;
    t.same(back, json, `${p.metadata?.namespace}/${p.metadata?.name} (${p.status?.phase})`);
  }
  t.throws(() => encodeProtobufBody({ apiVersion: 'v1', kind: 'Pod', spec: { containers: [{ name: 'a', notAField: 1 }] } }), new ProtobufEncodeError('spec.containers[0].notAField: no field of Container in the protobuf table'), 'a field the table lacks is an error, never dropped');
});

t.test('the API server: a protobuf pods/status UPDATE that sets the network-status annotation (what Multus sends)', async (t) => {
  const cluster = new Cluster({ seed: 12 });
  cluster.addNode(new FakeAgent('node1', { 'kernel.org/virt': 1 }));
  const logs: string[] = [];
  const api = await ApiServer.start({ cluster, log: (l) => logs.push(l) });
  t.teardown(async () => {
    await api.close();
    cluster.close();
  });
  const created = await send(api, 'POST', '/api/v1/namespaces/default/pods', encodeProtobufBody(TUTORIAL_POD), PROTOBUF_CONTENT_TYPE, `${PROTOBUF_CONTENT_TYPE},application/json`);
  t.equal(created.code, 201, `a protobuf POST of a pod: ${created.body}`);
  await cluster.settle();
  const get = await send(api, 'GET', '/api/v1/namespaces/default/pods/virtdevicepod1', '', 'application/json', `${PROTOBUF_CONTENT_TYPE},application/json`);
  t.equal(get.code, 200);
  const pod = JSON.parse(get.body) as { metadata: { annotations: Record<string, string>; resourceVersion: string }; spec: unknown; status: unknown };
  const before = cluster.store.mustGet('Pod', 'default', 'virtdevicepod1');
  const status = JSON.stringify([{ name: 'sriov-lab-default', interface: 'eth0', ips: ['10.244.0.2'], default: true, dns: {} }, { name: 'default/virt-net1', interface: 'net1', dns: {} }], null, 4);
  // as setPodNetworkStatus does: both annotations on the pod as GET returned it, then UpdateStatus
  const sent = { ...pod, metadata: { ...pod.metadata, annotations: { ...pod.metadata.annotations, 'k8s.v1.cni.cncf.io/network-status': status, 'k8s.v1.cni.cncf.io/networks-status': status } } };
  const put = await send(api, 'PUT', '/api/v1/namespaces/default/pods/virtdevicepod1/status', encodeProtobufBody(withoutNulls(sent) as Record<string, unknown>), PROTOBUF_CONTENT_TYPE, `${PROTOBUF_CONTENT_TYPE},application/json`);
  t.equal(put.code, 200, `200 (${put.code === 200 ? 'ok' : put.body})`);
  const after = cluster.store.mustGet('Pod', 'default', 'virtdevicepod1');
  t.equal(after.metadata?.annotations?.['k8s.v1.cni.cncf.io/network-status'], status, 'the annotation is stored as sent');
  t.equal(after.metadata?.annotations?.['k8s.v1.cni.cncf.io/networks'], 'virt-net1', 'the other annotations kept');
  t.same(asJson(after.spec), asJson(before.spec), 'the spec unchanged');
  t.same(asJson(after.status), asJson(before.status), 'the status as it was (sent back unchanged, its times in whole seconds as the API server gives them)');
  const stale = await send(api, 'PUT', '/api/v1/namespaces/default/pods/virtdevicepod1/status', encodeProtobufBody(withoutNulls(sent) as Record<string, unknown>), PROTOBUF_CONTENT_TYPE);
  t.equal(stale.code, 409, 'the same body again: its resourceVersion is stale, a conflict that client-go retries on');
  t.same(logs, [], 'nothing was an internal error');
});
