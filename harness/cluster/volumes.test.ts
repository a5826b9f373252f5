// Pod volumes on simulated nodes, through deployments/sriovdp-daemonset.yaml and its ConfigMap created with the real
// kubectl: the device plugin pod reads /etc/pcidp/config.json from the mounted ConfigMap (a resource name only the
// ConfigMap has shows up on the node), laid out as the kubelet's atomic writer does and read-only, while the node's
// own /etc/pcidp is left as it was; the DirectoryOrCreate hostPath is made on the node; a pod whose ConfigMap does
// not exist fails with the kubelet's FailedMount message; nothing of a pod's volumes stays after it.
import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { caps } from '../../sim/caps.ts';
import { projectRoot } from '../../sim/paths.ts';
import { hostPathScript, mountPrefix, nodePrivate } from '../../sim/cluster/volumes.ts';
import type { SimLabNode } from '../backends/sim.ts';
import { KUBECTL, kubectlCluster, until } from './fixtures/kubectl.ts';

const missing = [caps.root(), caps.fuse(), caps.netns(), caps.cniPlugins()].find((c) => !c.ok);
const deployments = join(projectRoot(), 'deployments');

t.test('mount points and hostPath creation stay inside the node\'s private directories', async (t) => {
  t.ok(nodePrivate('/etc/pcidp'));
  t.ok(nodePrivate('/var/run/k8s.cni.cncf.io/devinfo/dp'));
  t.notOk(nodePrivate('/data'), '/data is the machine\'s own');
  t.notOk(nodePrivate('/etc/../data'), 'normalized first');
  t.match(hostPathScript([{ name: 'd', hostPath: { path: '/data', type: 'DirectoryOrCreate' } }]), /hostPath \/data only under the node/);
  t.notMatch(hostPathScript([{ name: 'd', hostPath: { path: '/var/lib/x', type: 'DirectoryOrCreate' } }]), /only under/);
  const outside = mountPrefix([{ source: '/a', target: '/srv/x', readOnly: false, file: false }]).join(' ');
  t.match(outside, /if \[ -e '\/srv\/x' \]; then mount --bind '\/a' '\/srv\/x'; else echo .*\/srv\/x not mounted: it does not exist on the node/, 'a missing mount point outside is left out, saying so');
  t.notMatch(outside, /mkdir/);
  t.same(mountPrefix([]), [], 'no volumes: no mount namespace of its own');
});

if (!existsSync(KUBECTL)) {
  t.test('volumes with kubectl', { skip: `no kubectl at ${KUBECTL}: the volume tests create the deployments/ manifests with the real kubectl` }, async () => undefined);
} else if (missing) {
  t.test('volumes on a simulated node', { skip: `the simulated cluster needs ${missing.name}: ${missing.detail}` }, async () => undefined);
} else {
  t.test('the sriovdp DaemonSet reads its config from its mounted ConfigMap', async (t) => {
    const { sc, kubectl, file } = await kubectlCluster(t, { bare: true });
    const node = (sc.nodes.get('node1') as SimLabNode).node;
    const nodeConfig = readFileSync(node.hostPath('/etc/pcidp/config.json'), 'utf8');
    t.match(nodeConfig, /sriov_netdevice/, "the node's own /etc/pcidp/config.json names intel.com/sriov_netdevice");

    // the ConfigMap as deployments/ has it, with its first resource renamed: only the mounted file names it
    const cmText = readFileSync(join(deployments, 'sriovdp-configmap.yaml'), 'utf8').replace('"resourceName": "sriov_netdevice"', '"resourceName": "from_configmap"');
    const cmData = (parseAllDocuments(cmText)[0].toJS() as { data: Record<string, string> }).data['config.json'];
    t.match(cmData, /from_configmap/);
    const created = await kubectl(['create', '-f', file('cm.yaml', cmText), '-f', join(deployments, 'sriovdp-daemonset.yaml')]);
    t.equal(created.code, 0, created.stderr);
    await until('intel.com/from_configmap on node1', () => sc.cluster.store.get('Node', '', 'node1')?.status?.allocatable?.['intel.com/from_configmap'] === '1');
    t.notOk(sc.cluster.store.get('Node', '', 'node1')?.status?.allocatable?.['intel.com/sriov_netdevice'], "the node's own config was not the one read");

    const pods = await kubectl(['get', 'pods', '-n', 'kube-system', '-l', 'name=sriov-device-plugin', '-o', 'jsonpath={.items[0].metadata.name}']);
    const pod = pods.stdout;
    t.match(pod, /^kube-sriov-device-plugin-amd64-\w{5}$/);
    const cat = await kubectl(['exec', '-n', 'kube-system', pod, '--', 'cat', '/etc/pcidp/config.json']);
    t.equal(cat.stdout, cmData, 'the container sees the ConfigMap key as /etc/pcidp/config.json');
    const layout = await kubectl(['exec', '-n', 'kube-system', pod, '--', 'sh', '-c', 'readlink /etc/pcidp/config.json; readlink /etc/pcidp/..data']);
    t.match(layout.stdout, /^\.\.data\/config\.json\n\.\.\d{4}_\d\d_\d\d_\d\d_\d\d_\d\d\.\d+\n$/, "laid out as the kubelet's atomic writer does");
    const write = await kubectl(['exec', '-n', 'kube-system', pod, '--', 'sh', '-c', 'echo x > /etc/pcidp/other']);
    t.not(write.code, 0, 'a configMap volume is read-only');
    t.match(write.stderr, /Read-only file system/);
    t.equal(readFileSync(node.hostPath('/etc/pcidp/config.json'), 'utf8'), nodeConfig, "the node's /etc/pcidp is untouched");
    t.ok(existsSync(node.hostPath('/run/k8s.cni.cncf.io/devinfo/dp')), 'the DirectoryOrCreate hostPath was made on the node');
    const uid = sc.cluster.store.get('Pod', 'kube-system', pod)!.metadata!.uid!;
    const volDir = node.hostPath(`/var/lib/kubelet/pods/${uid}/volumes/kubernetes.io~configmap/config-volume`);
    t.ok(existsSync(join(volDir, 'config.json')), "the volume lives in the pod's directory under the kubelet's root");

    t.equal((await kubectl(['delete', 'ds', '-n', 'kube-system', 'kube-sriov-device-plugin-amd64'])).code, 0);
    await until('the plugin pod gone', () => !sc.cluster.store.get('Pod', 'kube-system', pod));
    await until('its volume dir gone', () => !existsSync(node.hostPath(`/var/lib/kubelet/pods/${uid}`)));

    // a ConfigMap that does not exist: the kubelet's message, and nothing left on the node
    const noCm = await kubectl(
      ['create', '-f', '-'],
      {
        input: `apiVersion: v1
kind: Pod
metadata: {name: no-cm}
spec:
  containers:
    - {name: main, image: busybox, command: [sleep, '3600'], volumeMounts: [{name: cfg, mountPath: /etc/pcidp}]}
  volumes:
    - {name: cfg, configMap: {name: does-not-exist}}
`,
      },
    );
    t.equal(noCm.code, 0, noCm.stderr);
    // the kubelet keeps such a pod ContainerCreating and retries the mount, with FailedMount events
    await until('no-cm FailedMount', () => sc.cluster.store.list('Event').some((e) => e.involvedObject?.name === 'no-cm' && e.reason === 'FailedMount'));
    t.equal(sc.cluster.store.get('Pod', 'default', 'no-cm')?.status?.phase, 'Pending', 'the pod stays Pending');
    const events = await kubectl(['get', 'events', '--field-selector', 'involvedObject.name=no-cm', '-o', 'jsonpath={range .items[*]}{.reason}: {.message}{"\\n"}{end}']);
    t.match(events.stdout, /FailedMount: MountVolume\.SetUp failed for volume "cfg" : configmap "does-not-exist" not found/);
    const noCmUid = sc.cluster.store.get('Pod', 'default', 'no-cm')!.metadata!.uid!;
    t.notOk(existsSync(node.hostPath(`/var/lib/kubelet/pods/${noCmUid}`)), 'nothing of its volumes stays');

    // items with a path and a subPath mount of one key; a hostPath at another path
    const items = await kubectl(['create', '-f', '-'], {
      input: `apiVersion: v1
kind: ConfigMap
metadata: {name: two-keys}
data: {a.txt: "alpha\\n", b.txt: "beta\\n"}
---
apiVersion: v1
kind: Pod
metadata: {name: items}
spec:
  containers:
    - name: main
      image: busybox
      command: [sleep, '3600']
      volumeMounts:
        - {name: cfg, mountPath: /etc/items}
        - {name: cfg, mountPath: /etc/one/b.conf, subPath: renamed/b}
        - {name: host, mountPath: /var/lib/seen-host}
  volumes:
    - name: cfg
      configMap: {name: two-keys, items: [{key: b.txt, path: renamed/b}]}
    - name: host
      hostPath: {path: /var/lib/kubelet/device-plugins, type: Directory}
`,
    });
    t.equal(items.code, 0, items.stderr);
    await until('items Running', () => sc.cluster.store.get('Pod', 'default', 'items')?.status?.phase === 'Running');
    const seen = await kubectl(['exec', 'items', '--', 'sh', '-c', 'ls /etc/items; cat /etc/items/renamed/b /etc/one/b.conf; ls /var/lib/seen-host | grep -c kubelet.sock']);
    t.equal(seen.stdout, 'renamed\nbeta\nbeta\n1\n', 'only the listed key, at its path; a subPath file; the hostPath at another mount path');
  });
}
