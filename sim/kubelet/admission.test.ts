// Admission: per-container Allocate, init-container reuse, restartable init containers, GetPreferredAllocation,
// PreStartContainer, merged responses, the UnexpectedAdmissionError messages, deterministic picking.
import t from 'tap';
import { ManualClock } from './clock.ts';
import { Kubelet, type KubeletOptions } from './kubelet.ts';
import { FakeDevicePlugin, health, healthy, shortTempDir, until, type FakePluginOptions } from './fixtures/fake-plugin.ts';
import type { AllocateRequest, ContainerLite, PodSpecLite, PreferredAllocationRequest } from './types.ts';

const RES = 'example.com/nic';
const RES2 = 'example.com/gpu';

interface Teardown {
  teardown(f: () => unknown): void;
}

async function setup(tt: Teardown, opts: Partial<KubeletOptions> = {}) {
  const root = shortTempDir(tt);
  const kubelet = new Kubelet({ nodeName: 'node-a', rootDir: root, clock: new ManualClock(), seed: 7, dialTimeoutMs: 500, ...opts });
  await kubelet.start();
  tt.teardown(() => kubelet.close());
  const plugins: FakeDevicePlugin[] = [];
  tt.teardown(() => plugins.forEach((p) => p.stop()));
  const plugin = async (o: Partial<FakePluginOptions> & { devices: FakePluginOptions['devices'] }) => {
    const p = new FakeDevicePlugin({ dir: kubelet.devicePluginsDir, socketName: 'fake.sock', resource: RES, ...o });
    plugins.push(p);
    await p.start();
    await p.register(kubelet.kubeletSocket);
    const res = o.resource ?? RES;
    await until(kubelet, () => kubelet.capacity()[res] === String(o.devices.length), `${res} registered`);
    return p;
  };
  return { root, kubelet, plugin };
}

function c(name: string, limits: Record<string, string>, restartPolicy?: 'Always'): ContainerLite {
  return { name, limits, requests: { ...limits }, ...(restartPolicy ? { restartPolicy } : {}) };
}

function pod(uid: string, containers: ContainerLite[], initContainers: ContainerLite[] = []): PodSpecLite {
  return { uid, name: `pod-${uid}`, namespace: 'default', initContainers, containers };
}

t.test('one Allocate with one container request per container and resource', async (t) => {
  const { kubelet, plugin } = await setup(t);
  const p = await plugin({ devices: healthy('d0', 'd1', 'd2') });
  const r = await kubelet.admitPod(pod('u1', [c('a', { [RES]: '2' }), c('b', { [RES]: '1' })]));
  t.ok(r.admitted);
  const reqs = p.calls.filter((x) => x.method === 'Allocate').map((x) => x.request as AllocateRequest);
  t.equal(reqs.length, 2);
  t.same(reqs.map((q) => q.container_requests.length), [1, 1]);
  t.same(reqs.map((q) => q.container_requests[0].devices_ids.length), [2, 1]);
  const all = reqs.flatMap((q) => q.container_requests[0].devices_ids).sort();
  t.same(all, ['d0', 'd1', 'd2'], 'no device given twice');
  if (r.admitted) {
    t.same(r.allocations.map((a) => [a.container, a.resource, a.deviceIds.length]), [['a', RES, 2], ['b', RES, 1]]);
    t.equal(r.allocations[0].response.envs.FAKE_FAKE_SOCK, r.allocations[0].deviceIds.join(','), 'the plugin response is kept');
  }
  t.equal(kubelet.podStatus('u1')?.phase, 'Running');
});

t.test('requested number unavailable → Failed with UnexpectedAdmissionError', async (t) => {
  const { kubelet, plugin } = await setup(t);
  await plugin({ devices: healthy('d0') });
  t.ok((await kubelet.admitPod(pod('u1', [c('a', { [RES]: '1' })]))).admitted);
  const r = await kubelet.admitPod(pod('u2', [c('a', { [RES]: '1' })]));
  t.same(r, {
    admitted: false,
    reason: 'UnexpectedAdmissionError',
    message: `Allocate failed due to requested number of devices unavailable for ${RES}. Requested: 1, Available: 0, which is unexpected`,
  });
  t.same(kubelet.podStatus('u2'), { uid: 'u2', name: 'pod-u2', namespace: 'default', phase: 'Failed', reason: r.admitted ? '' : r.reason, message: r.admitted ? '' : r.message });
  // deleting the first pod frees its device for the next admission
  await kubelet.releasePod('u1');
  t.ok((await kubelet.admitPod(pod('u3', [c('a', { [RES]: '1' })]))).admitted);
});

t.test('no healthy devices / plugin error messages', async (t) => {
  const { kubelet, plugin } = await setup(t);
  const p = await plugin({ devices: healthy('d0') });
  p.setDevices([{ ID: 'd0', health: 'Unhealthy' }]);
  await until(kubelet, () => health(kubelet, RES) === '0/1', '0/1');
  const r = await kubelet.admitPod(pod('u1', [c('a', { [RES]: '1' })]));
  t.same(r, {
    admitted: false,
    reason: 'UnexpectedAdmissionError',
    message: `Allocate failed due to no healthy devices present; cannot allocate unhealthy devices ${RES}, which is unexpected`,
  });
  const q = await plugin({ devices: healthy('g0'), resource: RES2, socketName: 'gpu.sock', failAllocate: 'boom' });
  const r2 = await kubelet.admitPod(pod('u2', [c('a', { [RES2]: '1' })]));
  t.same(r2, { admitted: false, reason: 'UnexpectedAdmissionError', message: 'Allocate failed due to rpc error: code = Unknown desc = boom, which is unexpected' });
  t.equal(q.count('Allocate'), 1);
});

t.test('init containers first; a finished init container’s devices are reused by the app container', async (t) => {
  const { kubelet, plugin } = await setup(t);
  const p = await plugin({ devices: healthy('d0', 'd1', 'd2', 'd3') });
  const r = await kubelet.admitPod(pod('u1', [c('app', { [RES]: '1' })], [c('init', { [RES]: '1' })]));
  t.ok(r.admitted);
  const reqs = p.calls.filter((x) => x.method === 'Allocate').map((x) => (x.request as AllocateRequest).container_requests[0].devices_ids);
  t.equal(reqs.length, 2, 'init then app');
  t.same(reqs[0], reqs[1], 'the app container reuses the init container device');
});

t.test('a restartable init container and an app container each get a device', async (t) => {
  const { kubelet, plugin } = await setup(t);
  await plugin({ devices: healthy('d0', 'd1') });
  const r = await kubelet.admitPod(pod('u1', [c('app', { [RES]: '1' })], [c('sidecar', { [RES]: '1' }, 'Always')]));
  t.ok(r.admitted);
  if (!r.admitted) return;
  const side = r.allocations.find((a) => a.container === 'sidecar')!.deviceIds;
  const app = r.allocations.find((a) => a.container === 'app')!.deviceIds;
  t.equal(side.length, 1);
  t.equal(app.length, 1);
  t.not(side[0], app[0], 'different devices');
  // both hold their device: there is none left
  const r2 = await kubelet.admitPod(pod('u2', [c('a', { [RES]: '1' })]));
  t.notOk(r2.admitted);
});

t.test('GetPreferredAllocation only when offered and there is a choice', async (t) => {
  const { kubelet, plugin } = await setup(t);
  const p = await plugin({
    devices: healthy('d0', 'd1', 'd2', 'd3'),
    options: { get_preferred_allocation_available: true },
    preferred: () => ['d3', 'd2'],
  });
  const r = await kubelet.admitPod(pod('u1', [c('a', { [RES]: '2' })]));
  t.ok(r.admitted);
  const pref = p.calls.filter((x) => x.method === 'GetPreferredAllocation').map((x) => x.request as PreferredAllocationRequest);
  t.same(pref, [{ container_requests: [{ available_deviceIDs: ['d0', 'd1', 'd2', 'd3'], must_include_deviceIDs: [], allocation_size: 2 }] }]);
  if (r.admitted) t.same(r.allocations[0].deviceIds, ['d3', 'd2'], 'the preference is followed');
  // two devices left, two wanted: no choice, no call
  t.ok((await kubelet.admitPod(pod('u2', [c('a', { [RES]: '2' })]))).admitted);
  t.equal(p.count('GetPreferredAllocation'), 1);
  // a plugin that does not offer it is never asked
  const q = await plugin({ devices: healthy('g0', 'g1', 'g2'), resource: RES2, socketName: 'gpu.sock' });
  t.ok((await kubelet.admitPod(pod('u3', [c('a', { [RES2]: '1' })]))).admitted);
  t.equal(q.count('GetPreferredAllocation'), 0);
});

t.test('PreStartContainer when required, with the container’s devices', async (t) => {
  const { kubelet, plugin } = await setup(t);
  const p = await plugin({ devices: healthy('d0', 'd1'), options: { pre_start_required: true } });
  const r = await kubelet.admitPod(pod('u1', [c('a', { [RES]: '1' })]));
  t.ok(r.admitted);
  t.same(
    p.calls.filter((x) => x.method === 'PreStartContainer').map((x) => x.request),
    [{ devices_ids: r.admitted ? r.allocations[0].deviceIds : [] }],
  );
  t.same(p.calls.map((x) => x.method).slice(-2), ['Allocate', 'PreStartContainer'], 'after Allocate');
  const q = await plugin({ devices: healthy('g0'), resource: RES2, socketName: 'gpu.sock', options: { pre_start_required: true }, failPreStart: 'no' });
  const r2 = await kubelet.admitPod(pod('u2', [c('a', { [RES2]: '1' })]));
  t.same(r2, { admitted: false, reason: 'CreateContainerConfigError', message: 'device plugin PreStartContainer rpc failed with err: rpc error: code = Unknown desc = no' });
  t.equal(q.count('PreStartContainer'), 1);
});

t.test('responses of several resources are merged; the first value wins', async (t) => {
  const { kubelet, plugin } = await setup(t);
  await plugin({
    devices: healthy('d0'),
    resource: RES2, // example.com/gpu sorts before example.com/nic
    socketName: 'gpu.sock',
    allocateResponse: () => ({ envs: { SHARED: 'gpu', GPU: '1' }, devices: [{ container_path: '/dev/x', host_path: '/dev/gpu0', permissions: 'rw' }], annotations: { a: 'gpu' } }),
  });
  await plugin({
    devices: healthy('n0'),
    allocateResponse: () => ({ envs: { SHARED: 'nic', NIC: '1' }, devices: [{ container_path: '/dev/x', host_path: '/dev/nic0', permissions: 'r' }], mounts: [{ container_path: '/m', host_path: '/h', read_only: true }] }),
  });
  const r = await kubelet.admitPod(pod('u1', [c('a', { [RES]: '1', [RES2]: '1' })]));
  t.ok(r.admitted);
  const merged = kubelet.runContainerOptions('u1', 'a');
  t.same(merged?.envs, { SHARED: 'gpu', GPU: '1', NIC: '1' });
  t.same(merged?.devices, [{ container_path: '/dev/x', host_path: '/dev/gpu0', permissions: 'rw' }]);
  t.same(merged?.mounts, [{ container_path: '/m', host_path: '/h', read_only: true }]);
  t.same(merged?.annotations, { a: 'gpu' });
});

t.test('device picking is deterministic for a seed', async (t) => {
  const picks = async (seed: number, name: string) => {
    const { kubelet, plugin } = await setup(t, { seed, nodeName: name });
    await plugin({ devices: healthy(...Array.from({ length: 16 }, (_, i) => `d${i}`)) });
    const out: string[][] = [];
    for (let i = 0; i < 4; i++) {
      const r = await kubelet.admitPod(pod(`u${i}`, [c('a', { [RES]: '2' })]));
      out.push(r.admitted ? r.allocations[0].deviceIds : []);
    }
    return out;
  };
  const a = await picks(42, 'n1');
  const b = await picks(42, 'n1');
  t.same(a, b, 'same seed and node, same devices');
  const others = await Promise.all([1, 2, 3].map((s) => picks(s, 'n1')));
  t.ok(others.some((o) => JSON.stringify(o) !== JSON.stringify(a)), 'another seed picks differently');
});

t.test('an extended resource nobody provides is refused like the kubelet predicate does', async (t) => {
  const { kubelet } = await setup(t);
  const r = await kubelet.admitPod(pod('u1', [c('a', { 'example.com/none': '2' })]));
  t.same(r, { admitted: false, reason: 'OutOfexample.com/none', message: "Node didn't have enough resource: example.com/none, requested: 2, used: 0, capacity: 0" });
});

t.test('a pod bound while the kubelet is down waits and is admitted at start', async (t) => {
  const { kubelet, plugin } = await setup(t);
  await plugin({ devices: healthy('d0') });
  await kubelet.stop();
  let done = false;
  const pending = kubelet.admitPod(pod('u1', [c('a', {})])).then((r) => {
    done = true;
    return r;
  });
  await new Promise((r) => setImmediate(r));
  t.notOk(done, 'not admitted while down');
  t.equal(kubelet.podStatus('u1')?.phase, 'Pending');
  await kubelet.start();
  t.ok((await pending).admitted);
});
