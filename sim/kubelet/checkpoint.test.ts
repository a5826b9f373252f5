// The checkpoint file: our writes round-trip; real-format files (NUMA-keyed and pre-1.20 flat) are read and restored.
import t from 'tap';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CheckpointError, encodeCheckpoint, parseCheckpoint, type CheckpointData } from './checkpoint.ts';
import { ManualClock } from './clock.ts';
import { decodeContainerAllocateResponse, encodeContainerAllocateResponse, PodResourcesClient } from './grpc.ts';
import { Kubelet } from './kubelet.ts';
import { FakeDevicePlugin, health, healthy, shortTempDir, until } from './fixtures/fake-plugin.ts';

const FIXTURES = join(import.meta.dirname, 'fixtures');
const SRIOV = 'intel.com/sriov_net_a';

t.test('AllocResp bytes are the protobuf encoding (checked against hand-encoded bytes)', async (t) => {
  const empty = { envs: {}, mounts: [], devices: [], annotations: {}, cdi_devices: [] };
  t.equal(encodeContainerAllocateResponse({ ...empty, envs: { A: '1' } }).toString('base64'), 'CgYKAUESATE=');
  const real = JSON.parse(readFileSync(join(FIXTURES, 'checkpoint-v2-real.json'), 'utf8')).Data.PodDeviceEntries[0].AllocResp as string;
  const decoded = decodeContainerAllocateResponse(Buffer.from(real, 'base64'));
  t.same(decoded, {
    ...empty,
    envs: { PCIDEVICE_INTEL_COM_SRIOV_NET_A: '0000:03:02.1' },
    devices: [
      { container_path: '/dev/vfio/vfio', host_path: '/dev/vfio/vfio', permissions: 'rw' },
      { container_path: '/dev/vfio/42', host_path: '/dev/vfio/42', permissions: 'rw' },
    ],
  });
  t.equal(encodeContainerAllocateResponse(decoded).toString('base64'), real, 'same bytes as the Go marshaller would write');
  // map keys are written sorted whatever the insertion order
  t.equal(
    encodeContainerAllocateResponse({ ...empty, envs: { B: '2', A: '1' } }).toString('base64'),
    encodeContainerAllocateResponse({ ...empty, envs: { A: '1', B: '2' } }).toString('base64'),
  );
});

t.test('our checkpoint round-trips and matches the kubelet JSON shape', async (t) => {
  const data: CheckpointData = {
    entries: [
      {
        podUid: 'u1',
        containerName: 'c',
        resourceName: 'example.com/nic',
        deviceIds: new Map([
          [1, ['d2']],
          [-1, ['d0']],
          [0, ['d1']],
        ]),
        allocResp: { envs: { X: '<1>&' }, mounts: [], devices: [], annotations: {}, cdi_devices: [] },
      },
    ],
    registeredDevices: { 'z.com/b': ['b1'], 'a.com/a': ['a2', 'a1'] },
  };
  const text = encodeCheckpoint(data);
  t.match(text, /^\{"Data":\{"PodDeviceEntries":\[\{"PodUID":"u1","ContainerName":"c","ResourceName":"example.com\/nic","DeviceIDs":\{"-1":\["d0"\],"0":\["d1"\],"1":\["d2"\]\},"AllocResp":"[A-Za-z0-9+/=]+"\}\],"RegisteredDevices":\{"a.com\/a":\["a2","a1"\],"z.com\/b":\["b1"\]\}\},"Checksum":\d+\}$/);
  const back = parseCheckpoint(text);
  t.equal(back.format, 'v2');
  t.ok(back.checksumMatchesOurs);
  t.same(back.data.entries[0].allocResp.envs, { X: '<1>&' });
  t.same([...back.data.entries[0].deviceIds].sort(([a], [b]) => a - b), [[-1, ['d0']], [0, ['d1']], [1, ['d2']]]);
  t.same(back.data.registeredDevices, data.registeredDevices);
  t.equal(encodeCheckpoint({ entries: [], registeredDevices: {} }).slice(0, 52), '{"Data":{"PodDeviceEntries":null,"RegisteredDevices"', 'no entries → null, as Go writes a nil slice');
  const tampered = text.replace('"d1"', '"dX"');
  t.notOk(parseCheckpoint(tampered).checksumMatchesOurs, 'a changed file no longer matches our checksum');
  t.throws(() => parseCheckpoint('{"Data":{"PodDeviceEntries":[{"PodUID":"u"}]}}'), CheckpointError);
  t.throws(() => parseCheckpoint('not json'), /not JSON/);
});

t.test('real-format checkpoints: NUMA-keyed and pre-1.20 flat', async (t) => {
  const v2 = parseCheckpoint(readFileSync(join(FIXTURES, 'checkpoint-v2-real.json'), 'utf8'));
  t.equal(v2.format, 'v2');
  t.notOk(v2.checksumMatchesOurs, 'a real checksum is not ours, and is accepted anyway');
  t.same([...v2.data.entries[0].deviceIds], [[-1, ['0000:03:02.1']]]);
  const v1 = parseCheckpoint(readFileSync(join(FIXTURES, 'checkpoint-v1-flat.json'), 'utf8'));
  t.equal(v1.format, 'v1');
  t.same([...v1.data.entries[0].deviceIds], [[0, ['0000:03:02.3', '0000:03:02.4']]], 'flat list lands on NUMA node 0');
  t.same(v1.data.entries[0].allocResp.envs, { A: '1' });
});

t.test('a kubelet starting on a real checkpoint restores the pod’s devices and response', async (t) => {
  const root = shortTempDir(t);
  mkdirSync(join(root, 'device-plugins'), { recursive: true });
  copyFileSync(join(FIXTURES, 'checkpoint-v2-real.json'), join(root, 'device-plugins', 'kubelet_internal_checkpoint'));
  const kubelet = new Kubelet({ nodeName: 'n', rootDir: root, clock: new ManualClock(), seed: 1, dialTimeoutMs: 500 });
  await kubelet.start();
  t.teardown(() => kubelet.close());
  t.equal(kubelet.restoredCheckpoint?.format, 'v2');
  t.equal(health(kubelet, SRIOV), '0/0', 'restored resource, no healthy device yet');
  const p = new FakeDevicePlugin({ dir: kubelet.devicePluginsDir, socketName: 'sriov.sock', resource: SRIOV, devices: healthy('0000:03:02.1', '0000:03:02.2') });
  await p.start();
  t.teardown(() => p.stop());
  await p.register(kubelet.kubeletSocket);
  await until(kubelet, () => health(kubelet, SRIOV) === '2/2', '2/2');
  const uid = '6b1c5b0e-3f0e-4d3a-9c59-0f4cbb0d2a11';
  const limits = { [SRIOV]: '1' };
  const r = await kubelet.admitPod({ uid, name: 'old', namespace: 'default', initContainers: [], containers: [{ name: 'app', limits, requests: limits }] });
  t.ok(r.admitted);
  if (r.admitted) {
    t.same(r.allocations[0].deviceIds, ['0000:03:02.1']);
    t.same(r.allocations[0].response.envs, { PCIDEVICE_INTEL_COM_SRIOV_NET_A: '0000:03:02.1' });
  }
  t.equal(p.count('Allocate'), 0, 'nothing allocated again');
  const r2 = await kubelet.admitPod({ uid: 'new', name: 'new', namespace: 'default', initContainers: [], containers: [{ name: 'app', limits, requests: limits }] });
  t.same(r2.admitted ? r2.allocations[0].deviceIds : [], ['0000:03:02.2'], 'the new pod gets the other device');
  const written = parseCheckpoint(readFileSync(kubelet.checkpointPath, 'utf8'));
  t.ok(written.checksumMatchesOurs, 'rewritten by us');
  t.same(written.data.entries.map((e) => e.podUid), [uid, 'new']);
});

t.test('a flat (pre-1.20) checkpoint is restored with NUMA node 0', async (t) => {
  const root = shortTempDir(t);
  mkdirSync(join(root, 'device-plugins'), { recursive: true });
  copyFileSync(join(FIXTURES, 'checkpoint-v1-flat.json'), join(root, 'device-plugins', 'kubelet_internal_checkpoint'));
  const kubelet = new Kubelet({ nodeName: 'n', rootDir: root, clock: new ManualClock(), seed: 1 });
  await kubelet.start();
  t.teardown(() => kubelet.close());
  const uid = '0f7d7a7e-1111-4c4c-8e8e-222233334444';
  const limits = { [SRIOV]: '2' };
  const spec = { uid, name: 'legacy', namespace: 'default', initContainers: [], containers: [{ name: 'app', limits, requests: limits }] };
  const p = new FakeDevicePlugin({ dir: kubelet.devicePluginsDir, socketName: 'sriov.sock', resource: SRIOV, devices: healthy('0000:03:02.3', '0000:03:02.4', '0000:03:02.5') });
  await p.start();
  t.teardown(() => p.stop());
  await p.register(kubelet.kubeletSocket);
  await until(kubelet, () => health(kubelet, SRIOV) === '3/3', '3/3');
  t.ok((await kubelet.admitPod(spec)).admitted);
  t.equal(p.count('Allocate'), 0);
  const client = new PodResourcesClient(kubelet.podResourcesSocket);
  t.teardown(() => client.close());
  const listed = (await client.list()).pod_resources;
  t.same(listed.map((pr) => pr.containers[0].devices), [[{ resource_name: SRIOV, device_ids: ['0000:03:02.3', '0000:03:02.4'], topology: { nodes: [{ ID: 0 }] } }]]);
});
