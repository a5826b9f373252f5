// Scheduling throughput: nodes with 64 devices each, 10,000 pods each asking for one device, through apiserver
// validation, the scheduler (filter + the default profile's scoring + bind), and admission by an in-process device
// manager stand-in that picks IDs. Prints pods/s at 1,000 nodes (the figure of issue 17's start) and at 10,000 nodes
// side by side, and the scheduler alone (filter + score + assume, no store) at 10,000 nodes, on the pods as the API
// server stores them (defaulted: the device limit is also the request the filter checks).
// Run: node --import tsx bench/schedule.ts [nodes…]   (default: 1000 10000)
import type { V1Pod } from '@kubernetes/client-node';
import { Cluster } from '../sim/cluster/cluster.ts';
import { FakeAgent } from '../sim/cluster/fake-agent.ts';
import { admitPodObject } from '../sim/apiserver/validation.ts';
import { computePodRequests, Scheduler } from '../sim/scheduler/scheduler.ts';

const SIZES = process.argv.length > 2 ? process.argv.slice(2).map(Number) : [1000, 10_000];
const PODS = 10_000;
const DEVICES = 64;
const RES = 'intel.com/sriov_net_a';

const nodeName = (i: number) => `node-${String(i).padStart(5, '0')}`;
const pod = (i: number): V1Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: `pod-${i}`, namespace: 'default' },
  spec: { containers: [{ name: 'app', image: 'busybox', resources: { limits: { [RES]: '1' } } }] },
});

interface Figure {
  nodes: number;
  podsPerSecond: number;
  ok: boolean;
}

async function throughCluster(nodes: number): Promise<Figure> {
  const cluster = new Cluster({ seed: 42 });
  const t0 = performance.now();
  for (let i = 0; i < nodes; i++) cluster.addNode(new FakeAgent(nodeName(i), { [RES]: DEVICES }));
  const t1 = performance.now();
  for (let i = 0; i < PODS; i++) cluster.createPod(pod(i));
  await cluster.settle();
  const t2 = performance.now();
  let running = 0;
  const perNode = new Map<string, number>();
  for (const p of cluster.store.list('Pod')) {
    if (p.status?.phase === 'Running') running++;
    perNode.set(p.spec!.nodeName!, (perNode.get(p.spec!.nodeName!) ?? 0) + 1);
  }
  const counts = [...perNode.values()];
  const podsPerSecond = PODS / ((t2 - t1) / 1000);
  console.log(`${nodes} nodes (${DEVICES} devices each, added in ${(t1 - t0).toFixed(0)} ms): ${PODS} pods, ${running} Running, ` +
    `nodes used ${perNode.size}, pods per node min/max ${Math.min(...counts)}/${Math.max(...counts)}`);
  console.log(`  schedule + bind + admit: ${(t2 - t1).toFixed(0)} ms → ${podsPerSecond.toFixed(0)} pods/s`);
  cluster.close();
  return { nodes, podsPerSecond, ok: running === PODS };
}

function schedulerAlone(nodes: number): number {
  const s = new Scheduler({ seed: 42 });
  for (let i = 0; i < nodes; i++) {
    s.upsertNode({ metadata: { name: nodeName(i), labels: { 'kubernetes.io/hostname': nodeName(i) } }, status: { allocatable: { cpu: '8', memory: '16Gi', pods: '110', [RES]: String(DEVICES) } } });
  }
  // defaulted as the API server stores them (the limit sets the request), so the filter checks the device too
  const pods = Array.from({ length: PODS }, (_, i) => admitPodObject({ ...pod(i), metadata: { name: `pod-${i}`, namespace: 'default', uid: `uid-${i}` } }));
  const t0 = performance.now();
  for (const p of pods) {
    const r = computePodRequests(p);
    const res = s.schedule(p, r);
    if (res.scheduled) s.addPod(p.metadata!.uid!, res.nodeName, r);
  }
  return PODS / ((performance.now() - t0) / 1000);
}

const figures: Figure[] = [];
for (const n of SIZES) figures.push(await throughCluster(n));
const largest = SIZES[SIZES.length - 1];
const alone = schedulerAlone(largest);
console.log(`scheduler alone (filter + score + assume) at ${largest} nodes: ${alone.toFixed(0)} pods/s`);
console.log(`pods/s: ${figures.map((f) => `${f.nodes} nodes ${f.podsPerSecond.toFixed(0)}`).join(' | ')}`);
if (figures.some((f) => !f.ok)) process.exitCode = 1;
