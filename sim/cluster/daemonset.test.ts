// The DaemonSet controller over a Cluster with in-process nodes: one pod per node that fits (nodeSelector, taints
// against tolerations), owned and named like upstream's, recreated when deleted or failed, rolled on a template
// change, gone with the DaemonSet; its status and the Table kubectl prints of it.
import t from 'tap';
import type { V1DaemonSet } from '@kubernetes/client-node';
import { Registry, type Target } from '../apiserver/rest.ts';
import { resourceOfKind } from '../apiserver/resources.ts';
import { ApiError } from '../apiserver/status.ts';
import { toTable } from '../apiserver/table.ts';
import { Cluster } from './cluster.ts';
import { targetNodeName } from './daemonset.ts';
import { FakeAgent } from './fake-agent.ts';

const DS = (extra: Record<string, unknown> = {}): V1DaemonSet =>
  ({
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'dp', namespace: 'kube-system' },
    spec: {
      selector: { matchLabels: { name: 'dp' } },
      template: { metadata: { labels: { name: 'dp' } }, spec: { containers: [{ name: 'plugin', image: 'example/dp:1' }], ...extra } },
    },
  }) as V1DaemonSet;

function setup(t: { teardown(fn: () => void): void }) {
  const cluster = new Cluster({ seed: 7 });
  const registry = new Registry(cluster);
  registry.bootstrap();
  cluster.addNode(new FakeAgent('node-a'), { labels: { role: 'sriov' } });
  cluster.addNode(new FakeAgent('node-b'));
  cluster.addNode(new FakeAgent('node-c'), { taints: [{ key: 'dedicated', value: 'x', effect: 'NoSchedule' }] });
  t.teardown(() => cluster.close());
  const target: Target = { r: resourceOfKind('DaemonSet'), namespace: 'kube-system' };
  const ctx = () => ({ fieldValidation: 'Strict' as const, warnings: [] });
  const pods = () => cluster.store.list('Pod', 'kube-system').filter((p) => !p.metadata?.deletionTimestamp);
  const byNode = () => Object.fromEntries(pods().map((p) => [p.spec?.nodeName ?? '?', p.metadata!.name!]));
  return { cluster, registry, target, ctx, pods, byNode };
}

t.test('one pod per untainted node, owned, pinned and named <ds>-<5 chars>', async (t) => {
  const { cluster, registry, target, ctx, pods, byNode } = setup(t);
  const ds = registry.create(target, DS(), ctx()) as V1DaemonSet;
  await cluster.settle();
  t.same(Object.keys(byNode()).sort(), ['node-a', 'node-b'], 'the tainted node gets no pod');
  for (const p of pods()) {
    t.match(p.metadata!.name, /^dp-[bcdfghjklmnpqrstvwxz2456789]{5}$/, 'named like generateName');
    t.same(p.metadata?.ownerReferences?.map((o) => [o.kind, o.name, o.uid, o.controller]), [['DaemonSet', 'dp', ds.metadata!.uid, true]]);
    t.equal(targetNodeName({ spec: { ...p.spec!, nodeName: undefined } }), p.spec?.nodeName, 'pinned by a node affinity on metadata.name');
    t.ok(p.spec?.tolerations?.some((x) => x.key === 'node.kubernetes.io/unschedulable'), "the controller's tolerations are added");
    t.equal(p.status?.phase, 'Running');
  }
  const st = cluster.store.mustGet('DaemonSet', 'kube-system', 'dp').status!;
  t.same(
    [st.desiredNumberScheduled, st.currentNumberScheduled, st.numberReady, st.updatedNumberScheduled, st.numberAvailable, st.numberUnavailable],
    [2, 2, 2, 2, 2, undefined],
  );
  const events = cluster.store.list('Event', 'kube-system').filter((e) => e.involvedObject.kind === 'DaemonSet');
  t.same(events.map((e) => e.reason), ['SuccessfulCreate', 'SuccessfulCreate']);
  t.equal(events[0].involvedObject.apiVersion, 'apps/v1');
});

t.test('a toleration admits the tainted node; a nodeSelector narrows to its nodes', async (t) => {
  const { cluster, registry, target, ctx, byNode } = setup(t);
  registry.create(target, DS({ tolerations: [{ operator: 'Exists' }] }), ctx());
  registry.create(target, { ...DS({ nodeSelector: { role: 'sriov' } }), metadata: { name: 'sel', namespace: 'kube-system' } }, ctx());
  await cluster.settle();
  const pods = cluster.store.list('Pod', 'kube-system');
  t.same(pods.filter((p) => p.metadata?.name?.startsWith('dp-')).map((p) => p.spec?.nodeName).sort(), ['node-a', 'node-b', 'node-c']);
  t.same(pods.filter((p) => p.metadata?.name?.startsWith('sel-')).map((p) => p.spec?.nodeName), ['node-a']);
  const table = toTable('DaemonSet', cluster.store.list('DaemonSet', 'kube-system'), { nowMs: Date.now(), include: 'None', apiVersion: 'meta.k8s.io/v1' }) as {
    columnDefinitions: Array<{ name: string; priority: number }>;
    rows: Array<{ cells: unknown[] }>;
  };
  t.same(
    table.columnDefinitions.filter((c) => c.priority === 0).map((c) => c.name.toUpperCase()),
    ['NAME', 'DESIRED', 'CURRENT', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'NODE SELECTOR', 'AGE'],
  );
  t.same(table.rows.map((r) => r.cells.slice(0, 7)), [
    ['dp', 3, 3, 3, 3, 3, '<none>'],
    ['sel', 1, 1, 1, 1, 1, 'role=sriov'],
  ]);
  t.same(table.rows[0].cells.slice(8), ['plugin', 'example/dp:1', 'name=dp'], 'wide: containers, images, selector');
  void byNode;
});

t.test('a deleted or failed pod is replaced; a node that stops fitting loses its pod', async (t) => {
  const { cluster, registry, target, ctx, byNode } = setup(t);
  registry.create(target, DS(), ctx());
  await cluster.settle();
  const first = byNode();
  await cluster.deletePod('kube-system', first['node-a']);
  await cluster.settle();
  const second = byNode();
  t.ok(second['node-a'], 'node-a has a pod again');
  t.not(second['node-a'], first['node-a'], 'a new one');
  t.equal(second['node-b'], first['node-b'], 'the other is left alone');

  await cluster.completePod('kube-system', second['node-b'], 'Failed');
  await cluster.settle();
  t.not(byNode()['node-b'], second['node-b'], 'a failed pod is deleted and replaced');
  t.equal(cluster.store.list('Pod', 'kube-system').length, 2);

  cluster.apply({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-b' }, spec: { taints: [{ key: 'gone', effect: 'NoExecute' }] } });
  await cluster.settle();
  t.same(Object.keys(byNode()), ['node-a'], 'a NoExecute taint the pods do not tolerate evicts them');
  t.equal(cluster.store.mustGet('DaemonSet', 'kube-system', 'dp').status?.desiredNumberScheduled, 1);
});

t.test('a template change rolls the pods; deleting the DaemonSet deletes them', async (t) => {
  const { cluster, registry, target, ctx, pods } = setup(t);
  registry.create(target, DS(), ctx());
  await cluster.settle();
  const before = pods().map((p) => p.metadata!.name!);
  registry.patch({ ...target, name: 'dp' }, 'application/merge-patch+json', { spec: { template: { spec: { containers: [{ name: 'plugin', image: 'example/dp:2' }] } } } }, ctx());
  await cluster.settle();
  const ds = cluster.store.mustGet('DaemonSet', 'kube-system', 'dp');
  t.equal(ds.metadata?.generation, 2, 'a spec change bumps the generation');
  t.same(pods().map((p) => p.spec?.containers[0].image), ['example/dp:2', 'example/dp:2']);
  t.notOk(pods().some((p) => before.includes(p.metadata!.name!)), 'every pod was replaced');
  t.equal(ds.status?.updatedNumberScheduled, 2);

  registry.delete({ ...target, name: 'dp' }, (e) => t.fail(String(e)));
  await cluster.settle();
  t.same(cluster.store.list('Pod', 'kube-system'), [], 'its pods went with it');
});

t.test('the apiserver refuses a DaemonSet whose selector does not select its template', async (t) => {
  const { registry, target, ctx } = setup(t);
  const bad = DS();
  bad.spec!.selector = { matchLabels: { name: 'other' } };
  const e = (() => {
    try {
      registry.create(target, bad, ctx());
    } catch (err) {
      return err;
    }
  })();
  t.ok(e instanceof ApiError);
  t.equal((e as ApiError).code, 422);
  // every other kind is created as itself, not checked as a DaemonSet
  const cm = registry.create({ r: resourceOfKind('ConfigMap'), namespace: 'kube-system' }, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: 'b' } }, ctx());
  t.equal(cm.kind, 'ConfigMap');
  t.ok(registry.get({ r: resourceOfKind('ConfigMap'), namespace: 'kube-system', name: 'c' }));
  t.match((e as Error).message, 'DaemonSet.apps "dp" is invalid: spec.template.metadata.labels: Invalid value: map[string]string{"name":"dp"}: `selector` does not match template `labels`');
});

t.test('a rolling update replaces at most rollingUpdate.maxUnavailable nodes\' pods at a time', async (t) => {
  for (const [maxUnavailable, nodes, expected] of [
    [1, 4, 1],
    [2, 4, 2],
    ['50%', 5, 3],
  ] as const) {
    const { cluster, registry, target, ctx, pods } = setup(t);
    for (let i = 0; i < nodes - 2; i++) cluster.addNode(new FakeAgent(`node-x${i}`));
    const ds = DS();
    ds.spec!.updateStrategy = { type: 'RollingUpdate', rollingUpdate: { maxUnavailable } };
    registry.create(target, ds, ctx());
    await cluster.settle();
    t.equal(pods().length, nodes, `${nodes} untainted nodes, one pod each`);
    // on every change of a pod: how many nodes have no ready pod that is not being deleted
    let worst = 0;
    const unavailable = () => {
      const ready = new Set(
        pods()
          .filter((p) => p.status?.phase === 'Running' && p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
          .map((p) => p.spec?.nodeName),
      );
      worst = Math.max(worst, nodes - ready.size);
    };
    const stop = cluster.store.watch('Pod', { added: unavailable, modified: unavailable, deleted: unavailable });
    registry.patch({ ...target, name: 'dp' }, 'application/merge-patch+json', { spec: { template: { spec: { containers: [{ name: 'plugin', image: 'example/dp:2' }] } } } }, ctx());
    for (let i = 0; i < 50 && pods().some((p) => p.spec?.containers[0].image !== 'example/dp:2' || p.status?.phase !== 'Running'); i++) await cluster.settle();
    stop();
    t.same(pods().map((p) => p.spec?.containers[0].image), Array(nodes).fill('example/dp:2'), `maxUnavailable ${maxUnavailable}: the rollout completes`);
    t.equal(worst, expected, `maxUnavailable ${maxUnavailable} of ${nodes} nodes: at most ${expected} without a ready pod at once, and that many used`);
    const st = cluster.store.mustGet('DaemonSet', 'kube-system', 'dp').status!;
    t.same([st.updatedNumberScheduled, st.numberAvailable, st.numberUnavailable], [nodes, nodes, undefined]);
  }
});
