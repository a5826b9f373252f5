import t from 'tap';
import { readFileSync, readlinkSync, readdirSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { SysfsModel } from './model.ts';
import { writeSnapshot } from './snapshot.ts';

t.test('a snapshot is a real tree that follows the model', async (t) => {
  const m = new SysfsModel({ nics: [{ model: 'intel-82599', pciAddr: '0000:03:00.0', ifname: 'ens3f0', numVfs: 3, numaNode: 1 }] });
  m.write('/sys/bus/pci/drivers/ixgbevf/unbind', '0000:03:10.2');
  m.write('/sys/bus/pci/devices/0000:03:10.2/driver_override', 'vfio-pci');
  m.write('/sys/bus/pci/drivers_probe', '0000:03:10.2');
  const dir = t.testdir({});
  const { sysRoot, devVfio } = writeSnapshot(m, dir);
  const pf = join(sysRoot, 'class/net/ens3f0/device');
  t.equal(readFileSync(join(pf, 'sriov_numvfs'), 'utf8'), '3\n');
  t.equal(readFileSync(join(pf, 'numa_node'), 'utf8'), '1\n');
  t.same(readdirSync(pf).filter((e) => e.startsWith('virtfn')), ['virtfn0', 'virtfn1', 'virtfn2']);
  t.equal(readlinkSync(join(pf, 'virtfn1')), '../0000:03:10.2');
  t.equal(realpathSync(join(pf, 'virtfn1', 'driver')), realpathSync(join(sysRoot, 'bus/pci/drivers/vfio-pci')), 'links resolve inside the snapshot');
  const group = readlinkSync(join(pf, 'virtfn1', 'iommu_group')).split('/').pop()!;
  t.same(readdirSync(devVfio).sort(), [group, 'vfio'].sort());
  t.same(readdirSync(join(pf, 'virtfn0', 'net')), ['ens3f0v0']);
});
