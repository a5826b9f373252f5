import t from 'tap';
import type { V1Node, V1Pod, V1Taint } from '@kubernetes/client-node';
import { computePodRequests, fitErrorMessage, Scheduler } from './scheduler.ts';

const RES = 'intel.com/sriov';

function node(name: string, alloc: Record<string, string>, extra: { labels?: Record<string, string>; taints?: V1Taint[]; unschedulable?: boolean } = {}): V1Node {
  return {
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...extra.labels } },
    spec: { taints: extra.taints, unschedulable: extra.unschedulable },
    status: { allocatable: { cpu: '4', memory: '8Gi', pods: '110', ...alloc } },
  };
}

function pod(name: string, limits: Record<string, string> = {}, spec: Partial<NonNullable<V1Pod['spec']>> = {}): V1Pod {
  return {
    metadata: { name, namespace: 'default', uid: `uid-${name}` },
    spec: { containers: [{ name: 'app', resources: { limits, requests: limits } }], ...spec },
  };
}

function scheduleAll(s: Scheduler, pods: V1Pod[]): string[] {
  return pods.map((p) => {
    const r = s.schedule(p);
    if (!r.scheduled) return r.error.message;
    s.addPod(p.metadata!.uid!, r.nodeName, computePodRequests(p));
    return r.nodeName;
  });
}

t.test('FitError message: reasons counted per node, sorted as strings, joined by ", "', async (t) => {
  const s = new Scheduler({ seed: 1 });
  s.upsertNode(node('a', { [RES]: '0' }));
  s.upsertNode(node('b', { [RES]: '0' }));
  s.upsertNode(node('c', {}, { labels: { zone: 'x' }, taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] }));
  s.upsertNode(node('d', {}, { taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }] }));
  s.upsertNode(node('e', { cpu: '1' }, { labels: { other: 'y' } }));
  s.upsertNode(node('f', {}, { unschedulable: true }));
  const r = s.schedule(pod('p', { [RES]: '1', cpu: '2' }));
  t.notOk(r.scheduled);
  if (r.scheduled) return;
  t.equal(
    r.error.message,
    '0/6 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint {dedicated: gpu}, ' +
      '1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 1 node(s) were unschedulable, ' +
      '3 Insufficient intel.com/sriov.',
  );
  // node e is short of both cpu and the device: it counts under both reasons
  t.same(r.error.reasons.get(`Insufficient ${RES}`), 3);
  // the first failing filter decides a node's reason: taints and unschedulable come before the node selector
  const sel = s.schedule(pod('q', {}, { nodeSelector: { zone: 'x' } }));
  t.equal(
    sel.scheduled ? sel.nodeName : sel.error.message,
    '0/6 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, ' +
      "1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 1 node(s) were unschedulable, 3 node(s) didn't match Pod's node affinity/selector.",
  );
  t.equal(fitErrorMessage(10, new Map([['Insufficient x', 10], ['Insufficient y', 2]])), '0/10 nodes are available: 10 Insufficient x, 2 Insufficient y.');
  t.equal(fitErrorMessage(0, new Map()), '0/0 nodes are available:');
});

t.test('tolerations let a pod onto a tainted node; DaemonSet-like pinning by metadata.name', async (t) => {
  const s = new Scheduler({ seed: 1 });
  const taint: V1Taint = { key: 'dedicated', value: 'sriov', effect: 'NoSchedule' };
  for (const n of ['n1', 'n2', 'n3']) s.upsertNode(node(n, { [RES]: '1' }, { taints: [taint] }));
  const r0 = s.schedule(pod('no-tol'));
  t.equal(r0.scheduled ? '' : r0.error.message, '0/3 nodes are available: 3 node(s) had untolerated taint {dedicated: sriov}.');
  const tolEqual = [{ key: 'dedicated', operator: 'Equal', value: 'sriov', effect: 'NoSchedule' }];
  t.ok(s.schedule(pod('tol', {}, { tolerations: tolEqual })).scheduled);
  t.notOk(s.schedule(pod('tol-wrong', {}, { tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'gpu' }] })).scheduled);
  t.ok(s.schedule(pod('tol-all', {}, { tolerations: [{ operator: 'Exists' }] })).scheduled);
  // one pod per node, as the DaemonSet controller pins them
  const ds = ['n1', 'n2', 'n3'].map((n) =>
    pod(`ds-${n}`, { [RES]: '1' }, {
      tolerations: [{ operator: 'Exists' }],
      affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [n] }] }] } } },
    }),
  );
  t.same(scheduleAll(s, ds), ['n1', 'n2', 'n3']);
  t.equal(
    scheduleAll(s, [pod('ds-n1-again', { [RES]: '1' }, { tolerations: [{ operator: 'Exists' }], affinity: ds[0].spec!.affinity })])[0],
    "0/3 nodes are available: 1 Insufficient intel.com/sriov, 2 node(s) didn't match Pod's node affinity/selector.",
  );
});

t.test('pod count and requests are kept incrementally; removePod frees them', async (t) => {
  const s = new Scheduler({ seed: 1 });
  s.upsertNode(node('n', { pods: '2', [RES]: '4' }));
  t.same(scheduleAll(s, [pod('a', { [RES]: '1' }), pod('b', { [RES]: '2' })]), ['n', 'n']);
  t.same(s.requested('n')?.scalar.get(RES), 3);
  t.equal(scheduleAll(s, [pod('c')])[0], '0/1 nodes are available: 1 Too many pods.');
  t.ok(s.removePod('uid-a'));
  t.notOk(s.removePod('uid-a'), 'second remove is a no-op');
  t.same(s.requested('n')?.scalar.get(RES), 2);
  t.same(scheduleAll(s, [pod('c', { [RES]: '2' })]), ['n']);
  // allocatable dropping below what is allocated evicts nothing; new pods just do not fit
  s.upsertNode(node('n', { pods: '3', [RES]: '1' }));
  t.same(s.requested('n')?.scalar.get(RES), 4);
  t.equal(scheduleAll(s, [pod('d', { [RES]: '1' })])[0], `0/1 nodes are available: 1 Insufficient ${RES}.`);
});

t.test('init containers: max of init vs sum of app containers; sidecars add up', async (t) => {
  const p: V1Pod = {
    metadata: { name: 'x', uid: 'x' },
    spec: {
      initContainers: [
        { name: 'init', resources: { requests: { [RES]: '3', cpu: '1' } } },
        { name: 'side', restartPolicy: 'Always', resources: { requests: { [RES]: '1' } } },
      ],
      containers: [{ name: 'a', resources: { requests: { [RES]: '1', cpu: '500m' } } }, { name: 'b', resources: { requests: { memory: '1Gi' } } }],
    },
  };
  const r = computePodRequests(p);
  t.equal(r.scalar.get(RES), 3, 'max(init 3, sidecar 1 + app 1)');
  t.equal(r.milliCpu, 1000);
  t.equal(r.memory, 1073741824);
  t.equal(r.nonZeroMilliCpu, 1000);
});

t.test('spreading is deterministic for a seed and differs across seeds', async (t) => {
  const run = (seed: number): string[] => {
    const s = new Scheduler({ seed });
    for (let i = 0; i < 8; i++) s.upsertNode(node(`n${i}`, { [RES]: '8' }));
    return scheduleAll(s, Array.from({ length: 24 }, (_, i) => pod(`p${i}`, { [RES]: '1' })));
  };
  const a = run(7);
  t.same(run(7), a, 'same seed, same placement');
  const perNode = new Map<string, number>();
  for (const n of a) perNode.set(n, (perNode.get(n) ?? 0) + 1);
  t.same([...perNode.values()], Array(8).fill(3), 'LeastAllocated spreads 24 pods 3 per node');
  const seeds = [1, 2, 3, 4, 5].map((s) => run(s).join(','));
  t.ok(new Set(seeds).size > 1, 'tie-breaking depends on the seed');
});

t.test('large clusters: only a share of nodes is searched, and the start rotates', async (t) => {
  const s = new Scheduler({ seed: 1 });
  for (let i = 0; i < 1000; i++) s.upsertNode(node(`n${i}`, { [RES]: '1' }));
  const r1 = s.schedule(pod('a', { [RES]: '1' }));
  t.match(r1, { scheduled: true, feasibleNodes: 420, evaluatedNodes: 420 }, '50 - 1000/125 = 42%');
  const r2 = s.schedule(pod('b', { [RES]: '1' }));
  t.match(r2, { scheduled: true, evaluatedNodes: 420 });
  if (r1.scheduled && r2.scheduled) {
    t.ok(Number(r2.nodeName.slice(1)) >= 420 && Number(r2.nodeName.slice(1)) < 840, 'second cycle starts where the first stopped');
  }
  const all = new Scheduler({ seed: 1, percentageOfNodesToScore: 100 });
  for (let i = 0; i < 200; i++) all.upsertNode(node(`n${i}`, {}));
  t.match(all.schedule(pod('c')), { evaluatedNodes: 200 });
});

t.test('the adaptive share at 5,000 and 10,000 nodes: 50 - n/125 percent, at least 5 %', async (t) => {
  for (const [n, want] of [
    [5000, 500], // 10 %
    [10_000, 500], // 50 - 80 < 5: 5 %
  ] as const) {
    const s = new Scheduler({ seed: 1 });
    for (let i = 0; i < n; i++) s.upsertNode(node(`n${i}`, { [RES]: '1' }));
    t.match(s.schedule(pod('a', { [RES]: '1' })), { scheduled: true, feasibleNodes: want, evaluatedNodes: want }, `${n} nodes`);
  }
});

t.test('the per-node rows agree with the node objects: random clusters, pods, removals and new resources', async (t) => {
  // every cycle with all nodes searched must find exactly the nodes scoreNodes (the object path) finds feasible, pick
  // one with the highest total, and fail with the message of a reference count of the reasons
  let seed = 12345;
  const rand = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  const RES2 = 'example.com/fpga';
  let checked = 0;
  for (let round = 0; round < 6; round++) {
    const s = new Scheduler({ seed: round, percentageOfNodesToScore: 100 });
    const names: string[] = [];
    const addNode = (i: number): void => {
      const alloc: Record<string, string> = { cpu: String(1 + rand(4)), memory: `${1 + rand(4)}Gi`, pods: String(2 + rand(4)), [RES]: String(rand(3)) };
      if (round >= 3 && rand(2)) alloc[RES2] = String(1 + rand(2)); // a resource that appears after the first nodes
      const taints: V1Taint[] = rand(6) === 0 ? [{ key: 'k', value: 'v', effect: rand(2) ? 'NoSchedule' : 'PreferNoSchedule' }] : [];
      s.upsertNode(node(`n${i}`, alloc, { taints, unschedulable: rand(10) === 0 }));
      names.push(`n${i}`);
    };
    for (let i = 0; i < 12; i++) addNode(i);
    let next = 12;
    for (let p = 0; p < 60; p++) {
      if (rand(8) === 0 && names.length > 2) s.removeNode(names.splice(rand(names.length), 1)[0]);
      if (rand(8) === 0) addNode(next++);
      const limits: Record<string, string> = { cpu: `${100 * rand(12)}m`, memory: `${128 * rand(10)}Mi` };
      if (rand(3)) limits[RES] = String(1 + rand(2));
      if (round >= 3 && rand(3) === 0) limits[RES2] = '1';
      const spec = rand(4) === 0 ? { tolerations: [{ key: 'k', operator: 'Exists' as const }] } : {};
      const pd = pod(`r${round}p${p}`, limits, spec);
      const expected = s.scoreNodes(pd);
      const r = s.schedule(pd);
      checked++;
      if (!r.scheduled) {
        t.equal(expected.length, 0, `${pd.metadata!.name}: no feasible node either way`);
        t.match(r.error.message, new RegExp(`^0/${names.length} nodes are available`));
        continue;
      }
      t.equal(r.feasibleNodes, expected.length, `${pd.metadata!.name}: as many feasible nodes`);
      const best = Math.max(...expected.map((e) => e.total));
      t.ok(expected.some((e) => e.nodeName === r.nodeName && e.total === best), `${pd.metadata!.name}: ${r.nodeName} has the best total`);
      if (rand(4)) s.addPod(pd.metadata!.uid!, r.nodeName, computePodRequests(pd));
    }
  }
  t.equal(checked, 360);
});
