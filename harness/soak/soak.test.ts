// The soak: its checker reports each invariant broken in an observation, the shrinker finds the smallest failing
// list, the plan is the seed's, and a short seeded soak on sim runs clean — and, with an observation corrupted,
// reports it, shrinks it and writes a scenario the runner loads.
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { caps } from '../../sim/caps.ts';
import { resolveTopology } from '../../sim/topology/topology.ts';
import { loadScenario } from '../scenario/load.ts';
import { LabCluster } from '../cluster/lab-cluster.ts';
import { SimNodeProvider, simProviderOptions } from '../backends/sim.ts';
import { checkInvariants, type Observation, type VfSettings } from './invariants.ts';
import { parseVfReport } from './observe.ts';
import { planSteps, stepsLeftOut } from './plan.ts';
import { shrink } from './shrink.ts';
import { soak, soakNodes, SOAK_RESOURCE } from './soak.ts';

const DEFAULTS: VfSettings = { mac: '00:00:00:00:00:00', vlan: 0, qos: 0, spoofchk: true, trust: false, linkState: 'auto', maxTxRate: 0, minTxRate: 0 };
const VF = (index: number, pciAddr: string, settings: Partial<VfSettings> = {}) => ({ pf: 'ens1f0', index, pciAddr, driver: 'igbvf', netdevs: [`ens1f0v${index}`], settings: { ...DEFAULTS, ...settings } });

/** a sound observation: pod a holds VF 0 (attached, with the network's settings), VF 1 is free */
function sound(): Observation {
  return {
    pods: [{ name: 'a', uid: 'uid-a', node: 'node1', phase: 'Running', deleting: false, networkDevices: ['0000:01:10.0'] }],
    nodes: [
      {
        name: 'node1',
        capacity: { [SOAK_RESOURCE]: 2, cpu: 8 },
        allocatable: { [SOAK_RESOURCE]: 2, cpu: 8 },
        podResources: {
          pods: [{ namespace: 'default', name: 'a', devices: [{ resource: SOAK_RESOURCE, id: '0000:01:10.0' }] }],
          allocatable: { [SOAK_RESOURCE]: ['0000:01:10.0', '0000:01:10.4'] },
        },
        checkpoint: [{ podUid: 'uid-a', resource: SOAK_RESOURCE, devices: ['0000:01:10.0'] }],
        vfs: [VF(0, '0000:01:10.0', { vlan: 100, trust: true }), VF(1, '0000:01:10.4')],
        links: ['lo', 'ens1f0', 'ens1f0v1'],
      },
    ],
  };
}
const baseline = new Map([
  ['node1/0000:01:10.0', DEFAULTS],
  ['node1/0000:01:10.4', DEFAULTS],
]);

t.test('the checker: a sound observation passes, each corruption is reported', async (t) => {
  t.same(checkInvariants(sound(), baseline), []);
  const b = { name: 'b', uid: 'uid-b', node: 'node1', phase: 'Running', deleting: false, networkDevices: [] as string[] };
  const cases: Array<[string, (o: Observation) => void, string, RegExp]> = [
    ['one device in two pods (pod-resources, checkpoint)', (o) => {
      o.pods.push(b);
      o.nodes[0].podResources.pods.push({ namespace: 'default', name: 'b', devices: [{ resource: SOAK_RESOURCE, id: '0000:01:10.0' }] });
      o.nodes[0].checkpoint.push({ podUid: 'uid-b', resource: SOAK_RESOURCE, devices: ['0000:01:10.0'] });
    }, 'deviceHeldOnce', /device 0000:01:10\.0 is held by two live pods, a and b/],
    ['one VF attached in two pods', (o) => {
      o.pods.push({ ...b, networkDevices: ['0000:01:10.0'] });
    }, 'deviceHeldOnce', /network-status: device 0000:01:10\.0/],
    ['a pod attached a device not allocated to it', (o) => {
      o.pods[0].networkDevices = ['0000:01:10.4'];
    }, 'sourcesAgree', /network-status, but pod-resources does not list it/],
    ['checkpoint and pod-resources disagree', (o) => {
      o.nodes[0].checkpoint[0].devices = ['0000:01:10.4'];
    }, 'sourcesAgree', /pod-resources lists \[0000:01:10\.0\], the checkpoint \[0000:01:10\.4\]/],
    ['allocatable is not the healthy devices', (o) => {
      o.nodes[0].podResources.allocatable[SOAK_RESOURCE] = ['0000:01:10.0'];
    }, 'allocatableHealthy', /Node allocatable 2, but the kubelet has 1 healthy devices/],
    ['a free VF kept its VLAN', (o) => {
      o.nodes[0].vfs[1].settings.vlan = 100;
    }, 'vfDefaults', /vf 1 \(0000:01:10\.4\) is in no pod but has vlan 100 \(was 0\)/],
    ['a free VF whose netdev is not in the node', (o) => {
      o.nodes[0].links = ['lo', 'ens1f0'];
    }, 'vfNetdevInNode', /its netdev ens1f0v1 is not in the node/],
    ['a VF of the boot is gone', (o) => {
      o.nodes[0].vfs.pop();
    }, 'vfNetdevInNode', /VF 0000:01:10\.4 of the node as it came up is gone/],
    ['a free VF with no driver', (o) => {
      o.nodes[0].vfs[1].driver = undefined;
    }, 'vfNetdevInNode', /bound to no driver/],
  ];
  for (const [name, corrupt, invariant, message] of cases) {
    const o = sound();
    corrupt(o);
    const vs = checkInvariants(o, baseline);
    t.ok(vs.some((v) => v.invariant === invariant && message.test(v.message)), name, { found: vs });
  }
  const over = sound();
  over.nodes[0].capacity[SOAK_RESOURCE] = over.nodes[0].allocatable[SOAK_RESOURCE] = 1;
  over.nodes[0].podResources.allocatable[SOAK_RESOURCE] = ['0000:01:10.4'];
  over.pods.push({ ...b, networkDevices: ['0000:01:10.4'] });
  over.nodes[0].podResources.pods.push({ namespace: 'default', name: 'b', devices: [{ resource: SOAK_RESOURCE, id: '0000:01:10.4' }] });
  over.nodes[0].checkpoint.push({ podUid: 'uid-b', resource: SOAK_RESOURCE, devices: ['0000:01:10.4'] });
  t.ok(checkInvariants(over, baseline).some((v) => /2 devices allocated to live pods, capacity 1/.test(v.message)), 'more allocated than a registered capacity');
  // found by the soak (seed 11, shrunk to: a pod holds a VF, the plugin is killed, the kubelet restarts): the kubelet
  // then reports capacity 0 while the pod keeps its device, as the real one does until the plugin registers again
  const restarted = sound();
  restarted.nodes[0].capacity[SOAK_RESOURCE] = restarted.nodes[0].allocatable[SOAK_RESOURCE] = 0;
  restarted.nodes[0].podResources.allocatable = {};
  t.same(checkInvariants(restarted, baseline), [], 'capacity 0 after a kubelet restart without the plugin');
  // two VFs with one MAC (sriov-network-device-plugin #685), whether or not one is in a pod
  const twins = sound();
  twins.nodes[0].vfs[0].settings.mac = twins.nodes[0].vfs[1].settings.mac = '02:00:00:00:00:07';
  t.ok(checkInvariants(twins, baseline).some((v) => v.invariant === 'vfDefaults' && /vf 0 \(0000:01:10\.0\) and ens1f0 vf 1 \(0000:01:10\.4\) both have MAC 02:00:00:00:00:07/.test(v.message)), 'two VFs with one MAC');
  // igb: the PF shows the MAC igbvf registered when the VF's netdev came up; with the rule that is the VF's default
  const own = sound();
  own.nodes[0].vfs[1].settings.mac = own.nodes[0].vfs[1].netdevMac = '1e:1e:d6:ab:17:84';
  t.ok(checkInvariants(own, baseline).some((v) => /has mac 1e:1e:d6:ab:17:84 \(was 00:00:00:00:00:00\)/.test(v.message)), 'without the igb rule a changed MAC is reported');
  t.same(checkInvariants(own, baseline, { vfOwnMac: 'igb' }), [], "with it, the VF's own netdev MAC is its default");
  own.nodes[0].vfs[1].netdevMac = '1e:1e:d6:ab:17:85';
  t.ok(checkInvariants(own, baseline, { vfOwnMac: 'igb' }).some((v) => /has mac 1e:1e:d6:ab:17:84/.test(v.message)), 'a MAC that is not the netdev\'s own is still reported');
  const rate = sound();
  rate.nodes[0].vfs[1].settings.maxTxRate = 100;
  t.ok(checkInvariants(rate, baseline).some((v) => /maxTxRate 100/.test(v.message)), 'a rate left behind is reported');
  t.same(checkInvariants(rate, baseline, { uncompared: { maxTxRate: 'igb' } }), [], 'unless the NIC cannot restore it');
  // a pod that is gone or finished holds nothing: its stale entries are not a second holder
  const o = sound();
  o.pods.push({ ...b, phase: 'Failed', networkDevices: ['0000:01:10.0'] });
  o.nodes[0].checkpoint.push({ podUid: 'uid-b', resource: SOAK_RESOURCE, devices: ['0000:01:10.0'] });
  t.same(checkInvariants(o, baseline), [], 'a Failed pod is not a live holder');
});

t.test('ddmin finds the smallest failing list', async (t) => {
  const items = Array.from({ length: 40 }, (_, i) => i);
  const r = await shrink(items, async (c) => c.includes(7) && c.includes(31));
  t.same(r.items, [7, 31]);
  t.notOk(r.exhausted);
  t.ok(r.trials < 60, `${r.trials} trials`);
  const capped = await shrink(items, async (c) => c.includes(7) && c.includes(31), 3);
  t.ok(capped.exhausted, 'stops at the trial budget');
  t.ok(capped.items.includes(7) && capped.items.includes(31), 'with a list that still fails');
  t.same((await shrink([1, 2, 3], async () => false)).items, [1, 2, 3], 'a list nothing can be removed from stays');
});

t.test('the plan is the seed\'s', async (t) => {
  const target = { nodes: [{ name: 'node1', pfs: [{ ifname: 'ens1f0', numVfs: 4 }] }], podNames: 6 };
  t.same(planSteps(5, 200, target), planSteps(5, 200, target));
  t.notSame(planSteps(5, 200, target), planSteps(6, 200, target));
  const kinds = new Set(planSteps(5, 400, target).map((s) => s.kind));
  t.same([...kinds].sort(), ['driverRebind', 'ipamFail', 'kubeletRestart', 'netnsVanish', 'pfFlap', 'pluginKill', 'pluginRestart', 'pluginStart', 'podCreate', 'podDelete', 'socketDelete', 'vfCount', 'vfFlap']);
  t.same(planSteps(5, 200, target, 'sim'), planSteps(5, 200, target), 'sim is the default');
  // on qemu: the same seed gives the same steps, none the real kernel or igb cannot give
  const q = planSteps(5, 400, target, 'qemu');
  t.same(q, planSteps(5, 400, target, 'qemu'));
  t.same(stepsLeftOut('sim'), []);
  t.same(stepsLeftOut('qemu').map((l) => `${l.kind}${l.variant ? `/${l.variant}` : ''}`), ['driverRebind/errno', 'vfFlap']);
  t.match(stepsLeftOut('qemu')[0].reason, /sysfsFailWrites needs the simulated sysfs/);
  t.notOk(q.some((s) => s.kind === 'vfFlap'), 'no VF link flap on qemu');
  t.notOk(q.some((s) => s.kind === 'driverRebind' && s.errno), 'no errno on a bind on qemu');
  t.ok(q.some((s) => s.kind === 'driverRebind'), 'driver rebinds are still drawn');
  t.ok(planSteps(5, 400, target).some((s) => s.kind === 'driverRebind' && s.errno), 'on sim they carry errnos');
});

t.test('the VF report of a node', async (t) => {
  const out = [
    '#PF ens1f0',
    JSON.stringify([{ ifname: 'ens1f0', vfinfo_list: [{ vf: 0, address: '00:00:00:00:00:00', vlan_list: [{ vlan: 100 }], rate: { max_tx: 0, min_tx: 0 }, spoofchk: false, trust: true }, { vf: 1, address: '02:00:00:00:00:01', vlan_list: [{}], spoofchk: true, trust: false }] }]),
    '#VF ens1f0 0 0000:01:10.0 igbvf 1e:1e:d6:ab:17:84 ens1f0v0 ',
    '#VF ens1f0 1 0000:01:10.4 - - ',
    '#LINKS',
    'Inter-|   Receive                                                |  Transmit',
    ' face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed',
    '    lo:       0       0    0    0    0     0          0         0        0       0    0    0    0     0       0          0',
    'ens1f0:    1280      16    0    0    0     0          0         0     1280      16    0    0    0     0       0          0',
  ].join('\n');
  const r = parseVfReport(out);
  t.same(r.links, ['lo', 'ens1f0']);
  t.same(r.vfs[0], { pf: 'ens1f0', index: 0, pciAddr: '0000:01:10.0', driver: 'igbvf', netdevMac: '1e:1e:d6:ab:17:84', netdevs: ['ens1f0v0'], settings: { ...DEFAULTS, vlan: 100, spoofchk: false, trust: true, linkState: null } });
  t.same(r.vfs[1], { pf: 'ens1f0', index: 1, pciAddr: '0000:01:10.4', driver: undefined, netdevs: [], settings: { ...DEFAULTS, mac: '02:00:00:00:00:01', linkState: null, maxTxRate: 0 } });
});

// the two soaks on sim take minutes on a small shared machine (each step settles and observes every node)
t.setTimeout(900_000);

const missing = [caps.root(), caps.fuse(), caps.netns(), caps.cniPlugins()].find((c) => !c.ok);
const nodes = soakNodes(1);
const topology = resolveTopology({ name: 'soak', nodes });

t.test('a seeded soak on sim: 50 steps, no violation, nothing left behind', { skip: missing ? `needs ${missing.name}: ${missing.detail}` : false, timeout: 600_000 }, async (t) => {
  const f = await soak({ seed: 11, iterations: 50, topology, scenarioTopology: { nodes }, scenarioOut: join(t.testdir({}), 'repro.yaml'), maxShrinkTrials: 0 });
  t.equal(f.iterations, 50);
  t.same(f.leaks, []);
  t.equal(f.violations, 0, f.firstViolation?.message ?? 'no violation');
  const ran = Object.values(f.perKind).reduce((a, k) => a + k.ran, 0);
  t.ok(ran >= 30, `${ran} steps did something`);
  t.ok(f.perKind.podCreate?.ran > 0 && f.perKind.podDelete?.ran > 0, 'pods churned');
});

t.test('a corrupted observation is reported, shrunk to one step, and written as a scenario', { skip: missing ? `needs ${missing.name}` : false, timeout: 600_000 }, async (t) => {
  const dir = t.testdir({});
  const out = join(dir, 'repro.yaml');
  const f = await soak({
    seed: 11,
    iterations: 6,
    topology,
    scenarioTopology: { nodes },
    scenarioOut: out,
    maxShrinkTrials: 12,
    // as if the kubelet reported one device more than it has, once any pod runs
    tamper: (obs) => {
      if (obs.pods.some((p) => p.phase === 'Running')) obs.nodes[0].allocatable[SOAK_RESOURCE] += 1;
    },
  });
  t.equal(f.violations, 1);
  t.equal(f.firstViolation?.invariant, 'allocatableHealthy');
  t.equal(f.shrink?.toSteps, 1, 'one pod creation is all it takes');
  const s = loadScenario(out);
  t.equal(s.name, 'soak-seed-11');
  const ops = s.steps.flatMap((st) => st.try.map((o) => o.kind));
  t.same(ops.filter((k) => k === 'apply').length, 2, 'the network and the one pod');
  t.match(s.description ?? '', /allocatableHealthy/);
});

t.test('podLeftovers over the node interface: what a node holds for pods that are gone', { skip: missing ? `needs ${missing.name}` : false, timeout: 300_000 }, async (t) => {
  const workDir = t.testdir({});
  const opts = { topology, seed: 1, workDir, devicePlugin: {}, trace: () => undefined };
  const lc = await LabCluster.start(new SimNodeProvider(simProviderOptions(opts)), opts);
  const n = lc.nodes.get('node1')!;
  // the sim node's pod namespace prefix and its /var/lib/cni (the test makes the leftovers, the node must find them)
  const stray = `${n.node.netns}-deadbeef`;
  const leases = n.node.hostPath('/var/lib/cni/networks/soak-net');
  try {
    t.same(await n.api.call('podLeftovers', {}), { netns: [], ipamLeases: [], mounts: [], processes: [] }, 'a fresh node holds nothing');
    execFileSync('ip', ['netns', 'add', stray]);
    mkdirSync(leases, { recursive: true });
    writeFileSync(join(leases, '192.168.70.9'), '4f2a9c0e1b7d\neth1\n');
    writeFileSync(join(leases, 'last_reserved_ip.0'), '192.168.70.9');
    const l = await n.api.call('podLeftovers', {});
    t.same(l.netns, [`network namespace ${stray}`]);
    t.same(l.ipamLeases, ['IPAM lease soak-net/192.168.70.9 (container 4f2a9c0e1b7d)'], 'the lease, not the allocator\'s own file');
  } finally {
    spawnSync('ip', ['netns', 'del', stray], { stdio: 'ignore' });
    await lc.stop();
  }
});
