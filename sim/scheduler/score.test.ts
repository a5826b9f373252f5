// kube-scheduler's default scoring, checked against scores computed by hand from the upstream formulas (score.ts).
import t from 'tap';
import type { V1Node, V1Pod, V1Taint, V1TopologySpreadConstraint } from '@kubernetes/client-node';
import { computePodRequests, Scheduler, type NodeScore } from './scheduler.ts';
import { balancedScore, defaultNormalizeScore, leastRequestedScore, mostRequestedScore, normalizeSpreadScores, resourceScore } from './score.ts';

const RES = 'intel.com/sriov';

function node(name: string, alloc: Record<string, string> = {}, labels: Record<string, string> = {}, taints?: V1Taint[]): V1Node {
  return {
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...labels } },
    spec: { taints },
    status: { allocatable: { cpu: '4', memory: '8Gi', pods: '110', ...alloc } },
  };
}

function pod(name: string, requests: Record<string, string> = {}, spec: Partial<NonNullable<V1Pod['spec']>> = {}, labels?: Record<string, string>): V1Pod {
  return {
    metadata: { name, namespace: 'default', uid: `uid-${name}`, labels },
    spec: { containers: [{ name: 'app', resources: { requests, limits: requests } }], ...spec },
  };
}

const byNode = (scores: NodeScore[]) => Object.fromEntries(scores.map((s) => [s.nodeName, s]));

t.test('the formulas, one by one', async (t) => {
  t.equal(leastRequestedScore(100, 4000), 97, '(4000-100)*100/4000 = 97.5, truncated');
  t.equal(leastRequestedScore(5000, 4000), 0, 'over capacity');
  t.equal(mostRequestedScore(1000, 4000), 25);
  t.equal(mostRequestedScore(5000, 4000), 100, 'over capacity counts as full');
  t.equal(resourceScore([1000, 3], [4000, 0], [1, 1], false), 75, 'a resource with allocatable 0 is left out of the mean');
  t.equal(resourceScore([3000, 3 * 2 ** 30], [4000, 8 * 2 ** 30], [1, 3], false), Math.floor((25 * 1 + 62 * 3) / 4), 'weighted mean: (25·1 + 62·3)/4 = 52');
  t.equal(balancedScore([1, 1, 4], [4, 4, 4]), 64, 'three fractions .25 .25 1: std √(.375/3) = .3536 → 64');
  t.equal(balancedScore([3, 1], [4, 4]), 75, 'two fractions .75 .25: |.75-.25|/2 = .25 → 75');
  const a = [1, 2, 0];
  defaultNormalizeScore(a, true);
  t.same(a, [50, 0, 100], 'reversed: 100 - 100·s/max');
  const b = [0, 0];
  defaultNormalizeScore(b, true);
  t.same(b, [100, 100], 'all zero, reversed: 100 each');
  const c = [8, 7, 1, 3];
  normalizeSpreadScores(c, [false, false, false, true]);
  t.same(c, [12, 25, 100, 0], '100·(max+min-s)/max over the nodes not ignored; ignored 0');
});

t.test('NodeResourcesFit (LeastAllocated, cpu/memory) and BalancedAllocation, with TaintToleration at 100 × 3', async (t) => {
  const s = new Scheduler({ seed: 1 });
  s.upsertNode(node('a'));
  s.upsertNode(node('b'));
  const busy = pod('busy', { cpu: '2', memory: '1Gi' });
  s.addPod('uid-busy', 'b', computePodRequests(busy));
  const scores = byNode(s.scoreNodes(pod('p', { cpu: '1', memory: '2Gi' })));
  // a: cpu (4000-1000)·100/4000 = 75, memory (8-2)/8 → 75; fractions .25/.25 → balanced 100
  t.same(scores.a.plugins, { NodeResourcesFit: 75, NodeResourcesBalancedAllocation: 100, TaintToleration: 100, NodeAffinity: 0, PodTopologySpread: 0 });
  t.equal(scores.a.total, 75 + 100 + 300);
  // b: cpu (4000-3000)·100/4000 = 25, memory (8-3)/8·100 = 62 → (25+62)/2 = 43; fractions .75/.375 → 100·(1-.1875) = 81
  t.same(scores.b.plugins, { NodeResourcesFit: 43, NodeResourcesBalancedAllocation: 81, TaintToleration: 100, NodeAffinity: 0, PodTopologySpread: 0 });
  t.equal(scores.b.total, 43 + 81 + 300);
  const r = s.schedule(pod('p', { cpu: '1', memory: '2Gi' }));
  t.match(r, { scheduled: true, nodeName: 'a' });

  // no requests: LeastAllocated counts 100m / 200Mi (the non-zero defaults), BalancedAllocation the requests as they are
  const none = byNode(s.scoreNodes(pod('q')));
  // a: cpu 3900·100/4000 = 97, memory (8192-200)/8192·100 = 97 → 97; fractions 0/0 → 100
  t.same([none.a.plugins.NodeResourcesFit, none.a.plugins.NodeResourcesBalancedAllocation], [97, 100]);
  // b: cpu (4000-2100)·100/4000 = 47, memory (8192-1224)/8192·100 = 85 → 66; fractions .5/.125 → 81
  t.same([none.b.plugins.NodeResourcesFit, none.b.plugins.NodeResourcesBalancedAllocation], [66, 81]);
});

t.test('TaintToleration: untolerated PreferNoSchedule taints, fewest best, weight 3', async (t) => {
  const s = new Scheduler({ seed: 1 });
  const x: V1Taint = { key: 'x', value: '1', effect: 'PreferNoSchedule' };
  const y: V1Taint = { key: 'y', effect: 'PreferNoSchedule' };
  s.upsertNode(node('c', {}, {}, [x]));
  s.upsertNode(node('d', {}, {}, [x, y]));
  s.upsertNode(node('e'));
  const plain = byNode(s.scoreNodes(pod('p')));
  t.same([plain.c.plugins.TaintToleration, plain.d.plugins.TaintToleration, plain.e.plugins.TaintToleration], [50, 0, 100], 'counts 1, 2, 0 → 100 - 100·n/2');
  t.equal(plain.e.total - plain.d.total, 300, 'weight 3');
  const tolerant = byNode(s.scoreNodes(pod('p', {}, { tolerations: [{ key: 'x', operator: 'Equal', value: '1', effect: 'PreferNoSchedule' }] })));
  t.same([tolerant.c.plugins.TaintToleration, tolerant.d.plugins.TaintToleration, tolerant.e.plugins.TaintToleration], [100, 0, 100], 'x tolerated: counts 0, 1, 0');
  const noSchedule = byNode(s.scoreNodes(pod('p', {}, { tolerations: [{ key: 'x', operator: 'Exists', effect: 'NoSchedule' }] })));
  t.equal(noSchedule.c.plugins.TaintToleration, 50, 'a NoSchedule toleration does not count for PreferNoSchedule');
  t.match(s.schedule(pod('p')), { scheduled: true, nodeName: 'e' });
});

t.test('NodeAffinity: weights of the matching preferred terms, scaled to the best, weight 2', async (t) => {
  const s = new Scheduler({ seed: 1 });
  s.upsertNode(node('z1', {}, { zone: 'a', disk: 'ssd' }));
  s.upsertNode(node('z2', {}, { zone: 'a' }));
  s.upsertNode(node('z3', {}, { zone: 'b', disk: 'ssd' }));
  s.upsertNode(node('z4'));
  const p = pod('p', {}, {
    affinity: {
      nodeAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [
          { weight: 10, preference: { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] } },
          { weight: 5, preference: { matchExpressions: [{ key: 'disk', operator: 'Exists' }] } },
        ],
      },
    },
  });
  const sc = byNode(s.scoreNodes(p));
  // raw 15, 10, 5, 0 → 100·raw/15
  t.same(['z1', 'z2', 'z3', 'z4'].map((n) => sc[n].plugins.NodeAffinity), [100, 66, 33, 0]);
  t.equal(sc.z1.total - sc.z4.total, 200, 'weight 2');
  t.match(s.schedule(p), { scheduled: true, nodeName: 'z1' });
});

const spreadNodes = (s: Scheduler) => {
  s.upsertNode(node('n1', { [RES]: '4' }, { zone: 'a' }));
  s.upsertNode(node('n2', { [RES]: '4' }, { zone: 'a' }));
  s.upsertNode(node('n3', { [RES]: '0' }, { zone: 'b' }));
  s.upsertNode(node('n4', { [RES]: '4' }));
  const web = (i: number) => pod(`web-${i}`, {}, {}, { app: 'web' });
  for (const [i, n] of [[1, 'n1'], [2, 'n1'], [3, 'n2']] as const) s.addPod(`uid-web-${i}`, n, computePodRequests(web(i)));
  s.addPod('uid-other', 'n3', computePodRequests(pod('other', {}, {}, { app: 'db' })));
};

t.test('PodTopologySpread, ScheduleAnyway: cnt·log(domains+2) + maxSkew-1, rounded, normalized; weight 2', async (t) => {
  const s = new Scheduler({ seed: 1 });
  spreadNodes(s);
  const constraints: V1TopologySpreadConstraint[] = [
    { maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: { app: 'web' } } },
    { maxSkew: 2, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: { app: 'web' } } },
  ];
  const sc = byNode(s.scoreNodes(pod('p', {}, { topologySpreadConstraints: constraints }, { app: 'web' })));
  // n4 has no zone label: ignored (0). zone: 2 domains → weight ln 4; hostname: 3 nodes → ln 5.
  // n1: 3·ln4 + 0 + 2·ln5 + 1 = 8.38 → 8; n2: 3·ln4 + 1·ln5 + 1 = 6.77 → 7; n3: 0 + 0 + 1 → 1
  // normalized: 100·(8+1-s)/8 → 12, 25, 100
  t.same(['n1', 'n2', 'n3', 'n4'].map((n) => sc[n].plugins.PodTopologySpread), [12, 25, 100, 0]);
  const none = byNode(s.scoreNodes(pod('p')));
  t.equal(none.n1.plugins.PodTopologySpread, 0, 'a pod without constraints is not scored by the plugin');
  const otherNs = byNode(s.scoreNodes({ ...pod('p', {}, { topologySpreadConstraints: constraints }, { app: 'web' }), metadata: { name: 'p', namespace: 'other', labels: { app: 'web' } } }));
  t.same(['n1', 'n2', 'n3'].map((n) => otherNs[n].plugins.PodTopologySpread), [100, 100, 100], 'pods of other namespaces are not counted');
});

t.test('PodTopologySpread, DoNotSchedule: skew filter and its FitError words', async (t) => {
  const s = new Scheduler({ seed: 1 });
  spreadNodes(s);
  const hard = (res: Record<string, string> = {}) =>
    pod('p', res, { topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 'web' } } }] }, { app: 'web' });
  // zone a holds 3 web pods, zone b 0: a node in zone a would make the skew 3 + 1 - 0 = 4 > 1
  t.match(s.schedule(hard()), { scheduled: true, nodeName: 'n3' });
  const r = s.schedule(hard({ [RES]: '1' }));
  t.equal(
    r.scheduled ? r.nodeName : r.error.message,
    '0/4 nodes are available: 1 Insufficient intel.com/sriov, 1 node(s) didn\'t match pod topology spread constraints (missing required label), ' +
      "2 node(s) didn't match pod topology spread constraints.",
  );
});

t.test('NodeResourcesFit over an extended resource: MostAllocated packs, LeastAllocated spreads', async (t) => {
  const mk = (strategy: 'MostAllocated' | 'LeastAllocated') => {
    const s = new Scheduler({ seed: 1, scoring: { strategy, fitResources: [{ name: RES, weight: 1 }] } });
    s.upsertNode(node('p1', { [RES]: '4' }));
    s.upsertNode(node('p2', { [RES]: '4' }));
    s.addPod('uid-held', 'p1', computePodRequests(pod('held', { [RES]: '3' })));
    return s;
  };
  const most = byNode(mk('MostAllocated').scoreNodes(pod('p', { [RES]: '1' })));
  t.same([most.p1.plugins.NodeResourcesFit, most.p2.plugins.NodeResourcesFit], [100, 25], '4·100/4 and 1·100/4');
  t.match(mk('MostAllocated').schedule(pod('p', { [RES]: '1' })), { nodeName: 'p1' });
  const least = byNode(mk('LeastAllocated').scoreNodes(pod('p', { [RES]: '1' })));
  t.same([least.p1.plugins.NodeResourcesFit, least.p2.plugins.NodeResourcesFit], [0, 75]);
  const without = byNode(mk('MostAllocated').scoreNodes(pod('q')));
  t.same([without.p1.plugins.NodeResourcesFit, without.p2.plugins.NodeResourcesFit], [0, 0], 'a pod not asking for the resource is not scored on it');
});

t.test('one feasible node is taken without scoring; weights can be changed', async (t) => {
  const s = new Scheduler({ seed: 1, weights: { TaintToleration: 0 } });
  s.upsertNode(node('only', { [RES]: '1' }));
  s.upsertNode(node('none', { [RES]: '0' }));
  t.match(s.schedule(pod('p', { [RES]: '1' })), { scheduled: true, nodeName: 'only', feasibleNodes: 1 });
  const sc = byNode(s.scoreNodes(pod('p', { [RES]: '1' })));
  t.equal(sc.only.total, sc.only.plugins.NodeResourcesFit + sc.only.plugins.NodeResourcesBalancedAllocation, 'TaintToleration weighted 0');
});
