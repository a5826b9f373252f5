import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FakeKubelet, SimHost, shortTmp } from './test-fixtures.ts';
import { parseArgs } from './cli.ts';

const MAIN = join(dirname(fileURLToPath(import.meta.url)), 'main.ts');
const NICS = [
  { model: 'intel-xl710', pciAddr: '0000:03:00.0', ifname: 'ens1f0', numVfs: 2, numaNode: 0 },
  { model: 'intel-82599', pciAddr: '0000:86:00.0', ifname: 'ens2f0', numVfs: 2, numaNode: 1, vfDriver: 'vfio-pci' as const },
];

const BUNDLE = join(dirname(fileURLToPath(import.meta.url)), '../../dist/sriov-lab-device-plugin.mjs');

function run(args: string[], bundle = false): { child: ChildProcess; exited: Promise<{ code: number | null; stderr: string; stdout: string }> } {
  const child = spawn(process.execPath, bundle ? [BUNDLE, ...args] : ['--import', 'tsx', MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  child.stdout!.on('data', (b: Buffer) => (stdout += b.toString()));
  const exited = new Promise<{ code: number | null; stderr: string; stdout: string }>((resolve) => child.on('exit', (code) => resolve({ code, stderr, stdout })));
  return { child, exited };
}

t.test('flags: upstream names, Go-style spellings, relocations', async (t) => {
  const o = parseArgs(['-config-file', '/c.json', '--resource-prefix=example.org', '--log-level', 'debug', '--sysfs-root', '/n/sys', '--dev-root=/n/dev', '--logtostderr', '-v', '3']);
  t.match(o, { configFile: '/c.json', resourcePrefix: 'example.org', logLevel: 'debug', sysfsRoot: '/n/sys', devVfioRoot: '/n/dev/vfio', kubeletDir: '/var/lib/kubelet', devinfoDir: '/var/run/k8s.cni.cncf.io/devinfo/dp' });
  t.equal(parseArgs([]).configFile, '/etc/pcidp/config.json');
  t.throws(() => parseArgs(['--sysfs']), { name: 'UsageError', message: /unknown flag --sysfs/ });
  t.throws(() => parseArgs(['--log-level', 'loud']), { message: /debug, info, warn or error/ });
  t.throws(() => parseArgs(['--config-file']), { message: /needs a value/ });
});

t.test('an invalid config exits 1 with a log line naming resource and field', async (t) => {
  const dir = shortTmp(t, 'dpm');
  writeFileSync(join(dir, 'c.json'), JSON.stringify({ resourceList: [{ resourceName: 'a', selectors: { pfNames: ['ens1f0#3-1'] } }] }));
  const { exited } = run(['--config-file', join(dir, 'c.json'), '--kubelet-dir', join(dir, 'k')]);
  const r = await exited;
  t.equal(r.code, 1);
  const line = JSON.parse(r.stderr.trim().split('\n').at(-1)!);
  t.match(line, { level: 'error', resource: 'a', field: 'selectors.pfNames', msg: /backwards/ });
});

for (const bundle of [false, true]) {
t.test(`the executable (${bundle ? 'bundle' : 'sources'}) registers, and on SIGTERM removes its sockets and device-info files and exits`, { skip: bundle && !existsSync(BUNDLE) ? 'dist/sriov-lab-device-plugin.mjs not built (npm run build)' : false }, async (t) => {
  const host = new SimHost(t, NICS);
  const dir = shortTmp(t, 'dpm');
  const kubeletDir = join(dir, 'k');
  const devinfoDir = join(dir, 'di');
  const kubelet = new FakeKubelet(kubeletDir);
  await kubelet.start();
  t.teardown(() => kubelet.stop());
  const { child, exited } = run([
    '--default-config',
    '--sysfs-root', host.paths.sysfsRoot,
    '--dev-vfio-root', host.paths.devVfioRoot,
    '--proc-net-route', host.paths.procNetRoute,
    '--kubelet-dir', kubeletDir,
    '--devinfo-dir', devinfoDir,
  ], bundle);
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  await kubelet.waitFor('both resources', () => kubelet.capacity('intel.com/sriov_netdevice').length === 2 && kubelet.capacity('intel.com/sriov_dpdk').length === 2, 15000);
  await kubelet.waitFor('device-info files', () => existsSync(devinfoDir) && readdirSync(devinfoDir).length === 4);
  t.same(readdirSync(join(kubeletDir, 'device-plugins')).sort(), ['intel.com_sriov_dpdk.sock', 'intel.com_sriov_netdevice.sock', 'kubelet.sock']);
  child.kill('SIGTERM');
  const r = await exited;
  t.equal(r.code, 0, 'clean exit');
  t.same(readdirSync(join(kubeletDir, 'device-plugins')), ['kubelet.sock'], 'its sockets are gone');
  t.same(readdirSync(devinfoDir), [], 'its device-info files are gone');
  const logs = r.stderr.trim().split('\n').map((l) => JSON.parse(l) as { level: string; msg: string });
  t.ok(logs.some((l) => l.msg === 'registered with kubelet'), 'structured logs on stderr');
  t.ok(logs.some((l) => l.msg === 'signal received; removing sockets and device-info files'));
  t.notOk(existsSync(join(kubeletDir, 'device-plugins', 'intel.com_sriov_dpdk.sock')));
});
}

t.test('--help and --print-default-config', async (t) => {
  const h = await run(['--help']).exited;
  t.equal(h.code, 0);
  t.match(h.stdout, /--config-file PATH/);
  const d = await run(['--print-default-config']).exited;
  t.same(JSON.parse(d.stdout).resourceList.map((r: { resourceName: string }) => r.resourceName), ['sriov_netdevice', 'sriov_dpdk', 'virt']);
});
