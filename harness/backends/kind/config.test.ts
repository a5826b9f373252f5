// What the kind backend installs besides Multus: the bundled plugins' DaemonSets of deployments/ by default (their
// images never pulled: the backend builds and loads them), the user's manifests in their place, each DaemonSet given
// the node's /sys. No cluster needed: the objects as they would be created.
import t from 'tap';
import { join } from 'node:path';
import { projectRoot } from '../../../sim/paths.ts';
import type { KubeObject } from '../../backend.ts';
import { SYS_VOLUME, multusChrootDir, neverPullOwnImages, ownImages, pluginObjects } from './config.ts';

interface Container {
  name: string;
  image: string;
  imagePullPolicy?: string;
  args?: string[];
  volumeMounts?: Array<{ name: string; mountPath: string }>;
}
const containers = (o: KubeObject): Container[] => (o as unknown as { spec: { template: { spec: { containers: Container[] } } } }).spec.template.spec.containers;
const daemonSets = (objs: KubeObject[]) => objs.filter((o) => o.kind === 'DaemonSet');
const deployments = (f: string) => join(projectRoot(), 'deployments', f);

t.test('by default: the bundled device plugin and CNI, never pulled', async (t) => {
  const objs = pluginObjects({});
  t.same(
    daemonSets(objs).map((d) => d.metadata.name),
    ['sriov-lab-device-plugin-amd64', 'sriov-lab-cni-amd64'],
    'sriov-lab’s own DaemonSets, not upstream’s sriov-cni (it sets VF attributes over netlink, which the simulated PFs lack)',
  );
  const [dp, cni] = daemonSets(objs).map((d) => containers(d)[0]);
  t.equal(cni.image, 'sriov-lab/cni:latest');
  t.same(cni.args, ['--dest', '/host/opt/cni/bin', '--as', 'sriov', '--as', 'ehost-device'], 'the CNI installed as sriov and as ehost-device (the virtio tutorial’s NAD type)');
  t.equal(dp.image, 'sriov-lab/device-plugin:latest');
  for (const c of [dp, cni]) {
    t.equal(c.imagePullPolicy, 'Never', `${c.image}: never pulled (it is in no registry; the run loads it into the nodes)`);
    t.ok(c.volumeMounts?.some((m) => m.name === SYS_VOLUME && m.mountPath === '/sys'), `${c.name}: the node's /sys`);
  }
  const config = JSON.parse((objs.find((o) => o.kind === 'ConfigMap') as KubeObject & { data: Record<string, string> }).data['config.json']) as { resourceList: Array<{ resourceName: string; resourcePrefix?: string }> };
  t.ok(
    config.resourceList.some((r) => r.resourcePrefix === 'kernel.org' && r.resourceName === 'virt'),
    'with no config of the scenario, the device plugin gets the sim’s: kernel.org/virt for the virtio tutorial too',
  );
  t.same(ownImages(objs), [
    { image: 'sriov-lab/device-plugin:latest', target: 'device-plugin' },
    { image: 'sriov-lab/cni:latest', target: 'cni' },
  ]);
});

t.test('the scenario’s device plugin config goes into the ConfigMap', async (t) => {
  const devicePluginConfig = { resourceList: [{ resourceName: 'only', selectors: { drivers: ['igbvf'] } }] };
  const cm = pluginObjects({ devicePluginConfig }).find((o) => o.kind === 'ConfigMap') as KubeObject & { data: Record<string, string> };
  t.same(JSON.parse(cm.data['config.json']), devicePluginConfig);
});

t.test('the user’s manifests replace the bundled ones; their images are left alone', async (t) => {
  const objs = pluginObjects({ devicePluginManifest: deployments('sriovdp-daemonset.yaml'), cniManifest: deployments('sriov-cni-daemonset.yaml') });
  t.same(daemonSets(objs).map((d) => d.metadata.name), ['kube-sriov-device-plugin-amd64', 'kube-sriov-cni-ds-amd64']);
  for (const d of daemonSets(objs)) t.equal(containers(d)[0].imagePullPolicy, 'IfNotPresent', `${d.metadata.name}: as its manifest says`);
  t.same(ownImages(objs), [], 'nothing to build or load');
});

t.test('neverPullOwnImages: only sriov-lab’s repositories, whatever the tag or registry prefix', async (t) => {
  const ds = (image: string): KubeObject => ({ apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'x' }, spec: { template: { spec: { containers: [{ name: 'c', image, imagePullPolicy: 'Always' }] } } } }) as KubeObject;
  const policy = (image: string) => containers(neverPullOwnImages([ds(image)])[0])[0].imagePullPolicy;
  t.equal(policy('sriov-lab/cni:v2'), 'Never');
  t.equal(policy('docker.io/sriov-lab/device-plugin:latest'), 'Never');
  t.equal(policy('ghcr.io/k8snetworkplumbingwg/sriov-cni:latest'), 'Always');
  t.same(ownImages([ds('sriov-lab/cni:v2')]), [{ image: 'sriov-lab/cni:v2', target: 'cni' }]);
});

t.test('multusChrootDir: the thick daemon runs delegates chrooted into the node’s root', async (t) => {
  const cm = (json: string): KubeObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'multus-daemon-config' }, data: { 'daemon-config.json': json } }) as KubeObject;
  t.equal(multusChrootDir([cm('{"chrootDir": "/hostroot", "cniVersion": "0.3.1"}')]), '/hostroot', 'as the thick manifest configures it');
  t.equal(multusChrootDir([cm('{"cniVersion": "0.3.1"}')]), undefined, 'none: delegates run in the Multus container');
  t.equal(multusChrootDir([cm('not json')]), undefined);
});
