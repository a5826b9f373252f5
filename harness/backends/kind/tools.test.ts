// The kind backend's kind and docker command lines, against a recorded fake of both tools (fixtures/fake-tool.mjs on
// PATH as `kind` and `docker`, replaying fixtures/recordings.json and logging each invocation): the exact command
// lines, in order, for creating a cluster, reusing one, a kubelet restart, a reboot and the cleanup, also after a
// failure part-way; the image build of sriov-lab's images (its docker lines) and their kind load into each cluster. Real kind cannot run on the build machines (no node image can be pulled); the CI job does.
import t from 'tap';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
const load = (image: string, cluster: string) => ['kind', 'load', 'docker-image', image, '--name', cluster];
/** the image build's temporary context directory, which differs run to run */
const CTX = new RegExp(`^${tmpdir().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/sriov-lab-image-ctx-[^/]+`);
const ctx = (argv: string[]) => argv.map((a) => a.replace(CTX, 'CTX'));
/** `sriov-lab image build --target …` for the kind nodes, as the image builder runs it (the base image present) */
const build = (...targets: string[]) => [
  ['docker', 'image', 'inspect', '--format', '{{.Id}}', 'node:20-bookworm-slim'],
  ...targets.flatMap((t) => [
    ['docker', 'build', '--target', t, '--tag', `sriov-lab/${t}:latest`, '--build-arg', 'NODE_IMAGE=node:20-bookworm-slim', '--file', 'CTX/Dockerfile', 'CTX'],
    ['docker', 'image', 'inspect', '--format', '{{.Size}}', `sriov-lab/${t}:latest`],
  ]),
];
/** the created cluster's name: the argument after --name of `kind create cluster` */
const created = (log: string[][]) => log.find((a) => a[1] === 'create')?.[4] ?? '(no kind create)';

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

    const config = parse(readFileSync(join(f.work, 'kind-sl-t.yaml'), 'utf8')) as { nodes: Array<{ role: string; labels?: Record<string, string>; extraMounts?: Array<Record<string, string>>; kubeadmConfigPatches?: string[] }> };
    t.same(config.nodes.map((n) => n.role), ['control-plane', ...topology.nodes.map(() => 'worker')], 'one worker per topology node');
    t.same(config.nodes[1].extraMounts, [{ hostPath: join(f.share, 'sl-t', 'node1'), containerPath: '/run/sriov-lab/host', propagation: 'HostToContainer' }]);
    // kind's documented per-node fields (kind.x-k8s.io/v1alpha4): the Node object is named by kubeadm's
    // JoinConfiguration.nodeRegistration.name, so scenarios name it node1 as on sim; the label says the same
    t.same(parse(config.nodes[1].kubeadmConfigPatches![0]), { kind: 'JoinConfiguration', nodeRegistration: { name: 'node1' } }, 'the worker registers as the topology node');
    t.same(config.nodes[1].labels, { 'sriov-lab.dev/node': 'node1' }, 'and is labelled with it');
    t.same(config.nodes[0], { role: 'control-plane' }, 'the control plane as kind makes it');
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
    const log = f.log().map(ctx);
    const name = created(log);
    t.same(log, [
      // the bundled plugins' images first (a failed build costs no cluster)
      ...build('device-plugin', 'cni'),
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
    const log = f.log().map(ctx);
    const name = created(log);
    t.same(log, [
      ...build('device-plugin', 'cni'),
      ['kind', 'create', 'cluster', '--name', name, '--config', join(f.work, `kind-${name}.yaml`), '--kubeconfig', f.kubeconfig],
      ['kind', 'get', 'nodes', '--name', name],
      mounts(`${name}-worker`),
      mounts(`${name}-control-plane`),
      // into the nodes' containerd, for the DaemonSets' imagePullPolicy Never
      load('sriov-lab/device-plugin:latest', name),
      load('sriov-lab/cni:latest', name),
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
      f.log().map((a) => ctx(a).join(' ')),
      [
        ...build('device-plugin', 'cni').map((a) => a.join(' ')),
        'kind get clusters',
        'kind get kubeconfig --name sriov-lab-kept',
        'kind get nodes --name sriov-lab-kept',
        mounts('sriov-lab-kept-worker').join(' '),
        mounts('sriov-lab-kept-control-plane').join(' '),
        load('sriov-lab/device-plugin:latest', 'sriov-lab-kept').join(' '),
        load('sriov-lab/cni:latest', 'sriov-lab-kept').join(' '),
        pid('sriov-lab-kept-worker').join(' '),
      ],
      'the images loaded into the reused cluster too; no kind delete of a cluster the run did not make',
    );
  });

  t.test('the backend: the image build fails → no cluster is created', async (t) => {
    const f = fake(t);
    const failing = ['docker', 'build', '--target', 'device-plugin', '--tag', '{image}', '--build-arg', '{arg}', '--file', '{dockerfile}', '{ctx}'];
    const b = kindBackend({ tools: f.tools({ FAKE_FAIL: JSON.stringify(failing) }), shareRoot: f.share, kubeconfig: f.kubeconfig });
    await t.rejects(b.up(upOpts(f)), { message: /^the kind backend builds sriov-lab's images to load them into the nodes: docker build --target device-plugin .*no space left on device/s });
    t.same(f.log().map(ctx), build('device-plugin').slice(0, 2), 'no kind command at all');
    t.notOk(existsSync(f.share), 'no share directory made');
  });

  t.test('the backend: the user’s manifests (--device-plugin, --cni FILE.yaml) → no image built or loaded', async (t) => {
    const f = fake(t);
    const b = kindBackend({ tools: f.tools({ FAKE_FAIL: JSON.stringify(pid('{c}')) }), shareRoot: f.share, kubeconfig: f.kubeconfig });
    const deployments = join(fileURLToPath(new URL('../../../deployments', import.meta.url)));
    const opts = { ...upOpts(f), devicePlugin: { argv: [join(deployments, 'sriovdp-daemonset.yaml')] }, cni: { path: join(deployments, 'sriov-cni-daemonset.yaml') } };
    await t.rejects(b.up(opts), { message: /No such object/ });
    const log = f.log();
    const name = created(log);
    t.same(log, [
      ['kind', 'create', 'cluster', '--name', name, '--config', join(f.work, `kind-${name}.yaml`), '--kubeconfig', f.kubeconfig],
      ['kind', 'get', 'nodes', '--name', name],
      mounts(`${name}-worker`),
      mounts(`${name}-control-plane`),
      pid(`${name}-worker`),
      ['kind', 'delete', 'cluster', '--name', name, '--kubeconfig', f.kubeconfig],
    ]);
  });

  t.test('the backend: images built once per process, loaded into each cluster', async (t) => {
    const f = fake(t);
    const b = kindBackend({ tools: f.tools({ FAKE_FAIL: JSON.stringify(pid('{c}')) }), shareRoot: f.share, kubeconfig: f.kubeconfig });
    await t.rejects(b.up(upOpts(f)));
    f.clear();
    await t.rejects(b.up(upOpts(f)));
    const log = f.log();
    const name = created(log);
    t.notOk(log.some((a) => a[0] === 'docker' && a[1] !== 'inspect'), 'the second run builds nothing');
    t.same(log.filter((a) => a[1] === 'load'), [load('sriov-lab/device-plugin:latest', name), load('sriov-lab/cni:latest', name)], 'and loads both images into its own cluster');
  });

  t.test('provides: what kind refuses, with the reason', async (t) => {
    const b = kindBackend();
    t.match(b.provides({ kind: 'fault', fault: 'ipamFail' }), { ok: false, reason: /IPAM/ });
    t.match(b.provides({ kind: 'vfio' }), { ok: false, reason: /containerd/ });
    t.same(b.provides({ kind: 'vfNetlink' }), { ok: true }, "vfNetlink: the node's ip wrapper, as on sim");
    for (const fault of ['sysfsFailWrites', 'sysfsDelay', 'pfLink', 'vfLink', 'vfUnplug', 'vfAttrFail'] as const) t.same(b.provides({ kind: 'fault', fault }), { ok: true }, `${fault}: the kernel model's`);
  });
}
