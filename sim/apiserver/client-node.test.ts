// @kubernetes/client-node against the API server over a Cluster with in-process kubelets (FakeAgent): list with
// selectors, watch (ADDED, MODIFIED, DELETED in order; from a resourceVersion; 410 past the history; bookmarks),
// and the three patch types plus server-side apply, as a client library's user would call them.
import t, { type Test } from 'tap';
import { CoreV1Api, CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions, Watch, type V1Pod } from '@kubernetes/client-node';
import { Cluster } from '../cluster/cluster.ts';
import { FakeAgent } from '../cluster/fake-agent.ts';
import { ApiServer } from './server.ts';

const pod = (name: string, labels: Record<string, string> = {}): V1Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels },
  spec: { containers: [{ name: 'app', image: 'busybox', resources: { limits: { 'intel.com/vf': '1' } } }] },
});

async function setUp(t: Test, opts: { watchHistory?: number; bookmarkIntervalMs?: number } = {}) {
  const cluster = new Cluster({ seed: 5 });
  cluster.addNode(new FakeAgent('node1', { 'intel.com/vf': 2 }));
  const api = await ApiServer.start({ cluster, ...opts });
  t.teardown(async () => {
    await api.close();
    cluster.close();
  });
  const kc = new KubeConfig();
  kc.loadFromString(api.kubeconfig());
  return { cluster, api, kc, core: kc.makeApiClient(CoreV1Api) };
}

interface Seen {
  type: string;
  name: string;
  phase?: string;
  deleting: boolean;
}

function watchInto(kc: KubeConfig, path: string, query: Record<string, string | boolean>, seen: Seen[]): Promise<AbortController> {
  return new Watch(kc).watch(
    path,
    query,
    (type, obj: V1Pod) => seen.push({ type, name: obj.metadata?.name ?? '', phase: obj.status?.phase, deleting: !!obj.metadata?.deletionTimestamp }),
    () => undefined,
  );
}

async function until(what: string, f: () => boolean, timeoutMs = 5000): Promise<void> {
  const t0 = Date.now();
  while (!f()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`${what} not reached after ${timeoutMs}ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

t.test('list with label and field selectors', async (t) => {
  const { core, cluster } = await setUp(t);
  await core.createNamespacedPod({ namespace: 'default', body: pod('a', { app: 'x' }) });
  await core.createNamespacedPod({ namespace: 'default', body: pod('b', { app: 'y' }) });
  await core.createNamespacedPod({ namespace: 'default', body: pod('c', { app: 'x' }) });
  await cluster.settle();
  const all = await core.listNamespacedPod({ namespace: 'default' });
  t.same(all.items.map((p) => p.metadata?.name), ['a', 'b', 'c']);
  t.equal(all.metadata?.resourceVersion, cluster.store.resourceVersion, 'the list carries the store resourceVersion');
  t.same((await core.listNamespacedPod({ namespace: 'default', labelSelector: 'app=x' })).items.map((p) => p.metadata?.name), ['a', 'c']);
  t.same((await core.listNamespacedPod({ namespace: 'default', labelSelector: 'app in (y,z)' })).items.map((p) => p.metadata?.name), ['b']);
  t.same((await core.listNamespacedPod({ namespace: 'default', labelSelector: '!app' })).items, []);
  t.same((await core.listNamespacedPod({ namespace: 'default', fieldSelector: 'status.phase=Pending' })).items.map((p) => p.metadata?.name), ['c'], 'the third pod found no device');
  t.same((await core.listPodForAllNamespaces({ fieldSelector: 'spec.nodeName=node1,metadata.name!=a' })).items.map((p) => p.metadata?.name), ['b']);
  const events = await core.listNamespacedEvent({ namespace: 'default', fieldSelector: 'involvedObject.name=c,reason=FailedScheduling' });
  t.equal(events.items.length, 1);
  t.equal(events.items[0].message, '0/1 nodes are available: 1 Insufficient intel.com/vf.');
  const page1 = await core.listNamespacedPod({ namespace: 'default', limit: 2 });
  t.equal(page1.items.length, 2);
  const page2 = await core.listNamespacedPod({ namespace: 'default', limit: 2, _continue: page1.metadata?._continue });
  t.same(page2.items.map((p) => p.metadata?.name), ['c'], 'limit and continue page through the list');
  await t.rejects(core.listNamespacedPod({ namespace: 'default', fieldSelector: 'spec.foo=bar' }), { code: 400, body: /field label not supported: spec\.foo/ });
  await t.rejects(core.readNamespacedPod({ namespace: 'default', name: 'zz' }), { code: 404, body: /pods \\"zz\\" not found/ });
  await t.rejects(core.createNamespacedPod({ namespace: 'nowhere', body: pod('d') }), { code: 404, body: /namespaces \\"nowhere\\" not found/ });
});

t.test('watch: ADDED, MODIFIED, DELETED in order; from a resourceVersion; too old → 410', async (t) => {
  const { core, kc, cluster, api } = await setUp(t, { watchHistory: 50 });
  const seen: Seen[] = [];
  const w = await watchInto(kc, '/api/v1/namespaces/default/pods', {}, seen);
  t.teardown(() => w.abort());
  const rvBefore = cluster.store.resourceVersion;
  await core.createNamespacedPod({ namespace: 'default', body: pod('w') });
  await until('w running', () => seen.some((s) => s.name === 'w' && s.phase === 'Running'));
  await core.deleteNamespacedPod({ namespace: 'default', name: 'w' });
  await until('w deleted', () => seen.some((s) => s.type === 'DELETED'));
  t.equal(seen[0].type, 'ADDED');
  t.equal(seen[0].phase, 'Pending');
  t.ok(seen.slice(1, -1).every((s) => s.type === 'MODIFIED'), 'then only MODIFIED until the end');
  t.ok(seen.some((s) => s.type === 'MODIFIED' && s.deleting), 'Terminating (deletionTimestamp) arrives as MODIFIED');
  t.equal(seen.at(-1)!.type, 'DELETED');

  // a watch from the resourceVersion before the pod replays the same story
  const replay: Seen[] = [];
  const w2 = await watchInto(kc, '/api/v1/namespaces/default/pods', { resourceVersion: rvBefore }, replay);
  t.teardown(() => w2.abort());
  await until('replayed', () => replay.length === seen.length);
  t.same(
    replay.map((s) => s.type),
    seen.map((s) => s.type),
  );
  // a selector: the pod that stops matching is DELETED for that watch
  const sel: Seen[] = [];
  const w3 = await watchInto(kc, '/api/v1/namespaces/default/pods', { labelSelector: 'keep=yes' }, sel);
  t.teardown(() => w3.abort());
  await core.createNamespacedPod({ namespace: 'default', body: pod('s', { keep: 'yes' }) });
  await until('s added', () => sel.some((s) => s.type === 'ADDED'));
  await core.patchNamespacedPod({ namespace: 'default', name: 's', body: { metadata: { labels: { keep: 'no' } } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
  await until('s gone from the selection', () => sel.some((s) => s.type === 'DELETED'));
  t.equal(sel.at(-1)!.name, 's');

  // older than the history kept: the watch ends with a 410 Status
  for (let i = 0; i < 30; i++) await core.patchNamespacedPod({ namespace: 'default', name: 's', body: { metadata: { annotations: { n: String(i) } } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
  const expired = await new Promise<unknown>((resolve) => {
    void new Watch(kc).watch('/api/v1/namespaces/default/pods', { resourceVersion: '1' }, (type, obj) => type === 'ERROR' && resolve(obj), (e) => resolve(e));
  });
  t.match(expired, { kind: 'Status', code: 410, reason: 'Expired', message: /^too old resource version: 1 \(\d+\)$/ });
  t.ok(api.watchCount >= 1);
});

t.test('bookmarks carry the current resourceVersion', async (t) => {
  const { kc, cluster } = await setUp(t, { bookmarkIntervalMs: 50 });
  const marks: string[] = [];
  const w = await new Watch(kc).watch('/api/v1/nodes', { allowWatchBookmarks: true }, (type, obj: { metadata?: { resourceVersion?: string } }) => type === 'BOOKMARK' && marks.push(obj.metadata?.resourceVersion ?? ''), () => undefined);
  t.teardown(() => w.abort());
  await until('a bookmark', () => marks.length > 0);
  t.equal(marks[0], cluster.store.resourceVersion);
});

t.test('patch: merge, JSON, strategic merge, server-side apply; 415 for others', async (t) => {
  const { core, kc } = await setUp(t);
  await core.createNamespacedPod({ namespace: 'default', body: { ...pod('p', { a: '1' }), spec: { containers: [{ name: 'app', image: 'img:1', env: [{ name: 'X', value: '1' }] }, { name: 'side', image: 'side:1' }] } } });
  const merge = await core.patchNamespacedPod({ namespace: 'default', name: 'p', body: { metadata: { labels: { b: '2', a: null } } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
  t.same(merge.metadata?.labels, { b: '2' }, 'merge patch: null deletes, the rest merges');
  const json = await core.patchNamespacedPod(
    {
      namespace: 'default',
      name: 'p',
      body: [
        { op: 'add', path: '/metadata/annotations', value: { 'x/y': 'z' } },
        { op: 'replace', path: '/spec/containers/1/image', value: 'side:2' },
        { op: 'test', path: '/metadata/labels/b', value: '2' },
      ],
    },
    setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
  );
  t.equal(json.metadata?.annotations?.['x/y'], 'z');
  t.equal(json.spec?.containers[1].image, 'side:2', 'JSON patch addresses list items by index');
  await t.rejects(
    core.patchNamespacedPod({ namespace: 'default', name: 'p', body: [{ op: 'test', path: '/metadata/labels/b', value: 'nope' }] }, setHeaderOptions('Content-Type', PatchStrategy.JsonPatch)),
    { code: 422 },
    'a failed test op is refused',
  );
  const strategic = await core.patchNamespacedPod(
    { namespace: 'default', name: 'p', body: { spec: { containers: [{ name: 'app', image: 'img:2' }] } } },
    setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
  );
  t.same(
    strategic.spec?.containers.map((c) => [c.name, c.image]),
    [
      ['app', 'img:2'],
      ['side', 'side:2'],
    ],
    'containers merged by name: the other one kept',
  );
  t.same(strategic.spec?.containers[0].env, [{ name: 'X', value: '1' }], 'and the rest of the merged container kept');
  await core.createNamespacedServiceAccount({ namespace: 'default', body: { metadata: { name: 'sa' }, secrets: [{ name: 's1' }, { name: 's2' }] } });
  const sa = await core.patchNamespacedServiceAccount(
    { namespace: 'default', name: 'sa', body: { secrets: [{ name: 's3' }, { name: 's1', $patch: 'delete' }] } },
    setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
  );
  t.same(
    sa.secrets?.map((x) => x.name),
    ['s2', 's3'],
    'a list merged by key: one added, one removed with $patch: delete',
  );
  const ordered = await core.patchNamespacedServiceAccount(
    { namespace: 'default', name: 'sa', body: { '$setElementOrder/secrets': [{ name: 's3' }, { name: 's2' }] } },
    setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
  );
  t.same(
    ordered.secrets?.map((x) => x.name),
    ['s3', 's2'],
    '$setElementOrder reorders',
  );
  const forbidden = core.patchNamespacedPod({ namespace: 'default', name: 'p', body: { spec: { restartPolicy: 'Never' } } }, setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch));
  await t.rejects(forbidden, { code: 422, body: /Pod \\"p\\" is invalid: spec: Forbidden: pod updates may not change fields other than/ });
  const strict = core.patchNamespacedPod({ namespace: 'default', name: 'p', fieldValidation: 'Strict', body: { spec: { bogus: 1 } } }, setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch));
  await t.rejects(strict, { code: 400, body: /strict decoding error: unknown field \\"spec.bogus\\"/ });

  const custom = kc.makeApiClient(CustomObjectsApi);
  const nad = { apiVersion: 'k8s.cni.cncf.io/v1', kind: 'NetworkAttachmentDefinition', metadata: { name: 'n1' }, spec: { config: '{}' } };
  await custom.createNamespacedCustomObject({ group: 'k8s.cni.cncf.io', version: 'v1', namespace: 'default', plural: 'network-attachment-definitions', body: nad });
  const nadStrategic = custom.patchNamespacedCustomObject(
    { group: 'k8s.cni.cncf.io', version: 'v1', namespace: 'default', plural: 'network-attachment-definitions', name: 'n1', body: { spec: { config: '{"a":1}' } } },
    setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
  );
  await t.rejects(nadStrategic, { code: 415, body: /the body of the request was in an unknown format - accepted media types include: application\/json-patch\+json, application\/merge-patch\+json, application\/apply-patch\+yaml/ }, 'custom resources take no strategic merge patch');
  const applied = (await custom.patchNamespacedCustomObject(
    { group: 'k8s.cni.cncf.io', version: 'v1', namespace: 'default', plural: 'network-attachment-definitions', name: 'n2', fieldManager: 'test', body: { ...nad, metadata: { name: 'n2' }, spec: { config: '{"b":2}' } } },
    setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
  )) as { spec: { config: string } };
  t.equal(applied.spec.config, '{"b":2}', 'server-side apply creates a missing object');
  const strictNad = custom.createNamespacedCustomObject({ group: 'k8s.cni.cncf.io', version: 'v1', namespace: 'default', plural: 'network-attachment-definitions', fieldValidation: 'Strict', body: { ...nad, metadata: { name: 'n3' }, spec: { config: '{}', extra: true } } });
  await t.rejects(strictNad, { code: 400, body: /NetworkAttachmentDefinition in version \\"v1\\" cannot be handled as a NetworkAttachmentDefinition: strict decoding error: unknown field \\"spec.extra\\"/ });
});

t.test("a CNI's network-status write: UpdateStatus of a pod with the annotation, as Multus writes it, retried on a conflict", async (t) => {
  const { core, cluster } = await setUp(t);
  await core.createNamespacedPod({ namespace: 'default', body: pod('net') });
  await cluster.settle();
  const status = JSON.stringify([{ name: 'default/sriov-net', interface: 'net1', ips: ['192.168.50.2'], dns: {} }]);
  const read = await core.readNamespacedPod({ namespace: 'default', name: 'net' });
  // another writer in between: the stale resourceVersion is a 409, as the apiserver answers; Multus reads and retries
  await core.patchNamespacedPod({ namespace: 'default', name: 'net', body: { metadata: { labels: { seen: 'yes' } } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
  const stale = core.replaceNamespacedPodStatus({ namespace: 'default', name: 'net', body: { ...read, metadata: { ...read.metadata, annotations: { ...read.metadata?.annotations, 'k8s.v1.cni.cncf.io/network-status': status } } } });
  await t.rejects(stale, { code: 409, body: /Operation cannot be fulfilled on pods \\"net\\": the object has been modified/ });
  const fresh = await core.readNamespacedPod({ namespace: 'default', name: 'net' });
  const written = await core.replaceNamespacedPodStatus({ namespace: 'default', name: 'net', body: { ...fresh, metadata: { ...fresh.metadata, annotations: { ...fresh.metadata?.annotations, 'k8s.v1.cni.cncf.io/network-status': status } } } });
  t.equal(written.metadata?.annotations?.['k8s.v1.cni.cncf.io/network-status'], status, 'the annotation is written through pods/status');
  t.equal(cluster.store.get('Pod', 'default', 'net')?.metadata?.annotations?.['k8s.v1.cni.cncf.io/network-status'], status, 'and stored');
  t.equal(written.metadata?.labels?.seen, 'yes', 'the other writer\'s change kept');
  t.equal(written.spec?.nodeName, 'node1', 'the spec untouched');
});
