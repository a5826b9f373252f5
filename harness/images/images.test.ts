// Black-box tests of the three images (Dockerfile) with testcontainers, on a private dockerd (dockerd.ts): built as
// `sriov-lab image build` builds them (here the base is imported locally: registry pulls do not work on the build
// machines), then the device-plugin image registers with the kubelet emulator and allocates through it, and the CNI
// image installs a single executable in a host directory that runs there without node.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GenericContainer, Wait, type StartedTestContainer } from 'testcontainers';
import { SysfsModel } from '../../sim/kernel/model.ts';
import { writeSnapshot } from '../../sim/kernel/snapshot.ts';
import { Kubelet, type PodSpecLite } from '../../sim/kubelet/index.ts';
import { projectRoot } from '../../sim/paths.ts';
import { routeTable, shortTmp } from '../../plugins/device-plugin/test-fixtures.ts';
import { SUPPORTED_VERSIONS } from '../../plugins/cni/version.ts';
import { buildImages, CONTEXT_FILES, type ImageBuildResult } from './build.ts';
import { dockerdUnavailable, startDockerd } from './dockerd.ts';

const NET = 'intel.com/sriov_netdevice';
const DPDK = 'intel.com/sriov_dpdk';
const VIRT = 'kernel.org/virt';

const unbuilt = CONTEXT_FILES.filter((f) => f.startsWith('dist/') && !existsSync(join(projectRoot(), f)));
const why = unbuilt.length > 0 ? `the image build copies ${unbuilt.join(', ')}: npm run build first` : dockerdUnavailable();

/** resolves once pred() holds, re-checked on every resource change of the kubelet; fails naming what it waited for */
function until(k: Kubelet, what: string, pred: () => boolean, timeoutMs = 30_000): Promise<void> {
  if (pred()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`${what} not observed after ${timeoutMs}ms: allocatable ${JSON.stringify(k.allocatable())}`));
    }, timeoutMs);
    const off = k.onResourcesChanged(() => {
      if (!pred()) return;
      clearTimeout(timer);
      off();
      resolve();
    });
  });
}

function dockerCli(env: Record<string, string>, ...args: string[]): string {
  const r = spawnSync('docker', args, { env: { ...process.env, ...env }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

if (why) {
  t.test('container images', { skip: `the image tests need a private dockerd: ${why}` }, async () => undefined);
} else {
  const buildLog: string[] = [];
  const dockerd = await startDockerd({ log: (l) => buildLog.push(l) });
  t.teardown(() => dockerd.stop());
  // testcontainers reads these when it first connects. Its reaper image (Ryuk) cannot be pulled here, and the daemon
  // is removed as a whole afterwards. The host override: inside a container (/.dockerenv, as on the build machines)
  // it would look up the gateway of the `bridge` network, which a daemon started with --bridge=none has not; the
  // containers use no network, so the host name is never used.
  process.env.DOCKER_HOST = dockerd.host;
  process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';
  process.env.TESTCONTAINERS_HOST_OVERRIDE = 'localhost';

  let built: ImageBuildResult | undefined;
  t.test('image build: the three images, the base imported when it cannot be pulled', async (t) => {
    built = await buildImages({ env: dockerd.env, log: (l) => buildLog.push(l) }).catch((e: Error) => {
      t.comment(buildLog.slice(-40).join('\n'));
      throw e;
    });
    t.same(built.images.map((i) => i.image), ['sriov-lab/device-plugin:latest', 'sriov-lab/cni:latest', 'sriov-lab/node-agent:latest']);
    const pulled = buildLog.some((l) => l.startsWith('cannot pull '));
    if (built.base.local) t.ok(pulled || buildLog.some((l) => l.includes('local base')), 'the log says why the base is local');
    for (const i of built.images) {
      t.ok(i.sizeBytes > 50e6 && i.sizeBytes < 300e6, `${i.image}: ${(i.sizeBytes / 1e6).toFixed(1)} MB (node and its libraries, no distribution)`);
      t.comment(`${i.image}: ${(i.sizeBytes / 1e6).toFixed(1)} MB, built in ${(i.buildMs / 1000).toFixed(1)} s`);
    }
    t.equal(dockerCli(dockerd.env, 'image', 'inspect', '--format', '{{json .Config.Entrypoint}}', 'sriov-lab/cni:latest'), '["/usr/lib/sriov-lab/sriov","install"]');
  });

  t.test('node-agent image: the agent bundle on the image’s node, sleep and nsenter', async (t) => {
    if (!built) return t.fail('the images were not built (the test above says why)');
    const run = (...argv: string[]) => spawnSync('docker', ['run', '--rm', '--network', 'none', 'sriov-lab/node-agent:latest', ...argv], { env: { ...process.env, ...dockerd.env }, encoding: 'utf8' });
    const agent = run('/usr/local/bin/node', '/opt/sriov-lab/sriov-lab-node-agent.mjs');
    t.match(agent.stderr, /usage: sriov-lab-node-agent CONFIG\.json \| --stdio \[--host-ns\]/, 'node runs the bundle (its usage: no arguments)');
    t.equal(run('sleep', '0').status, 0, 'sleep: the DaemonSet container’s command (sleep infinity)');
    t.match(run('nsenter', '--version').stdout, /^nsenter from util-linux/, 'nsenter: --host-ns runs the node’s commands with it');
  });

  t.test('device-plugin image: registers with the kubelet emulator, allocates, removes its sockets on SIGTERM', async (t) => {
    if (!built) return t.fail('the images were not built (the test above says why)');
    // the host's sysfs: a snapshot of the kernel model, bound at the same path in the container
    const host = shortTmp(t, 'img-host');
    const model = new SysfsModel({
      nics: [
        { model: 'intel-xl710', pciAddr: '0000:03:00.0', ifname: 'ens1f0', numVfs: 4 },
        { model: 'intel-82599', pciAddr: '0000:86:00.0', ifname: 'ens2f0', numVfs: 2, vfDriver: 'vfio-pci' },
        { model: 'virtio-net', pciAddr: '0000:00:04.0', ifname: 'enp0s4' },
      ],
    });
    for (const { pciAddr } of model.netdevs()) model.updateNetdev(pciAddr, { adminUp: true });
    writeSnapshot(model, host);
    writeFileSync(join(host, 'route'), routeTable([]));
    const kubeletDir = shortTmp(t, 'img-kubelet');
    const devinfo = shortTmp(t, 'img-devinfo');
    const kubelet = new Kubelet({ nodeName: 'node1', rootDir: kubeletDir, registrationModes: ['kubelet.sock'], dialTimeoutMs: 10_000 });
    await kubelet.start();
    t.teardown(() => kubelet.close());

    const container: StartedTestContainer = await new GenericContainer('sriov-lab/device-plugin:latest')
      .withNetworkMode('none')
      .withBindMounts([
        { source: host, target: host, mode: 'ro' },
        { source: kubeletDir, target: '/var/lib/kubelet' },
        { source: devinfo, target: '/var/run/k8s.cni.cncf.io/devinfo/dp' },
      ])
      .withCommand(['--default-config', '--sysfs-root', join(host, 'sys'), '--dev-root', join(host, 'dev'), '--dev-vfio-root', join(host, 'dev', 'vfio'), '--proc-net-route', join(host, 'route')])
      .withWaitStrategy(Wait.forLogMessage(/registered with kubelet/))
      .withStartupTimeout(60_000)
      .start();
    let stopped = false;
    t.teardown(() => (stopped ? undefined : container.stop()));

    await until(kubelet, 'the three resources of the image’s plugin', () => [NET, DPDK, VIRT].map((r) => kubelet.allocatable()[r] ?? '0').join(' ') === '4 2 1');
    const pod: PodSpecLite = { uid: 'u1', name: 'p1', namespace: 'default', initContainers: [], containers: [{ name: 'c', limits: { [NET]: '1', [DPDK]: '1' }, requests: { [NET]: '1', [DPDK]: '1' } }] };
    const admitted = await kubelet.admitPod(pod);
    t.equal(admitted.admitted, true, admitted.admitted ? 'the pod is admitted' : `admitted: ${JSON.stringify(admitted)}`);
    const opts = kubelet.runContainerOptions('u1', 'c')!;
    const vf = opts.envs.PCIDEVICE_INTEL_COM_SRIOV_NETDEVICE;
    t.match(vf, /^0000:03:02\.[0-3]$/, 'a VF of the XL710 through Allocate');
    t.match(opts.envs.PCIDEVICE_INTEL_COM_SRIOV_DPDK, /^0000:86:10\.[01]$/, 'a vfio-pci VF of the 82599');
    t.ok(opts.devices.some((d) => d.container_path === '/dev/vfio/vfio'), 'the vfio container device for the DPDK VF');
    t.ok(existsSync(join(devinfo, `intel.com-sriov_netdevice-${vf}-device.json`)), 'the device-info file in the mounted devinfo directory');
    // its log (JSON lines on stderr, followed while it runs) records the Allocate
    const logs = await new Promise<string>((resolve, reject) => {
      let text = '';
      const timer = setTimeout(() => reject(new Error(`no "allocated" line in its log after 10000ms:\n${text}`)), 10_000);
      container.logs().then((stream) => {
        stream.on('data', (c: Buffer | string) => {
          text += c.toString();
          if (!text.includes('"allocated"')) return;
          clearTimeout(timer);
          stream.destroy();
          resolve(text);
        });
        stream.on('error', reject);
      }, reject);
    });
    t.match(logs, /"allocated"/, 'its log (JSON lines on stderr) records the Allocate');

    const sockets = () => readdirSync(join(kubeletDir, 'device-plugins')).filter((f) => f !== 'kubelet.sock' && f.endsWith('.sock'));
    t.ok(sockets().length >= 3, `its sockets in the mounted device-plugins directory: ${sockets().join(', ')}`);
    const s = await container.stop({ remove: false, timeout: 20_000 });
    stopped = true;
    t.equal(dockerCli(dockerd.env, 'inspect', '--format', '{{.State.ExitCode}}', s.getId()), '0', 'SIGTERM ends it cleanly (node as PID 1 handles it)');
    t.same(sockets(), [], 'and it removed its sockets');
    dockerCli(dockerd.env, 'rm', s.getId());
  });

  t.test('cni image: installs a single executable in the host’s /opt/cni/bin that runs without node', async (t) => {
    if (!built) return t.fail('the images were not built (the test above says why)');
    const bin = shortTmp(t, 'img-cnibin');
    const container = await new GenericContainer('sriov-lab/cni:latest')
      .withNetworkMode('none')
      .withBindMounts([{ source: bin, target: '/host/opt/cni/bin' }])
      .withCommand(['--dest', '/host/opt/cni/bin', '--as', 'sriov', '--as', 'ehost-device'])
      .withWaitStrategy(Wait.forLogMessage('sleeping until terminated'))
      .withStartupTimeout(60_000)
      .start();
    let stopped = false;
    t.teardown(() => (stopped ? undefined : container.stop()));
    t.same(readdirSync(bin).sort(), ['ehost-device', 'sriov'], 'the two names, no temporary file left');
    const st = statSync(join(bin, 'sriov'));
    t.equal(st.mode & 0o777, 0o755);
    t.equal(statSync(join(bin, 'ehost-device')).ino, st.ino, 'the second name is a hard link, not a second copy');
    t.ok(st.size > 50e6, `a single executable (${(st.size / 1e6).toFixed(1)} MB: node with the CNI script)`);

    // on the host, with no node on PATH: the CNI spec's VERSION, and a config error with its code
    const env = { PATH: '/nonexistent', CNI_COMMAND: 'VERSION' };
    const v = spawnSync(join(bin, 'sriov'), [], { env, input: '{"cniVersion":"1.0.0"}', encoding: 'utf8' });
    t.equal(v.status, 0, v.stderr);
    t.same(JSON.parse(v.stdout), { cniVersion: '1.0.0', supportedVersions: [...SUPPORTED_VERSIONS] });
    t.equal(v.stderr, '', 'nothing on stderr (no experimental-feature warning)');
    const bad = spawnSync(join(bin, 'ehost-device'), [], { env: { ...env, CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_NETNS: '/proc/1/ns/net', CNI_IFNAME: 'net1', CNI_PATH: bin }, input: '{"cniVersion":"1.0.0","name":"n","type":"sriov"}', encoding: 'utf8' });
    t.not(bad.status, 0, 'an ADD without a deviceID fails');
    t.match(JSON.parse(bad.stdout), { cniVersion: '1.0.0', code: Number, msg: String }, 'with a CNI error result');

    const s = await container.stop({ remove: false, timeout: 20_000 });
    stopped = true;
    t.equal(dockerCli(dockerd.env, 'inspect', '--format', '{{.State.ExitCode}}', s.getId()), '0', 'SIGTERM ends the sleep at once, exit 0');
    dockerCli(dockerd.env, 'rm', s.getId());
  });

  t.test('sriov-lab image build, the command: sizes and times on stdout, progress on stderr', async (t) => {
    if (!built) return t.fail('the images were not built (the test above says why)');
    const r = spawnSync(process.execPath, [join(projectRoot(), 'bin', 'sriov-lab.js'), 'image', 'build', '--local-base', '--target', 'cni', '--tag', 'cli-test'], { env: { ...process.env, ...dockerd.env }, encoding: 'utf8' });
    t.equal(r.status, 0, r.stderr);
    t.match(r.stdout, /^build stage base: sriov-lab\/node-base:\S+-local \(built locally\)\nsriov-lab\/cni:cli-test {2}\d+\.\d MB {2}built in \d+\.\d s\ndone in \d+\.\d s\n$/);
    t.match(r.stderr, /building sriov-lab\/cni:cli-test \(target cni, build stage FROM sriov-lab\/node-base:/);
    const bad = spawnSync(process.execPath, [join(projectRoot(), 'bin', 'sriov-lab.js'), 'image', 'build', '--tag', 'no/slash'], { env: { ...process.env, ...dockerd.env }, encoding: 'utf8' });
    t.not(bad.status, 0);
    t.match(bad.stderr, /--tag "no\/slash" is not a valid tag/);
  });

  t.test('an install step without its host directory fails, naming it', async (t) => {
    if (!built) return t.fail('the images were not built (the test above says why)');
    const out = spawnSync('docker', ['run', '--rm', '--network', 'none', 'sriov-lab/cni:latest', '--once'], { env: { ...process.env, ...dockerd.env }, encoding: 'utf8' });
    t.equal(out.status, 1);
    t.match(out.stderr, 'install: /host/opt/cni/bin is not a directory (mount the host\'s /opt/cni/bin there)');
  });
}
