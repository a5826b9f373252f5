// The whole simulated cluster (the cluster assembly with simulated nodes): device plugin in the node → kubelet →
// scheduler → pod with net1 from a VF.
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { caps } from '../../sim/caps.ts';
import { entryCommand } from '../../sim/paths.ts';
import { parseTopology } from '../../sim/topology/topology.ts';
import type { TraceEvent } from '../../sim/trace.ts';
import { defaultConfigJson } from '../../plugins/device-plugin/config.ts';
import { SimNodeProvider } from '../backends/sim.ts';
import { LabCluster } from './lab-cluster.ts';
import { LabClusterHandle } from './handle.ts';

const missing = [caps.root(), caps.fuse(), caps.netns(), caps.cniPlugins()].find((c) => !c.ok);

async function until<T>(what: string, f: () => T | undefined | false, timeoutMs = 20_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = f();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`${what} not reached after ${timeoutMs}ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const topology = parseTopology(
  `apiVersion: sriov-lab.dev/v1alpha1
kind: Topology
metadata: {name: t}
spec:
  nodes:
    - name: node1
      nics:
        - {model: intel-i350, pciAddr: "0000:01:00.0", ifname: ens1f0, numVfs: 2}
        - {model: virtio-net, pciAddr: "0000:00:05.0", ifname: eth1}
`,
  't.yaml',
);

const nad = {
  apiVersion: 'k8s.cni.cncf.io/v1',
  kind: 'NetworkAttachmentDefinition',
  metadata: { name: 'sriov-net', namespace: 'default', annotations: { 'k8s.v1.cni.cncf.io/resourceName': 'intel.com/sriov_netdevice' } },
  spec: { config: JSON.stringify({ cniVersion: '1.0.0', type: 'host-device', ipam: { type: 'host-local', subnet: '192.168.50.0/24' } }) },
};
const pod = (name: string) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'default', annotations: { 'k8s.v1.cni.cncf.io/networks': 'sriov-net' } },
  spec: { containers: [{ name: 'app', image: 'busybox', resources: { limits: { 'intel.com/sriov_netdevice': '1' } } }] },
});

if (missing) {
  t.plan(0, `skipped: the simulated cluster needs ${missing.name}: ${missing.detail}`);
} else {
  t.test('pods get a VF as net1; the third waits for a device', async (t) => {
    const work = mkdtempSync(join(tmpdir(), 'sl-sc-'));
    const trace: TraceEvent[] = [];
    const provider = new SimNodeProvider({
      devicePluginArgv: [...entryCommand('sriov-lab-device-plugin', 'plugins/device-plugin/main.ts'), '--config-file', '/etc/pcidp/config.json'],
      devicePluginConfig: defaultConfigJson,
      cniPlugins: {},
    });
    const sc = await LabCluster.start(provider, { topology, seed: 7, workDir: work, devicePlugin: {}, trace: (e) => trace.push(e) });
    const handle = new LabClusterHandle(sc);
    t.teardown(async () => {
      await sc.stop();
      rmSync(work, { recursive: true, force: true });
    });
    const node = () => sc.cluster.store.get('Node', '', 'node1');
    await until('2 allocatable VFs', () => node()?.status?.allocatable?.['intel.com/sriov_netdevice'] === '2');
    await until('the virtio NIC as a kernel.org/virt device', () => node()?.status?.allocatable?.['kernel.org/virt'] === '1');
    t.pass('the virtio NIC is a kernel.org/virt device');

    sc.cluster.apply(nad as never);
    for (const n of ['a', 'b', 'c']) sc.cluster.apply(pod(n) as never);
    await sc.settle();
    const get = (n: string) => sc.cluster.store.get('Pod', 'default', n);
    await until('a and b running', () => get('a')?.status?.phase === 'Running' && get('b')?.status?.phase === 'Running');
    t.equal(get('c')?.status?.phase, 'Pending');
    const lastSample = () => trace.filter((e) => e.kind === 'resource' && e.resource === 'intel.com/sriov_netdevice').at(-1);
    t.match(lastSample(), { node: 'node1', capacity: 2, allocatable: 2, allocated: 2 }, 'the trace samples the allocation of the two running pods');
    const failed = sc.cluster.eventsFor('Pod', 'default', 'c').find((e) => e.reason === 'FailedScheduling');
    t.equal(failed?.message, '0/1 nodes are available: 1 Insufficient intel.com/sriov_netdevice.');

    const r = await handle.exec({ pod: 'a', namespace: 'default' }, ['ip', '-br', 'addr']);
    t.equal(r.exitCode, 0, r.stderr);
    t.match(r.stdout, /^eth0@\S+\s+UP\s+10\.244\.0\.\d+\/24/m, 'eth0 on the default network');
    t.match(r.stdout, /^net1(@\S+)?\s+\S+\s+192\.168\.50\.\d+\/24/m, 'net1 from the VF with its IPAM address');
    const env = await handle.exec({ pod: 'a', namespace: 'default' }, ['sh', '-c', 'echo $PCIDEVICE_INTEL_COM_SRIOV_NETDEVICE']);
    t.match(env.stdout, /^0000:01:1[01]\.[04]\n$/, 'the container env names the VF');
    const status = JSON.parse(get('a')!.metadata!.annotations!['k8s.v1.cni.cncf.io/network-status']) as Array<{ name: string; interface?: string; 'device-info'?: { pci: { 'pci-address': string } } }>;
    t.match(status, [{ name: 'sriov-lab-default', interface: 'eth0', default: true }, { name: 'default/sriov-net', interface: 'net1' }]);
    t.equal(status[1]['device-info']?.pci['pci-address'], env.stdout.trim(), 'network-status names the same device');

    await sc.cluster.deletePod('default', 'a');
    await until('c running after a is deleted', () => get('c')?.status?.phase === 'Running');
    await sc.cluster.deletePod('default', 'b');
    await sc.cluster.deletePod('default', 'c');
    await sc.settle();
    t.match(lastSample(), { allocated: 0 }, 'and their release');
    const netdevs = await sc.nodes.get('node1')!.node.exec(['sh', '-c', 'ls /sys/class/net; ip -br link']);
    t.match(netdevs.stdout, /^ens1f0v0\nens1f0v1\n/m, 'both VFs came back to the node under their names, in sysfs');
    t.match(netdevs.stdout, /^ens1f0v0@\S+ /m, 'and as real netdevs');

    await sc.settle();
    for (const kind of ['grpc', 'cni', 'scheduler', 'pod', 'resource', 'sysfs'] as const) {
      t.ok(trace.some((e) => e.kind === kind), `trace has ${kind} events`);
    }
    t.ok(trace.some((e) => e.kind === 'grpc' && e.method === '/v1beta1.DevicePlugin/Allocate'), 'Allocate is traced');
  });
}
