import t from 'tap';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { buildContainerResponse, deviceInfoFileName, deviceInfoJson, envName, preferredAllocation, socketName, writeDeviceInfoFile } from './allocate.ts';
import { parseConfig } from './config.ts';
import type { HostDevice } from './sysfs.ts';

function dev(p: Partial<HostDevice> & { pciAddr: string }): HostDevice {
  return {
    vendor: '8086', device: '154c', baseClass: '02', driver: 'iavf', isVf: true, pfAddr: '0000:03:00.0', pfName: 'ens1f0', vfIndex: 0,
    sriovPf: false, numaNode: 0, iommuGroup: '7', vfioNoiommu: false, netdevs: [], virtio: false, linkType: 'ether', isRdma: false, acpiIndex: null,
    ...p,
  };
}
const res = parseConfig({ resourceList: [{ resourceName: 'sriov_net_a' }] }).resources[0];
const paths = { devVfioRoot: '/dev/vfio', devRoot: '/dev' };

t.test('names: env, socket, device-info file', async (t) => {
  t.equal(envName(res), 'PCIDEVICE_INTEL_COM_SRIOV_NET_A');
  t.equal(envName({ resourcePrefix: 'kernel.org', resourceName: 'virt' }), 'PCIDEVICE_KERNEL_ORG_VIRT');
  t.equal(socketName(res), 'intel.com_sriov_net_a.sock');
  t.equal(deviceInfoFileName(res, '0000:03:02.1'), 'intel.com-sriov_net_a-0000:03:02.1-device.json');
  t.equal(deviceInfoJson('0000:03:02.1'), '{"type":"pci","version":"1.1.0","pci":{"pci-address":"0000:03:02.1"}}');
});

t.test('kernel netdev VF: envs, no DeviceSpecs', async (t) => {
  const r = buildContainerResponse(res, [dev({ pciAddr: '0000:03:02.1' })], { paths, needVhostNet: false });
  t.same(r, {
    envs: {
      PCIDEVICE_INTEL_COM_SRIOV_NET_A: '0000:03:02.1',
      PCIDEVICE_INTEL_COM_SRIOV_NET_A_INFO: '{"0000:03:02.1":{"generic":{"deviceID":"0000:03:02.1"}}}',
    },
    mounts: [],
    devices: [],
    annotations: {},
    cdi_devices: [],
  });
});

t.test('vfio-pci VFs: /dev/vfio/vfio once, one group node each; noiommu on the host side only', async (t) => {
  const r = buildContainerResponse(
    res,
    [dev({ pciAddr: '0000:86:10.0', driver: 'vfio-pci', iommuGroup: '41' }), dev({ pciAddr: '0000:86:10.2', driver: 'vfio-pci', iommuGroup: '42', vfioNoiommu: true })],
    { paths, needVhostNet: false },
  );
  t.equal(r.envs.PCIDEVICE_INTEL_COM_SRIOV_NET_A, '0000:86:10.0,0000:86:10.2');
  t.equal(
    r.envs.PCIDEVICE_INTEL_COM_SRIOV_NET_A_INFO,
    '{"0000:86:10.0":{"generic":{"deviceID":"0000:86:10.0"},"vfio":{"dev-mount":"/dev/vfio/41","mount":"/dev/vfio/vfio"}},' +
      '"0000:86:10.2":{"generic":{"deviceID":"0000:86:10.2"},"vfio":{"dev-mount":"/dev/vfio/42","mount":"/dev/vfio/vfio"}}}',
  );
  t.same(r.devices, [
    { container_path: '/dev/vfio/vfio', host_path: '/dev/vfio/vfio', permissions: 'rw' },
    { container_path: '/dev/vfio/41', host_path: '/dev/vfio/41', permissions: 'rw' },
    { container_path: '/dev/vfio/42', host_path: '/dev/vfio/noiommu-42', permissions: 'rw' },
  ]);
  const moved = buildContainerResponse(res, [dev({ pciAddr: '0000:86:10.0', driver: 'vfio-pci', iommuGroup: '41' })], { paths: { devVfioRoot: '/node1/dev/vfio', devRoot: '/node1/dev' }, needVhostNet: false });
  t.same(moved.devices.map((d) => [d.container_path, d.host_path]), [['/dev/vfio/vfio', '/node1/dev/vfio/vfio'], ['/dev/vfio/41', '/node1/dev/vfio/41']], 'a relocated /dev/vfio changes host paths only');
});

t.test('additionalInfo and needVhostNet add to the info env', async (t) => {
  const r2 = parseConfig({ resourceList: [{ resourceName: 'x', additionalInfo: { '*': { b: '2' }, '0000:03:02.1': { a: '1' } } }] }).resources[0];
  const out = buildContainerResponse(r2, [dev({ pciAddr: '0000:03:02.1' }), dev({ pciAddr: '0000:03:02.2' })], { paths, needVhostNet: true });
  t.equal(
    out.envs.PCIDEVICE_INTEL_COM_X_INFO,
    '{"0000:03:02.1":{"extra":{"a":"1"},"generic":{"deviceID":"0000:03:02.1"},"vhost":{"net-mount":"/dev/vhost-net","tun-mount":"/dev/net/tun"}},' +
      '"0000:03:02.2":{"extra":{"b":"2"},"generic":{"deviceID":"0000:03:02.2"},"vhost":{"net-mount":"/dev/vhost-net","tun-mount":"/dev/net/tun"}}}',
  );
  t.same(out.devices.map((d) => d.container_path), ['/dev/vhost-net', '/dev/net/tun']);
});

t.test('device-info file content', async (t) => {
  const dir = t.testdir({});
  const p = writeDeviceInfoFile(join(dir, 'dp'), res, '0000:03:02.1');
  t.equal(p, join(dir, 'dp', 'intel.com-sriov_net_a-0000:03:02.1-device.json'));
  t.equal(readFileSync(p, 'utf8'), '{"type":"pci","version":"1.1.0","pci":{"pci-address":"0000:03:02.1"}}');
  t.same(readdirSync(join(dir, 'dp')), ['intel.com-sriov_net_a-0000:03:02.1-device.json'], 'no temp file left');
});

t.test('preferred allocation: NUMA first, then spread or packed across PFs', async (t) => {
  const devs = [
    dev({ pciAddr: '0000:03:02.0', pfAddr: 'pfA', numaNode: 0 }),
    dev({ pciAddr: '0000:03:02.1', pfAddr: 'pfA', numaNode: 0 }),
    dev({ pciAddr: '0000:03:02.2', pfAddr: 'pfA', numaNode: 0 }),
    dev({ pciAddr: '0000:04:02.0', pfAddr: 'pfB', numaNode: 0 }),
    dev({ pciAddr: '0000:04:02.1', pfAddr: 'pfB', numaNode: 0 }),
    dev({ pciAddr: '0000:86:02.0', pfAddr: 'pfC', numaNode: 1 }),
    dev({ pciAddr: '0000:86:02.1', pfAddr: 'pfC', numaNode: 1 }),
  ];
  const known = new Map(devs.map((d) => [d.pciAddr, d]));
  const all = devs.map((d) => d.pciAddr);
  const cases: Array<{ name: string; available: string[]; must: string[]; size: number; policy: 'spread' | 'packed'; want: string[] }> = [
    { name: 'spread over PFs of one NUMA node', available: all, must: [], size: 2, policy: 'spread', want: ['0000:86:02.0', '0000:86:02.1'] },
    { name: 'smallest NUMA node that fits: node 1 for 2, node 0 for 3', available: all, must: [], size: 3, policy: 'spread', want: ['0000:03:02.0', '0000:04:02.0', '0000:03:02.1'] },
    { name: 'packed fills one PF first', available: all, must: [], size: 3, policy: 'packed', want: ['0000:03:02.0', '0000:03:02.1', '0000:03:02.2'] },
    { name: 'must-include sets the NUMA node', available: all, must: ['0000:04:02.1'], size: 3, policy: 'spread', want: ['0000:04:02.1', '0000:03:02.0', '0000:03:02.1'] },
    { name: 'spills to the other node when one is not enough', available: all, must: [], size: 6, policy: 'spread', want: ['0000:03:02.0', '0000:04:02.0', '0000:03:02.1', '0000:04:02.1', '0000:03:02.2', '0000:86:02.0'] },
    { name: 'only from available', available: ['0000:03:02.2', '0000:86:02.1'], must: [], size: 1, policy: 'spread', want: ['0000:03:02.2'] },
    { name: 'must-include alone when it fills the request', available: all, must: ['0000:86:02.1'], size: 1, policy: 'spread', want: ['0000:86:02.1'] },
  ];
  for (const c of cases) {
    t.same(preferredAllocation({ available: c.available, mustInclude: c.must, size: c.size }, known, c.policy), c.want, c.name);
  }
});
