import t from 'tap';
import { readFileSync } from 'node:fs';
import {
  TopologyError, defaultTopology, loadTopology, parseTopology, predictableIfname, resolveTopology,
} from './topology.ts';
import type { NicSpec, Topology } from './topology.ts';
import { parsePciAddr } from './pci.ts';

const examples = new URL('../../scenarios/topologies/', import.meta.url);
const exampleFile = (name: string) => new URL(name, examples).pathname;

/** A topology file whose spec.nodes list starts on line 7. */
function file(nodes: string): string {
  return `apiVersion: sriov-lab.dev/v1alpha1
kind: Topology
metadata:
  name: t
spec:
  nodes:
${nodes.replace(/^\n/, '')}`;
}

function errorLines(text: string, name = 't.yaml'): string[] {
  try {
    parseTopology(text, name);
  } catch (e) {
    if (e instanceof TopologyError) return e.lines();
    throw e;
  }
  return [];
}

const i350 = (over: Partial<NicSpec>): NicSpec => ({
  model: 'intel-i350', pciAddr: '0000:01:00.0', ifname: 'ens1f0', numVfs: 0, totalVfs: 7, vfOffset: 128, vfStride: 4,
  numaNode: -1, vfDriver: 'default', linkState: 'up', mac: '02:00:00:01:00:00', mtu: 1500, ...over,
});

t.test('valid files resolve with every default filled in', async (t) => {
  const cases: Array<{ name: string; text: string; want: Topology }> = [
    {
      name: 'minimal node',
      text: file(`
    - name: n1
      nics:
        - model: intel-i350
          pciAddr: "0000:01:00.0"
`),
      want: {
        name: 't',
        nodes: [{
          name: 'n1', lightweight: false, numaNodes: 1, cpu: '8', memory: '16Gi', pods: 110, labels: {}, taints: [],
          kubeletRegistration: ['kubelet.sock', 'plugins_registry'], netdevNaming: 'predictable', nics: [i350({})],
        }],
      },
    },
    {
      name: 'everything given, upper-case PCI and MAC normalised, numeric cpu',
      text: file(`
    - name: big.example
      numaNodes: 2
      cpu: 32
      memory: 128Gi
      pods: 20
      labels: { zone: a, sriov-lab.dev/role: "" }
      taints: [{ key: dedicated, effect: NoExecute }]
      kubeletRegistration: [plugins_registry]
      netdevNaming: predictable
      nics:
        - model: mlx-cx5
          pciAddr: "0000:5E:00.0"
          ifname: p0
          numVfs: 20
          totalVfs: 32
          vfOffset: 2
          vfStride: 1
          numaNode: 1
          vfDriver: vfio-pci
          linkState: down
          mac: "02:AB:CD:EF:00:01"
          mtu: 9000
`),
      want: {
        name: 't',
        nodes: [{
          name: 'big.example', lightweight: false, numaNodes: 2, cpu: '32', memory: '128Gi', pods: 20,
          labels: { zone: 'a', 'sriov-lab.dev/role': '' }, taints: [{ key: 'dedicated', value: '', effect: 'NoExecute' }],
          kubeletRegistration: ['plugins_registry'], netdevNaming: 'predictable',
          nics: [{
            model: 'mlx-cx5', pciAddr: '0000:5e:00.0', ifname: 'p0', numVfs: 20, totalVfs: 32, vfOffset: 2, vfStride: 1,
            numaNode: 1, vfDriver: 'vfio-pci', linkState: 'down', mac: '02:ab:cd:ef:00:01', mtu: 9000,
          }],
        }],
      },
    },
    {
      name: 'kernel naming: eth<N> in PCI order, skipping explicit names; MAC carries the node index',
      text: file(`
    - name: a
      nics: []
    - name: b
      netdevNaming: kernel
      nics:
        - { model: intel-82599, pciAddr: "0000:02:00.0" }
        - { model: virtio-net, pciAddr: "0000:00:04.0", ifname: eth0 }
        - { model: intel-82599, pciAddr: "0000:02:00.1" }
        - { model: virtio-net, pciAddr: "0000:00:03.0" }
`),
      want: {
        name: 't',
        nodes: [
          {
            name: 'a', lightweight: false, numaNodes: 1, cpu: '8', memory: '16Gi', pods: 110, labels: {}, taints: [],
            kubeletRegistration: ['kubelet.sock', 'plugins_registry'], netdevNaming: 'predictable', nics: [],
          },
          {
            name: 'b', lightweight: false, numaNodes: 1, cpu: '8', memory: '16Gi', pods: 110, labels: {}, taints: [],
            kubeletRegistration: ['kubelet.sock', 'plugins_registry'], netdevNaming: 'kernel',
            nics: [
              { ...i350({}), model: 'intel-82599', pciAddr: '0000:02:00.0', ifname: 'eth2', totalVfs: 63, vfStride: 2, mac: '02:00:01:02:00:00' },
              { ...i350({}), model: 'virtio-net', pciAddr: '0000:00:04.0', ifname: 'eth0', totalVfs: 0, vfOffset: 0, vfStride: 0, mac: '02:00:01:00:20:00' },
              { ...i350({}), model: 'intel-82599', pciAddr: '0000:02:00.1', ifname: 'eth3', totalVfs: 63, vfStride: 2, mac: '02:00:01:02:01:00' },
              { ...i350({}), model: 'virtio-net', pciAddr: '0000:00:03.0', ifname: 'eth1', totalVfs: 0, vfOffset: 0, vfStride: 0, mac: '02:00:01:00:18:00' },
            ],
          },
        ],
      },
    },
    {
      name: 'anchors and aliases are followed; explicit nulls mean "default"',
      text: file(`
    - name: n1
      labels: &l { rack: r1 }
      nics:
        - &nic { model: intel-i350, pciAddr: "0000:01:00.0", numVfs: ~ }
    - name: n2
      labels: *l
      nics: [*nic]
`),
      want: {
        name: 't',
        nodes: ['n1', 'n2'].map((name, i) => ({
          name, lightweight: false, numaNodes: 1, cpu: '8', memory: '16Gi', pods: 110, labels: { rack: 'r1' }, taints: [],
          kubeletRegistration: ['kubelet.sock', 'plugins_registry'] as Array<'kubelet.sock' | 'plugins_registry'>,
          netdevNaming: 'predictable' as const, nics: [i350({ mac: `02:00:0${i}:01:00:00` })],
        })),
      },
    },
  ];
  for (const c of cases) t.same(parseTopology(c.text, 't.yaml'), c.want, c.name);
});

t.test('predictable names from the PCI address', async (t) => {
  const cases: Array<[string, string]> = [
    ['0000:01:00.0', 'ens1f0'],
    ['0000:01:00.1', 'ens1f1'],
    ['0000:3b:00.0', 'ens59f0'],
    ['0000:00:05.0', 'enp0s5f0'],
    ['0000:02:03.1', 'enp2s3f1'],
    ['0001:01:00.0', 'enP1p1s0f0'],
  ];
  for (const [addr, want] of cases) t.equal(predictableIfname(parsePciAddr(addr)), want, addr);
});

t.test('invalid files: every problem, with file:line:column and field path', async (t) => {
  const cases: Array<{ name: string; text: string; want: string[] }> = [
    {
      name: 'unknown model, unknown key, numVfs above totalVfs',
      text: file(`
    - name: node1
      nics:
        - model: intel-i350
          pciAddr: "0000:01:00.0"
          numVfs: 8
        - model: intel-x999
          pciAddr: "0000:02:00.0"
          numvfs: 2
`),
      want: [
        't.yaml:11:19: spec.nodes[0].nics[0].numVfs: 8 VFs requested but the intel-i350 sriov_totalvfs is 7',
        't.yaml:12:18: spec.nodes[0].nics[1].model: unknown NIC model "intel-x999"; known: intel-82576, intel-i350, intel-82599, intel-xl710, intel-e810, mlx-cx5, mlx-cx6, virtio-net',
        't.yaml:14:11: spec.nodes[0].nics[1].numvfs: unknown field "numvfs" (did you mean "numVfs"?); known: model, pciAddr, ifname, numVfs, totalVfs, vfOffset, vfStride, numaNode, vfDriver, linkState, mac, mtu',
      ],
    },
    {
      name: 'numVfs above a totalVfs override; bad PCI addresses',
      text: file(`
    - name: node1
      nics:
        - { model: mlx-cx5, pciAddr: "0000:5e:00.0", totalVfs: 4, numVfs: 5 }
        - { model: intel-i350, pciAddr: "01:00.0" }
        - { model: intel-i350, pciAddr: "0000:01:20.0" }
`),
      want: [
        't.yaml:9:75: spec.nodes[0].nics[0].numVfs: 5 VFs requested but totalVfs is 4',
        't.yaml:10:41: spec.nodes[0].nics[1].pciAddr: "01:00.0" is not a PCI address: expected DDDD:BB:DD.F (hex domain:bus:device.function, e.g. 0000:01:00.0)',
        't.yaml:11:41: spec.nodes[0].nics[2].pciAddr: "0000:01:20.0" is not a PCI address: device 20 is above 1f',
      ],
    },
    {
      name: 'duplicate node names, PCI addresses and ifnames',
      text: file(`
    - name: node1
      nics:
        - { model: intel-i350, pciAddr: "0000:01:00.0", ifname: p0 }
        - { model: virtio-net, pciAddr: "0000:01:00.0" }
        - { model: virtio-net, pciAddr: "0000:00:03.0", ifname: p0 }
    - name: node1
      nics: []
`),
      want: [
        't.yaml:10:41: spec.nodes[0].nics[1].pciAddr: duplicate PCI address 0000:01:00.0 (also spec.nodes[0].nics[0])',
        't.yaml:11:65: spec.nodes[0].nics[2].ifname: duplicate interface name p0 (also spec.nodes[0].nics[0])',
        't.yaml:12:13: spec.nodes[1].name: duplicate node name "node1" (also spec.nodes[0])',
      ],
    },
    {
      name: 'a derived ifname colliding with an explicit one points at pciAddr and says how to fix it',
      text: file(`
    - name: node1
      nics:
        - { model: virtio-net, pciAddr: "0000:00:05.0", ifname: ens1f0 }
        - { model: intel-i350, pciAddr: "0000:01:00.0" }
`),
      want: [
        't.yaml:10:41: spec.nodes[0].nics[1].ifname: duplicate interface name ens1f0 (derived from 0000:01:00.0; set ifname to choose another) (also spec.nodes[0].nics[0])',
      ],
    },
    {
      name: 'VF ranges colliding with a PF and with another PF\'s VFs; VFs past bus ff',
      text: file(`
    - name: node1
      nics:
        - { model: intel-i350, pciAddr: "0000:01:00.0" }
        - { model: virtio-net, pciAddr: "0000:01:10.4" }
        - { model: intel-xl710, pciAddr: "0000:02:00.0" }
        - { model: intel-xl710, pciAddr: "0000:02:00.1" }
        - { model: intel-e810, pciAddr: "0000:ff:00.0" }
`),
      want: [
        't.yaml:9:41: spec.nodes[0].nics[0].pciAddr: VF 1 of this PF would be at 0000:01:10.4, which is the PF spec.nodes[0].nics[1] (0000:01:10.4) (offset 128, stride 4, totalVfs 7)',
        't.yaml:12:42: spec.nodes[0].nics[3].pciAddr: VF 0 of this PF would be at 0000:02:02.1, which is VF 1 of spec.nodes[0].nics[2] (0000:02:02.1) (offset 16, stride 1, totalVfs 64)',
        't.yaml:13:41: spec.nodes[0].nics[4].pciAddr: VF 248 would fall past bus ff (offset 8, stride 1, totalVfs 256); use a lower bus or fewer VFs',
      ],
    },
    {
      name: 'a vfOffset override resolves the XL710 collision',
      text: file(`
    - name: node1
      nics:
        - { model: intel-xl710, pciAddr: "0000:02:00.0" }
        - { model: intel-xl710, pciAddr: "0000:02:00.1", vfOffset: 79 }
`),
      want: [],
    },
    {
      name: 'predictable naming reserves VF names',
      text: file(`
    - name: node1
      nics:
        - { model: intel-i350, pciAddr: "0000:01:00.0" }
        - { model: virtio-net, pciAddr: "0000:00:05.0", ifname: ens1f0v3 }
        - { model: virtio-net, pciAddr: "0000:00:06.0", ifname: ens1f0v7 }
`),
      want: [
        't.yaml:10:65: spec.nodes[0].nics[1].ifname: ens1f0v3 is the name VF 3 of spec.nodes[0].nics[0] (ens1f0) will get',
      ],
    },
    {
      name: 'types, ranges and enums',
      text: file(`
    - name: Node_1
      numaNodes: 0
      cpu: lots
      pods: "10"
      netdevNaming: systemd
      kubeletRegistration: [kubelet.sock, kubelet.sock, grpc]
      taints:
        - { key: a, effect: NoSchedul }
        - { effect: NoSchedule }
      labels: { "bad key!": x }
      nics:
        - model: virtio-net
          pciAddr: "0000:00:05.0"
          ifname: this-name-is-too-long
          numVfs: 1
          vfDriver: vfio-pci
          linkState: UP
          mac: 02:00:00:00:00
          mtu: 20000
          numaNode: -2
`),
      want: [
        't.yaml:7:13: spec.nodes[0].name: node name "Node_1" is not a DNS-1123 subdomain (lower-case letters, digits, "-" and ".", starting and ending alphanumeric)',
        't.yaml:8:18: spec.nodes[0].numaNodes: 0 is out of range 1..1024',
        't.yaml:9:12: spec.nodes[0].cpu: "lots" is not a Kubernetes quantity (e.g. "4", "500m", "16Gi")',
        't.yaml:10:13: spec.nodes[0].pods: expected an integer, got string "10"',
        't.yaml:11:21: spec.nodes[0].netdevNaming: "systemd" is not one of predictable, kernel',
        't.yaml:12:43: spec.nodes[0].kubeletRegistration[1]: "kubelet.sock" is listed twice',
        't.yaml:12:57: spec.nodes[0].kubeletRegistration[2]: "grpc" is not one of kubelet.sock, plugins_registry',
        't.yaml:14:29: spec.nodes[0].taints[0].effect: "NoSchedul" is not one of NoSchedule, PreferNoSchedule, NoExecute (did you mean "NoSchedule"?)',
        't.yaml:15:11: spec.nodes[0].taints[1].key: required field is missing',
        't.yaml:16:17: spec.nodes[0].labels.bad key!: label key "bad key!": the name part must be 1-63 characters of letters, digits, "-", "_", ".", starting and ending alphanumeric',
        't.yaml:20:19: spec.nodes[0].nics[0].ifname: "this-name-is-too-long" is 21 characters; Linux allows at most 15',
        't.yaml:21:19: spec.nodes[0].nics[0].numVfs: model virtio-net has no SR-IOV; remove numVfs',
        't.yaml:22:21: spec.nodes[0].nics[0].vfDriver: model virtio-net has no SR-IOV, so it has no VFs to bind',
        't.yaml:23:22: spec.nodes[0].nics[0].linkState: "UP" is not one of up, down (did you mean "up"?)',
        't.yaml:24:16: spec.nodes[0].nics[0].mac: "02:00:00:00:00" is not a MAC address (expected six hex bytes, e.g. 02:00:00:00:00:01)',
        't.yaml:25:16: spec.nodes[0].nics[0].mtu: 20000 is out of range 68..9702',
        't.yaml:26:21: spec.nodes[0].nics[0].numaNode: -2 is out of range -1..1023',
      ],
    },
    {
      name: 'NUMA node out of the node\'s range; duplicate MACs across nodes',
      text: file(`
    - name: a
      numaNodes: 2
      nics:
        - { model: intel-e810, pciAddr: "0000:3b:00.0", numaNode: 2, mac: "02:00:00:00:00:01" }
    - name: b
      nics:
        - { model: intel-e810, pciAddr: "0000:3b:00.0", mac: "02:00:00:00:00:01" }
`),
      want: [
        't.yaml:10:67: spec.nodes[0].nics[0].numaNode: NUMA node 2 does not exist: the node has numaNodes: 2 (use -1..1)',
        't.yaml:13:62: spec.nodes[1].nics[0].mac: duplicate MAC 02:00:00:00:00:01 (also spec.nodes[0].nics[0])',
      ],
    },
    {
      name: 'header: wrong apiVersion and kind, missing metadata.name, unknown top-level key, empty nodes',
      text: `apiVersion: v1
kind: Pod
metadata: {}
spec:
  nodes: []
status: {}
`,
      want: [
        't.yaml:1:13: apiVersion: "v1" is not supported; use sriov-lab.dev/v1alpha1',
        't.yaml:2:7: kind: "Pod" is not Topology',
        't.yaml:3:11: metadata.name: required field is missing',
        't.yaml:5:10: spec.nodes: a topology needs at least one node',
        't.yaml:6:1: status: unknown field "status"; known: apiVersion, kind, metadata, spec',
      ],
    },
    {
      name: 'missing spec and wrong shapes',
      text: `apiVersion: sriov-lab.dev/v1alpha1
kind: Topology
metadata: { name: x }
spec:
  nodes:
    - just-a-string
    - name: n
      nics: { model: intel-i350 }
`,
      want: [
        't.yaml:6:7: spec.nodes[0]: expected a mapping, got string "just-a-string"',
        't.yaml:8:13: spec.nodes[1].nics: expected a list, got a mapping',
      ],
    },
    {
      name: 'YAML syntax errors are reported with their position',
      text: `apiVersion: sriov-lab.dev/v1alpha1
kind: Topology
kind: Topology
metadata: { name: x
`,
      want: [
        't.yaml:3:1: YAML: Map keys must be unique',
        't.yaml:5:1: YAML: Flow map in block collection must be sufficiently indented and end with a }',
      ],
    },
    {
      name: 'an empty file (at its first line, as a scenario says it; found by topology.fuzz.test.ts)',
      text: '',
      want: ['t.yaml:1:1: empty document; expected apiVersion: sriov-lab.dev/v1alpha1, kind: Topology, metadata and spec'],
    },
  ];
  for (const c of cases) t.same(errorLines(c.text), c.want, c.name);
  t.same(errorLines('# only a comment\n'), ['t.yaml:1:1: empty document; expected apiVersion: sriov-lab.dev/v1alpha1, kind: Topology, metadata and spec'], 'a file of comments');
});

t.test('TopologyError carries structured issues and a readable message', async (t) => {
  const err = t.throws(() => parseTopology(file(`
    - name: n
      nics: [{ model: nope, pciAddr: "0000:01:00.0" }]
`), 'x.yaml')) as TopologyError;
  t.type(err, TopologyError);
  t.same(err.issues, [{
    file: 'x.yaml', line: 8, column: 23, field: 'spec.nodes[0].nics[0].model',
    message: 'unknown NIC model "nope"; known: intel-82576, intel-i350, intel-82599, intel-xl710, intel-e810, mlx-cx5, mlx-cx6, virtio-net',
  }]);
  t.equal(err.message.split('\n')[0], 'x.yaml: 1 topology error:');
  t.equal(err.message.split('\n')[1], err.lines()[0]);
});

t.test('loadTopology reads a file; a missing file is a TopologyError naming it', async (t) => {
  const dir = t.testdir({ 'a.yaml': file(`
    - name: n
      nics: [{ model: intel-i350, pciAddr: "0000:01:00.0", numVfs: 99 }]
`) });
  const err = t.throws(() => loadTopology(`${dir}/a.yaml`)) as TopologyError;
  t.same(err.lines(), [`${dir}/a.yaml:8:68: spec.nodes[0].nics[0].numVfs: 99 VFs requested but the intel-i350 sriov_totalvfs is 7`]);
  const missing = t.throws(() => loadTopology(`${dir}/nope.yaml`)) as TopologyError;
  t.type(missing, TopologyError);
  t.match(missing.lines()[0], new RegExp(`^${dir}/nope.yaml: cannot read the topology file: ENOENT`));
});

t.test('defaultTopology is the issue\'s default and equals scenarios/topologies/default.yaml', async (t) => {
  const d = defaultTopology();
  t.same(d.nodes.map((n) => n.name), ['node1']);
  t.same(d.nodes[0].nics.map((n) => [n.model, n.ifname, n.pciAddr, n.numVfs]), [
    ['intel-i350', 'ens1f0', '0000:01:00.0', 0],
    ['virtio-net', 'eth1', '0000:00:05.0', 0],
  ]);
  t.same(loadTopology(exampleFile('default.yaml')), d);
});

t.test('example topologies load and say what their names promise', async (t) => {
  const two = loadTopology(exampleFile('two-nodes-i350.yaml'));
  t.same(two.nodes.map((n) => n.nics.map((c) => `${c.model} ${c.ifname} ${c.pciAddr} vfs=${c.numVfs} ${c.vfDriver}`)), [
    ['intel-i350 ens1f0 0000:01:00.0 vfs=0 default', 'intel-i350 ens1f1 0000:01:00.1 vfs=0 default'],
    ['intel-i350 ens1f0 0000:01:00.0 vfs=4 default', 'intel-i350 ens1f1 0000:01:00.1 vfs=2 vfio-pci'],
  ]);
  const numa = loadTopology(exampleFile('numa-e810.yaml'));
  t.equal(numa.nodes[0].numaNodes, 2);
  t.same(numa.nodes[0].nics.map((c) => [c.model, c.numaNode, c.totalVfs]), [['intel-e810', 0, 256], ['intel-e810', 1, 256]]);
  const mixed = loadTopology(exampleFile('mixed.yaml'));
  t.same(new Set(mixed.nodes.flatMap((n) => n.nics.map((c) => c.model))), new Set(['virtio-net', 'intel-82576', 'mlx-cx5']));
  t.same(mixed.nodes[1].nics.map((c) => c.ifname), ['eth0', 'eth1']);
  t.equal(mixed.nodes[0].nics[2].totalVfs, 8);
  for (const f of ['default.yaml', 'two-nodes-i350.yaml', 'numa-e810.yaml', 'mixed.yaml']) {
    t.match(readFileSync(exampleFile(f), 'utf8').split('\n')[0], /^# yaml-language-server: \$schema=\.\/topology\.schema\.json$/, f);
  }
});

t.test('resolveTopology applies the same rules to objects built in code (no line numbers)', async (t) => {
  const topo = resolveTopology({ nodes: [{ name: 'n', nics: [{ model: 'intel-82576', pciAddr: '0000:01:00.0', numVfs: 2 }] }] });
  t.same(topo.nodes[0].nics[0], {
    model: 'intel-82576', pciAddr: '0000:01:00.0', ifname: 'ens1f0', numVfs: 2, totalVfs: 7, vfOffset: 128, vfStride: 2,
    numaNode: -1, vfDriver: 'default', linkState: 'up', mac: '02:00:00:01:00:00', mtu: 1500,
  });
  const err = t.throws(() => resolveTopology({ nodes: [{ name: 'n', nics: [{ model: 'intel-82576', pciAddr: '0000:01:00.0', numVfs: 8 }] }] }, 'test')) as TopologyError;
  t.same(err.lines(), ['test: spec.nodes[0].nics[0].numVfs: 8 VFs requested but the intel-82576 sriov_totalvfs is 7']);
});

t.test('replicas: one entry, many nodes named <name>-<i>, each with its own derived MACs', async (t) => {
  const topo = parseTopology(file(`
    - name: full
      nics: [{ model: intel-i350, pciAddr: "0000:01:00.0", numVfs: 2 }]
    - name: rack
      replicas: 3
      lightweight: true
      labels: { zone: a }
      nics: [{ model: intel-e810, pciAddr: "0000:3b:00.0", numVfs: 64 }]
`));
  t.same(topo.nodes.map((n) => n.name), ['full', 'rack-0', 'rack-1', 'rack-2']);
  t.same(topo.nodes.map((n) => n.lightweight), [false, true, true, true]);
  t.same(topo.nodes.map((n) => n.nics[0].mac), ['02:00:00:01:00:00', '02:00:01:3b:00:00', '02:00:02:3b:00:00', '02:00:03:3b:00:00'], 'node index = position in the expanded list');
  t.same(topo.nodes[3].labels, { zone: 'a' });
  t.not(topo.nodes[2].labels, topo.nodes[3].labels, 'replicas do not share objects');
  t.equal(topo.nodes[1].nics[0].numVfs, 64);
  t.same(parseTopology(file(`
    - name: one
      replicas: 1
      nics: []
`)).nodes.map((n) => n.name), ['one-0'], 'replicas given: always suffixed');

  const thousand = parseTopology(file(`
    - name: w
      replicas: 1000
      lightweight: true
      nics: [{ model: intel-e810, pciAddr: "0000:3b:00.0", numVfs: 64 }]
`));
  t.equal(thousand.nodes.length, 1000);
  t.equal(new Set(thousand.nodes.map((n) => n.nics[0].mac)).size, 1000, 'every MAC unique');
});

t.test('replicas: bad values named by file, line and field, reported once per entry', async (t) => {
  t.same(errorLines(file(`
    - name: w
      replicas: 0
      nics: []
    - name: x
      replicas: many
      nics: []
    - name: y
      replicas: 2.5
      lightweight: yes
      nics: []
`)), [
    't.yaml:8:17: spec.nodes[0].replicas: 0 is out of range 1..65536',
    't.yaml:11:17: spec.nodes[1].replicas: expected an integer, got string "many"',
    't.yaml:14:17: spec.nodes[2].replicas: expected an integer, got number 2.5',
    't.yaml:15:20: spec.nodes[2].lightweight: expected true or false, got string "yes"',
  ]);
  t.same(errorLines(file(`
    - name: w
      replicas: 70000
      nics: []
`)), ['t.yaml:8:17: spec.nodes[0].replicas: 70000 is out of range 1..65536']);
  t.same(errorLines(file(`
    - name: w
      replicas: 3
      nics: [{ model: intel-i350, pciAddr: "0000:01:00.0", numVfs: 9 }]
    - name: w-1
      nics: []
`)), [
    't.yaml:9:68: spec.nodes[0].nics[0].numVfs: 9 VFs requested but the intel-i350 sriov_totalvfs is 7',
    't.yaml:10:13: spec.nodes[1].name: duplicate node name "w-1" (also spec.nodes[0] (replica 1))',
  ]);
  t.same(errorLines(file(`
    - name: w
      replicas: 2
      nics: [{ model: intel-i350, pciAddr: "0000:01:00.0", mac: "02:00:00:00:00:01" }]
`)), ['t.yaml:9:65: spec.nodes[0].nics[0].mac: a node with replicas: 2 cannot give a NIC one MAC (every replica would have it); leave mac out to derive one per replica']);
  t.same(errorLines(file(`
    - name: a
      replicas: 40000
      nics: []
    - name: b
      replicas: 40000
      nics: []
`)), ['t.yaml:7:5: spec.nodes: 80000 nodes with replicas expanded; at most 65536 (derived MACs hold the node index in two bytes)']);
});

// found by topology.fuzz.test.ts: a message quoted the whole of a 5000-character value
t.test('long values are quoted short in messages', async (t) => {
  const long = 'a'.repeat(5000);
  const cut = `"${'a'.repeat(60)}"… (5000 characters)`;
  const text = `apiVersion: ${long}\nkind: Topology\nmetadata: {name: x}\nspec:\n  nodes:\n    - name: n1\n      labels: {k: ${long}}\n      nics:\n        - {model: ${long}, pciAddr: "0000:01:00.0"}\n`;
  const lines = errorLines(text);
  t.equal(lines.length, 3);
  t.ok(lines.every((l) => l.length < 400 && l.includes(cut)), lines.join('\n'));
  t.match(lines[0], `t.yaml:1:13: apiVersion: ${cut} is not supported`);
});
