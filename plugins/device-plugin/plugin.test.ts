import t from 'tap';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { FakeKubelet, SimHost, shortTmp, type Teardown } from './test-fixtures.ts';
import { parseConfig, defaultConfigJson } from './config.ts';
import { startDevicePlugin, type SriovDevicePlugin } from './plugin.ts';
import { memoryLogger } from './log.ts';

const NICS = [
  { model: 'intel-xl710', pciAddr: '0000:03:00.0', ifname: 'ens1f0', numVfs: 4, numaNode: 0 },
  { model: 'intel-82599', pciAddr: '0000:86:00.0', ifname: 'ens2f0', numVfs: 2, numaNode: 1, vfDriver: 'vfio-pci' as const },
  { model: 'intel-i350', pciAddr: '0000:05:00.0', ifname: 'ens3f0' },
  { model: 'virtio-net', pciAddr: '0000:00:04.0', ifname: 'enp0s4' },
];
const A = ['0000:03:02.0', '0000:03:02.1', '0000:03:02.2', '0000:03:02.3'];
const B = ['0000:86:10.0', '0000:86:10.2'];
const NET = 'intel.com/sriov_netdevice';
const DPDK = 'intel.com/sriov_dpdk';
const VIRT = 'kernel.org/virt';
// a deadline for "follows within a second", with slack for a loaded CI machine; bench/device-plugin.ts measures it
const CHANGE_MS = 2000;

interface World {
  host: SimHost;
  kubelet: FakeKubelet;
  plugin: SriovDevicePlugin;
  kubeletDir: string;
  devinfoDir: string;
  log: ReturnType<typeof memoryLogger>;
}

async function world(t: Teardown, opts: { registry?: boolean; config?: unknown; upAll?: boolean } = {}): Promise<World> {
  const host = new SimHost(t, NICS);
  if (opts.upAll !== false) {
    host.allUp();
    host.refresh();
  }
  const base = shortTmp(t, 'dpk');
  const kubeletDir = join(base, 'k');
  const devinfoDir = join(base, 'devinfo');
  const kubelet = new FakeKubelet(kubeletDir);
  await kubelet.start();
  if (opts.registry) kubelet.watchRegistry();
  t.teardown(() => kubelet.stop());
  const log = memoryLogger();
  const plugin = await startDevicePlugin({
    config: parseConfig(opts.config ?? defaultConfigJson),
    paths: host.paths,
    kubeletDir,
    devinfoDir,
    logger: log,
    registrationCheckMs: 500,
  });
  t.teardown(() => plugin.stop());
  return { host, kubelet, plugin, kubeletDir, devinfoDir, log };
}

t.test('registers each non-empty pool on kubelet.sock and advertises devices with NUMA topology', async (t) => {
  const w = await world(t);
  await w.kubelet.waitFor('three plugins', () => w.kubelet.plugins.size === 3);
  t.same(
    w.kubelet.registerCalls.map((r) => r.resource_name).sort(),
    [NET, DPDK, VIRT].sort(),
    'the empty pool has no server (no VFs on ens3f0)',
  );
  t.same(w.kubelet.registerCalls.find((r) => r.resource_name === NET), {
    version: 'v1beta1',
    endpoint: 'intel.com_sriov_netdevice.sock',
    resource_name: NET,
    options: { pre_start_required: false, get_preferred_allocation_available: true },
  });
  t.ok(existsSync(join(w.kubeletDir, 'device-plugins', 'intel.com_sriov_netdevice.sock')));
  // each resource registers with its first device and sends its list when discovery is done: wait for all three lists
  await w.kubelet.waitFor('devices listed', () => w.kubelet.allocatable(NET).length === 4 && w.kubelet.allocatable(DPDK).length === 2 && w.kubelet.allocatable(VIRT).length === 1);
  t.same(w.kubelet.allocatable(NET), A);
  t.same(w.kubelet.allocatable(DPDK), B);
  t.same(w.kubelet.allocatable(VIRT), ['0000:00:04.0']);
  const dev0 = w.kubelet.plugins.get(NET)!.devices.find((d) => d.ID === A[0]);
  t.same(dev0, { ID: A[0], health: 'Healthy', topology: { nodes: [{ ID: 0 }] } });
  t.same(w.kubelet.plugins.get(VIRT)!.devices[0].topology, null, 'no NUMA information → no topology');
  await w.plugin.settled();
  t.same(
    readdirSync(w.devinfoDir).sort(),
    [...A.map((a) => `intel.com-sriov_netdevice-${a}-device.json`), ...B.map((a) => `intel.com-sriov_dpdk-${a}-device.json`), 'kernel.org-virt-0000:00:04.0-device.json'].sort(),
  );
});

t.test('Allocate over gRPC: exact envs and DeviceSpecs; unknown and unhealthy IDs are errors', async (t) => {
  const w = await world(t);
  await w.kubelet.waitFor('devices listed', () => w.kubelet.allocatable(DPDK).length === 2 && w.kubelet.allocatable(NET).length === 4);
  const net = await w.kubelet.allocate(NET, [[A[1]]]);
  t.same(net.container_responses, [
    {
      envs: {
        PCIDEVICE_INTEL_COM_SRIOV_NETDEVICE: A[1],
        PCIDEVICE_INTEL_COM_SRIOV_NETDEVICE_INFO: `{"${A[1]}":{"generic":{"deviceID":"${A[1]}"}}}`,
      },
      mounts: [],
      devices: [],
      annotations: {},
      cdi_devices: [],
    },
  ]);
  const group = readFileSync(join(w.host.paths.sysfsRoot, 'bus/pci/devices', B[1], 'iommu_group', 'type'), 'utf8') && readdirSync(w.host.paths.devVfioRoot).filter((g) => g !== 'vfio');
  const b1Group = w.plugin.lastDiscovery().devices.find((d) => d.pciAddr === B[1])!.iommuGroup!;
  t.ok(group.includes(b1Group), 'the group node exists in the simulated /dev/vfio');
  const dpdk = await w.kubelet.allocate(DPDK, [[B[1]]]);
  t.same(dpdk.container_responses[0].envs, {
    PCIDEVICE_INTEL_COM_SRIOV_DPDK: B[1],
    PCIDEVICE_INTEL_COM_SRIOV_DPDK_INFO: `{"${B[1]}":{"generic":{"deviceID":"${B[1]}"},"vfio":{"dev-mount":"/dev/vfio/${b1Group}","mount":"/dev/vfio/vfio"}}}`,
  });
  t.same(dpdk.container_responses[0].devices, [
    { container_path: '/dev/vfio/vfio', host_path: join(w.host.paths.devVfioRoot, 'vfio'), permissions: 'rw' },
    { container_path: `/dev/vfio/${b1Group}`, host_path: join(w.host.paths.devVfioRoot, b1Group), permissions: 'rw' },
  ]);
  t.equal(readFileSync(join(w.devinfoDir, `intel.com-sriov_dpdk-${B[1]}-device.json`), 'utf8'), `{"type":"pci","version":"1.1.0","pci":{"pci-address":"${B[1]}"}}`);

  await t.rejects(w.kubelet.allocate(NET, [[B[0]]]), { code: 3, details: new RegExp(`device "${B[0]}" is not a device of ${NET}`) }, 'a device of another pool');
  await t.rejects(w.kubelet.allocate(NET, [['0000:ff:00.0']]), { code: 3 }, 'an unknown ID (upstream silently succeeds)');

  w.host.model.setVf('ens1f0', 2, { linkState: 'disable' });
  w.host.refresh();
  await w.kubelet.waitFor('VF 2 unhealthy', () => w.kubelet.allocatable(NET).length === 3);
  t.same(w.kubelet.capacity(NET), A, 'capacity keeps the unhealthy device');
  await t.rejects(w.kubelet.allocate(NET, [[A[2]]]), { code: 9, details: /is unhealthy: ens1f0v2 has no carrier/ });

  const pref = await w.kubelet.preferred(NET, A, [], 2);
  t.same(pref.container_responses, [{ deviceIDs: [A[0], A[1]] }]);
});

t.test('re-discovery: numvfs 0 then 4, VF to vfio-pci and back, PF link down — without a restart', async (t) => {
  const w = await world(t);
  const { host, kubelet } = w;
  await kubelet.waitFor('initial list', () => kubelet.allocatable(NET).length === 4);
  const pf = '/sys/class/net/ens1f0/device/sriov_numvfs';

  host.model.write(pf, '0');
  host.refresh();
  await kubelet.waitFor('0 VFs', () => kubelet.capacity(NET).length === 0, CHANGE_MS);
  t.equal(kubelet.registerCalls.filter((r) => r.resource_name === NET).length, 1, 'the server stays registered while empty');

  host.model.write(pf, '4');
  host.allUp();
  host.refresh();
  await kubelet.waitFor('4 VFs again', () => kubelet.allocatable(NET).length === 4, CHANGE_MS);
  t.same(kubelet.allocatable(NET), A);

  // operator's rebind sequence: unbind, driver_override, bind
  host.model.write('/sys/bus/pci/drivers/iavf/unbind', A[0]);
  host.model.write(`/sys/bus/pci/devices/${A[0]}/driver_override`, 'vfio-pci');
  host.model.write('/sys/bus/pci/drivers/vfio-pci/bind', A[0]);
  host.refresh();
  await kubelet.waitFor('VF moved to sriov_dpdk', () => kubelet.allocatable(NET).length === 3 && kubelet.allocatable(DPDK).length === 3, CHANGE_MS);
  t.same(kubelet.allocatable(DPDK), [A[0], ...B]);
  await w.plugin.settled();
  t.ok(existsSync(join(w.devinfoDir, `intel.com-sriov_dpdk-${A[0]}-device.json`)));
  t.notOk(existsSync(join(w.devinfoDir, `intel.com-sriov_netdevice-${A[0]}-device.json`)), 'its old device-info file is gone');

  host.model.write('/sys/bus/pci/drivers/vfio-pci/unbind', A[0]);
  host.model.write(`/sys/bus/pci/devices/${A[0]}/driver_override`, '\n');
  host.model.write('/sys/bus/pci/drivers_probe', A[0]);
  host.allUp();
  host.refresh();
  await kubelet.waitFor('VF back on iavf', () => kubelet.allocatable(NET).length === 4 && kubelet.allocatable(DPDK).length === 2, CHANGE_MS);

  host.model.setLink('ens1f0', false);
  host.refresh();
  await kubelet.waitFor('PF down → its VFs unhealthy', () => kubelet.allocatable(NET).length === 0 && kubelet.capacity(NET).length === 4, CHANGE_MS);
  host.model.setLink('ens1f0', true);
  host.refresh();
  await kubelet.waitFor('PF up again', () => kubelet.allocatable(NET).length === 4, CHANGE_MS);
  t.equal(kubelet.registerCalls.length, 3, 'no re-registration was needed for any of it');
});

t.test('a pool that was empty at start registers once devices appear (echo 4 > sriov_numvfs after start)', async (t) => {
  const cfg = { resourceList: [{ resourceName: 'i350', selectors: { pfNames: ['ens3f0#0-3'] } }] };
  const w = await world(t, { config: cfg });
  t.same(w.plugin.resources()[0].serving, false);
  w.host.model.write('/sys/class/net/ens3f0/device/sriov_numvfs', '7');
  w.host.refresh();
  await w.kubelet.waitFor('intel.com/i350 has 4 devices', () => w.kubelet.capacity('intel.com/i350').length === 4, CHANGE_MS);
  t.same(w.plugin.resources()[0].devices.map((d) => d.ID).length, 4, 'the VF range keeps VFs 4-6 out');
});

t.test('kubelet restart: sockets deleted, kubelet.sock re-created → the plugin serves and registers again', async (t) => {
  const w = await world(t);
  await w.kubelet.waitFor('registered', () => w.kubelet.allocatable(NET).length === 4);
  const before = w.kubelet.registerCalls.length;
  await w.kubelet.restart();
  t.equal(w.kubelet.plugins.size, 0);
  await w.kubelet.waitFor('re-registered with devices', () => w.kubelet.allocatable(NET).length === 4 && w.kubelet.allocatable(DPDK).length === 2 && w.kubelet.allocatable(VIRT).length === 1, CHANGE_MS);
  t.equal(w.kubelet.registerCalls.length, before + 3);
  t.ok(existsSync(join(w.kubeletDir, 'device-plugins', 'intel.com_sriov_dpdk.sock')), 'its socket is back');

  // only the plugin's socket removed (docs/reference/upstream-scenarios.md#bugs-reported-upstream: upstream never re-registers)
  rmSync(join(w.kubeletDir, 'device-plugins', 'intel.com_sriov_netdevice.sock'));
  await w.kubelet.waitFor('NET registered again', () => w.kubelet.registerCalls.length === before + 4, CHANGE_MS);
  t.equal(w.kubelet.registerCalls.at(-1)!.resource_name, NET);
  await w.kubelet.waitFor('NET devices', () => w.kubelet.allocatable(NET).length === 4);
  const ok = await w.kubelet.allocate(NET, [[A[3]]]);
  t.equal(ok.container_responses[0].envs.PCIDEVICE_INTEL_COM_SRIOV_NETDEVICE, A[3], 'the new server answers Allocate');
});

t.test('plugins_registry mode: socket in plugins_registry, GetInfo, no Register call', async (t) => {
  const host = new SimHost(t, NICS);
  const base = shortTmp(t, 'dpr');
  const kubeletDir = join(base, 'k');
  mkdirSync(join(kubeletDir, 'plugins_registry'), { recursive: true });
  const kubelet = new FakeKubelet(kubeletDir);
  await kubelet.start();
  kubelet.watchRegistry();
  t.teardown(() => kubelet.stop());
  const plugin = await startDevicePlugin({ config: parseConfig(defaultConfigJson), paths: host.paths, kubeletDir, devinfoDir: join(base, 'di'), logger: memoryLogger() });
  t.teardown(() => plugin.stop());
  await kubelet.waitFor('registered through the watcher', () => kubelet.allocatable(DPDK).length === 2 && kubelet.capacity(NET).length === 4);
  t.equal(kubelet.registerCalls.length, 0);
  const info = kubelet.registryInfos.find((i) => i.name === DPDK);
  t.same(info, { type: 'DevicePlugin', name: DPDK, endpoint: join(kubeletDir, 'plugins_registry', 'intel.com_sriov_dpdk.sock'), supported_versions: ['v1beta1'] });
  await kubelet.waitFor('plugin told it is registered', () => plugin.resources().every((r) => !r.serving || r.registered));
  t.same(plugin.resources().map((r) => r.mode), ['plugins_registry', 'plugins_registry', 'plugins_registry']);

  // the socket deleted under it: the plugin serves again and the watcher sees a new socket
  const n = kubelet.registryInfos.length;
  rmSync(info!.endpoint);
  await kubelet.waitFor('GetInfo again', () => kubelet.registryInfos.length > n, CHANGE_MS);
  t.ok(existsSync(info!.endpoint));
});

t.test('plugins_registry mode: a refused plugin stops its server', async (t) => {
  const host = new SimHost(t, NICS);
  const base = shortTmp(t, 'dpx');
  const kubeletDir = join(base, 'k');
  mkdirSync(join(kubeletDir, 'plugins_registry'), { recursive: true });
  const kubelet = new FakeKubelet(kubeletDir);
  kubelet.rejectRegistry = true;
  await kubelet.start();
  kubelet.watchRegistry();
  t.teardown(() => kubelet.stop());
  const log = memoryLogger();
  const cfg = { resourceList: [{ resourceName: 'dpdk', selectors: { drivers: ['vfio-pci'] } }] };
  const plugin = await startDevicePlugin({ config: parseConfig(cfg), paths: host.paths, kubeletDir, devinfoDir: join(base, 'di'), logger: log, retryAfterRejectMs: 60_000 });
  t.teardown(() => plugin.stop());
  const sock = join(kubeletDir, 'plugins_registry', 'intel.com_dpdk.sock');
  await kubelet.waitFor('socket removed after refusal', () => !existsSync(sock), CHANGE_MS);
  t.ok(log.entries.some((e) => e.level === 'error' && /refused/.test(e.msg) && e.error === 'rejected by test'));
  t.equal(plugin.resources()[0].registered, false);
});

t.test('stop() removes sockets and device-info files', async (t) => {
  const w = await world(t);
  await w.kubelet.waitFor('registered', () => w.kubelet.plugins.size === 3);
  await w.plugin.settled();
  t.equal(readdirSync(w.devinfoDir).length, 7);
  await w.plugin.stop();
  t.same(readdirSync(join(w.kubeletDir, 'device-plugins')), ['kubelet.sock']);
  t.same(readdirSync(w.devinfoDir), []);
});
