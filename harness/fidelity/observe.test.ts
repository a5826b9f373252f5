import t from 'tap';
import type { ScenarioResult, TraceEvent } from '../../reports/types.ts';
import type { KubeObject } from '../backend.ts';
import { Normaliser } from './normalise.ts';
import { nodeResources, parseIpVfLine, parseNodeDump, ScenarioObserver, stateSequences, traceObservations } from './observe.ts';

t.test('parseIpVfLine reads the fields of an iproute2 VF line', async (t) => {
  t.same(parseIpVfLine('    vf 1     link/ether 02:11:22:33:44:55 brd ff:ff:ff:ff:ff:ff, vlan 100, qos 2, spoof checking on, link-state auto, trust off'), {
    vf: '1',
    fields: [['mac', '02:11:22:33:44:55'], ['vlan', '100'], ['qos', '2'], ['spoof checking', 'on'], ['link-state', 'auto'], ['trust', 'off']],
  });
  t.same(parseIpVfLine('    vf 0 MAC 00:00:00:00:00:00, spoof checking on, link-state auto'), { vf: '0', fields: [['mac', '00:00:00:00:00:00'], ['spoof checking', 'on'], ['link-state', 'auto']] });
  t.equal(parseIpVfLine('2: ens1f0: <BROADCAST> mtu 1500'), undefined);
});

t.test('parseNodeDump: keys per node, VF lines under their PF, values normalised', async (t) => {
  const dump = [
    'pf 0000:01:00.0 vendor\t0x8086',
    'pf 0000:01:00.0 sriov_numvfs\t2',
    'vf 0000:01:00.0/0 driver\tigbvf',
    'vf 0000:01:00.0/1 driver\tvfio-pci',
    'vf 0000:01:00.0/1 /dev/vfio/<group>\tpresent',
    'vf 0000:01:00.0/1 net\t',
    '@ipvf 0000:01:00.0',
    '    vf 0     link/ether 1a:dd:dd:97:81:2a brd ff:ff:ff:ff:ff:ff, spoof checking on, link-state auto, trust off',
    'net ens1f0 device\t0000:01:00.0',
    'net ens1f0 operstate\tup',
    '',
  ].join('\n');
  t.same(parseNodeDump('node1', dump, new Normaliser()), {
    'node1 pf 0000:01:00.0 vendor': '0x8086',
    'node1 pf 0000:01:00.0 sriov_numvfs': '2',
    'node1 vf 0000:01:00.0/0 driver': 'igbvf',
    'node1 vf 0000:01:00.0/1 driver': 'vfio-pci',
    'node1 vf 0000:01:00.0/1 /dev/vfio/<group>': 'present',
    'node1 vf 0000:01:00.0/1 net': '',
    'node1 vf 0000:01:00.0/0 ip mac': '<mac#1>',
    'node1 vf 0000:01:00.0/0 ip spoof checking': 'on',
    'node1 vf 0000:01:00.0/0 ip link-state': 'auto',
    'node1 vf 0000:01:00.0/0 ip trust': 'off',
    'node1 net ens1f0 device': '0000:01:00.0',
    'node1 net ens1f0 operstate': 'up',
  });
});

t.test('nodeResources keeps extended resources only', async (t) => {
  const node = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node1' }, status: { capacity: { cpu: '4', 'intel.com/a': '2' }, allocatable: { cpu: '4', 'intel.com/a': '1' } } } as unknown as KubeObject;
  t.same(nodeResources('node1', node), { 'node1 capacity intel.com/a': '2', 'node1 allocatable intel.com/a': '1' });
  t.same(nodeResources('node2', undefined), { 'node2 Node object': 'absent' });
});

const alloc = (atMs: number, id: string, group: number): TraceEvent => ({
  kind: 'grpc', atMs, node: 'node1', direction: 'to-plugin', method: '/v1beta1.DevicePlugin/Allocate',
  request: { container_requests: [{ devices_ids: [id] }] },
  response: { container_responses: [{ envs: { PCIDEVICE_X: id }, devices: [{ host_path: `/dev/vfio/${group}` }] }] },
});
const law = (atMs: number, ids: string[]): TraceEvent => ({
  kind: 'grpc', atMs, node: 'node1', direction: 'to-plugin', method: '/v1beta1.DevicePlugin/ListAndWatch', stream: 'message',
  response: { devices: ids.map((ID) => ({ ID, health: 'Healthy', topology: null })) },
});
const cni = (atMs: number, pod: string, mac: string, ip: string): TraceEvent => ({
  kind: 'cni', atMs, node: 'node1', command: 'ADD', plugin: '/opt/cni/bin/sriov', pod: `default/${pod}`, exitCode: 0, durationMs: 40,
  env: { CNI_IFNAME: 'net1', CNI_NETNS: `/run/netns/${pod}-x`, CNI_PATH: '/opt/cni/bin', PATH: '/usr/bin' },
  stdin: '{"type":"sriov","deviceID":"0000:01:10.0"}',
  stdout: JSON.stringify({ interfaces: [{ name: 'net1', mac, sandbox: `/run/netns/${pod}-x` }], ips: [{ address: ip }] }),
});

t.test('traceObservations: Allocate in order, CNI per pod', async (t) => {
  const obs = traceObservations([law(1, ['0000:01:10.0']), alloc(4, '0000:01:10.0', 12), cni(5, 'p1', '02:00:00:00:00:01', '10.0.0.2/24')], new Normaliser());
  const m = Object.fromEntries(obs.map((o) => [o.what, o.value]));
  t.notOk(Object.keys(m).some((k) => k.startsWith('ListAndWatch')), 'device lists are state sequences, not trace values');
  t.equal(m['Allocate node1[0] request.container_requests[0].devices_ids[0]'], '0000:01:10.0', 'device IDs are kept');
  t.equal(m['Allocate node1[0] response.container_responses[0].devices[0].host_path'], '/dev/vfio/<group#1>');
  t.equal(m['Allocate node1[0] status'], 'OK');
  t.equal(m['CNI ADD default/p1 net1[0] plugin'], 'sriov');
  t.equal(m['CNI ADD default/p1 net1[0] env CNI_NETNS'], '<netns#1>');
  t.notOk('CNI ADD default/p1 net1[0] env CNI_PATH' in m, 'CNI_PATH and non-CNI variables are not compared');
  t.equal(m['CNI ADD default/p1 net1[0] stdin.deviceID'], '0000:01:10.0');
  t.equal(m['CNI ADD default/p1 net1[0] result.interfaces[0].mac'], '<mac#1>', 'unclaimed: numbered');
  t.equal(m['CNI ADD default/p1 net1[0] result.ips[0].address'], '<ip#1>');
  t.equal(obs.find((o) => o.what.startsWith('Allocate'))?.atMs, 4, 'events keep their time for attribution');
});

t.test('stateSequences: distinct device lists per stream, each marked with the operations it was settled after', async (t) => {
  const sock = (e: TraceEvent, socket: string): TraceEvent => ({ ...e, socket } as TraceEvent);
  const trace = [
    sock(law(10, ['0000:01:10.0']), '/var/lib/kubelet/device-plugins/a.sock'),
    sock(law(20, ['0000:01:10.4']), '/var/lib/kubelet/device-plugins/b.sock'),
    sock(law(110, ['0000:01:10.0']), '/var/lib/kubelet/device-plugins/a.sock'),
    sock(law(120, ['0000:01:10.4', '0000:01:10.0']), '/var/lib/kubelet/device-plugins/a.sock'),
    sock(law(130, []), '/var/lib/kubelet/device-plugins/a.sock'),
    sock(law(140, ['0000:01:10.0']), '/var/lib/kubelet/device-plugins/a.sock'),
  ];
  const seqs = stateSequences(trace, [{ key: '0/try/0', startMs: 5 }, { key: '0/try/1', startMs: 100 }, { key: '0/try/2', startMs: 200 }]);
  t.same(seqs.map((s) => [s.what, s.states.map((x) => [x.value, x.settledAfter])]), [
    ['ListAndWatch node1 a.sock', [['0000:01:10.0 Healthy', ['0/try/0']], ['0000:01:10.0 Healthy, 0000:01:10.4 Healthy', []], ['(none)', []], ['0000:01:10.0 Healthy', ['0/try/1', '0/try/2']]]],
    ['ListAndWatch node1 b.sock', [['0000:01:10.4 Healthy', ['0/try/0', '0/try/1', '0/try/2']]]],
  ], 'streams are told apart by their socket; a repeated list is not a new state');
});

t.test('MACs are named by their owner, so an extra MAC on one side renames nothing else', async (t) => {
  const run = (vfMac: string) => {
    const obs = new ScenarioObserver(['node1']);
    obs.operations.push({ key: '0/try/0', stepIndex: 0, stepName: 's', phase: 'try', kind: 'sysfs', title: 'op', values: { 'node1 vf 0000:01:00.0/1 pciAddr': '0000:01:10.2', 'node1 vf 0000:01:00.0/1 ip mac': vfMac } });
    const veth = { name: 'eth0', mac: '0a:00:00:00:00:05', sandbox: '/run/netns/x' };
    const ev = { ...cni(5, 'dpdk-pod', '02:00:00:00:00:01', '10.0.0.2/24'), env: { CNI_IFNAME: 'eth0' }, stdout: JSON.stringify({ interfaces: [{ name: 'veth1234abcd', mac: '0a:00:00:00:00:06' }, veth] }) } as TraceEvent;
    return obs.finish({ id: 'x', name: 'x', file: 'x.yaml', status: 'passed', steps: [{ operations: [{ phase: 'try', startMs: 0 }] }], trace: [ev] } as unknown as ScenarioResult);
  };
  const sim = run('00:00:00:00:00:00');
  const qemu = run('32:3c:13:e9:5f:4a');
  t.equal(sim.operations[0].values['node1 vf 0000:01:00.0/1 ip mac'], '00:00:00:00:00:00');
  t.equal(qemu.operations[0].values['node1 vf 0000:01:00.0/1 ip mac'], '<mac:vf 0000:01:10.2>');
  const macs = (o: typeof sim) => o.trace.filter((x) => x.what.endsWith('.mac')).map((x) => x.value);
  t.same(macs(sim), ['<mac:pod/dpdk-pod/eth0 host side>', '<mac:pod/dpdk-pod/eth0>']);
  t.same(macs(qemu), macs(sim), 'the pod\'s MACs are named the same on both sides');
});

t.test('placeholder numbers do not depend on how concurrent pods interleave', async (t) => {
  const one = traceObservations([cni(1, 'p1', '02:00:00:00:00:01', '10.0.0.2/24'), cni(2, 'p2', '02:00:00:00:00:02', '10.0.0.3/24')], new Normaliser());
  const two = traceObservations([cni(1, 'p2', '0e:00:00:00:00:09', '10.0.0.2/24'), cni(2, 'p1', '0e:00:00:00:00:08', '10.0.0.3/24')], new Normaliser());
  const map = (o: typeof one) => Object.fromEntries(o.map((x) => [x.what, x.value]));
  t.same(map(one), map(two));
});

t.test("a bridge's MAC in a bridge plugin's result is <mac:bridge NAME>: the kernel gives it the lowest port MAC", async (t) => {
  const run = (bridgeMac: string) => {
    const obs = new ScenarioObserver(['node1']);
    obs.operations.push({ key: '0/try/0', stepIndex: 0, stepName: 's', phase: 'try', kind: 'apply', title: 'op', values: {} });
    const ev = (pod: string, vethMac: string, atMs: number) => ({
      ...cni(atMs, pod, '02:00:00:00:00:01', '10.0.0.2/24'), plugin: '/opt/cni/bin/bridge', env: { CNI_IFNAME: 'eth0' },
      stdout: JSON.stringify({ interfaces: [{ name: 'cni0', mac: bridgeMac }, { name: 'veth1234abcd', mac: vethMac }, { name: 'eth0', mac: `0e:00:00:00:00:0${atMs}`, sandbox: `/run/netns/${pod}` }] }),
    }) as TraceEvent;
    // the second pod's veth MAC is lower than the first's: the bridge may now carry it
    return obs.finish({ id: 'x', name: 'x', file: 'x.yaml', status: 'passed', steps: [{ operations: [{ phase: 'try', startMs: 0 }] }], trace: [ev('p1', '0a:00:00:00:00:09', 1), ev('p2', '0a:00:00:00:00:05', 2)] } as unknown as ScenarioResult);
  };
  const v = (o: ReturnType<typeof run>) => Object.fromEntries(o.trace.filter((x) => x.what.endsWith('.mac')).map((x) => [x.what, x.value]));
  const kept = v(run('0a:00:00:00:00:09'));
  t.equal(kept['CNI ADD default/p2 eth0[0] result.interfaces[0].mac'], '<mac:bridge cni0>');
  t.equal(kept['CNI ADD default/p2 eth0[0] result.interfaces[1].mac'], '<mac:pod/p2/eth0 host side>', 'the veth is still the pod\'s');
  t.same(v(run('0a:00:00:00:00:05')), kept, 'whichever port MAC the bridge took, the same values');
});
