// The API and the store agree. Scenario operations write to the store in process (Cluster.apply, scheduling,
// Cluster.deletePod, as harness/cluster/handle.ts does), while sriov-lab's CLI, kubectl and client libraries read the
// same objects through the API server: after a scenario-like sequence every object @kubernetes/client-node lists equals
// the store's (uid, resourceVersion, spec, status, all of it), and a watch through the API sees each store change, in
// order, with the store's resourceVersions.
import t from 'tap';
import { ApiextensionsV1Api, AppsV1Api, CoreV1Api, CustomObjectsApi, KubeConfig, Watch, type KubernetesObject } from '@kubernetes/client-node';
import { Cluster } from '../cluster/cluster.ts';
import { FakeAgent } from '../cluster/fake-agent.ts';
import { toPlain } from '../cluster/kubectl.ts';
import { parseManifests } from '../cluster/manifest.ts';
import type { AnyObject, Kind } from '../cluster/store.ts';
import { RESOURCES } from './resources.ts';
import { ApiServer } from './server.ts';

const MANIFEST = `apiVersion: k8s.cni.cncf.io/v1
kind: NetworkAttachmentDefinition
metadata:
  name: vf-net
  annotations: {k8s.v1.cni.cncf.io/resourceName: intel.com/vf}
spec:
  config: '{"cniVersion":"1.0.0","type":"host-device"}'
---
apiVersion: v1
kind: Pod
metadata: {name: a, labels: {app: x}, annotations: {k8s.v1.cni.cncf.io/networks: vf-net}}
spec: {containers: [{name: app, image: busybox, resources: {limits: {intel.com/vf: 1}}}]}
---
apiVersion: v1
kind: Pod
metadata: {name: b, annotations: {k8s.v1.cni.cncf.io/networks: vf-net}}
spec: {containers: [{name: app, image: busybox, resources: {limits: {intel.com/vf: 1}}}]}
---
apiVersion: v1
kind: Pod
metadata: {name: c}
spec: {containers: [{name: app, image: busybox, resources: {limits: {intel.com/vf: 1}}}]}
`;

/** One change as a watcher saw it: the store's callback, or a watch event through the API. */
interface Change {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  kind: string;
  name: string;
  resourceVersion: string;
}

const changeOf = (type: Change['type'], o: KubernetesObject, kind: string): Change => ({ type, kind, name: o.metadata?.name ?? '', resourceVersion: o.metadata?.resourceVersion ?? '' });

async function until(what: string, f: () => boolean, timeoutMs = 10_000): Promise<void> {
  const t0 = Date.now();
  while (!f()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`${what} not reached after ${timeoutMs}ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

t.test('after apply, scheduling and a delete in process, the API lists what the store holds and watched every change', async (t) => {
  const cluster = new Cluster({ seed: 11 });
  cluster.addNode(new FakeAgent('node1', { 'intel.com/vf': 2 }));
  const api = await ApiServer.start({ cluster });
  t.teardown(async () => {
    await api.close();
    cluster.close();
  });
  const kc = new KubeConfig();
  kc.loadFromString(api.kubeconfig());

  // what the store reports and what watches through the API see, from the same starting resourceVersion
  const watched = ['Pod', 'NetworkAttachmentDefinition', 'Event'] as const;
  const fromStore: Change[] = [];
  for (const kind of watched) {
    t.teardown(
      cluster.store.watch(kind, {
        added: (o) => fromStore.push(changeOf('ADDED', o, kind)),
        modified: (o) => fromStore.push(changeOf('MODIFIED', o, kind)),
        // the store hands over the object as it was; the delete is a revision of its own, which a DELETED event carries
        deleted: (o) => fromStore.push({ ...changeOf('DELETED', o, kind), resourceVersion: cluster.store.resourceVersion }),
      }),
    );
  }
  const fromApi: Change[] = [];
  const paths: Record<(typeof watched)[number], string> = {
    Pod: '/api/v1/pods',
    NetworkAttachmentDefinition: '/apis/k8s.cni.cncf.io/v1/network-attachment-definitions',
    Event: '/api/v1/events',
  };
  const startRv = cluster.store.resourceVersion;
  for (const kind of watched) {
    const w = await new Watch(kc).watch(
      paths[kind],
      { resourceVersion: startRv },
      (type, o: KubernetesObject) => fromApi.push(changeOf(type as Change['type'], o, kind)),
      () => undefined,
    );
    t.teardown(() => w.abort());
  }

  // the scenario: apply a NAD and three pods for two VFs (one stays Pending), let them schedule and start, delete one
  for (const d of parseManifests(MANIFEST, 'scenario.yaml')) cluster.apply(d.object);
  await cluster.settle();
  t.equal(cluster.store.mustGet('Pod', 'default', 'c').status?.phase, 'Pending', 'the third pod waits for a VF');
  await cluster.deletePod('default', 'a');
  await cluster.settle();
  t.equal(cluster.store.mustGet('Pod', 'default', 'c').status?.phase, 'Running', 'and runs once the first is deleted');
  t.notOk(cluster.store.get('Pod', 'default', 'a'), 'the deleted pod is gone from the store');

  // every object of every resource the API serves, as client-node lists it, is the store's object
  const core = kc.makeApiClient(CoreV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const crds = kc.makeApiClient(ApiextensionsV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  const listed: Record<Kind, () => Promise<{ items: KubernetesObject[]; resourceVersion?: string }>> = {
    Pod: async () => core.listPodForAllNamespaces().then((l) => ({ items: l.items, resourceVersion: l.metadata?.resourceVersion })),
    Node: async () => core.listNode().then((l) => ({ items: l.items, resourceVersion: l.metadata?.resourceVersion })),
    Namespace: async () => core.listNamespace().then((l) => ({ items: l.items, resourceVersion: l.metadata?.resourceVersion })),
    Event: async () => core.listEventForAllNamespaces().then((l) => ({ items: l.items, resourceVersion: l.metadata?.resourceVersion })),
    ConfigMap: async () => core.listConfigMapForAllNamespaces().then((l) => ({ items: l.items, resourceVersion: l.metadata?.resourceVersion })),
    Secret: async () => core.listSecretForAllNamespaces().then((l) => ({ items: l.items, resourceVersion: l.metadata?.resourceVersion })),
    ServiceAccount: async () => core.listServiceAccountForAllNamespaces().then((l) => ({ items: l.items, resourceVersion: l.metadata?.resourceVersion })),
    DaemonSet: async () => apps.listDaemonSetForAllNamespaces().then((l) => ({ items: l.items, resourceVersion: l.metadata?.resourceVersion })),
    CustomResourceDefinition: async () => crds.listCustomResourceDefinition().then((l) => ({ items: l.items, resourceVersion: l.metadata?.resourceVersion })),
    NetworkAttachmentDefinition: async () =>
      (custom.listClusterCustomObject({ group: 'k8s.cni.cncf.io', version: 'v1', plural: 'network-attachment-definitions' }) as Promise<{ items: KubernetesObject[]; metadata?: { resourceVersion?: string } }>).then(
        (l) => ({ items: l.items, resourceVersion: l.metadata?.resourceVersion }),
      ),
  };
  t.same(Object.keys(listed).sort(), RESOURCES.map((r) => r.kind).sort(), 'every resource the API serves is compared');
  for (const r of RESOURCES) {
    const l = await listed[r.kind]();
    t.equal(l.resourceVersion, cluster.store.resourceVersion, `${r.resource}: the list carries the store's resourceVersion`);
    const inStore = cluster.store.list(r.kind) as AnyObject[];
    t.same(
      l.items.map((o) => `${o.metadata?.namespace ?? ''}/${o.metadata?.name}`),
      inStore.map((o) => `${o.metadata?.namespace ?? ''}/${o.metadata?.name}`),
      `${r.resource}: the same objects, in the same order`,
    );
    for (const [i, o] of l.items.entries()) {
      const s = inStore[i];
      if (!s) continue;
      const plain = toPlain(o) as { metadata: Record<string, unknown>; spec?: unknown; status?: unknown };
      const want = toPlain(s) as { metadata: Record<string, unknown>; spec?: unknown; status?: unknown };
      t.equal(plain.metadata.uid, want.metadata.uid, `${r.resource} ${s.metadata?.name}: uid`);
      t.equal(plain.metadata.resourceVersion, want.metadata.resourceVersion, `${r.resource} ${s.metadata?.name}: resourceVersion`);
      t.same(plain.spec, want.spec, `${r.resource} ${s.metadata?.name}: spec`);
      t.same(plain.status, want.status, `${r.resource} ${s.metadata?.name}: status`);
      t.same({ ...plain, apiVersion: undefined, kind: undefined }, { ...want, apiVersion: undefined, kind: undefined }, `${r.resource} ${s.metadata?.name}: the whole object`);
    }
  }

  // the watches through the API saw what the store reported, change for change
  const byKind = (cs: Change[], kind: string) => cs.filter((c) => c.kind === kind);
  await until('every store change reached the watches', () => fromApi.length >= fromStore.length);
  for (const kind of watched) t.same(byKind(fromApi, kind), byKind(fromStore, kind), `${kind}: the watch saw each store change, in order`);
  t.ok(fromStore.some((c) => c.kind === 'Pod' && c.type === 'DELETED' && c.name === 'a'), 'including the delete');
  t.ok(byKind(fromStore, 'Pod').length > 6, `and the scheduling and status changes (${byKind(fromStore, 'Pod').length} pod changes)`);
});
