// The seed tutorial's commands, verbatim (../shared list in KUBE-API.md), run by a shell with the real kubectl against
// `sriov-lab up --bare` and the manifests in deployments/: the device plugin comes from the tutorial's own DaemonSet,
// the first pod gets eth0 and net1, the second stays Pending for want of kernel.org/virt, the node lists it.
// `kubectl exec -it` runs under script(1), which gives kubectl the terminal -t needs (the test has none of its own).
// With SRIOV_LAB_MULTUS naming a Multus thin-plugin binary, the tutorial runs a second time against
// `up --bare --multus $SRIOV_LAB_MULTUS`: a real Multus attaches net1 and writes network-status (CI downloads a pinned
// release for it); without one, that run skips, saying so.
import t from 'tap';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { caps } from '../../sim/caps.ts';
import { projectRoot } from '../../sim/paths.ts';
import { testCluster, until } from './fixtures/cli.ts';

const KUBECTL = '/usr/bin/kubectl';
const missing = [caps.root(), caps.fuse(), caps.netns(), caps.cniPlugins()].find((c) => !c.ok);
const hasScript = spawnSync('script', ['--version']).status === 0;
const MULTUS = process.env.SRIOV_LAB_MULTUS;

const pod = (name: string) => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  annotations:
    k8s.v1.cni.cncf.io/networks: virt-net1
spec:
  containers:
  - name: appcntr1
    image: centos/tools
    imagePullPolicy: IfNotPresent
    command: [ "/bin/bash", "-c", "--" ]
    args: [ "while true; do sleep 300000; done;" ]
    resources:
      requests:
        kernel.org/virt: '1'
      limits:
        kernel.org/virt: '1'
`;

interface Sh {
  code: number | null;
  stdout: string;
  stderr: string;
}

if (!existsSync(KUBECTL)) {
  t.plan(0, `skipped: the seed tutorial needs a real kubectl at ${KUBECTL}, and there is none on this machine`);
} else if (missing) {
  t.plan(0, `skipped: the simulated cluster needs ${missing.name}: ${missing.detail}`);
} else {
  tutorial();
  if (MULTUS) tutorial(MULTUS);
  else t.test('the seed tutorial with a real Multus', { skip: 'SRIOV_LAB_MULTUS names no Multus binary (none on this machine; CI downloads a release)' }, async () => undefined);
}

/** the tutorial against `up --bare`, or `up --bare --multus <multus>` */
function tutorial(multus?: string): void {
  const { dir, cli, paths } = testCluster(t, multus ? 'sl-tutorial-multus-' : 'sl-tutorial-');
  const home = join(dir, 'home');
  mkdirSync(home);
  const root = projectRoot();

  /** one tutorial command line, as a user's shell runs it; HOSTNAME is the node's name (a one-node cluster's host) */
  const sh = (command: string, cwd = root): Promise<Sh> =>
    new Promise((resolve) => {
      // HOME of its own: kubectl's discovery cache starts empty
      const env = { PATH: `/usr/bin:/bin:/usr/sbin:/sbin`, HOME: home, KUBECONFIG: paths.kubeconfig, HOSTNAME: 'node1', TERM: 'xterm' };
      execFile('sh', ['-c', command], { cwd, env, timeout: 60_000 }, (e, stdout, stderr) => resolve({ code: e ? ((e as { code?: number }).code ?? 1) : 0, stdout, stderr }));
    });
  t.test(`the seed tutorial, verbatim, against up --bare${multus ? ` --multus ${multus}` : ''}`, async (t) => {
    /** a tutorial command that must succeed: its stdout */
    const ok = async (command: string, cwd?: string): Promise<string> => {
      const r = await sh(command, cwd);
      t.equal(r.code, 0, `${command} exits 0${r.code ? `\nstderr: ${r.stderr}\nstdout: ${r.stdout}` : ''}`);
      return r.stdout;
    };
    const up = await cli(['up', '--bare', ...(multus ? ['--multus', multus] : [])]);
    t.equal(up.code, 0, `up --bare exits 0\n${up.stderr}`);
    t.match(up.stderr, /device plugin: none \(--bare\)/, 'up says the nodes have no device plugin');
    t.match(up.stderr, multus ? /pod networks: Multus \(/ : /pod networks: the default network and the emulated Multus attach/, 'and what makes the pod networks');
    const bareNode = await sh(`${KUBECTL} get node node1 -o jsonpath='{.status.allocatable}'`);
    t.notMatch(bareNode.stdout, /kernel\.org\/virt/, 'no kernel.org/virt before the tutorial deploys its plugin');
    t.notMatch((await sh(`${KUBECTL} get ds -A`)).stdout, /sriov-lab-device-plugin/, 'and no DaemonSet of our own');

    const created = await ok('kubectl create -f deployments/virt-crd.yaml');
    t.match(created, /^networkattachmentdefinition\.k8s\.cni\.cncf\.io\/virt-net1 created$/m);
    const nads = await ok('kubectl get network-attachment-definitions.k8s.cni.cncf.io');
    t.match(nads, /^NAME\s+AGE\n^virt-net1\s+\d+s$/m, 'the NAD is listed');
    const described = await ok('kubectl describe network-attachment-definitions.k8s.cni.cncf.io virt-net1');
    t.match(described, /^Name:\s+virt-net1$/m);
    t.match(described, /k8s\.v1\.cni\.cncf\.io\/resourceName: kernel\.org\/virt/, 'with its resource');
    t.match(described, /"type": "ehost-device"/, 'and its CNI config');

    const ds = await ok('kubectl create -f - < virtdp-daemonset.yaml', join(root, 'deployments'));
    t.match(ds, /^serviceaccount\/virt-device-plugin created$/m);
    t.match(ds, /^daemonset\.apps\/kube-virt-device-plugin-amd64 created$/m);
    await until('the device plugin pod Running and kernel.org/virt on node1', async () => {
      const r = await sh(`${KUBECTL} get node node1 -o jsonpath='{.status.allocatable.kernel\\.org/virt}'`);
      return r.stdout.trim() === '1';
    });

    const all = await ok('kubectl get pods -o wide --all-namespaces');
    t.match(all, /^NAMESPACE\s+NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE\s+NOMINATED NODE\s+READINESS GATES$/m, 'the wide columns');
    const dpPod = /^kube-system\s+(kube-virt-device-plugin-amd64-[a-z0-9]{5})\s+1\/1\s+Running\s+0\s+\S+\s+\S+\s+node1\s/m.exec(all)?.[1];
    t.ok(dpPod, `the DaemonSet's pod, named <ds>-<5 chars>, Running on node1:\n${all}`);
    const dsTable = await ok('kubectl get ds -n kube-system');
    t.match(dsTable, /^NAME\s+DESIRED\s+CURRENT\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+NODE SELECTOR\s+AGE\n^kube-virt-device-plugin-amd64\s+1\s+1\s+1\s+1\s+1\s+kubernetes\.io\/arch=amd64\s+\d+s$/m, 'kubectl get ds');

    const logs = await ok(`kubectl logs ${dpPod} --namespace=kube-system`);
    t.match(logs, /kernel\.org\/virt|virt/, 'the device plugin logs the resource it serves');

    const first = await ok(`cat <<EOF | kubectl create -f -\n${pod('virtdevicepod1')}EOF`);
    t.match(first, /^pod\/virtdevicepod1 created$/m);
    await until('virtdevicepod1 Running', async () => (await sh(`${KUBECTL} get pod virtdevicepod1 -o jsonpath='{.status.phase}'`)).stdout === 'Running');

    // -it needs a terminal: script(1) gives kubectl one, as a user's shell has; without script, -i alone
    const execCmd = 'kubectl exec -it virtdevicepod1 -- ip -d a';
    const ipa = hasScript ? await ok(`script -qec '${execCmd}' /dev/null`) : await ok('kubectl exec -i virtdevicepod1 -- ip -d a');
    t.match(ipa, /^\d+: eth0@\S+: <[^>]*UP[^>]*>/m, 'eth0, the default network');
    t.match(ipa, /^\d+: net1[@:]/m, 'net1, the kernel.org/virt device');
    t.match(ipa, /inet 10\.56\.217\.\d+\/24/, "net1's address from the NAD's host-local range");
    const netStatus = await ok(`kubectl get pod virtdevicepod1 -o jsonpath='{.metadata.annotations.k8s\\.v1\\.cni\\.cncf\\.io/network-status}'`);
    const statuses = JSON.parse(netStatus) as Array<{ name: string; interface?: string; default?: boolean }>;
    t.match(statuses, [{ name: 'sriov-lab-default', interface: 'eth0', default: true }, { name: 'default/virt-net1', interface: 'net1' }], `network-status${multus ? ', written by Multus through the API' : ''}`);

    const wide = await ok('kubectl get pods -o wide');
    t.match(wide, /^virtdevicepod1\s+1\/1\s+Running\s+0\s+\S+\s+10\.244\.\d+\.\d+\s+node1\s/m, 'the pod in the default namespace, on node1');

    const node = await ok('kubectl describe node $HOSTNAME');
    t.match(node, /^Capacity:\n(?:\s+.+\n)*?\s+kernel\.org\/virt:\s+1$/m, 'kernel.org/virt in Capacity');
    t.match(node, /^Allocatable:\n(?:\s+.+\n)*?\s+kernel\.org\/virt:\s+1$/m, 'and in Allocatable');
    t.match(node, /^\s+kernel\.org\/virt\s+1\s+1$/m, 'allocated to the pod');
    t.match(node, /kube-system\s+kube-virt-device-plugin-amd64-\w{5}/, 'the device plugin pod among the non-terminated pods');

    const second = await ok(`cat <<EOF | kubectl create -f -\n${pod('virtdevicepod2')}EOF`);
    t.match(second, /^pod\/virtdevicepod2 created$/m);
    const describePod = await until('virtdevicepod2 unschedulable', async () => {
      const r = await sh(`${KUBECTL} describe pod virtdevicepod2`);
      return /FailedScheduling/.test(r.stdout) && r.stdout;
    });
    t.match(describePod, /^Status:\s+Pending$/m, 'the second pod is Pending');
    t.match(describePod, /Warning\s+FailedScheduling\s+\S+\s+default-scheduler\s+0\/1 nodes are available: 1 Insufficient kernel\.org\/virt\./, 'for want of kernel.org/virt');

    // past the tutorial: the other manifests of deployments/ are accepted and run
    const more = await ok('kubectl create -f deployments/sriovdp-configmap.yaml -f deployments/sriovdp-daemonset.yaml -f deployments/sriov-cni-daemonset.yaml');
    t.match(more, /^configmap\/sriovdp-config created\nserviceaccount\/sriov-device-plugin created\ndaemonset\.apps\/kube-sriov-device-plugin-amd64 created\ndaemonset\.apps\/kube-sriov-cni-ds-amd64 created$/m);
    const dsAll = await until('every DaemonSet ready', async () => {
      const r = await sh(`${KUBECTL} get ds -n kube-system --no-headers`);
      const rows = r.stdout.trim().split('\n');
      return rows.length === 3 && rows.every((l) => /^\S+\s+1\s+1\s+1\s+1\s+1\s/.test(l)) && r.stdout;
    });
    t.match(dsAll, /^kube-sriov-cni-ds-amd64\s/m);
    const cniPod = /^(kube-sriov-cni-ds-amd64-\w{5})\s/m.exec((await sh(`${KUBECTL} get pods -n kube-system --no-headers`)).stdout)?.[1];
    t.match((await sh(`${KUBECTL} logs ${cniPod} -n kube-system`)).stdout, /^installed the sriov CNI in \/opt\/cni\/bin$/m, 'the sriov-cni pod installed the bundled CNI');
    await ok('kubectl delete ds -n kube-system kube-sriov-cni-ds-amd64');
    await until('the sriov-cni pod gone with its DaemonSet', async () => !(await sh(`${KUBECTL} get pods -n kube-system --no-headers`)).stdout.includes('kube-sriov-cni-ds-amd64'));

    const down = await cli(['down']);
    t.equal(down.code, 0, `down exits 0\n${down.stderr}`);
  });
}
