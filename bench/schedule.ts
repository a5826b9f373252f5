// Scheduling throughput: 1,000 nodes with 64 devices each, 10,000 pods each asking for one device, through apiserver
// validation, the scheduler (filter + score + bind), and admission by an in-process device manager that picks IDs.
// Prints pods/s. Run: node --import tsx bench/schedule.ts [nodes] [pods]
import type { V1Pod } from '@kubernetes/client-node';
import { Cluster } from '../sim/cluster/cluster.ts';
import { FakeAgent } from '../sim/cluster/fake-agent.ts';

const NODES = Number(process.argv[2] ?? 1000);
const PODS = Number(process.argv[3] ?? 10_000);
const DEVICES = 64;
const RES = 'intel.com/sriov_net_a';

const cluster = new Cluster({ seed: 42 });
const agents: FakeAgent[] = [];
const t0 = performance.now();
for (let i = 0; i < NODES; i++) {
  const agent = new FakeAgent(`node-${String(i).padStart(4, '0')}`, { [RES]: DEVICES });
  agents.push(agent);
  cluster.addNode(agent);
}
const t1 = performance.now();

const pod = (i: number): V1Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: `pod-${i}`, namespace: 'default' },
  spec: { containers: [{ name: 'app', image: 'busybox', resources: { limits: { [RES]: '1' } } }] },
});

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
const seconds = (t2 - t1) / 1000;
console.log(`nodes: ${NODES} (${DEVICES} devices each, added in ${(t1 - t0).toFixed(0)} ms)`);
console.log(`pods: ${PODS}, Running: ${running}, nodes used: ${perNode.size}, pods per node min/max: ${Math.min(...counts)}/${Math.max(...counts)}`);
console.log(`schedule + bind + admit: ${(t2 - t1).toFixed(0)} ms → ${(PODS / seconds).toFixed(0)} pods/s`);
cluster.close();
if (running !== PODS) process.exitCode = 1;
