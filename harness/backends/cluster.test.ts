// The `cluster` backend against `sriov-lab up --bare` (a real HTTPS Kubernetes API) with the deployments/ DaemonSets
// applied, as a user points it at any cluster: the tutorial set passes through
// `sriov-lab run --backend cluster --kubeconfig "$(sriov-lab kubeconfig)" scenarios/tutorial/`, and afterwards the
// cluster has no namespace, DaemonSet, pod or NAD of the run's, and its PF has its VF count back. In this process: what
// a real cluster cannot do is refused with the reason, a device-plugin restart replaces the DaemonSet's pod, the
// collectors gather the plugin's log and the node's state, a topology the cluster does not have is refused and leaves
// nothing; Ctrl-C in the middle of a scenario still removes everything.
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig, KubernetesObjectApi, type KubernetesObject } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { caps } from '../../sim/caps.ts';
import { projectRoot } from '../../sim/paths.ts';
import { parseTopology } from '../../sim/topology/topology.ts';
import type { RunResult } from '../../reports/types.ts';
import type { BackendUpOptions, ClusterHandle } from '../backend.ts';
import { testCluster, until } from '../daemon/fixtures/cli.ts';
import { dist } from '../node/agent-launch.ts';
import { AGENT_NAME, RUN_LABEL } from './cluster/agent.ts';
import { clusterBackend } from './cluster/index.ts';

const root = projectRoot();
const missing = [caps.root(), caps.fuse(), caps.netns(), caps.cniPlugins()].find((c) => !c.ok);
const bundles = ['sriov-lab', 'sriov-lab-node-agent', 'sriov-lab-device-plugin', 'sriov-lab-cni'].filter((b) => !existsSync(dist(b)));

if (missing) {
  t.plan(0, `skipped: the simulated cluster the backend is pointed at needs ${missing.name}: ${missing.detail}`);
} else if (bundles.length) {
  t.plan(0, `skipped: ${bundles.map((b) => `dist/${b}.mjs`).join(', ')} missing: run npm run build (the CLI and the node agent run the bundles)`);
} else {
  const { dir, cli, paths } = testCluster(t, 'sl-cluster-backend-');
  const kc = new KubeConfig();
  const api = () => KubernetesObjectApi.makeApiClient(kc);
  t.before(async () => {
    const up = await cli(['up', '--bare', '--topology', join(root, 'harness/backends/fixtures/tutorial-cluster.yaml')]);
    if (up.code !== 0) throw new Error(`up --bare exits ${up.code}\n${up.stderr}`);
    kc.loadFromFile(paths.kubeconfig);
    // the deployments/ DaemonSets, as a user applies them: the SR-IOV plugin (its ConfigMap's pools are VFs only) and
    // the virt plugin for the virtio tutorial's kernel.org/virt
    for (const f of ['sriovdp-configmap.yaml', 'sriovdp-daemonset.yaml', 'sriov-cni-daemonset.yaml', 'virtdp-daemonset.yaml']) {
      for (const doc of parseAllDocuments(readFileSync(join(root, 'deployments', f), 'utf8'))) await api().create(doc.toJS() as KubernetesObject);
    }
    await until('the deployments/ pods running', async () => (await podsRunning()) === 3);
  });
  const list = async (apiVersion: string, kind: string) => (await api().list(apiVersion, kind)).items;
  const podsRunning = async () => (await list('v1', 'Pod')).filter((p) => (p as { status?: { phase?: string } }).status?.phase === 'Running').length;
  const numVfs = async () => (await cli(['node', 'exec', 'node1', '--', 'cat', '/sys/class/net/ens1f0/device/sriov_numvfs'])).stdout.trim();

  /** what a run of the cluster backend could leave behind: it must all be gone */
  const leftovers = async (t: Test, when: string) => {
    const namespaces = (await list('v1', 'Namespace')).map((n) => n.metadata?.name ?? '');
    t.same(namespaces.filter((n) => n.startsWith('sriov-lab-agent-')), [], `${when}: no agent namespace`);
    t.same((await list('apps/v1', 'DaemonSet')).map((d) => `${d.metadata?.namespace}/${d.metadata?.name}`).sort(), ['kube-system/kube-sriov-cni-ds-amd64', 'kube-system/kube-sriov-device-plugin-amd64', 'kube-system/kube-virt-device-plugin-amd64'], `${when}: only the deployments/ DaemonSets`);
    const pods = await list('v1', 'Pod');
    t.same(pods.filter((p) => p.metadata?.labels?.[RUN_LABEL] !== undefined || p.metadata?.name?.startsWith(AGENT_NAME)).map((p) => p.metadata?.name), [], `${when}: no agent pod`);
    t.same(pods.filter((p) => p.metadata?.namespace === 'default').map((p) => p.metadata?.name), [], `${when}: no scenario pod`);
    t.same((await list('k8s.cni.cncf.io/v1', 'NetworkAttachmentDefinition')).map((n) => n.metadata?.name), [], `${when}: no NAD`);
    t.equal(await numVfs(), '0', `${when}: ens1f0 has its VF count back`);
  };

  t.test('the tutorial set through `run --backend cluster --kubeconfig "$(sriov-lab kubeconfig)"`', async (t) => {
    const env = { ...process.env, SRIOV_LAB_STATE_DIR: join(dir, 'state') };
    const bin = join(root, 'bin/sriov-lab.js');
    const sh = `node ${bin} run --backend cluster --kubeconfig "$(node ${bin} kubeconfig)" scenarios/tutorial/ --seed 7 --json ${join(dir, 'run.json')}`;
    const r = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const c = spawn('sh', ['-c', sh], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      c.stdout.on('data', (d: Buffer) => (out += d.toString()));
      c.stderr.on('data', (d: Buffer) => (out += d.toString()));
      c.on('close', (code) => resolve({ code, out }));
    });
    t.equal(r.code, 0, `exits 0\n${r.out}`);
    const run = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as RunResult;
    t.equal(run.run.backend, 'cluster');
    t.match(run.run.backendDetail, /^the cluster at https:\/\/127\.0\.0\.1:\d+ .*1 node\(s\) node1, simulated/);
    t.same(run.scenarios.map((s) => `${s.name}: ${s.status}`), ['tutorial-sriov-dpdk: passed', 'tutorial-sriov-kernel: passed', 'tutorial-virtio: passed']);
    t.match(r.out, /node1: node agent up in pod sriov-lab-agent-[a-z0-9]+\/sriov-lab-node-agent-/, 'the agent ran as a DaemonSet pod');
    await leftovers(t, 'after the run');
  });

  const upOpts = (topologyYaml: string, workDir: string, progress: string[] = []): BackendUpOptions => ({
    topology: parseTopology(topologyYaml, 'inline.yaml'),
    seed: 1,
    devicePlugin: {},
    workDir,
    trace: () => undefined,
    progress: (l) => progress.push(l),
  });
  const backend = clusterBackend({ kubeconfig: paths.kubeconfig });

  t.test('what a real cluster cannot do is refused with the reason; the plugin restart, exec and collectors work', async (t) => {
    t.same(await backend.available().then((a) => a.ok), true);
    t.match(backend.provides({ kind: 'nodes', count: 2 }), { ok: false, reason: /the cluster at https:\/\/127\.0\.0\.1:\d+ has 1 node\(s\); the scenario needs 2/ });
    t.same(backend.provides({ kind: 'nodes', count: 1 }), { ok: true });
    const topo = readFileSync(join(root, 'scenarios/topologies/igb.yaml'), 'utf8').replace('numVfs: 0', 'numVfs: 2');
    const h: ClusterHandle = await backend.up(upOpts(topo, dir));
    try {
      t.equal(await numVfs(), '2', "the PF starts with the topology's VF count");
      await t.rejects(h.fault('node1', { kind: 'ipamFail' }), /ipamFail on node1: it needs the simulator's IPAM.*use --backend sim/);
      await t.rejects(h.fault('node1', { kind: 'sysfsFailWrites', path: '/sys/x', errno: 'EIO' }), /needs the simulated sysfs/);
      await t.rejects(h.advanceClock(1000), /a real kubelet's clock cannot be advanced/);
      await t.rejects(h.kubelet('node1', 'restart'), /sriov-lab's emulator .* a pod cannot restart/);
      await t.rejects(h.nodeReboot('node1'), /does not reboot a node of an existing cluster/);
      await t.rejects(h.devicePlugin('node1', 'deleteSocket'), /deleteSocket needs the plugin as the node's own process/);
      const r = await h.exec({ node: 'node1' }, ['sh', '-c', 'ls /sys/class/net; exit 3']);
      t.equal(r.exitCode, 3, 'a node command exits with its own code');
      t.match(r.stdout, /ens1f0v0\nens1f0v1/, 'and sees the node');
      t.match(await h.sysfsWrite('node1', '/sys/class/net/ens1f0/device/sriov_numvfs', '1'), { ok: false, errno: 'EBUSY' }, 'the kernel model answers through the agent');

      const dpBefore = (await list('v1', 'Pod')).find((p) => p.metadata?.name?.startsWith('kube-sriov-device-plugin-amd64-'));
      await h.devicePlugin('node1', 'restart');
      const dpAfter = (await list('v1', 'Pod')).filter((p) => p.metadata?.name?.startsWith('kube-sriov-device-plugin-amd64-'));
      t.equal(dpAfter.length, 1, 'one device plugin pod after the restart');
      t.not(dpAfter[0].metadata?.uid, dpBefore?.metadata?.uid, 'a new one, made by its DaemonSet');
      await until('the VFs advertised again', async () => (h.get({ kind: 'Node', name: 'node1' }) as { status?: { allocatable?: Record<string, string> } } | undefined)?.status?.allocatable?.['intel.com/sriov_netdevice'] === '2');

      const got = await h.collect('node1', ['logs', 'events', 'sysfs', 'checkpoint', 'podResources']);
      const byName = Object.fromEntries(got.map((a) => [a.name, a.body]));
      const dpLog = Object.keys(byName).find((n) => /^node1\/device-plugin-kube-sriov-device-plugin-amd64-.*\.log$/.test(n));
      t.ok(dpLog && byName[dpLog].length > 0, `the device plugin pod's log (${Object.keys(byName).join(', ')})`);
      t.match(byName['node1/kubelet.log.error.txt'], /kubelet log needs the node's own systemd/, "no kubelet journal on a simulated node, and why");
      t.match(byName['node1/sysfs.txt'], /0000:01:00\.0\/sriov_numvfs = 2/);
      t.match(byName['node1/events.txt'], /Killing|Scheduled|Started/);
      t.ok(byName['node1/kubelet_internal_checkpoint'] !== undefined || byName['node1/checkpoint.error.txt'] !== undefined, 'the checkpoint, or why not');
      t.match(JSON.parse(byName['node1/pod-resources.json'] ?? '{}'), { allocatable: {} }, 'the pod-resources API through the agent');
    } finally {
      await h.down();
    }
    await leftovers(t, 'after down');
  });

  t.test('a topology the cluster does not have is refused, and nothing is left', async (t) => {
    await t.rejects(backend.up(upOpts('apiVersion: sriov-lab.dev/v1alpha1\nkind: Topology\nmetadata: {name: far}\nspec:\n  nodes:\n    - name: node9\n      nics: [{model: intel-i350, pciAddr: "0000:01:00.0", ifname: ens1f0}]\n', dir)), /the cluster has no node node9 of the scenario's topology \(its nodes: node1\)/);
    await t.rejects(
      backend.up(upOpts('apiVersion: sriov-lab.dev/v1alpha1\nkind: Topology\nmetadata: {name: other}\nspec:\n  nodes:\n    - name: node1\n      nics: [{model: intel-i350, pciAddr: "0000:05:00.0", ifname: ens5f0}]\n', dir)),
      /the cluster does not have the hardware of topology other:\nthe topology's intel-i350 ens5f0 \(0000:05:00\.0\) is not on node node1: no PCI device 0000:05:00\.0/,
    );
    await leftovers(t, 'after the refused ups');
  });

  t.test('Ctrl-C in the middle of a scenario still removes everything, and the report is written', async (t) => {
    const env = { ...process.env, SRIOV_LAB_STATE_DIR: join(dir, 'state') };
    const report = join(dir, 'interrupted.json');
    const c = spawn(process.execPath, [join(root, 'bin/sriov-lab.js'), 'run', '--backend', 'cluster', '--kubeconfig', paths.kubeconfig, 'scenarios/tutorial/sriov-kernel.yaml', '--json', report], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const closed = new Promise<string>((resolve) => c.on('close', (code, signal) => resolve(signal ?? String(code))));
    // interrupted once the scenario's pods exist
    await until('a scenario pod', async () => (await list('v1', 'Pod')).some((p) => p.metadata?.namespace === 'default'), 120_000);
    c.kill('SIGINT');
    // the runner's own Ctrl-C handling: the scenario's finally and the backend's down clean up (the backend's exit
    // hook leaves SIGINT to it), then the report is written and the run exits 1, as a failed one
    t.equal(await closed, '1', `the interrupted run exits 1\n${out}`);
    t.match(out, /interrupting/);
    t.notMatch(out, /interrupted twice/, 'one Ctrl-C is not taken for two');
    const run = JSON.parse(readFileSync(report, 'utf8')) as RunResult;
    t.equal(run.run.interrupted, true, 'the report says the run was interrupted');
    t.same(run.scenarios.map((s) => s.name), ['tutorial-sriov-kernel']);
    await leftovers(t, 'after Ctrl-C');
  });

  t.test('down', async (t) => {
    const r = await cli(['down']);
    t.equal(r.code, 0, `down exits 0\n${r.stderr}`);
  });
}
