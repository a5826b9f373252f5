import t from 'tap';
import { mkdirSync, writeFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { SimHost, type Teardown } from './test-fixtures.ts';
import { discoverDevices, parseModalias, parseDefaultRouteIfnames, readHealth, structureKey } from './sysfs.ts';
import { parseConfig } from './config.ts';
import { buildPools } from './pools.ts';

const NICS = [
  { model: 'intel-xl710', pciAddr: '0000:03:00.0', ifname: 'ens1f0', numVfs: 4, numaNode: 0 },
  { model: 'intel-82599', pciAddr: '0000:86:00.0', ifname: 'ens2f0', numVfs: 4, numaNode: 1, vfDriver: 'vfio-pci' as const },
  { model: 'intel-i350', pciAddr: '0000:05:00.0', ifname: 'eno1' },
  { model: 'mlx-cx5', pciAddr: '0000:3b:00.0', ifname: 'ens3f0', numaNode: 0 },
  { model: 'virtio-net', pciAddr: '0000:00:04.0', ifname: 'enp0s4' },
];
const A = ['0000:03:02.0', '0000:03:02.1', '0000:03:02.2', '0000:03:02.3'];
const B = ['0000:86:10.0', '0000:86:10.2', '0000:86:10.4', '0000:86:10.6'];

/** a host with: VF 3 of ens1f0 unbound, eno1 holding the default route, an RDMA + acpi_index PF, a QAT-like accelerator */
function host(t: Teardown): SimHost {
  const h = new SimHost(t, NICS, {
    defaultRouteIfnames: ['eno1'],
    prepare: (m) => m.write('/sys/bus/pci/drivers/iavf/unbind', A[3]),
  });
  const mlx = join(h.paths.sysfsRoot, 'bus/pci/devices/0000:3b:00.0');
  mkdirSync(join(mlx, 'infiniband/mlx5_0'), { recursive: true });
  writeFileSync(join(mlx, 'acpi_index'), '3\n');
  const acc = join(h.paths.sysfsRoot, 'devices/pci0000:00/0000:00:06.0');
  mkdirSync(acc, { recursive: true });
  writeFileSync(join(acc, 'modalias'), 'pci:v00008086d00004940sv00008086sd00000000bc12sc00i00\n');
  writeFileSync(join(acc, 'numa_node'), '-1\n');
  symlinkSync('../../../devices/pci0000:00/0000:00:06.0', join(h.paths.sysfsRoot, 'bus/pci/devices/0000:00:06.0'));
  return h;
}

t.test('modalias and route table parsing', async (t) => {
  t.same(parseModalias('pci:v00008086d0000154Csv00008086sd00000000bc02sc00i00\n'), { vendor: '8086', device: '154c', baseClass: '02', subClass: '00' });
  t.equal(parseModalias('virtio:d00000001v00001AF4'), null);
  const routes = 'Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\tMTU\tWindow\tIRTT\n' +
    'eth0\t00000000\t0102A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n' +
    'eth1\t0002A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n';
  t.same([...parseDefaultRouteIfnames(routes)], ['eth0']);
});

t.test('discovery follows upstream: class filter, default route, PFs with VFs, a VF without driver', async (t) => {
  const h = host(t);
  const { devices, skipped } = discoverDevices(h.paths);
  const byAddr = new Map(devices.map((d) => [d.pciAddr, d]));
  t.same(
    devices.map((d) => d.pciAddr),
    ['0000:00:04.0', '0000:00:06.0', ...A, '0000:3b:00.0', ...B].sort(),
    'VFs, the PF without VFs, the virtio NIC and the accelerator; not the PCIe root port',
  );
  t.same(
    skipped.map((s) => [s.pciAddr, s.reason]).sort(),
    [
      ['0000:03:00.0', 'PF with 4 VFs configured'],
      ['0000:05:00.0', 'netdev eno1 holds the default route'],
      ['0000:86:00.0', 'PF with 4 VFs configured'],
    ],
  );
  const vf1 = byAddr.get(A[1])!;
  t.match(vf1, { driver: 'iavf', isVf: true, pfAddr: '0000:03:00.0', pfName: 'ens1f0', vfIndex: 1, numaNode: 0, netdevs: ['ens1f0v1'], linkType: 'ether', vendor: '8086', device: '154c', baseClass: '02' });
  t.match(byAddr.get(A[3])!, { driver: '', netdevs: [], vfIndex: 3 }, 'the unbound VF is reported, not an error');
  const vfio = byAddr.get(B[2])!;
  t.match(vfio, { driver: 'vfio-pci', netdevs: [], numaNode: 1, vfIndex: 2, pfName: 'ens2f0', vfioNoiommu: false });
  t.ok(vfio.iommuGroup && /^\d+$/.test(vfio.iommuGroup), 'iommu group number');
  t.match(byAddr.get('0000:00:04.0')!, { virtio: true, netdevs: ['enp0s4'], driver: 'virtio-pci', numaNode: -1, isVf: false });
  t.match(byAddr.get('0000:3b:00.0')!, { sriovPf: true, isRdma: true, acpiIndex: '3', driver: 'mlx5_core' });
  t.match(byAddr.get('0000:00:06.0')!, { baseClass: '12', driver: '', iommuGroup: null });
});

t.test('a VF whose netdev is in a pod keeps its PF link type, even for a plugin started meanwhile (#565)', async (t) => {
  const h = host(t);
  h.model.updateNetdev(A[1], { present: false });
  h.refresh();
  const fresh = discoverDevices(h.paths).devices; // a new cache: as after a plugin restart
  t.match(fresh.find((d) => d.pciAddr === A[1])!, { netdevs: [], driver: 'iavf', linkType: 'ether' }, 'the PF link type');
  t.match(fresh.find((d) => d.pciAddr === A[3])!, { driver: '', linkType: null }, 'an unbound VF has no link type');
  t.match(fresh.find((d) => d.pciAddr === B[0])!, { driver: 'vfio-pci', linkType: null }, 'nor a VF on vfio-pci');
  const config = parseConfig({ resourceList: [{ resourceName: 'r', selectors: { linkTypes: ['ether'], vendors: ['8086'] } }] });
  t.same(buildPools(config, fresh, { vhostNetAvailable: false }).get('intel.com/r')!.map((d) => d.pciAddr), A.slice(0, 3), 'the pod\'s VF stays in the linkTypes pool');
});

t.test('vfio-noiommu groups are noticed', async (t) => {
  const h = host(t);
  const dev = discoverDevices(h.paths).devices.find((d) => d.pciAddr === B[0])!;
  writeFileSync(join(h.paths.sysfsRoot, 'kernel/iommu_groups', dev.iommuGroup!, 'name'), 'vfio-noiommu\n');
  t.equal(discoverDevices(h.paths).devices.find((d) => d.pciAddr === B[0])!.vfioNoiommu, true);
});

t.test('selector table: config → exact device sets per resource (first match wins)', async (t) => {
  const h = host(t);
  const devices = discoverDevices(h.paths).devices;
  const cases: Array<{ name: string; resources: unknown[]; want: Record<string, string[]>; vhost?: boolean }> = [
    { name: 'vendors', resources: [{ resourceName: 'r', selectors: { vendors: ['15b3'] } }], want: { 'intel.com/r': ['0000:3b:00.0'] } },
    { name: 'devices', resources: [{ resourceName: 'r', selectors: { devices: ['10ed'] } }], want: { 'intel.com/r': B } },
    { name: 'drivers', resources: [{ resourceName: 'r', selectors: { drivers: ['iavf'] } }], want: { 'intel.com/r': A.slice(0, 3) } },
    { name: 'pciAddresses', resources: [{ resourceName: 'r', selectors: { pciAddresses: [A[0], B[3]] } }], want: { 'intel.com/r': [A[0], B[3]] } },
    { name: 'pfNames', resources: [{ resourceName: 'r', selectors: { pfNames: ['ens2f0'] } }], want: { 'intel.com/r': B } },
    { name: 'pfNames with range', resources: [{ resourceName: 'r', selectors: { pfNames: ['ens1f0#1-3'] } }], want: { 'intel.com/r': A.slice(1) } },
    { name: 'rootDevices with list range', resources: [{ resourceName: 'r', selectors: { rootDevices: ['0000:86:00.0#0,2-3'] } }], want: { 'intel.com/r': [B[0], B[2], B[3]] } },
    { name: 'linkTypes', resources: [{ resourceName: 'r', selectors: { linkTypes: ['ether'], vendors: ['8086'] } }], want: { 'intel.com/r': A.slice(0, 3) } },
    { name: 'linkTypes infiniband', resources: [{ resourceName: 'r', selectors: { linkTypes: ['infiniband'] } }], want: { 'intel.com/r': [] } },
    { name: 'isRdma', resources: [{ resourceName: 'r', selectors: { isRdma: true } }], want: { 'intel.com/r': ['0000:3b:00.0'] } },
    { name: 'acpiIndexes', resources: [{ resourceName: 'r', selectors: { acpiIndexes: ['3'] } }], want: { 'intel.com/r': ['0000:3b:00.0'] } },
    { name: 'needVhostNet without /dev/vhost-net', resources: [{ resourceName: 'r', selectors: { drivers: ['iavf'], needVhostNet: true } }], want: { 'intel.com/r': [] } },
    { name: 'needVhostNet with it', vhost: true, resources: [{ resourceName: 'r', selectors: { drivers: ['iavf'], needVhostNet: true } }], want: { 'intel.com/r': A.slice(0, 3) } },
    { name: 'all fields must match', resources: [{ resourceName: 'r', selectors: { vendors: ['8086'], drivers: ['vfio-pci'], pfNames: ['ens1f0'] } }], want: { 'intel.com/r': [] } },
    {
      name: 'overlapping resources: the first takes the device',
      resources: [
        { resourceName: 'first', selectors: { pfNames: ['ens1f0#0-1'] } },
        { resourceName: 'second', selectors: { vendors: ['8086'], drivers: ['iavf'] } },
      ],
      want: { 'intel.com/first': A.slice(0, 2), 'intel.com/second': [A[2]] },
    },
    {
      name: 'selector list is a union',
      resources: [{ resourceName: 'r', selectors: [{ pfNames: ['ens1f0#0'] }, { rootDevices: ['0000:86:00.0#3'] }] }],
      want: { 'intel.com/r': [A[0], B[3]] },
    },
    {
      name: 'accelerator type sees only class 0x12',
      resources: [
        { resourceName: 'qat', deviceType: 'accelerator', selectors: { vendors: ['8086'] } },
        { resourceName: 'net', selectors: { vendors: ['8086'], devices: ['4940'] } },
      ],
      want: { 'intel.com/qat': ['0000:00:06.0'], 'intel.com/net': [] },
    },
    {
      name: 'virtio mode',
      resources: [{ resourceName: 'virt', resourcePrefix: 'kernel.org', selectors: { vendors: ['1af4'], drivers: ['virtio-pci'] } }],
      want: { 'kernel.org/virt': ['0000:00:04.0'] },
    },
    {
      name: 'the shipped default config',
      resources: (await import('./config.ts')).defaultConfigJson.resourceList,
      want: { 'intel.com/sriov_netdevice': A.slice(0, 3), 'intel.com/sriov_dpdk': B, 'kernel.org/virt': ['0000:00:04.0'] },
    },
    { name: 'empty selector takes every network device', resources: [{ resourceName: 'all', selectors: {} }], want: { 'intel.com/all': ['0000:00:04.0', ...A, '0000:3b:00.0', ...B].sort() } },
  ];
  for (const c of cases) {
    const cfg = parseConfig({ resourceList: c.resources });
    const pools = buildPools(cfg, devices, { vhostNetAvailable: c.vhost === true });
    const got = Object.fromEntries([...pools].map(([k, v]) => [k, v.map((d) => d.pciAddr)]));
    t.same(got, c.want, c.name);
  }
});

t.test('health: link mode follows the VF carrier and the PF carrier; operstate mode for virtio', async (t) => {
  const h = host(t);
  h.allUp();
  h.refresh();
  const find = () => new Map(discoverDevices(h.paths).devices.map((d) => [d.pciAddr, d]));
  let d = find();
  t.same(readHealth(h.paths, d.get(A[0])!, 'link'), { healthy: true });
  t.same(readHealth(h.paths, d.get('0000:00:04.0')!, 'operstate'), { healthy: true });
  h.model.setVf('ens1f0', 0, { linkState: 'disable' });
  h.model.setLink('0000:00:04.0', false);
  h.refresh();
  d = find();
  t.same(readHealth(h.paths, d.get(A[0])!, 'link'), { healthy: false, reason: 'ens1f0v0 has no carrier' });
  t.same(readHealth(h.paths, d.get(A[1])!, 'link'), { healthy: true });
  t.same(readHealth(h.paths, d.get(A[0])!, 'none'), { healthy: true }, 'none: always healthy, like upstream');
  t.same(readHealth(h.paths, d.get('0000:00:04.0')!, 'operstate'), { healthy: false, reason: 'enp0s4 operstate down' });
  h.model.setLink('ens2f0', false);
  h.refresh();
  d = find();
  t.same(readHealth(h.paths, d.get(B[1])!, 'link'), { healthy: false, reason: 'PF ens2f0 has no carrier' }, 'a vfio VF follows its PF');
});

t.test('an administratively down netdev does not make a VF unhealthy', async (t) => {
  const h = host(t); // netdevs start admin-down, as a kernel creates them
  const d = discoverDevices(h.paths).devices.find((x) => x.pciAddr === A[0])!;
  t.same(readHealth(h.paths, d, 'link'), { healthy: true });
});

t.test('structureKey changes with numvfs, driver rebinds and default routes, not with link state', async (t) => {
  const h = new SimHost(t, NICS, { defaultRouteIfnames: ['eno1'] });
  const k0 = structureKey(h.paths);
  h.model.setLink('ens1f0', false);
  h.refresh();
  t.equal(structureKey(h.paths), k0, 'link change: same structure');
  h.model.write('/sys/bus/pci/drivers/iavf/unbind', A[0]);
  h.refresh();
  const k1 = structureKey(h.paths);
  t.not(k1, k0, 'unbind changes it');
  h.model.write('/sys/class/net/ens2f0/device/sriov_numvfs', '0');
  h.refresh();
  const k2 = structureKey(h.paths);
  t.not(k2, k1, 'numvfs changes it');
  h.setDefaultRoutes(['ens3f0']);
  t.not(structureKey(h.paths), k2, 'default route changes it');
});
