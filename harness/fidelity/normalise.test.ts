import t from 'tap';
import { flattenJson, Normaliser, NORMALISE_RULES } from './normalise.ts';

t.test('placeholders keep identity within one run and differ between values', async (t) => {
  const n = new Normaliser();
  t.equal(n.text('vf 0 mac 1a:dd:dd:97:81:2a'), 'vf 0 mac <mac#1>');
  t.equal(n.text('32:3C:13:E9:5F:4A then 1a:dd:dd:97:81:2a'), '<mac#2> then <mac#1>', 'the same MAC (any case) is the same placeholder');
  t.equal(n.text('00:00:00:00:00:00 ff:ff:ff:ff:ff:ff'), '00:00:00:00:00:00 ff:ff:ff:ff:ff:ff', 'all-zero and broadcast MACs carry meaning and are kept');
  t.equal(n.text('0000:01:10.4'), '0000:01:10.4', 'a PCI address is not a MAC');
});

t.test('each rule on a value of its kind', async (t) => {
  const n = new Normaliser();
  const cases: Array<[string, string]> = [
    ['03b9a5b1bea04571029ece28fc20483ea186e28901f063055f767e92cd4e6012', '<container#1>'],
    ['K8S_POD_UID=823b7710-b78c-479b-b5d4-2bbb50bb8a63', 'K8S_POD_UID=<uid#1>'],
    ['/run/netns/slm1m0-node1-71bba461', '<netns#1>'],
    ['/var/run/netns/cni-1234', '<netns#2>'],
    ['/proc/4242/ns/net', '<netns#3>'],
    ['{"dev-mount":"/dev/vfio/12","mount":"/dev/vfio/vfio"}', '{"dev-mount":"/dev/vfio/<group#1>","mount":"/dev/vfio/vfio"}'],
    ['/dev/vfio/13 /dev/vfio/12', '/dev/vfio/<group#2> /dev/vfio/<group#1>'],
    ['veth02e0e6af', '<veth#1>'],
  ];
  for (const [raw, want] of cases) t.equal(n.text(raw), want, raw);
  t.same(NORMALISE_RULES.map((r) => r.kind).sort(), ['container', 'group', 'mac', 'netns', 'uid', 'veth'], 'every rule is covered above');
});

t.test('two runs that differ only in random values normalise to the same text', async (t) => {
  const a = new Normaliser();
  const b = new Normaliser();
  const run = (n: Normaliser, mac1: string, mac2: string, ns: string) => [n.text(`net1 ${mac1} in ${ns}`), n.text(`restored ${mac2}`), n.text(`again ${mac1}`)];
  t.same(run(a, '02:00:00:00:00:01', '02:00:00:00:00:02', '/run/netns/x1'), run(b, '0e:11:22:33:44:55', '0e:66:77:88:99:aa', '/run/netns/y2'));
  t.notSame(run(new Normaliser(), '02:00:00:00:00:01', '02:00:00:00:00:01', '/run/netns/x1'), run(new Normaliser(), '02:00:00:00:00:01', '02:00:00:00:00:02', '/run/netns/x1'), 'a MAC that came back differs from one that did not');
});

t.test('flattenJson: paths, nested JSON strings, dropped time keys', async (t) => {
  const n = new Normaliser();
  const flat = flattenJson(
    {
      envs: { PCIDEVICE_X: '0000:01:10.0', PCIDEVICE_X_INFO: '{"0000:01:10.0":{"vfio":{"dev-mount":"/dev/vfio/7"}}}' },
      mounts: [],
      annotations: {},
      durationMs: 12,
      list: [1, null, true],
    },
    n,
    'response',
  );
  t.same(flat, [
    ['response.annotations', '{}'],
    ['response.envs.PCIDEVICE_X', '0000:01:10.0'],
    ['response.envs.PCIDEVICE_X_INFO.0000:01:10.0.vfio.dev-mount', '/dev/vfio/<group#1>'],
    ['response.list[0]', '1'],
    ['response.list[1]', 'null'],
    ['response.list[2]', 'true'],
    ['response.mounts', '[]'],
  ]);
  t.same(flattenJson('not {json', n, 'x'), [['x', 'not {json']]);
});

t.test('claimMac: a MAC is named by its best owner, whatever the order of the claims', async (t) => {
  const claims: Array<[string, string, number]> = [
    ['32:3c:13:e9:5f:4a', 'vf 0000:01:10.2', 1],
    ['32:3C:13:E9:5F:4A', 'pod/vf-pod/net1', 0],
    ['0a:00:00:00:00:01', 'pod/b/eth0', 0],
    ['0a:00:00:00:00:01', 'pod/a/eth0', 0],
  ];
  for (const order of [claims, [...claims].reverse()]) {
    const n = new Normaliser();
    for (const [mac, owner, rank] of order) n.claimMac(mac, owner, rank);
    t.equal(n.text('vf 1 link/ether 32:3c:13:e9:5f:4a'), 'vf 1 link/ether <mac:pod/vf-pod/net1>', 'a pod interface before a VF line');
    t.equal(n.text('0A:00:00:00:00:01'), '<mac:pod/a/eth0>', 'of equal rank, the smallest owner');
    t.equal(n.text('02:11:22:33:44:55'), '<mac#1>', 'unclaimed: numbered');
  }
  const n = new Normaliser();
  n.claimMac('00:00:00:00:00:00', 'vf 0000:01:10.0', 1);
  n.claimMac('0e:00:00:00:00:01', 'pod/p/net1', 0);
  n.claimMac('0e:00:00:00:00:02', 'pod/p/net1', 0);
  t.equal(n.text('00:00:00:00:00:00'), '00:00:00:00:00:00', 'the all-zero MAC is kept, not owned');
  t.same([n.text('0e:00:00:00:00:01'), n.text('0e:00:00:00:00:02')], ['<mac:pod/p/net1>', '<mac:pod/p/net1#2>'], 'one owner, two MACs over the run');
});
