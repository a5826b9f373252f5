// Lightweight nodes: pods get devices from the device manager and the plugin's pools and preferred allocation, and run
// without networking; link faults change health as the plugin's link check would; describe node and the report say
// what the nodes lack; the 1,000-node scheduling scenario passes through the runner.
import t from 'tap';
import type { Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { projectRoot } from '../../sim/paths.ts';
import { resolveTopology } from '../../sim/topology/topology.ts';
import { describeNode } from '../../sim/cluster/kubectl.ts';
import { nodeListText } from '../../reports/node-list.ts';
import type { BackendUpOptions } from '../backend.ts';
import { LabCluster } from '../cluster/lab-cluster.ts';
import { LabClusterHandle } from '../cluster/handle.ts';
import { runToResult } from '../runner/command.ts';
import { SimNodeProvider, simBackend, simProviderOptions } from './sim.ts';
import { LIGHTWEIGHT_ANNOTATION, LIGHTWEIGHT_NOTE } from './light.ts';

const RES = 'intel.com/sriov_netdevice';
const root = projectRoot();

const pod = (name: string, vfs: number, extra: Partial<NonNullable<V1Pod['spec']>> = {}): V1Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'default' },
  spec: { containers: [{ name: 'app', image: 'busybox', resources: { limits: { [RES]: String(vfs) } } }], ...extra },
});

async function lightCluster(t: Test, replicas: number): Promise<LabCluster> {
  const workDir = mkdtempSync(join(tmpdir(), 'sl-light-'));
  const topology = resolveTopology({
    nodes: [
      {
        name: 'lw',
        replicas,
        lightweight: true,
        nics: [
          { model: 'intel-e810', pciAddr: '0000:3b:00.0', numVfs: 4, numaNode: 0 },
          { model: 'intel-e810', pciAddr: '0000:5e:00.0', numVfs: 2, numaNode: 1 },
        ],
        numaNodes: 2,
      },
    ],
  });
  const opts: BackendUpOptions = { topology, seed: 3, workDir, devicePlugin: {}, trace: () => undefined };
  const lc = await LabCluster.start(new SimNodeProvider(simProviderOptions(opts)), opts);
  t.teardown(async () => {
    await lc.stop();
    rmSync(workDir, { recursive: true, force: true });
  });
  return lc;
}

const allocatable = (lc: LabCluster, node: string) => lc.cluster.store.get('Node', '', node)?.status?.allocatable?.[RES];

t.test('a lightweight node: devices by the device manager and the plugin view, Running without networking', async (t) => {
  const lc = await lightCluster(t, 1);
  t.equal(lc.lightNodes.size, 1);
  t.equal(lc.nodes.size, 0, 'no simulated machine was started');
  t.equal(allocatable(lc, 'lw-0'), '6', 'the default config pools the E810 VFs (iavf) as one resource');
  lc.cluster.createPod(pod('two', 2));
  await lc.settle();
  const p = lc.cluster.store.get('Pod', 'default', 'two')!;
  t.equal(p.status?.phase, 'Running');
  t.equal(p.spec?.nodeName, 'lw-0');
  const [alloc] = lc.cluster.allocationsOf('default', 'two');
  t.equal(alloc.resource, RES);
  // GetPreferredAllocation with nothing to include: the NUMA node where the request fits in the fewest free devices
  // (the second PF's two VFs on NUMA 1), as the bundled plugin chooses
  t.same([...alloc.deviceIds].sort(), ['0000:5e:01.0', '0000:5e:01.1']);
  t.equal(alloc.response.envs.PCIDEVICE_INTEL_COM_SRIOV_NETDEVICE, alloc.deviceIds.join(','), "the plugin's Allocate response");
  const h = new LabClusterHandle(lc);
  await t.rejects(h.exec({ pod: 'two' }, ['true']), /node lw-0 is lightweight \(no network namespace, no CNI, no processes\): a command in a pod needs a full node/);
  t.throws(() => lc.mustNode('lw-0'), /node "lw-0" is lightweight/);

  lc.cluster.createPod(pod('five', 5));
  await lc.settle();
  const five = lc.cluster.store.get('Pod', 'default', 'five')!;
  t.equal(five.status?.phase, 'Pending');
  t.match(five.status?.conditions?.[0]?.message, '0/1 nodes are available: 1 Insufficient intel.com/sriov_netdevice.');
});

t.test('health follows the model: a VF link down, the PF link down, and back', async (t) => {
  const lc = await lightCluster(t, 2);
  const h = new LabClusterHandle(lc);
  t.same(h.nodes, ['lw-0', 'lw-1']);
  const pfs = lc.lightNodes.get('lw-1')!.model.pfs().map((p) => p.ifname);
  t.same(pfs, ['ens59f0', 'ens94f0']);
  await h.fault('lw-1', { kind: 'vfLink', pf: 'ens59f0', vf: 0, up: false });
  await lc.settle();
  t.equal(allocatable(lc, 'lw-1'), '5', 'one VF unhealthy');
  t.equal(lc.cluster.store.get('Node', '', 'lw-1')?.status?.capacity?.[RES], '6', 'capacity keeps it');
  await h.fault('lw-1', { kind: 'pfLink', pf: 'ens94f0', up: false });
  await lc.settle();
  t.equal(allocatable(lc, 'lw-1'), '3', 'the PF without carrier takes its VFs down');
  await h.fault('lw-1', { kind: 'pfLink', pf: 'ens94f0', up: true });
  await h.fault('lw-1', { kind: 'vfLink', pf: 'ens59f0', up: true });
  await lc.settle();
  t.equal(allocatable(lc, 'lw-1'), '6');
  t.equal(allocatable(lc, 'lw-0'), '6', 'the other node was not touched');
  await t.rejects(h.fault('lw-0', { kind: 'sysfsFailWrites', path: '/sys/x', errno: 'EIO' }), /lightweight/);

  // the plugin killed: capacity stays, allocatable 0 (the kubelet's view of a disconnected plugin); started: back
  await h.devicePlugin('lw-0', 'kill');
  await lc.settle();
  t.equal(allocatable(lc, 'lw-0'), '0');
  await h.devicePlugin('lw-0', 'start');
  await lc.settle();
  t.equal(allocatable(lc, 'lw-0'), '6');
  // a kubelet restart: the plugin registers again
  await h.kubelet('lw-0', 'restart');
  t.equal(allocatable(lc, 'lw-0'), '6');
});

t.test('describe node says it is lightweight', async (t) => {
  const lc = await lightCluster(t, 1);
  const node = lc.cluster.store.get('Node', '', 'lw-0')!;
  t.equal(node.metadata?.annotations?.[LIGHTWEIGHT_ANNOTATION], LIGHTWEIGHT_NOTE);
  const text = describeNode(node, { events: [], nowMs: Date.now(), pods: [] });
  t.match(text, /sriov-lab\.dev\/lightweight=lightweight: no network namespace, no CNI/);
  t.match(text, /intel\.com\/sriov_netdevice:\s+6/);
});

t.test('the report node list counts lightweight nodes', async (t) => {
  t.equal(nodeListText({ nodes: ['a', 'b'] }), 'a, b');
  t.equal(
    nodeListText({ nodes: ['node1', 'w-0', 'w-1', 'w-2', 'w-3'], lightweightNodes: ['w-0', 'w-1', 'w-2', 'w-3'] }),
    'node1; 4 lightweight (no network namespace, no CNI): w-0, w-1 … w-3',
  );
});

const available = await simBackend.available();
t.test('the 1,000-node scheduling scenario through the runner', { skip: available.ok ? false : `the sim backend cannot run here: ${available.reason}` }, async (t) => {
  const t0 = Date.now();
  const r = await runToResult([join(root, 'scenarios/scheduling/large-cluster-fit-error.yaml'), '--seed', '7'], [simBackend], root);
  const s = r.result.scenarios[0];
  t.equal(s.status, 'passed', s.steps.flatMap((st) => st.operations).find((o) => o.error)?.error?.message ?? r.err.slice(-2000));
  t.equal(s.nodes?.length, 1000);
  t.equal(s.lightweightNodes?.length, 999);
  t.match(nodeListText(s), /^node1; 999 lightweight \(no network namespace, no CNI\): dpdk-0, dpdk-1 … edge-990$/);
  t.comment(`ran in ${Date.now() - t0} ms`);
});
