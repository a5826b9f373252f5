import t from 'tap';
import { SysfsModel, relativePath } from './model.ts';
import { SysfsError, type ErrnoName } from './types.ts';
import { vfPciAddr } from '../topology/pci.ts';

const PF = '/sys/class/net/ens1f0/device';

function i350(extra: Partial<{ numVfs: number; vfDriver: 'default' | 'vfio-pci'; naming: 'predictable' | 'kernel' }> = {}) {
  return new SysfsModel({
    netdevNaming: extra.naming ?? 'predictable',
    nics: [
      { model: 'intel-i350', pciAddr: '0000:01:00.0', ifname: 'ens1f0', numVfs: extra.numVfs ?? 0, vfDriver: extra.vfDriver },
      { model: 'virtio-net', pciAddr: '0000:00:05.0', ifname: 'eth1' },
    ],
  });
}

function errnoOf(f: () => unknown): ErrnoName | 'none' {
  try {
    f();
    return 'none';
  } catch (e) {
    if (e instanceof SysfsError) return e.errno;
    throw e;
  }
}

t.test('sysfs shapes of a PF (docs/reference/sysfs-sriov.md)', async (t) => {
  const m = i350();
  t.equal(m.readlink('/sys/bus/pci/devices/0000:01:00.0'), '../../../devices/pci0000:00/0000:00:1c.0/0000:01:00.0', 'one more ../ behind a bridge');
  t.equal(m.readlink('/sys/bus/pci/devices/0000:00:05.0'), '../../../devices/pci0000:00/0000:00:05.0');
  const dir = '/sys/devices/pci0000:00/0000:00:1c.0/0000:01:00.0';
  t.equal(m.readlink(`${dir}/driver`), '../../../../bus/pci/drivers/igb');
  t.equal(m.readlink('/sys/devices/pci0000:00/0000:00:05.0/driver'), '../../../bus/pci/drivers/virtio-pci');
  t.match(m.readlink(`${dir}/iommu_group`), /^\.\.\/\.\.\/\.\.\/\.\.\/kernel\/iommu_groups\/\d+$/);
  t.equal(m.read(`${PF}/vendor`), '0x8086\n');
  t.equal(m.read(`${PF}/device`), '0x1521\n');
  t.equal(m.read(`${PF}/class`), '0x020000\n');
  t.equal(m.read(`${PF}/modalias`), 'pci:v00008086d00001521sv00008086sd00000001bc02sc00i00\n');
  t.equal(m.read(`${PF}/sriov_totalvfs`), '7\n');
  t.equal(m.read(`${PF}/sriov_numvfs`), '0\n');
  t.equal(m.read(`${PF}/sriov_offset`), '128\n');
  t.equal(m.read(`${PF}/sriov_stride`), '4\n');
  t.equal(m.read(`${PF}/sriov_vf_device`), '1520\n');
  t.equal(m.read(`${PF}/sriov_drivers_autoprobe`), '1\n');
  t.equal(m.read(`${PF}/numa_node`), '-1\n');
  t.equal(m.read(`${PF}/driver_override`), '(null)\n');
  t.equal(m.readlink('/sys/class/net/ens1f0'), '../../devices/pci0000:00/0000:00:1c.0/0000:01:00.0/net/ens1f0');
  t.equal(m.readlink(`${dir}/net/ens1f0/device`), '../../../0000:01:00.0');
  t.match(m.read('/sys/class/net/ens1f0/address'), /^00:1b:21(:[0-9a-f]{2}){3}\n$/);
  t.equal(m.read('/sys/class/net/ens1f0/mtu'), '1500\n');
  t.ok(m.readdir('/sys/bus/pci/drivers/igb').includes('0000:01:00.0'), 'driver dir links the device');
  t.same(
    ['bind', 'new_id', 'remove_id', 'unbind'].filter((f) => m.readdir('/sys/bus/pci/drivers/vfio-pci').includes(f)),
    ['bind', 'new_id', 'remove_id', 'unbind'],
  );
  // virtio-net keeps its netdev under virtioN/
  t.equal(m.readlink('/sys/class/net/eth1'), '../../devices/pci0000:00/0000:00:05.0/virtio0/net/eth1');
  t.equal(m.resolve('/sys/class/net/eth1/device'), '/sys/devices/pci0000:00/0000:00:05.0/virtio0');
  t.same(m.readdir('/dev/vfio'), ['vfio']);
});

t.test('sriov_numvfs 0 -> N creates VFs at offset + k*stride, bound and with netdevs', async (t) => {
  const m = i350();
  m.write(`${PF}/sriov_numvfs`, '4\n');
  t.equal(m.read(`${PF}/sriov_numvfs`), '4\n');
  const entries = m.readdir(PF);
  t.same(entries.filter((e) => e.startsWith('virtfn')), ['virtfn0', 'virtfn1', 'virtfn2', 'virtfn3']);
  const addrs = ['0000:01:10.0', '0000:01:10.4', '0000:01:11.0', '0000:01:11.4'];
  for (let k = 0; k < 4; k++) {
    t.equal(m.readlink(`${PF}/virtfn${k}`), `../${addrs[k]}`);
    const vf = `/sys/bus/pci/devices/${addrs[k]}`;
    t.equal(m.readlink(`${vf}/physfn`), '../0000:01:00.0');
    t.equal(m.read(`${vf}/device`), '0x1520\n');
    t.match(m.readlink(`${vf}/driver`), /drivers\/igbvf$/);
    t.same(m.readdir(`${vf}/net`), [`ens1f0v${k}`]);
    t.ok(m.exists(`/sys/class/net/ens1f0v${k}`));
  }
  const changes = m.drainNetdevChanges();
  t.same(
    changes.map((c) => `${c.kind} ${c.pciAddr}`),
    addrs.map((a) => `add ${a}`),
    'the node runtime is told about 4 new netdevs',
  );
  t.equal(m.read(`${PF}/virtfn0/physfn/sriov_numvfs`), '4\n', 'paths through links resolve');
});

t.test('sriov_numvfs write errors', async (t) => {
  const cases: Array<{ name: string; before: number; write: string; errno: ErrnoName | 'none'; after: number }> = [
    { name: 'non-zero to another non-zero is EBUSY', before: 4, write: '2', errno: 'EBUSY', after: 4 },
    { name: 'same count again succeeds', before: 4, write: '4', errno: 'none', after: 4 },
    { name: 'above totalvfs is ERANGE', before: 0, write: '8', errno: 'ERANGE', after: 0 },
    { name: 'not a number is EINVAL', before: 0, write: 'four', errno: 'EINVAL', after: 0 },
    { name: 'zero removes all', before: 4, write: '0', errno: 'none', after: 0 },
    { name: 'totalvfs exactly', before: 0, write: '7', errno: 'none', after: 7 },
  ];
  for (const c of cases) {
    const m = i350({ numVfs: c.before });
    t.equal(errnoOf(() => m.write(`${PF}/sriov_numvfs`, `${c.write}\n`)), c.errno, c.name);
    t.equal(m.read(`${PF}/sriov_numvfs`), `${c.after}\n`, `${c.name}: count after`);
    t.equal(m.readdir(PF).filter((e) => e.startsWith('virtfn')).length, c.after, `${c.name}: virtfn links`);
  }
  const m = i350({ numVfs: 2 });
  m.write(`${PF}/sriov_numvfs`, '0');
  t.notOk(m.exists('/sys/bus/pci/devices/0000:01:10.0'), 'VF devices are gone after 0');
  t.notOk(m.exists('/sys/class/net/ens1f0v0'), 'VF netdevs are gone after 0');
});

t.test('sriov_numvfs needs a bound PF driver; unbinding the PF disables SR-IOV', async (t) => {
  const m = i350({ numVfs: 3 });
  m.write('/sys/bus/pci/drivers/igb/unbind', '0000:01:00.0');
  t.notOk(m.exists('/sys/bus/pci/devices/0000:01:10.0'), 'VFs removed with the PF driver');
  t.notOk(m.exists('/sys/class/net/ens1f0'), 'PF netdev gone');
  t.equal(errnoOf(() => m.write('/sys/bus/pci/devices/0000:01:00.0/sriov_numvfs', '2')), 'ENOENT');
  m.write('/sys/bus/pci/drivers_probe', '0000:01:00.0');
  t.match(m.readlink('/sys/bus/pci/devices/0000:01:00.0/driver'), /igb$/, 'drivers_probe rebinds igb');
  t.ok(m.exists('/sys/class/net/ens1f0'), 'PF netdev back');
});

t.test('autoprobe off leaves VFs unbound; bind/unbind errno', async (t) => {
  const m = i350();
  m.write(`${PF}/sriov_drivers_autoprobe`, '0');
  m.write(`${PF}/sriov_numvfs`, '2');
  const vf = '/sys/bus/pci/devices/0000:01:10.0';
  t.notOk(m.exists(`${vf}/driver`), 'no driver link');
  t.same(m.readdir(vf).includes('net'), false, 'no netdev');
  const cases: Array<{ name: string; path: string; value: string; errno: ErrnoName | 'none' }> = [
    { name: 'unbind from a driver the device is not bound to', path: '/sys/bus/pci/drivers/igbvf/unbind', value: '0000:01:10.0', errno: 'ENODEV' },
    { name: 'bind to a driver that does not claim it', path: '/sys/bus/pci/drivers/ixgbevf/bind', value: '0000:01:10.0', errno: 'ENODEV' },
    { name: 'bind vfio-pci without override or id', path: '/sys/bus/pci/drivers/vfio-pci/bind', value: '0000:01:10.0', errno: 'ENODEV' },
    { name: 'bind an unknown address', path: '/sys/bus/pci/drivers/igbvf/bind', value: '0000:09:00.0', errno: 'ENODEV' },
    { name: 'bind to the matching driver: no probe of a VF while autoprobe is off (pci_device_can_probe)', path: '/sys/bus/pci/drivers/igbvf/bind', value: '0000:01:10.0', errno: 'ENODEV' },
    { name: 'drivers_probe does not bind it either', path: '/sys/bus/pci/drivers_probe', value: '0000:01:10.0', errno: 'none' },
    { name: 'with a driver_override it may be probed', path: `${vf}/driver_override`, value: 'igbvf', errno: 'none' },
    { name: 'bind to the matching driver', path: '/sys/bus/pci/drivers/igbvf/bind', value: '0000:01:10.0', errno: 'none' },
    { name: 'bind again: already bound', path: '/sys/bus/pci/drivers/igbvf/bind', value: '0000:01:10.0', errno: 'EBUSY' },
    { name: 'bind the bound device to another driver', path: '/sys/bus/pci/drivers/vfio-pci/bind', value: '0000:01:10.0', errno: 'EBUSY' },
    { name: 'drivers_probe on a bound device is a no-op', path: '/sys/bus/pci/drivers_probe', value: '0000:01:10.0', errno: 'none' },
    { name: 'read-only attribute', path: `${vf}/vendor`, value: '0x1234', errno: 'EACCES' },
    { name: 'unknown path', path: `${vf}/nonexistent`, value: '1', errno: 'ENOENT' },
    { name: 'write to a directory', path: `${vf}/net`, value: '1', errno: 'EISDIR' },
    { name: 'autoprobe takes 0 or 1 only', path: `${PF}/sriov_drivers_autoprobe`, value: '2', errno: 'EINVAL' },
    { name: 'new_id needs hex ids', path: '/sys/bus/pci/drivers/vfio-pci/new_id', value: 'zz', errno: 'EINVAL' },
    { name: 'remove_id of an id never added', path: '/sys/bus/pci/drivers/vfio-pci/remove_id', value: '8086 1520', errno: 'ENODEV' },
  ];
  for (const c of cases) t.equal(errnoOf(() => m.write(c.path, c.value)), c.errno, c.name);
  t.match(m.readlink(`${vf}/driver`), /igbvf$/);
  t.same(m.readdir(`${vf}/net`), ['ens1f0v0']);
  t.equal(errnoOf(() => m.read('/sys/bus/pci/drivers/igbvf/bind')), 'EACCES', 'write-only attributes cannot be read');
});

t.test('driver_override + drivers_probe round trip to vfio-pci and back', async (t) => {
  const m = i350({ numVfs: 2 });
  const vf = '/sys/bus/pci/devices/0000:01:10.4';
  const group = m.readlink(`${vf}/iommu_group`).split('/').pop()!;
  const mac = m.read('/sys/class/net/ens1f0v1/address');
  m.drainNetdevChanges();
  m.write('/sys/bus/pci/drivers/igbvf/unbind', '0000:01:10.4');
  t.notOk(m.exists(`${vf}/net`), 'unbind removes net/');
  m.write(`${vf}/driver_override`, 'vfio-pci\n');
  t.equal(m.read(`${vf}/driver_override`), 'vfio-pci\n');
  m.write('/sys/bus/pci/drivers_probe', '0000:01:10.4');
  t.match(m.readlink(`${vf}/driver`), /\/vfio-pci$/);
  t.notOk(m.exists(`${vf}/net`), 'vfio-pci has no netdev');
  t.ok(m.exists(`/dev/vfio/${group}`), '/dev/vfio/<group> appears');
  t.notOk(m.exists('/sys/class/net/ens1f0v1'));
  // back to the kernel driver
  m.write('/sys/bus/pci/drivers/vfio-pci/unbind', '0000:01:10.4');
  t.notOk(m.exists(`/dev/vfio/${group}`), 'group node goes with vfio-pci');
  m.write('/sys/bus/pci/drivers_probe', '0000:01:10.4');
  t.match(m.readlink(`${vf}/driver`), /\/vfio-pci$/, 'while the override names vfio-pci, a probe binds vfio-pci again');
  m.write('/sys/bus/pci/drivers/vfio-pci/unbind', '0000:01:10.4');
  m.write(`${vf}/driver_override`, '\n');
  t.equal(m.read(`${vf}/driver_override`), '(null)\n');
  m.write('/sys/bus/pci/drivers_probe', '0000:01:10.4');
  t.match(m.readlink(`${vf}/driver`), /\/igbvf$/);
  t.same(m.readdir(`${vf}/net`), ['ens1f0v1'], 'netdev returns with its predictable name');
  t.equal(m.read('/sys/class/net/ens1f0v1/address'), mac, 'and its MAC');
  t.same(
    m.drainNetdevChanges().map((c) => c.kind),
    ['remove', 'add'],
    'netdev removed once (vfio-pci creates none) and added once',
  );
});

t.test('new_id binds every unbound matching device; remove_id', async (t) => {
  const m = i350();
  m.write(`${PF}/sriov_drivers_autoprobe`, '0');
  m.write(`${PF}/sriov_numvfs`, '2');
  m.write('/sys/bus/pci/drivers/vfio-pci/new_id', '8086 1520');
  for (const a of ['0000:01:10.0', '0000:01:10.4']) t.notOk(m.exists(`/sys/bus/pci/devices/${a}/driver`), `${a}: a VF is not probed while its PF's autoprobe is off`);
  m.write('/sys/bus/pci/drivers/vfio-pci/remove_id', '8086 1520');
  m.write(`${PF}/sriov_drivers_autoprobe`, '1');
  m.write('/sys/bus/pci/drivers/vfio-pci/new_id', '8086 1520');
  for (const a of ['0000:01:10.0', '0000:01:10.4']) t.match(m.readlink(`/sys/bus/pci/devices/${a}/driver`), /vfio-pci$/);
  t.equal(errnoOf(() => m.write('/sys/bus/pci/drivers/vfio-pci/new_id', '0x8086 0x1520')), 'EEXIST');
  m.write('/sys/bus/pci/drivers/vfio-pci/remove_id', '8086 1520');
  t.same(m.readdir('/dev/vfio').length, 3, 'vfio + two groups');
});

t.test('kernel-style netdev naming', async (t) => {
  const m = i350({ naming: 'kernel', numVfs: 2 });
  t.same(
    m.netdevs().map((n) => n.netdev.name),
    ['eth1', 'ens1f0', 'eth2', 'eth3'],
  );
  m.write('/sys/bus/pci/drivers/igbvf/unbind', '0000:01:10.0');
  m.write('/sys/bus/pci/drivers_probe', '0000:01:10.0');
  t.same(m.readdir('/sys/bus/pci/devices/0000:01:10.0/net'), ['eth4'], 'a re-probed VF gets the next ethN, like the kernel');
});

t.test('VF attributes through the PF', async (t) => {
  const m = i350({ numVfs: 2 });
  m.setVf('ens1f0', 0, { vlan: 100, mac: '02:00:00:00:00:01' });
  const [vf0] = m.listVfs('ens1f0');
  t.match(vf0, { index: 0, pciAddr: '0000:01:10.0', vlan: 100, mac: '02:00:00:00:00:01', spoofchk: true, trust: false, linkState: 'auto' });
  t.equal(m.read('/sys/class/net/ens1f0v0/address'), '02:00:00:00:00:01\n', 'admin MAC reaches the VF netdev');
  const bad: Array<[string, Parameters<SysfsModel['setVf']>[2], number]> = [
    ['vf index beyond numvfs', { vlan: 1 }, 5],
    ['multicast mac', { mac: '01:00:00:00:00:01' }, 0],
    ['vlan above 4095', { vlan: 4096 }, 0],
    ['qos above 7', { vlan: 5, qos: 8 }, 0],
    ['min above max rate', { minTxRate: 100, maxTxRate: 10 }, 0],
  ];
  for (const [name, patch, k] of bad) t.equal(errnoOf(() => m.setVf('ens1f0', k, patch)), 'EINVAL', name);
  t.equal(errnoOf(() => m.setVf('eth1', 0, { vlan: 1 })), 'EOPNOTSUPP', 'not a PF');
  t.equal(errnoOf(() => m.setVf('nope', 0, { vlan: 1 })), 'ENODEV');
  m.setVf('ens1f0', 1, { linkState: 'disable' });
  t.equal(m.netdevs().find((n) => n.netdev.name === 'ens1f0v1')!.netdev.carrier, false, 'state disable drops the VF carrier');
});

t.test('a refused VF attribute: the next settings of it fail, others go through', async (t) => {
  const m = i350({ numVfs: 2 });
  m.failVfSet('ens1f0', 'linkState', 'EOPNOTSUPP', 2);
  m.setVf('ens1f0', 0, { vlan: 1000 });
  t.equal(errnoOf(() => m.setVf('ens1f0', 0, { linkState: 'enable' })), 'EOPNOTSUPP');
  t.equal(errnoOf(() => m.setVf('ens1f0', 1, { linkState: 'disable', trust: true })), 'EOPNOTSUPP', 'on any VF of the PF');
  t.match(m.listVfs('ens1f0'), [{ vlan: 1000, linkState: 'auto' }, { trust: false, linkState: 'auto' }], 'a refused patch changes nothing');
  m.setVf('ens1f0', 0, { linkState: 'enable' });
  t.equal(m.listVfs('ens1f0')[0].linkState, 'enable', 'after count refusals it is accepted');
  t.equal(errnoOf(() => m.failVfSet('nope', 'vlan', 'EIO')), 'ENODEV', 'only on a PF');
});

t.test('faults: failing writes, hot-unplug, link down, delays', async (t) => {
  const m = i350();
  m.failWrites(`${PF}/sriov_numvfs`, 'EIO', 2);
  t.equal(errnoOf(() => m.write('/sys/bus/pci/devices/0000:01:00.0/sriov_numvfs', '2')), 'EIO', 'fault applies whatever the path');
  t.equal(errnoOf(() => m.write(`${PF}/sriov_numvfs`, '2')), 'EIO');
  t.equal(errnoOf(() => m.write(`${PF}/sriov_numvfs`, '2')), 'none', 'third write goes through');
  m.unplug('0000:01:10.4');
  t.same(m.readdir(PF).filter((e) => e.startsWith('virtfn')), ['virtfn0'], 'virtfn link of the unplugged VF is gone');
  t.equal(m.read(`${PF}/sriov_numvfs`), '2\n', 'numvfs unchanged by a surprise removal');
  m.write(`${PF}/sriov_numvfs`, '0');
  m.write(`${PF}/sriov_numvfs`, '1');
  m.drainNetdevChanges();
  m.setLink('ens1f0', false);
  t.same(m.drainNetdevChanges(), [
    { kind: 'carrier', pciAddr: '0000:01:00.0', name: 'ens1f0', up: false },
    { kind: 'carrier', pciAddr: '0000:01:10.0', name: 'ens1f0v0', up: false },
  ]);
  m.delay(`${PF}/sriov_numvfs`, 50, 1);
  t.equal(m.takeDelay('/sys/bus/pci/devices/0000:01:00.0/sriov_numvfs'), 50);
  t.equal(m.takeDelay(`${PF}/sriov_numvfs`), 0);
});

t.test('every read and write is an event', async (t) => {
  const m = i350();
  const seen: string[] = [];
  m.onEvent((e) => seen.push(`${e.op} ${e.path} ${e.errno ?? 'ok'}`));
  m.read(`${PF}/sriov_numvfs`);
  errnoOf(() => m.write(`${PF}/sriov_numvfs`, '9'));
  m.write(`${PF}/sriov_numvfs`, '1');
  t.same(seen, [
    `read ${PF}/sriov_numvfs ok`,
    `write ${PF}/sriov_numvfs ERANGE`,
    `write ${PF}/sriov_numvfs ok`,
  ]);
  t.equal(m.eventsSince(1).length, 2);
});

t.test('netdevs moved away are hidden; deterministic with a seed', async (t) => {
  const m = i350({ numVfs: 1 });
  m.updateNetdev('0000:01:10.0', { present: false });
  t.notOk(m.exists('/sys/class/net/ens1f0v0'));
  t.same(m.readdir('/sys/bus/pci/devices/0000:01:10.0').includes('net'), false);
  m.updateNetdev('0000:01:10.0', { present: true, name: 'renamed0' });
  t.ok(m.exists('/sys/class/net/renamed0'));
  const a = i350({ numVfs: 3 }).walk();
  const b = i350({ numVfs: 3 }).walk();
  t.same(a, b, 'same seed, same tree');
  const seeded = (seed: number) =>
    new SysfsModel({ seed, nics: [{ model: 'intel-i350', pciAddr: '0000:01:00.0', ifname: 'ens1f0', numVfs: 3 }] });
  const vfMacs = (m: SysfsModel) => [0, 1, 2].map((k) => m.read(`/sys/class/net/ens1f0v${k}/address`).trim());
  t.same(vfMacs(seeded(5)), vfMacs(seeded(5)), 'a seeded VF MAC is the same on every run');
  t.not(vfMacs(seeded(5)).join(), vfMacs(seeded(6)).join(), 'and another seed gives other VF MACs');
  for (const mac of vfMacs(seeded(5))) t.match(mac, /^[0-9a-f][26ae](:[0-9a-f]{2}){5}$/, `${mac} is a locally administered unicast MAC`);
});

t.test('helpers', async (t) => {
  t.equal(relativePath('/sys/bus/pci/devices', '/sys/devices/pci0000:00/x'), '../../../devices/pci0000:00/x');
  t.equal(vfPciAddr('0000:17:00.0', 8, 1, 255), '0000:18:00.7', 'VFs may spill onto the next bus');
  const e810 = new SysfsModel({ nics: [{ model: 'intel-e810', pciAddr: '0000:17:00.0', ifname: 'ens2f0', numVfs: 256 }] });
  t.equal(e810.readdir('/sys/class/net/ens2f0/device').filter((e) => e.startsWith('virtfn')).length, 256);
  t.equal(e810.readlink('/sys/bus/pci/devices/0000:18:00.7'), '../../../devices/pci0000:00/0000:00:1c.0/0000:18:00.7', 'VFs live beside their PF');
  const far = new SysfsModel({
    nics: [
      { model: 'intel-e810', pciAddr: '0000:3b:00.0', ifname: 'ens3b' },
      { model: 'intel-e810', pciAddr: '0000:86:00.0', ifname: 'ens86' },
      { model: 'virtio-net', pciAddr: '0000:00:1c.0', ifname: 'eth0' },
    ],
  });
  t.same(
    [far.readlink('/sys/bus/pci/devices/0000:3b:00.0'), far.readlink('/sys/bus/pci/devices/0000:86:00.0')],
    ['../../../devices/pci0000:00/0000:00:1c.1/0000:3b:00.0', '../../../devices/pci0000:00/0000:00:1c.2/0000:86:00.0'],
    'root ports for high buses are valid addresses that avoid the topology\'s own',
  );
});

t.test('the whole tree of a small node, entry by entry (golden)', async (t) => {
  // pins every path, kind, mode, content and link target, so a change to how the tree is built shows up here
  const m = i350({ numVfs: 2 });
  m.write('/sys/bus/pci/drivers/igbvf/unbind', '0000:01:10.4');
  m.write('/sys/bus/pci/devices/0000:01:10.4/driver_override', 'vfio-pci');
  m.write('/sys/bus/pci/drivers_probe', '0000:01:10.4');
  const lines = m.walk().map((e) => {
    const mode = e.mode.toString(8).padStart(4, '0');
    if (e.kind === 'link') return `link ${mode} ${e.path} -> ${e.value}`;
    return e.value === undefined ? `${e.kind} ${mode} ${e.path}` : `${e.kind} ${mode} ${e.path} ${JSON.stringify(e.value)}`;
  });
  t.matchSnapshot(lines.join('\n'), 'i350 with 2 VFs (VF 1 on vfio-pci) and a virtio-net NIC');
});

t.test('driver link delays: igb re-initialising its PF for sriov_numvfs, igbvf bringing a new VF link up', async (t) => {
  const m = i350();
  const pending: Array<{ ms: number; fn: () => void }> = [];
  m.modelLinkDelays((ms, fn) => pending.push({ ms, fn }), 1000);
  m.updateNetdev('0000:01:00.0', { adminUp: true });
  m.drainNetdevChanges();
  m.write(`${PF}/sriov_numvfs`, '2');
  t.equal(m.read('/sys/class/net/ens1f0/carrier'), '0\n', 'the PF has no carrier right after the write');
  const vf0 = m.netdevs().find((n) => n.netdev.name === 'ens1f0v0')!.netdev;
  t.equal(vf0.carrier, false, 'a new VF netdev has no carrier yet');
  t.same(pending.map((p) => p.ms), [630, 1000, 1000], 'PF: the measured 630 ms; VFs: 9740 ms capped at 1000');
  t.match(m.drainNetdevChanges(), [{ kind: 'carrier', name: 'ens1f0', up: false }]);
  pending.shift()!.fn();
  t.equal(m.read('/sys/class/net/ens1f0/carrier'), '1\n', 'the PF carrier is back when its delay ends');
  t.same(m.drainNetdevChanges(), [{ kind: 'carrier', pciAddr: '0000:01:00.0', name: 'ens1f0', up: true }]);
  for (const p of pending.splice(0)) p.fn();
  t.equal(vf0.carrier, true, 'and the VF carrier when its own ends');
  m.setLink('ens1f0', false);
  m.write(`${PF}/sriov_numvfs`, '0');
  for (const p of pending.splice(0)) p.fn();
  t.equal(m.read('/sys/class/net/ens1f0/carrier'), '0\n', 'a delay ending does not bring up a link that is down');

  const plain = i350();
  plain.updateNetdev('0000:01:00.0', { adminUp: true });
  plain.write(`${PF}/sriov_numvfs`, '2');
  t.equal(plain.read('/sys/class/net/ens1f0/carrier'), '1\n', 'without modelLinkDelays links change at once');
});
