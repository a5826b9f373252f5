// Registration (kubelet.sock and plugins_registry), health sequences, ListAndWatch not retried, the grace period.
import t from 'tap';
import { lstatSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { ManualClock } from './clock.ts';
import { Kubelet, socketIdentity, type KubeletOptions } from './kubelet.ts';
import { ENDPOINT_STOP_GRACE_PERIOD_MS } from './device-manager.ts';
import { FakeDevicePlugin, devices, health, healthy, shortTempDir, until, type FakePluginOptions } from './fixtures/fake-plugin.ts';
import type { KubeletEvent } from './types.ts';

const RES = 'example.com/nic';

/** The gRPC status details of a rejected call ('(resolved)' if it did not reject). */
async function rejection(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return '(resolved)';
  } catch (e) {
    return (e as { details?: string }).details;
  }
}

export interface Teardown {
  teardown(f: () => unknown): void;
}

async function setup(tt: Teardown, opts: Partial<KubeletOptions> = {}) {
  const root = shortTempDir(tt);
  const clock = new ManualClock();
  const kubelet = new Kubelet({ nodeName: 'node-a', rootDir: root, clock, seed: 1, dialTimeoutMs: 500, ...opts });
  const events: KubeletEvent[] = [];
  kubelet.onEvent((e) => events.push(e));
  await kubelet.start();
  tt.teardown(() => kubelet.close());
  const plugins: FakeDevicePlugin[] = [];
  tt.teardown(() => plugins.forEach((p) => p.stop()));
  const plugin = async (o: Partial<FakePluginOptions> & { devices: FakePluginOptions['devices'] }) => {
    const p = new FakeDevicePlugin({ dir: kubelet.devicePluginsDir, socketName: 'fake.sock', resource: RES, ...o });
    plugins.push(p);
    return p.start();
  };
  return { root, clock, kubelet, events, plugin };
}

t.test('Register validates version and resource name with the kubelet messages', async (t) => {
  const { kubelet, plugin } = await setup(t);
  const p = await plugin({ devices: healthy('d0') });
  t.equal(await rejection(p.register(kubelet.kubeletSocket, { version: 'v1alpha' })), 'requested API version "v1alpha" is not supported by kubelet. Supported version is ["v1beta1"]');
  for (const bad of ['nic', 'kubernetes.io/nic', 'example.com/' + 'x'.repeat(64), 'Example.com/nic', 'a/b/c', 'example.com/-nic']) {
    t.equal(await rejection(p.register(kubelet.kubeletSocket, { resource: bad })), `the ResourceName "${bad}" is invalid`, bad);
  }
  t.equal(p.count('GetDevicePluginOptions'), 0, 'no dial for a rejected request');
  t.same(kubelet.capacity(), {}, 'nothing registered');
  // a 63-character name part is still valid
  await p.register(kubelet.kubeletSocket, { resource: 'example.com/' + 'x'.repeat(63) });
  await until(kubelet, () => health(kubelet, 'example.com/' + 'x'.repeat(63)) === '1/1', 'long name registered');
});

t.test('GetDevicePluginOptions failing fails Register and the resource stays absent', async (t) => {
  const { kubelet, plugin, events } = await setup(t);
  const p = await plugin({ devices: healthy('d0'), failGetOptions: 'options broken' });
  t.equal(await rejection(p.register(kubelet.kubeletSocket)), 'failed to get device plugin options: rpc error: code = Unknown desc = options broken');
  t.equal(p.count('ListAndWatch'), 0, 'no ListAndWatch after a failed registration');
  t.same(kubelet.capacity(), {});
  t.ok(events.some((e) => e.kind === 'registration' && !e.ok && /options broken/.test(e.error ?? '')), 'registration failure traced');
});

t.test('Register fails when the endpoint socket cannot be dialled', async (t) => {
  const { kubelet, plugin } = await setup(t);
  const p = await plugin({ devices: healthy('d0') });
  const reg = new FakeDevicePlugin({ dir: kubelet.devicePluginsDir, socketName: 'missing.sock', resource: RES, devices: [] });
  t.equal(await rejection(reg.register(kubelet.kubeletSocket)), 'failed to dial device plugin: context deadline exceeded');
  t.same(kubelet.capacity(), {});
  p.stop();
});

t.test('health 1/1 → 0/1 → 1/1', async (t) => {
  const { kubelet, plugin, events } = await setup(t);
  const p = await plugin({ devices: healthy('d0') });
  const seen: string[] = [];
  kubelet.onResourcesChanged(() => seen.push(health(kubelet, RES)));
  await p.register(kubelet.kubeletSocket);
  await until(kubelet, () => health(kubelet, RES) === '1/1', '1/1');
  p.setDevices(devices({ d0: 'Unhealthy' }));
  await until(kubelet, () => health(kubelet, RES) === '0/1', '0/1');
  p.setDevices(devices({ d0: 'Healthy' }));
  await until(kubelet, () => health(kubelet, RES) === '1/1', '1/1 again');
  t.same(seen, ['1/1', '0/1', '1/1'], 'each change notified once');
  const trace = events.filter((e) => e.kind === 'resources').map((e) => (e.kind === 'resources' ? `${e.allocatable}/${e.capacity}` : ''));
  t.same(trace, ['1/1', '0/1', '1/1'], 'capacity changes in the trace');
  t.equal(p.count('ListAndWatch'), 1);
});

t.test('health 4/4 → 3/4 → 4/4 → 2/4 → 3/4 → 4/4', async (t) => {
  const { kubelet, plugin } = await setup(t);
  const p = await plugin({ devices: healthy('d0', 'd1', 'd2', 'd3') });
  const seen: string[] = [];
  kubelet.onResourcesChanged(() => seen.push(health(kubelet, RES)));
  await p.register(kubelet.kubeletSocket);
  const steps: Array<[Record<string, 'Healthy' | 'Unhealthy'>, string]> = [
    [{ d0: 'Unhealthy', d1: 'Healthy', d2: 'Healthy', d3: 'Healthy' }, '3/4'],
    [{ d0: 'Healthy', d1: 'Healthy', d2: 'Healthy', d3: 'Healthy' }, '4/4'],
    [{ d0: 'Unhealthy', d1: 'Unhealthy', d2: 'Healthy', d3: 'Healthy' }, '2/4'],
    [{ d0: 'Healthy', d1: 'Unhealthy', d2: 'Healthy', d3: 'Healthy' }, '3/4'],
    [{ d0: 'Healthy', d1: 'Healthy', d2: 'Healthy', d3: 'Healthy' }, '4/4'],
  ];
  await until(kubelet, () => health(kubelet, RES) === '4/4', '4/4');
  for (const [spec, want] of steps) {
    p.setDevices(devices(spec));
    await until(kubelet, () => health(kubelet, RES) === want, want);
  }
  t.same(seen, ['4/4', '3/4', '4/4', '2/4', '3/4', '4/4']);
});

t.test('ListAndWatch failing is not retried; devices turn unhealthy', async (t) => {
  const { kubelet, plugin, clock } = await setup(t);
  const p = await plugin({ devices: healthy('d0', 'd1'), failListAndWatch: 'stream broken' });
  await p.register(kubelet.kubeletSocket);
  await until(kubelet, () => health(kubelet, RES) === '0/2', 'devices reported, then unhealthy');
  clock.advance(60_000);
  // give a (wrong) retry every chance to happen
  await new Promise((r) => setTimeout(r, 200));
  t.equal(p.count('ListAndWatch'), 1, 'ListAndWatch called exactly once');
  t.equal(health(kubelet, RES), '0/2');
  t.notOk(kubelet.hasPlugin(RES));
  // registering again opens a new stream
  await p.register(kubelet.kubeletSocket);
  await until(kubelet, () => p.count('ListAndWatch') === 2, 'second stream after re-registration');
});

t.test('plugin stopped: 2/2 → 0/2 → 0/0 after the 5-minute grace period', async (t) => {
  const { kubelet, plugin, clock, events } = await setup(t);
  const p = await plugin({ devices: healthy('d0', 'd1') });
  await p.register(kubelet.kubeletSocket);
  await until(kubelet, () => health(kubelet, RES) === '2/2', '2/2');
  p.stop();
  await until(kubelet, () => health(kubelet, RES) === '0/2', '0/2');
  clock.advance(ENDPOINT_STOP_GRACE_PERIOD_MS - 1000);
  t.equal(health(kubelet, RES), '0/2', 'still there just before the grace period ends');
  clock.advance(1000);
  t.equal(health(kubelet, RES), '0/0', 'capacity 0 after the grace period');
  t.ok(events.some((e) => e.kind === 'lifecycle' && e.what === 'resource-removed' && e.detail === RES));
});

t.test('plugin coming back within the grace period keeps the resource', async (t) => {
  const { kubelet, plugin, clock } = await setup(t);
  const p = await plugin({ devices: healthy('d0', 'd1') });
  await p.register(kubelet.kubeletSocket);
  await until(kubelet, () => health(kubelet, RES) === '2/2', '2/2');
  p.stop();
  await until(kubelet, () => health(kubelet, RES) === '0/2', '0/2');
  clock.advance(60_000);
  const p2 = await plugin({ devices: healthy('d0', 'd1') });
  await p2.register(kubelet.kubeletSocket);
  await until(kubelet, () => health(kubelet, RES) === '2/2', '2/2 again');
  clock.advance(ENDPOINT_STOP_GRACE_PERIOD_MS);
  t.equal(health(kubelet, RES), '2/2', 'no removal after the plugin re-registered');
});

t.test('re-registration replaces the endpoint; the old stream ending changes nothing', async (t) => {
  const { kubelet, plugin } = await setup(t);
  const a = await plugin({ devices: healthy('d0'), socketName: 'a.sock' });
  await a.register(kubelet.kubeletSocket);
  await until(kubelet, () => health(kubelet, RES) === '1/1', 'a registered');
  const b = await plugin({ devices: healthy('d0', 'd1'), socketName: 'b.sock' });
  await b.register(kubelet.kubeletSocket);
  await until(kubelet, () => health(kubelet, RES) === '2/2', 'b replaced a');
  a.stop();
  await new Promise((r) => setTimeout(r, 100));
  t.equal(health(kubelet, RES), '2/2', 'the replaced endpoint disconnecting does not mark devices unhealthy');
  const r = await kubelet.admitPod({ uid: 'u1', name: 'p1', namespace: 'default', initContainers: [], containers: [{ name: 'c', limits: { [RES]: '1' }, requests: { [RES]: '1' } }] });
  t.ok(r.admitted);
  t.equal(b.count('Allocate'), 1, 'Allocate goes to the new endpoint');
  t.equal(a.count('Allocate'), 0);
});

t.test('plugins_registry: GetInfo, connect, NotifyRegistrationStatus', async (t) => {
  const { kubelet, plugin, events } = await setup(t, { registrationModes: ['plugins_registry'] });
  const p = await plugin({ dir: kubelet.pluginsRegistryDir, socketName: 'nic.sock', devices: healthy('d0', 'd1'), watcher: {} });
  await until(kubelet, () => health(kubelet, RES) === '2/2', 'registered through the watcher');
  await until(kubelet, () => p.notifications.length === 1, 'notified');
  t.same(p.notifications, [{ plugin_registered: true, error: '' }]);
  t.same(
    p.calls.map((c) => c.method).filter((m) => m !== 'ListAndWatch'),
    ['GetInfo', 'GetDevicePluginOptions', 'NotifyRegistrationStatus'],
    'GetInfo, then the device plugin, then the status',
  );
  t.ok(events.some((e) => e.kind === 'registration' && e.ok && e.mode === 'plugins_registry'));
  // the socket disappears: the plugin is deregistered and its devices turn unhealthy
  p.stop();
  await until(kubelet, () => health(kubelet, RES) === '0/2', 'deregistered');
});

t.test('plugins_registry: a plugin restarted on the same socket path is registered again, each time', async (t) => {
  // a SIGKILLed plugin leaves its socket; the next one unlinks it and binds the same path at once, before the watcher
  // looks. ext4 gives the freed inode number straight back, so the inode alone cannot tell the two sockets apart
  const { kubelet, plugin } = await setup(t, { registrationModes: ['plugins_registry'] });
  let p = await plugin({ dir: kubelet.pluginsRegistryDir, socketName: 'nic.sock', devices: healthy('d0', 'd1'), watcher: {} });
  await until(kubelet, () => p.count('GetInfo') === 1 && health(kubelet, RES) === '2/2', 'first registration');
  for (let i = 1; i <= 5; i++) {
    const before = p;
    before.stop();
    p = await plugin({ dir: kubelet.pluginsRegistryDir, socketName: 'nic.sock', devices: healthy('d0', 'd1'), watcher: {} });
    await until(kubelet, () => p.count('GetInfo') === 1 && p.count('ListAndWatch') === 1, `restart ${i}: the new plugin is asked for its info and watched`);
  }
  await until(kubelet, () => health(kubelet, RES) === '2/2', 'the devices healthy through the last plugin');
  t.equal(p.count('GetInfo'), 1);
});

t.test('a socket bound again at the same path is another socket to the watcher, even with the inode number reused', async (t) => {
  const dir = shortTempDir(t);
  const path = join(dir, 'nic.sock');
  const bindOnce = async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(path, r));
    const st = lstatSync(path, { bigint: true });
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(path, { force: true });
    return st;
  };
  const first = await bindOnce();
  const second = await bindOnce();
  t.comment(`inode numbers: ${first.ino} then ${second.ino}${first.ino === second.ino ? ' (reused)' : ''}`);
  t.not(socketIdentity(second), socketIdentity(first));
});

t.test('plugins_registry: endpoint reported inside the node is translated; validation errors are notified', async (t) => {
  const { kubelet, plugin } = await setup(t, { registrationModes: ['plugins_registry'] });
  const good = await plugin({
    dir: kubelet.pluginsRegistryDir,
    socketName: 'good.sock',
    devices: healthy('d0'),
    watcher: { endpoint: '/var/lib/kubelet/plugins_registry/good.sock' },
  });
  await until(kubelet, () => health(kubelet, RES) === '1/1', 'registered with a node path');
  const badName = await plugin({ dir: kubelet.pluginsRegistryDir, socketName: 'bad.sock', devices: healthy('x'), watcher: { name: 'nic' } });
  const badVersion = await plugin({ dir: kubelet.pluginsRegistryDir, socketName: 'old.sock', devices: healthy('x'), resource: 'example.com/old', watcher: { versions: ['v1alpha1'] } });
  const csi = await plugin({ dir: kubelet.pluginsRegistryDir, socketName: 'csi.sock', devices: [], watcher: { type: 'CSIPlugin', name: 'csi.example.com' } });
  await until(kubelet, () => badName.notifications.length + badVersion.notifications.length + csi.notifications.length === 3, 'three refusals');
  t.same(badName.notifications, [
    { plugin_registered: false, error: 'RegisterPlugin error -- plugin validation failed with err: invalid name of device plugin socket: the ResourceName "nic" is invalid' },
  ]);
  t.same(badVersion.notifications, [
    { plugin_registered: false, error: 'RegisterPlugin error -- plugin validation failed with err: manager version, v1beta1, is not among plugin supported versions [v1alpha1]' },
  ]);
  t.same(csi.notifications, [
    { plugin_registered: false, error: `RegisterPlugin error -- no handler registered for plugin type: CSIPlugin at socket ${join(kubelet.pluginsRegistryDir, 'csi.sock')}` },
  ]);
  t.equal(badName.count('GetDevicePluginOptions'), 0);
  t.same(Object.keys(kubelet.capacity()), [RES]);
  t.equal(good.count('ListAndWatch'), 1);
});

t.test('registration modes decide what the node offers', async (t) => {
  const only = await setup(t, { registrationModes: ['kubelet.sock'] });
  const { existsSync } = await import('node:fs');
  t.ok(existsSync(only.kubelet.kubeletSocket));
  t.notOk(existsSync(only.kubelet.pluginsRegistryDir), 'no plugins_registry: the upstream plugin then uses kubelet.sock');
  const watcherOnly = await setup(t, { registrationModes: ['plugins_registry'], nodeName: 'node-b' });
  t.notOk(existsSync(watcherOnly.kubelet.kubeletSocket));
  t.ok(existsSync(watcherOnly.kubelet.pluginsRegistryDir));
});
