// deployments/'s DaemonSets of this project's own images: they name the images `sriov-lab image build` tags, their
// args are what the images' entrypoints accept, and they run on a simulated cluster created with the real kubectl
// (the simulator maps the images to the bundled executables, docs/images.md).
import t from 'tap';
import { existsSync, lstatSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { V1DaemonSet } from '@kubernetes/client-node';
import { caps } from '../../sim/caps.ts';
import { projectRoot } from '../../sim/paths.ts';
import { imageRole, SRIOV_LAB_IMAGES } from '../../sim/cluster/images.ts';
import { parseArgs as parseDevicePluginArgs } from '../../plugins/device-plugin/cli.ts';
import { parseInstallArgs } from '../../plugins/cni/install.ts';
import type { SimLabNode } from '../backends/sim.ts';
import { KUBECTL, kubectlCluster, until } from '../cluster/fixtures/kubectl.ts';
import { CONTEXT_FILES, DEFAULT_NODE_IMAGE } from './build.ts';
import { DEVICE_PLUGIN_NODE_FLAGS } from '../../plugins/device-plugin/node-flags.ts';

const root = projectRoot();
const deployments = join(root, 'deployments');
const daemonSet = (file: string): V1DaemonSet =>
  parseAllDocuments(readFileSync(join(deployments, file), 'utf8'))
    .map((d) => d.toJS() as V1DaemonSet)
    .find((d) => d.kind === 'DaemonSet')!;

t.test('the Dockerfile, .dockerignore and the image build agree', async (t) => {
  const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
  t.match(dockerfile, new RegExp(`^ARG NODE_IMAGE=${DEFAULT_NODE_IMAGE.replace(/[.]/g, '\\.')}$`, 'm'), 'the default base');
  for (const target of Object.keys(SRIOV_LAB_IMAGES)) t.match(dockerfile, new RegExp(`^FROM scratch AS ${target}$`, 'm'), `target ${target}`);
  const copied = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1].split(/\s+/));
  t.same([...copied].sort(), CONTEXT_FILES.filter((f) => f !== 'Dockerfile').sort(), 'the context holds what the Dockerfile copies');
  const allowed = readFileSync(join(root, '.dockerignore'), 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('!'))
    .map((l) => l.slice(1));
  t.same(allowed.sort(), [...CONTEXT_FILES].sort(), '.dockerignore lets exactly these through');
  t.match(dockerfile, /^ENTRYPOINT \["\/usr\/lib\/sriov-lab\/sriov", "install"\]\nCMD \["--dest", "\/host\/opt\/cni\/bin"\]$/m);
  const dpEntry = JSON.stringify(['/usr/local/bin/node', ...DEVICE_PLUGIN_NODE_FLAGS, '/usr/lib/sriov-lab/dist/sriov-lab-device-plugin.mjs']).replace(/,/g, ', ');
  t.ok(dockerfile.includes(`\nENTRYPOINT ${dpEntry}\n`), `the device plugin's ENTRYPOINT is ${dpEntry} (node flags of plugins/device-plugin/node-flags.ts)`);
});

t.test("the DaemonSets name the built images and pass what their entrypoints accept", async (t) => {
  const dp = daemonSet('sriov-lab-device-plugin-daemonset.yaml');
  const dpc = dp.spec!.template.spec!.containers[0];
  t.equal(dpc.image, `${SRIOV_LAB_IMAGES['device-plugin']}:latest`);
  t.equal(dpc.imagePullPolicy, 'IfNotPresent', 'a locally loaded :latest image is not pulled');
  t.equal(imageRole(dpc.image), 'device-plugin');
  const cli = parseDevicePluginArgs(dpc.args ?? []);
  t.equal(cli.configFile, '/etc/pcidp/config.json');
  t.ok(dpc.volumeMounts!.some((m) => m.mountPath === '/etc/pcidp'), 'the ConfigMap where --config-file reads');
  for (const p of ['/var/lib/kubelet/device-plugins', '/var/run/k8s.cni.cncf.io/devinfo/dp']) t.ok(dpc.volumeMounts!.some((m) => m.mountPath === p), `${p} mounted`);

  const cni = daemonSet('sriov-lab-cni-daemonset.yaml');
  const cc = cni.spec!.template.spec!.containers[0];
  t.equal(cc.image, `${SRIOV_LAB_IMAGES.cni}:latest`);
  t.equal(cc.imagePullPolicy, 'IfNotPresent');
  t.equal(imageRole(cc.image), 'cni-installer');
  const install = parseInstallArgs(cc.args ?? []);
  t.same(install, { dest: '/host/opt/cni/bin', names: ['sriov', 'ehost-device'], once: false });
  const mount = cc.volumeMounts!.find((m) => m.mountPath === install.dest);
  t.ok(mount, 'the install destination is mounted');
  t.equal(cni.spec!.template.spec!.volumes!.find((v) => v.name === mount?.name)?.hostPath?.path, '/opt/cni/bin', "from the host's /opt/cni/bin");
  t.same(cc.securityContext?.capabilities?.drop, ['ALL']);
});

const missing = [caps.root(), caps.fuse(), caps.netns(), caps.cniPlugins()].find((c) => !c.ok);
if (!existsSync(KUBECTL)) {
  t.test('the DaemonSets on a simulated cluster', { skip: `no kubectl at ${KUBECTL}` }, async () => undefined);
} else if (missing) {
  t.test('the DaemonSets on a simulated cluster', { skip: `the simulated cluster needs ${missing.name}: ${missing.detail}` }, async () => undefined);
} else {
  t.test('the DaemonSets on a simulated cluster, created with kubectl', async (t) => {
    const { sc, kubectl } = await kubectlCluster(t, { bare: true });
    const node = (sc.nodes.get('node1') as SimLabNode).node;
    const created = await kubectl(['create', '-f', join(deployments, 'sriovdp-configmap.yaml'), '-f', join(deployments, 'sriov-lab-device-plugin-daemonset.yaml'), '-f', join(deployments, 'sriov-lab-cni-daemonset.yaml')]);
    t.equal(created.code, 0, created.stderr);
    t.match(created.stdout, /^configmap\/sriovdp-config created\nserviceaccount\/sriov-lab-device-plugin created\ndaemonset\.apps\/sriov-lab-device-plugin-amd64 created\ndaemonset\.apps\/sriov-lab-cni-amd64 created$/m);
    await until('intel.com/sriov_netdevice on node1 from the image’s plugin', () => Number(sc.cluster.store.get('Node', '', 'node1')?.status?.allocatable?.['intel.com/sriov_netdevice'] ?? 0) > 0);
    await until('both DaemonSets ready', async () => {
      const r = await kubectl(['get', 'ds', '-n', 'kube-system', '--no-headers']);
      const rows = r.stdout.trim().split('\n');
      return rows.length === 2 && rows.every((l) => /^\S+\s+1\s+1\s+1\s+1\s+1\s/.test(l));
    });
    const pod = (await kubectl(['get', 'pods', '-n', 'kube-system', '-l', 'name=sriov-lab-cni-amd64', '-o', 'jsonpath={.items[0].metadata.name}'])).stdout;
    t.match((await kubectl(['logs', '-n', 'kube-system', pod])).stdout, /^installed the sriov CNI in \/opt\/cni\/bin as sriov, ehost-device$/m);
    for (const name of ['sriov', 'ehost-device']) {
      const p = node.hostPath(`/opt/cni/bin/${name}`);
      t.ok(lstatSync(p).isSymbolicLink() && existsSync(readlinkSync(p)), `the node's /opt/cni/bin/${name} is the bundled CNI`);
    }
  });
}
