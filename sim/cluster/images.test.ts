// The image table: which images stand for the bundled executables, and how their containers' args are read.
import t from 'tap';
import { bundledArgv, imageRepository, imageRole, VIRTDP_CONFIG_PATH } from './images.ts';

const exe = { devicePlugin: ['node', '/x/dp.mjs'], cni: '/x/cni shim' };

t.test('image references name their repository', async (t) => {
  for (const [image, repo] of [
    ['ghcr.io/k8snetworkplumbingwg/sriov-network-device-plugin:latest', 'ghcr.io/k8snetworkplumbingwg/sriov-network-device-plugin'],
    ['docker.io/nfvpe/virtdp:latest', 'nfvpe/virtdp'],
    ['nfvpe/virtdp@sha256:0123', 'nfvpe/virtdp'],
    ['docker.io/library/busybox:1.36', 'busybox'],
    ['localhost:5000/sriov-lab/device-plugin', 'localhost:5000/sriov-lab/device-plugin'],
  ]) t.equal(imageRepository(image), repo, image);
  t.equal(imageRole('busybox'), undefined, 'any other image has no role');
  t.equal(imageRole('ghcr.io/k8snetworkplumbingwg/sriov-cni:v2.8.0'), 'cni-installer');
});

t.test('what a container of each image runs', async (t) => {
  const cases: Array<[string, { image: string; command?: string[]; args?: string[] }, string[] | undefined]> = [
    ['upstream flags: config and prefix kept, glog flags dropped', { image: 'ghcr.io/k8snetworkplumbingwg/sriov-network-device-plugin:latest', args: ['--log-dir=sriovdp', '--log-level=10', '--config-file=/etc/pcidp/c.json', '--resource-prefix', 'acme.com'] }, ['node', '/x/dp.mjs', '--config-file', '/etc/pcidp/c.json', '--resource-prefix', 'acme.com']],
    ['the image command is not run', { image: 'sriov-lab/device-plugin', command: ['/entrypoint.sh'], args: ['--log-level', 'debug'] }, ['node', '/x/dp.mjs', '--log-level', 'debug']],
    ['virtdp serves kernel.org/virt only', { image: 'nfvpe/virtdp:latest', args: ['--log-dir=virtdp', '--log-level=10'] }, ['node', '/x/dp.mjs', '--config-file', VIRTDP_CONFIG_PATH]],
    ['sriov-cni installs the bundled CNI and sleeps', { image: 'nfvpe/sriov-cni' }, ['sh', '-c', "ln -sf '/x/cni shim' /opt/cni/bin/sriov && echo 'installed the sriov CNI in /opt/cni/bin' && exec sleep infinity"]],
    ['sriov-lab/cni installs under its --as names', { image: 'sriov-lab/cni:latest', args: ['--dest', '/host/opt/cni/bin', '--as', 'sriov', '--as', 'ehost-device'] }, ['sh', '-c', "ln -sf '/x/cni shim' /opt/cni/bin/sriov && ln -sf '/x/cni shim' /opt/cni/bin/ehost-device && echo 'installed the sriov CNI in /opt/cni/bin as sriov, ehost-device' && exec sleep infinity"]],
    ['sriov-lab/cni without --as: sriov', { image: 'sriov-lab/cni', args: ['--dest', '/host/opt/cni/bin'] }, ['sh', '-c', "ln -sf '/x/cni shim' /opt/cni/bin/sriov && echo 'installed the sriov CNI in /opt/cni/bin' && exec sleep infinity"]],
    ['any other image runs its own command', { image: 'busybox', command: ['sleep', '1'] }, undefined],
  ];
  for (const [name, c, want] of cases) t.same(bundledArgv({ name: 'c', ...c }, exe), want, name);
  t.equal(bundledArgv({ name: 'c', image: 'nfvpe/virtdp' }, undefined), undefined, 'a node without the bundled executables maps nothing');
  t.equal(bundledArgv({ name: 'c', image: 'nfvpe/sriov-cni' }, { devicePlugin: ['x'] }), undefined, 'nor the CNI image when the CNI is not built');
});
