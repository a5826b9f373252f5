// Kubelet restart, stop/start and node reboot (docs/reference/upstream-scenarios.md#kubelet-end-to-end-scenarios),
// and the pod-resources API over real gRPC.
import t from 'tap';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ManualClock } from './clock.ts';
import { parseCheckpoint } from './checkpoint.ts';
import { ENDPOINT_STOP_GRACE_PERIOD_MS } from './device-manager.ts';
import { PodResourcesClient } from './grpc.ts';
import { Kubelet } from './kubelet.ts';
import { FakeDevicePlugin, health, healthy, shortTempDir, until } from './fixtures/fake-plugin.ts';
import type { ContainerLite, PodSpecLite } from './types.ts';

const RES = 'example.com/nic';

interface Teardown {
  teardown(f: () => unknown): void;
}

async function setup(tt: Teardown) {
  const root = shortTempDir(tt);
  const clock = new ManualClock();
  const kubelet = new Kubelet({ nodeName: 'node-a', rootDir: root, clock, seed: 3, dialTimeoutMs: 500 });
  await kubelet.start();
  tt.teardown(() => kubelet.close());
  const plugins: FakeDevicePlugin[] = [];
  tt.teardown(() => plugins.forEach((p) => p.stop()));
  const startPlugin = async (ids: string[], socketName = 'fake.sock') => {
    const p = new FakeDevicePlugin({ dir: kubelet.devicePluginsDir, socketName, resource: RES, devices: healthy(...ids) });
    plugins.push(p);
    await p.start();
    await p.register(kubelet.kubeletSocket);
    await until(kubelet, () => health(kubelet, RES) === `${ids.length}/${ids.length}`, 'registered');
    return p;
  };
  const podResources = () => {
    const client = new PodResourcesClient(kubelet.podResourcesSocket);
    tt.teardown(() => client.close());
    return client;
  };
  return { root, clock, kubelet, startPlugin, podResources };
}

function pod(uid: string, limits: Record<string, string>, name = `pod-${uid}`): PodSpecLite {
  const c: ContainerLite = { name: 'c', limits, requests: { ...limits } };
  return { uid, name, namespace: 'default', initContainers: [], containers: [c] };
}

async function listed(client: PodResourcesClient): Promise<Array<[string, string[]]>> {
  const r = await client.list();
  return r.pod_resources.map((p) => [p.name, p.containers.flatMap((c) => c.devices.flatMap((d) => d.device_ids))]);
}

t.test('restart: sockets wiped, checkpoint kept, pods keep devices, 0 healthy until re-registration', async (t) => {
  const { kubelet, startPlugin, podResources } = await setup(t);
  const p = await startPlugin(['d0', 'd1']);
  const r = await kubelet.admitPod(pod('u1', { [RES]: '1' }));
  t.ok(r.admitted);
  const held = r.admitted ? r.allocations[0].deviceIds : [];
  writeFileSync(join(kubelet.devicePluginsDir, 'notes.txt'), 'not a socket');
  await kubelet.restart();
  const left = readdirSync(kubelet.devicePluginsDir).sort();
  t.same(left, ['kubelet.sock', 'kubelet_internal_checkpoint', 'notes.txt'], 'plugin socket deleted; checkpoint and other files stay');
  t.notOk(existsSync(p.socketPath));
  t.equal(health(kubelet, RES), '0/0', 'restored resource has no healthy devices');
  t.equal(kubelet.podStatus('u1')?.phase, 'Running', 'the running pod was re-admitted without its plugin');
  t.same(await listed(podResources()), [['pod-u1', held]], 'pod-resources still shows its device');
  // the plugin notices its socket is gone and registers again
  p.stop();
  const p2 = await startPlugin(['d0', 'd1']);
  t.equal(health(kubelet, RES), '2/2');
  const r2 = await kubelet.admitPod(pod('u2', { [RES]: '1' }));
  t.ok(r2.admitted);
  t.not(r2.admitted ? r2.allocations[0].deviceIds[0] : '', held[0], 'the held device is not given again');
  const r3 = await kubelet.admitPod(pod('u3', { [RES]: '1' }));
  t.notOk(r3.admitted, 'both devices in use');
  t.equal(p2.count('Allocate'), 1);
});

t.test('restart without re-registration: resource removed after the grace period', async (t) => {
  const { kubelet, clock, startPlugin } = await setup(t);
  const p = await startPlugin(['d0', 'd1']);
  p.stop();
  await kubelet.restart();
  t.equal(health(kubelet, RES), '0/0');
  t.ok(kubelet.capacity()[RES] !== undefined, 'still reported');
  clock.advance(ENDPOINT_STOP_GRACE_PERIOD_MS);
  t.equal(health(kubelet, RES), '0/0');
  const cp = parseCheckpoint(readFileSync(kubelet.checkpointPath, 'utf8'));
  t.same(cp.data.registeredDevices, {}, 'checkpoint rewritten without the removed resource');
});

t.test('a succeeded pod is not re-admitted after a restart with the plugin removed', async (t) => {
  const { kubelet, startPlugin } = await setup(t);
  const p = await startPlugin(['d0']);
  t.ok((await kubelet.admitPod(pod('u1', { [RES]: '1' }))).admitted);
  kubelet.setPodPhase('u1', 'Succeeded');
  p.stop();
  const admissions: string[] = [];
  kubelet.onEvent((e) => e.kind === 'admission' && admissions.push(e.podUid));
  await kubelet.restart();
  t.same(admissions, [], 'no admission attempt');
  t.same(kubelet.podStatus('u1'), { uid: 'u1', name: 'pod-u1', namespace: 'default', phase: 'Succeeded' });
});

t.test('a running pod is re-admitted after a restart with the plugin removed (its container still runs)', async (t) => {
  const { kubelet, startPlugin } = await setup(t);
  const p = await startPlugin(['d0']);
  t.ok((await kubelet.admitPod(pod('u1', { [RES]: '1' }))).admitted);
  p.stop();
  await kubelet.restart();
  t.equal(kubelet.podStatus('u1')?.phase, 'Running');
});

t.test('after a node reboot without re-registration, the pod fails admission', async (t) => {
  const { kubelet, startPlugin } = await setup(t);
  const p = await startPlugin(['d0']);
  t.ok((await kubelet.admitPod(pod('u1', { [RES]: '1' }))).admitted);
  p.stop();
  await kubelet.reboot();
  t.same(kubelet.podStatus('u1'), {
    uid: 'u1',
    name: 'pod-u1',
    namespace: 'default',
    phase: 'Failed',
    reason: 'UnexpectedAdmissionError',
    message: `Allocate failed due to no healthy devices present; cannot allocate unhealthy devices ${RES}, which is unexpected`,
  });
});

t.test('after a node reboot with the plugin registered first, the pod keeps its device', async (t) => {
  const { kubelet, startPlugin } = await setup(t);
  const p = await startPlugin(['d0']);
  const r = await kubelet.admitPod(pod('u1', { [RES]: '1' }));
  p.stop();
  let p2: FakeDevicePlugin | undefined;
  await kubelet.reboot({ beforeReadmit: async () => void (p2 = await startPlugin(['d0'])) });
  t.equal(kubelet.podStatus('u1')?.phase, 'Running');
  t.same(kubelet.containerAllocations('u1', 'c').map((a) => a.deviceIds), [r.admitted ? r.allocations[0].deviceIds : []]);
  t.equal(p2?.count('Allocate'), 0, 'devices re-checked, not allocated again');
});

t.test('pods deleted while the kubelet is down are cleaned from pod-resources', async (t) => {
  const { kubelet, startPlugin, podResources } = await setup(t);
  await startPlugin(['d0', 'd1']);
  t.ok((await kubelet.admitPod(pod('u1', { [RES]: '1' }))).admitted);
  t.ok((await kubelet.admitPod(pod('u2', { [RES]: '1' }))).admitted);
  await kubelet.stop();
  await kubelet.releasePod('u1');
  await kubelet.start();
  const l = await listed(podResources());
  t.same(l.map(([n]) => n), ['pod-u2']);
  const cp = parseCheckpoint(readFileSync(kubelet.checkpointPath, 'utf8'));
  t.same([...new Set(cp.data.entries.map((e) => e.podUid))].sort(), ['u1', 'u2'], 'the checkpoint still lists it until the next rewrite');
});

t.test('pod-resources API: List, GetAllocatableResources, Get over gRPC', async (t) => {
  const { kubelet, startPlugin, podResources } = await setup(t);
  const p = await startPlugin(['d0', 'd1', 'd2']);
  p.setDevices([
    { ID: 'd0', health: 'Healthy', topology: { nodes: [{ ID: 1 }] } },
    { ID: 'd1', health: 'Healthy' },
    { ID: 'd2', health: 'Unhealthy' },
  ]);
  await until(kubelet, () => health(kubelet, RES) === '2/3', '2/3');
  const side: ContainerLite = { name: 'side', limits: {}, requests: {}, restartPolicy: 'Always' };
  const init: ContainerLite = { name: 'init', limits: {}, requests: {} };
  const spec: PodSpecLite = { uid: 'u1', name: 'web', namespace: 'ns1', initContainers: [init, side], containers: [{ name: 'c', limits: { [RES]: '2' }, requests: { [RES]: '2' } }] };
  t.ok((await kubelet.admitPod(spec)).admitted);
  const client = podResources();
  const list = await client.list();
  t.equal(list.pod_resources.length, 1);
  const pr = list.pod_resources[0];
  t.equal(pr.name, 'web');
  t.equal(pr.namespace, 'ns1');
  t.same(pr.containers.map((c) => c.name), ['side', 'c'], 'restartable init containers, then app containers');
  const devs = pr.containers[1].devices;
  t.same(
    devs.map((d) => [d.resource_name, d.device_ids, d.topology]).sort((a, b) => String(a[1]).localeCompare(String(b[1]))),
    [
      [RES, ['d0'], { nodes: [{ ID: 1 }] }],
      [RES, ['d1'], null],
    ],
    'one entry per NUMA node; no topology for -1',
  );
  const alloc = await client.getAllocatableResources();
  t.same(alloc.devices.map((d) => d.device_ids[0]), ['d0', 'd1'], 'healthy devices only');
  const got = await client.get({ pod_name: 'web', pod_namespace: 'ns1' });
  t.same(got.pod_resources, pr);
  try {
    await client.get({ pod_name: 'nope', pod_namespace: 'ns1' });
    t.fail('expected an error');
  } catch (e) {
    t.equal((e as { details?: string }).details, 'pod nope in namespace ns1 not found');
  }
  // a succeeded pod is no longer listed
  kubelet.setPodPhase('u1', 'Succeeded');
  t.same((await client.list()).pod_resources, []);
});

t.test('pod-resources rate limit: burst 10, then ResourceExhausted, refilled at 100/s', async (t) => {
  const { clock, podResources } = await setup(t);
  const client = podResources();
  const outcome = async () => {
    try {
      await client.list();
      return 'ok';
    } catch (e) {
      const err = e as { code?: number; details?: string };
      return `${err.code}:${err.details}`;
    }
  };
  const results: string[] = [];
  for (let i = 0; i < 12; i++) results.push(await outcome());
  t.same(results.slice(0, 10), Array(10).fill('ok'));
  t.same(results.slice(10), ['8:rejected by rate limit', '8:rejected by rate limit'], 'RESOURCE_EXHAUSTED');
  clock.advance(10);
  t.equal(await outcome(), 'ok', 'one token after 10 ms');
  t.equal(await outcome(), '8:rejected by rate limit');
});
