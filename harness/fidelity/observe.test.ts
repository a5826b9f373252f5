import t from 'tap';
import type { TraceEvent } from '../../reports/types.ts';
import type { KubeObject } from '../backend.ts';
import { Normaliser } from './normalise.ts';
import { nodeResources, parseIpVfLine, parseNodeDump, traceObservations } from './observe.ts';

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

t.test('traceObservations: Allocate in order, distinct ListAndWatch device lists, CNI per pod', async (t) => {
  const obs = traceObservations([law(1, ['0000:01:10.0']), law(2, ['0000:01:10.0']), law(3, ['0000:01:10.4', '0000:01:10.0']), alloc(4, '0000:01:10.0', 12), cni(5, 'p1', '02:00:00:00:00:01', '10.0.0.2/24')], new Normaliser());
  const m = Object.fromEntries(obs.map((o) => [o.what, o.value]));
  t.equal(m['ListAndWatch node1[0] devices'], '0000:01:10.0 Healthy');
  t.equal(m['ListAndWatch node1[1] devices'], '0000:01:10.0 Healthy, 0000:01:10.4 Healthy', 'a repeated list is not a new entry; devices sorted');
  t.notOk('ListAndWatch node1[2] devices' in m);
  t.equal(m['Allocate node1[0] request.container_requests[0].devices_ids[0]'], '0000:01:10.0', 'device IDs are kept');
  t.equal(m['Allocate node1[0] response.container_responses[0].devices[0].host_path'], '/dev/vfio/<group#1>');
  t.equal(m['Allocate node1[0] status'], 'OK');
  t.equal(m['CNI ADD default/p1 net1[0] plugin'], 'sriov');
  t.equal(m['CNI ADD default/p1 net1[0] env CNI_NETNS'], '<netns#1>');
  t.notOk('CNI ADD default/p1 net1[0] env CNI_PATH' in m, 'CNI_PATH and non-CNI variables are not compared');
  t.equal(m['CNI ADD default/p1 net1[0] stdin.deviceID'], '0000:01:10.0');
  t.equal(m['CNI ADD default/p1 net1[0] result.interfaces[0].mac'], '<mac#1>');
  t.equal(m['CNI ADD default/p1 net1[0] result.ips[0].address'], '<ip#1>');
  t.equal(obs.find((o) => o.what.startsWith('Allocate'))?.atMs, 4, 'events keep their time for attribution');
});

t.test('placeholder numbers do not depend on how concurrent pods interleave', async (t) => {
  const one = traceObservations([cni(1, 'p1', '02:00:00:00:00:01', '10.0.0.2/24'), cni(2, 'p2', '02:00:00:00:00:02', '10.0.0.3/24')], new Normaliser());
  const two = traceObservations([cni(1, 'p2', '0e:00:00:00:00:09', '10.0.0.2/24'), cni(2, 'p1', '0e:00:00:00:00:08', '10.0.0.3/24')], new Normaliser());
  const map = (o: typeof one) => Object.fromEntries(o.map((x) => [x.what, x.value]));
  t.same(map(one), map(two));
});
