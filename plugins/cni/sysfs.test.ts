import t from 'tap';
import type { Test } from 'tap';
import { Sysfs } from './sysfs.ts';

// a PF at 0000:01:00.0 (ens1f0) with VF 0 on igbvf (netdev ens1f0v0), VF 1 on vfio-pci, VF 2 unbound
function tree(t: Test): Sysfs {
  const dev = (extra: Record<string, unknown>) => ({ vendor: '0x8086\n', ...extra });
  const root = t.testdir({
    bus: {
      pci: {
        devices: {
          '0000:01:00.0': dev({ net: { ens1f0: {} }, virtfn0: t.fixture('symlink', '../0000:01:10.0'), virtfn1: t.fixture('symlink', '../0000:01:10.4'), virtfn2: t.fixture('symlink', '../0000:01:11.0'), driver: t.fixture('symlink', '../../drivers/igb') }),
          '0000:01:10.0': dev({ physfn: t.fixture('symlink', '../0000:01:00.0'), net: { ens1f0v0: {} }, driver: t.fixture('symlink', '../../drivers/igbvf') }),
          '0000:01:10.4': dev({ physfn: t.fixture('symlink', '../0000:01:00.0'), driver: t.fixture('symlink', '../../drivers/vfio-pci') }),
          '0000:01:11.0': dev({ physfn: t.fixture('symlink', '../0000:01:00.0') }),
        },
        drivers: { igb: {}, igbvf: {}, 'vfio-pci': {} },
      },
    },
  });
  return new Sysfs(root);
}

t.test('VF lookup and mode from sysfs', async (t) => {
  const s = tree(t);
  const k = s.describe('0000:01:10.0', { requireVf: true });
  t.strictSame(k, { pciAddr: '0000:01:10.0', driver: 'igbvf', netdevs: ['ens1f0v0'], vf: { pfPciAddr: '0000:01:00.0', pfNetdev: 'ens1f0', index: 0 } });
  t.equal(s.vfMode(k), 'kernel');
  const d = s.describe('0000:01:10.4', { requireVf: true });
  t.equal(d.vf?.index, 1);
  t.equal(s.vfMode(d), 'dpdk');
  const none = s.describe('0000:01:11.0', { requireVf: true });
  t.throws(() => s.vfMode(none), { code: 100, message: /has no netdev and is not bound to a DPDK driver.*driver is none/ });
  t.throws(() => s.describe('0000:01:00.0', { requireVf: true }), { code: 100, message: /is not an SR-IOV VF/ });
  t.equal(s.describe('0000:01:00.0', { requireVf: false }).netdevs[0], 'ens1f0');
  t.throws(() => s.describe('0000:02:00.0', { requireVf: true }), { code: 100, message: /PCI device 0000:02:00.0 not found.*reboot/ });
});
