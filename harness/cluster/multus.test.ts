// `--multus PATH` on simulated nodes: the node reaches the API server through its relay (the real kubectl, run inside
// the node's network namespace with the kubeconfig under /etc/cni/net.d/multus.d/, lists pods and NADs), Multus's
// config and clusterNetwork are written as Multus documents them, and the node runtime runs the node's CNI config for
// each sandbox with containerd's CNI_ARGS instead of the default network + the emulated attach.
//
// No Multus binary exists on the build machines (none can be downloaded or built there): the runtime's side is shown
// with a real CNI binary standing in for it, Debian's reference `bridge` installed as /opt/cni/bin/multus, which reads
// the same config (its bridge defaults to cni0, no IPAM) and gives the pod eth0 only. The last test runs a real Multus
// thin plugin when SRIOV_LAB_MULTUS names one (CI downloads a pinned release; .github/workflows/ci.yml), and skips
// otherwise, saying so.
import t from 'tap';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { caps } from '../../sim/caps.ts';
import { MULTUS_NODE_PATHS, NETWORK_STATUS_ANNOTATION } from '../../sim/cluster/multus.ts';
import type { CniEvent, TraceEvent } from '../../sim/trace.ts';
import type { SimLabNode } from '../backends/sim.ts';
import { KUBECTL, kubectlCluster, until } from './fixtures/kubectl.ts';
import { SRIOV_NAD, vfPod } from './fixtures/one-vf.ts';

const missing = [caps.root(), caps.fuse(), caps.netns(), caps.cniPlugins()].find((c) => !c.ok);
/** the real CNI binary that stands in for Multus where there is none */
const STAND_IN = '/usr/lib/cni/bridge';
const REAL_MULTUS = process.env.SRIOV_LAB_MULTUS;

/** the real kubectl inside the node (its network namespace, its files), with Multus's kubeconfig */
async function kubectlInNode(node: SimLabNode, args: string[]) {
  return node.node.exec([KUBECTL, '--kubeconfig', MULTUS_NODE_PATHS.kubeconfig, '--cache-dir', '/run/sriov-lab/kubectl-cache', ...args], { timeoutMs: 60_000 });
}

const cniCalls = (trace: TraceEvent[], pod: string) => trace.filter((e): e is CniEvent => e.kind === 'cni' && e.pod === pod);

if (missing) {
  t.plan(0, `skipped: simulated nodes need ${missing.name}: ${missing.detail}`);
} else if (!existsSync(KUBECTL) || !existsSync(STAND_IN)) {
  t.plan(0, `skipped: needs the real kubectl at ${KUBECTL} and the reference bridge CNI at ${STAND_IN}`);
} else {
  t.test('the relay, the kubeconfig and the config files; the real kubectl inside the node; the runtime runs the node CNI (a stand-in for Multus)', async (t) => {
    const trace: TraceEvent[] = [];
    const c = await kubectlCluster(t, { provider: { multusBinary: STAND_IN }, trace: (e) => trace.push(e) });
    const node = c.sc.nodes.get('node1') as SimLabNode;

    const kcPath = node.node.hostPath(MULTUS_NODE_PATHS.kubeconfig);
    t.equal(statSync(kcPath).mode & 0o777, 0o600, 'the kubeconfig is 0600');
    t.match(readFileSync(kcPath, 'utf8'), new RegExp(`server: https://127\\.0\\.0\\.1:${c.api.port}\\n`), "the server's own URL: the relay listens on the same port inside the node");
    const conf = JSON.parse(readFileSync(node.node.hostPath(MULTUS_NODE_PATHS.conf), 'utf8')) as Record<string, unknown>;
    t.match(conf, { cniVersion: '0.4.0', name: 'multus-cni-network', type: 'multus', kubeconfig: MULTUS_NODE_PATHS.kubeconfig, clusterNetwork: MULTUS_NODE_PATHS.clusterNetwork, multusNamespace: 'kube-system' }, '00-multus.conf');
    t.match(JSON.parse(readFileSync(node.node.hostPath(MULTUS_NODE_PATHS.clusterNetwork), 'utf8')), { cniVersion: '0.4.0', name: 'sriov-lab-default', plugins: [{ type: 'bridge', bridge: 'cni0', ipam: { type: 'host-local', ranges: [[{ subnet: '10.244.0.0/24' }]] } }] }, 'clusterNetwork: the default bridge network as a conflist');
    t.ok(readFileSync(node.node.hostPath('/opt/cni/bin/multus')).equals(readFileSync(STAND_IN)), 'the given binary is /opt/cni/bin/multus');
    const sock = await node.node.exec(['sh', '-c', 'test -S /var/lib/kubelet/pod-resources/kubelet.sock && echo socket']);
    t.equal(sock.stdout.trim(), 'socket', "the kubelet's pod-resources socket is where Multus dials it, inside the node");
    const hostLoopback = await node.node.exec(['sh', '-c', `ss -Hltn 'sport = :${c.api.port}'`]);
    t.match(hostLoopback.stdout, new RegExp(`127\\.0\\.0\\.1:${c.api.port}`), "inside the node, the relay listens on the API server's port");

    t.equal((await c.kubectl(['create', '-f', '-'], { input: SRIOV_NAD })).code, 0, 'a NAD');
    const created = await c.kubectl(['create', '-f', '-'], { input: vfPod('p1') });
    t.equal(created.code, 0, created.stderr);
    await until('p1 Running', () => c.sc.cluster.store.get('Pod', 'default', 'p1')?.status?.phase === 'Running');
    const pod = c.sc.cluster.store.mustGet('Pod', 'default', 'p1');

    const pods = await kubectlInNode(node, ['get', 'pods', '-A']);
    t.equal(pods.exitCode, 0, `kubectl get pods inside the node: ${pods.stderr}`);
    t.match(pods.stdout, /^NAMESPACE\s+NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\n(.*\n)*default\s+p1\s+1\/1\s+Running\s/m);
    const nads = await kubectlInNode(node, ['get', 'network-attachment-definitions']);
    t.equal(nads.exitCode, 0, `kubectl get network-attachment-definitions inside the node: ${nads.stderr}`);
    t.match(nads.stdout, /^NAME\s+AGE\nsriov-net\s+\d+s$/m);

    const adds = cniCalls(trace, 'default/p1').filter((e) => e.command === 'ADD');
    t.same(adds.map((e) => e.plugin), ['multus'], 'one ADD, of the node CNI config: no default network or emulated attach of our own');
    const add = adds[0];
    t.same(JSON.parse(add.stdin), conf, "its stdin is 00-multus.conf, as containerd's libcni passes a single .conf");
    t.match(add.env, { CNI_COMMAND: 'ADD', CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin', CNI_NETNS: /^\/run\/netns\/\S+$/ });
    t.equal(add.env.CNI_ARGS, `IgnoreUnknown=true;K8S_POD_NAMESPACE=default;K8S_POD_NAME=p1;K8S_POD_INFRA_CONTAINER_ID=${add.env.CNI_CONTAINERID};K8S_POD_UID=${pod.metadata!.uid}`, "CNI_ARGS as containerd passes them");
    t.equal(add.exitCode, 0);
    const links = await c.kubectl(['exec', 'p1', '--', 'ip', '-o', 'link']);
    t.match(links.stdout, /: eth0@/, 'the stand-in gave the pod eth0');
    t.notMatch(links.stdout, /: net1[@:]/, 'and nothing else: attaching the NAD is Multus\'s job, not ours any more');
    t.equal(pod.metadata?.annotations?.[NETWORK_STATUS_ANNOTATION], undefined, 'no network-status from the runtime: Multus writes it through the API');

    t.equal((await c.kubectl(['delete', 'pod', 'p1', '--wait=true'])).code, 0);
    await until('the DEL of p1', () => cniCalls(trace, 'default/p1').some((e) => e.command === 'DEL'));
    const del = cniCalls(trace, 'default/p1').find((e) => e.command === 'DEL')!;
    t.match(del, { plugin: 'multus', exitCode: 0, env: { CNI_IFNAME: 'eth0', CNI_ARGS: add.env.CNI_ARGS, CNI_CONTAINERID: add.env.CNI_CONTAINERID } }, 'DEL of the same config with the same arguments');
  });
}

if (!missing && existsSync(KUBECTL)) {
  if (!REAL_MULTUS) {
    t.test('a real Multus thin plugin', { skip: 'SRIOV_LAB_MULTUS names no Multus binary (none on this machine; CI downloads a release)' }, async () => undefined);
  } else {
    t.test(`a real Multus (${REAL_MULTUS}): eth0 and net1 from the pod's NAD, network-status written by Multus through the API`, async (t) => {
      const trace: TraceEvent[] = [];
      const c = await kubectlCluster(t, { provider: { multusBinary: REAL_MULTUS }, trace: (e) => trace.push(e) });
      t.equal((await c.kubectl(['create', '-f', '-'], { input: SRIOV_NAD })).code, 0, 'a NAD');
      t.equal((await c.kubectl(['create', '-f', '-'], { input: vfPod('p1') })).code, 0, 'a pod asking for a VF through it');
      await until('p1 Running', () => c.sc.cluster.store.get('Pod', 'default', 'p1')?.status?.phase === 'Running', 90_000).catch((e: Error) => {
        // what Multus said, for the CI log: its CNI calls and its own log file in the node
        const calls = cniCalls(trace, 'default/p1').map((x) => `${x.command} ${x.plugin} → ${x.exitCode}\n${x.stdout}\n${x.stderr ?? ''}`);
        const logFile = (c.sc.nodes.get('node1') as SimLabNode).node.hostPath(MULTUS_NODE_PATHS.logFile);
        const log = existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-8000) : '(no Multus log file)';
        throw new Error(`${e.message}\n${calls.join('\n')}\n${log}`);
      });
      const pod = c.sc.cluster.store.mustGet('Pod', 'default', 'p1');
      const status = JSON.parse(pod.metadata?.annotations?.[NETWORK_STATUS_ANNOTATION] ?? '[]') as Array<{ name: string; interface?: string; default?: boolean; 'device-info'?: { pci?: { 'pci-address'?: string } } }>;
      t.match(status, [{ name: 'sriov-lab-default', interface: 'eth0', default: true }, { name: 'default/sriov-net', interface: 'net1', 'device-info': { pci: { 'pci-address': /^0000:01:/ } } }], 'network-status as Multus writes it: the default network and the VF with its PCI address from the pod-resources API');
      t.match(pod.status?.podIP, /^10\.244\.0\.\d+$/, "the pod IP from Multus's result (the clusterNetwork's)");
      const ipa = await c.kubectl(['exec', 'p1', '--', 'ip', '-o', 'link']);
      t.match(ipa.stdout, /: eth0@/, 'eth0');
      t.match(ipa.stdout, /: net1[@:]/, 'net1');
      t.equal((await c.kubectl(['delete', 'pod', 'p1', '--wait=true'])).code, 0);
      await until('the DEL of p1', () => cniCalls(trace, 'default/p1').some((e) => e.command === 'DEL'));
      t.equal(cniCalls(trace, 'default/p1').find((e) => e.command === 'DEL')?.exitCode, 0, "Multus's DEL succeeds");
    });
  }
}
