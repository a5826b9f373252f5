// The kind backend's kind and docker command lines, against a recorded fake of both tools (fixtures/fake-tool.mjs on
// PATH as `kind` and `docker`, replaying fixtures/recordings.json and logging each invocation): the exact command
// lines, in order, for creating a cluster, reusing one, a kubelet restart, a reboot and the cleanup, also after a
// failure part-way. Real kind cannot run on the build machines (no node image can be pulled); the CI job does.
import t from 'tap';
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { defaultTopology } from '../../../sim/topology/topology.ts';
import { caps } from '../../../sim/caps.ts';
import type { BackendUpOptions } from '../../backend.ts';
import { KindCluster } from './cluster.ts';
import { kindBackend } from './index.ts';
import { unmakeShared } from './share.ts';
import { KindTools, type KindToolsOptions } from './tools.ts';
import { tempDir } from './test-rootfs.ts';

const FAKE = fileURLToPath(new URL('./fixtures/fake-tool.mjs', import.meta.url));
const root = caps.root();

interface Fake {
  work: string;
  share: string;
  kubeconfig: string;
  tools: (extra?: Record<string, string>) => KindToolsOptions;
  log: () => string[][];
  clear: () => void;
}

function fake(t: { teardown(f: () => void): void }): Fake {
  const work = tempDir('sl-kindfake-');
  const bin = join(work, 'bin');
  mkdirSync(bin);
  for (const n of ['kind', 'docker']) symlinkSync(FAKE, join(bin, n));
  const logFile = join(work, 'calls.log');
  writeFileSync(logFile, '');
  const share = join(work, 'share');
  t.teardown(() => {
    for (const l of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
      const at = l.split(' ')[4];
      if (at?.startsWith(`${share}/`)) unmakeShared(at);
    }
    rmSync(work, { recursive: true, force: true });
  });
  return {
    work,
    share,
    kubeconfig: join(work, 'kubeconfig'),
    tools: (extra = {}) => ({ env: { PATH: `${bin}:${process.env.PATH}`, FAKE_LOG: logFile, FAKE_SHARE: share, FAKE_PID: '4242', ...extra } }),
    log: () =>
      readFileSync(logFile, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as string[]),
    clear: () => writeFileSync(logFile, ''),
  };
}

const mountedAt = (dir: string) => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === dir);
const topology = defaultTopology();
const mounts = (c: string) => ['docker', 'inspect', '--format', '{{json .Mounts}}', c];
const pid = (c: string) => ['docker', 'inspect', '--format', '{{.State.Pid}}', c];

if (!root.ok) t.plan(0, `skipped: the kind backend's share is a shared bind mount, which needs root (${root.detail})`);
else {
  t.test('create, kubelet restart, reboot, delete', async (t) => {
    const f = fake(t);
    const lines: string[] = [];
    const tools = new KindTools({ ...f.tools(), progress: (l) => lines.push(l) });
    const c = new KindCluster(tools, { name: 'sl-t', reuse: false, keep: false, topology, workDir: f.work, kubeconfig: f.kubeconfig, shareRoot: join(f.share, 'sl-t') });
    await c.open();
    t.equal(c.container('node1'), 'sl-t-worker', 'the worker whose share mount is node1’s is node1');
    t.equal(await c.pid('node1'), 4242, 'the PID docker inspect printed');
    await c.kubelet('node1', 'restart');
    t.equal(await c.reboot('node1'), 4242, 'the PID after docker restart');
    t.ok(mountedAt(join(f.share, 'sl-t')), 'the share is a mount while the cluster is up');
    t.same(await c.close(), [], 'no cleanup problem');
    t.same(f.log(), [
      ['kind', 'create', 'cluster', '--name', 'sl-t', '--config', join(f.work, 'kind-sl-t.yaml'), '--kubeconfig', f.kubeconfig],
      ['kind', 'get', 'nodes', '--name', 'sl-t'],
      mounts('sl-t-worker'),
      mounts('sl-t-control-plane'),
      pid('sl-t-worker'),
      ['docker', 'exec', 'sl-t-worker', 'systemctl', 'restart', 'kubelet'],
      ['docker', 'restart', 'sl-t-worker'],
      pid('sl-t-worker'),
      ['kind', 'delete', 'cluster', '--name', 'sl-t', '--kubeconfig', f.kubeconfig],
    ]);
    t.notOk(mountedAt(join(f.share, 'sl-t')), 'the share is unmounted with the cluster gone');
    t.ok(lines.some((l) => l.includes('✓ Joining worker nodes')), 'kind create’s steps are shown as progress');

    const config = parse(readFileSync(join(f.work, 'kind-sl-t.yaml'), 'utf8')) as { nodes: Array<{ role: string; extraMounts?: Array<Record<string, string>>; kubeadmConfigPatches?: string[] }> };
    t.same(config.nodes.map((n) => n.role), ['control-plane', ...topology.nodes.map(() => 'worker')], 'one worker per topology node');
    t.same(config.nodes[1].extraMounts, [{ hostPath: join(f.share, 'sl-t', 'node1'), containerPath: '/run/sriov-lab/host', propagation: 'HostToContainer' }]);
    t.same(parse(config.nodes[1].kubeadmConfigPatches![0]), { kind: 'JoinConfiguration', nodeRegistration: { name: 'node1' } }, 'the worker registers as the topology node');
  });

  t.test('--keep: the cluster stays', async (t) => {
    const f = fake(t);
    const c = new KindCluster(new KindTools(f.tools()), { name: 'sl-k', reuse: false, keep: true, topology, workDir: f.work, kubeconfig: f.kubeconfig, shareRoot: join(f.share, 'sl-k') });
    await c.open();
    t.same(await c.close(), []);
    t.same(f.log().map((a) => a.slice(0, 3).join(' ')), ['kind create cluster', 'kind get nodes', 'docker inspect --format', 'docker inspect --format'], 'no kind delete');
    t.ok(mountedAt(join(f.share, 'sl-k')), 'the share stays mounted for a later --reuse (the containers’ mounts are its slaves)');
  });

  t.test('--reuse: found, its kubeconfig written, not deleted', async (t) => {
    const f = fake(t);
    const c = new KindCluster(new KindTools(f.tools()), { name: 'sriov-lab-kept', reuse: true, keep: false, topology, workDir: f.work, kubeconfig: f.kubeconfig, shareRoot: join(f.share, 'sriov-lab-kept') });
    await c.open();
    await c.kubelet('node1', 'stop');
    t.same(await c.close(), []);
    t.same(f.log(), [
      ['kind', 'get', 'clusters'],
      ['kind', 'get', 'kubeconfig', '--name', 'sriov-lab-kept'],
      ['kind', 'get', 'nodes', '--name', 'sriov-lab-kept'],
      mounts('sriov-lab-kept-worker'),
      mounts('sriov-lab-kept-control-plane'),
      ['docker', 'exec', 'sriov-lab-kept-worker', 'systemctl', 'stop', 'kubelet'],
    ]);
    t.match(readFileSync(f.kubeconfig, 'utf8'), /server: https:\/\/127\.0\.0\.1:43117/, 'the kubeconfig kind printed');
  });

  t.test('--reuse of a cluster kind does not have', async (t) => {
    const f = fake(t);
    const c = new KindCluster(new KindTools(f.tools()), { name: 'nope', reuse: true, keep: false, topology, workDir: f.work, kubeconfig: f.kubeconfig, shareRoot: join(f.share, 'nope') });
    await t.rejects(c.open(), { message: '--reuse nope: kind has no cluster nope (kind get clusters: kind, sriov-lab-kept)' });
    t.same(f.log(), [['kind', 'get', 'clusters']], 'nothing created, nothing deleted');
    t.notOk(mountedAt(join(f.share, 'nope')), 'the share is gone again');
  });

  const upOpts = (f: Fake): BackendUpOptions => ({ topology, seed: 1, devicePlugin: {}, workDir: f.work, trace: () => undefined });

  t.test('the backend: kind create fails (no node image) → the half-made cluster is deleted', async (t) => {
    const f = fake(t);
    const failing = ['kind', 'create', 'cluster', '--name', '{name}', '--config', '{config}', '--kubeconfig', '{kubeconfig}'];
    const b = kindBackend({ tools: f.tools({ FAKE_FAIL: JSON.stringify(failing) }), shareRoot: f.share, kubeconfig: f.kubeconfig });
    const err = await b.up(upOpts(f)).then(
      () => undefined,
      (e: Error) => e,
    );
    t.match(err?.message, /kind create cluster --name (sriov-lab-\S+) .* failed \(exit 1\): .*failed to pull image "kindest\/node:v1\.33\.1"/s, 'the error is kind’s');
    const log = f.log();
    const name = log[0]?.[4];
    t.same(log, [
      ['kind', 'create', 'cluster', '--name', name, '--config', join(f.work, `kind-${name}.yaml`), '--kubeconfig', f.kubeconfig],
      ['kind', 'delete', 'cluster', '--name', name, '--kubeconfig', f.kubeconfig],
    ]);
    t.notOk(mountedAt(join(f.share, name)), 'no share left');
  });

  t.test('the backend: a failure after the cluster is up (the node container is gone) → cleanup deletes it', async (t) => {
    const f = fake(t);
    const b = kindBackend({ tools: f.tools({ FAKE_FAIL: JSON.stringify(pid('{c}')) }), shareRoot: f.share, kubeconfig: f.kubeconfig });
    const err = await b.up(upOpts(f)).then(
      () => undefined,
      (e: Error) => e,
    );
    t.match(err?.message, /docker inspect --format \{\{\.State\.Pid\}\} (\S+)-worker failed \(exit 1\): Error: No such object: \1-worker/, 'the error is docker’s');
    const log = f.log();
    const name = log[0]?.[4];
    t.same(log, [
      ['kind', 'create', 'cluster', '--name', name, '--config', join(f.work, `kind-${name}.yaml`), '--kubeconfig', f.kubeconfig],
      ['kind', 'get', 'nodes', '--name', name],
      mounts(`${name}-worker`),
      mounts(`${name}-control-plane`),
      pid(`${name}-worker`),
      ['kind', 'delete', 'cluster', '--name', name, '--kubeconfig', f.kubeconfig],
    ]);
    t.notOk(mountedAt(join(f.share, name)), 'no share left');
  });

  t.test('the backend: --reuse, a failure part-way leaves the reused cluster', async (t) => {
    const f = fake(t);
    const b = kindBackend({ reuse: 'sriov-lab-kept', tools: f.tools({ FAKE_FAIL: JSON.stringify(pid('{c}')) }), shareRoot: f.share, kubeconfig: f.kubeconfig });
    await t.rejects(b.up(upOpts(f)), { message: /No such object: sriov-lab-kept-worker/ });
    t.same(
      f.log().map((a) => a.join(' ')),
      ['kind get clusters', 'kind get kubeconfig --name sriov-lab-kept', 'kind get nodes --name sriov-lab-kept', mounts('sriov-lab-kept-worker').join(' '), mounts('sriov-lab-kept-control-plane').join(' '), pid('sriov-lab-kept-worker').join(' ')],
      'no kind delete of a cluster the run did not make',
    );
  });

  t.test('provides: what kind refuses, with the reason', async (t) => {
    const b = kindBackend();
    t.match(b.provides({ kind: 'fault', fault: 'ipamFail' }), { ok: false, reason: /IPAM/ });
    t.match(b.provides({ kind: 'fault', fault: 'vfAttrFail' }), { ok: false, reason: /ip wrapper/ });
    t.match(b.provides({ kind: 'vfio' }), { ok: false, reason: /containerd/ });
    t.match(b.provides({ kind: 'vfNetlink' }), { ok: false, reason: /netlink/ });
    for (const fault of ['sysfsFailWrites', 'sysfsDelay', 'pfLink', 'vfLink', 'vfUnplug'] as const) t.same(b.provides({ kind: 'fault', fault }), { ok: true }, `${fault}: the kernel model's`);
  });
}
