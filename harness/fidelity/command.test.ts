// `sriov-lab fidelity` end to end on the sim backend: sim against itself shows no difference; sim against a wrapper
// of sim that changes what a sysfs write returns and drops a VF shows exactly those differences and exits 1.
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../../sim/paths.ts';
import type { Backend, ClusterHandle, SysfsResult } from '../backend.ts';
import { simBackend } from '../backends/sim.ts';
import { createBackendRegistry } from '../runner/registry.ts';
import type { BackendRunInfo } from '../backend.ts';
import { fidelityCommand, type FidelityResult } from './command.ts';

const root = projectRoot();
// relative to the project root, where tap runs, so locations print as they would for a user
const fixture = 'harness/fidelity/fixtures/small.yaml';

/**
 * Stands in for qemu: sim underneath, but writing 3 to sriov_numvfs fails with EINVAL (not the kernel's EBUSY)
 * without reaching the model, and the second VF is unplugged right after VFs are created.
 */
function perturbed(inner: Backend & BackendRunInfo): Backend & BackendRunInfo {
  return {
    name: 'qemu',
    available: () => inner.available(),
    provides: (r) => inner.provides(r),
    async up(opts) {
      const h: ClusterHandle = await inner.up(opts);
      return new Proxy(h, {
        get(target, prop, receiver) {
          if (prop === 'sysfsWrite') {
            return async (node: string, path: string, value: string): Promise<SysfsResult> => {
              if (path.endsWith('/sriov_numvfs') && value === '3') return { ok: false, errno: 'EINVAL', message: 'perturbed' };
              const r = await target.sysfsWrite(node, path, value);
              if (r.ok && path.endsWith('/sriov_numvfs') && value === '2') await target.fault(node, { kind: 'vfUnplug', pciAddr: '0000:01:10.4' });
              return r;
            };
          }
          const v = Reflect.get(target, prop, receiver) as unknown;
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        },
      });
    },
  };
}

async function fidelity(args: string[], b: Backend) {
  const registry = createBackendRegistry();
  registry.register(simBackend);
  if (b !== simBackend) registry.register(b);
  const dir = mkdtempSync(join(tmpdir(), 'sl-fid-'));
  let out = '';
  let err = '';
  try {
    const code = await fidelityCommand([...args, '--json', join(dir, 'f.json')], {
      registry,
      cwd: root,
      stdout: { write: (s: string) => (out += s) },
      stderr: { write: (s: string) => (err += s) },
      signal: new AbortController().signal,
    });
    const json = JSON.parse(readFileSync(join(dir, 'f.json'), 'utf8')) as FidelityResult;
    return { code, out, err, json };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

t.test('usage errors exit 2 before anything runs', async (t) => {
  const registry = createBackendRegistry();
  registry.register(simBackend);
  let err = '';
  const io = { registry, cwd: root, stdout: { write: () => true }, stderr: { write: (s: string) => (err += s) }, signal: new AbortController().signal };
  t.equal(await fidelityCommand([fixture, '--b', 'nope'], io), 2);
  t.match(err, 'unknown backend "nope"; known backends: sim');
  t.equal(await fidelityCommand([fixture], io), 2, 'the default B is qemu, not registered here');
  t.equal(await fidelityCommand([fixture, '--b', 'sim', '--filter', 'nothing-matches'], io), 2);
  t.match(err, 'no scenario matches --filter nothing-matches');
  t.equal(await fidelityCommand([fixture, '--bogus'], io), 2);
  const dir = mkdtempSync(join(tmpdir(), 'sl-fid-from-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  t.equal(await fidelityCommand(['--from', join(dir, 'missing.json')], io), 2);
  t.match(err, `--from ${join(dir, 'missing.json')}: ENOENT`);
  writeFileSync(join(dir, 'other.json'), '{"kind":"sriov-lab/run"}');
  t.equal(await fidelityCommand(['--from', join(dir, 'other.json')], io), 2);
  t.match(err, 'not a fidelity result (kind: "sriov-lab/run"; expected "sriov-lab/fidelity")');
  t.equal(await fidelityCommand(['--from', join(dir, 'other.json'), fixture], io), 2, 'no scenario paths with --from');
});

const available = await simBackend.available();
if (!available.ok) {
  t.test('sim vs sim and sim vs a perturbed sim', { skip: `the sim backend cannot run here: ${available.reason}` }, async () => undefined);
} else {
  t.test('sim vs sim: no differences, exit 0', async (t) => {
    const r = await fidelity([fixture, '--a', 'sim', '--b', 'sim', '--seed', '3'], simBackend);
    t.equal(r.code, 0, r.out + r.err.slice(-2000));
    // a race is not a difference: right after the sriov_numvfs write, one run's device plugin may have polled
    // sysfs and reported the VFs before the observation, the other's not yet; only that may show as a race
    t.match(r.out, /✓ fidelity-small \(harness\/fidelity\/fixtures\/small\.yaml\): 3 operations compared, 0 differences( \(\+\d+ races?\))?\n/);
    const transients = r.out.split('\n').filter((l) => l.includes('[race'));
    t.ok(transients.every((l) => /node1 (capacity|allocatable) intel\.com\/sriov_netdevice |ListAndWatch node1 \S+ devices /.test(l)), `only resource timing races: ${transients.join(' | ')}`);
    t.match(r.out, /fidelity sim vs sim: 1 scenario \(1 compared, 0 skipped\), 3 operations compared, 0 differences/);
    t.equal(r.json.comparisons[0].operationsCompared, 3);
    t.equal(r.json.kind, 'sriov-lab/fidelity');
    t.same(r.json.totals.differences, 0);
    t.equal(r.json.observations?.[0].a.operations.length, 3, '--json keeps what each side observed');
  });

  t.test('sim vs a perturbed sim: the changed errno, the dropped VF and the operation not run are printed; exit 1', async (t) => {
    const r = await fidelity([fixture, '--a', 'sim', '--seed', '3'], perturbed(simBackend));
    t.equal(r.code, 1, r.err.slice(-2000));
    const out = r.out;
    t.comment(out);
    // the dropped VF, seen right after the write that created the VFs
    t.match(out, '✗ fidelity-small › two VFs › sysfs write "2" > /sys/class/net/ens1f0/device/sriov_numvfs (harness/fidelity/fixtures/small.yaml:17)\n');
    t.match(out, /    node1 vf 0000:01:00\.0\/1 pciAddr\n      sim:  0000:01:10\.4\n      qemu: \(absent\)\n      \(unchanged after the next 1 operation, until two VFs › sysfs write "3" > \S+ \(expect EBUSY\) \(harness\/fidelity\/fixtures\/small\.yaml:18\)\)\n/);
    t.match(out, /    node1 vf 0000:01:00\.0\/1 driver\n      sim:  igbvf\n      qemu: \(absent\)\n/);
    // the write's errno and the operation's outcome
    t.match(out, '✗ fidelity-small › two VFs › sysfs write "3" > /sys/class/net/ens1f0/device/sriov_numvfs (expect EBUSY) (harness/fidelity/fixtures/small.yaml:18)\n');
    t.match(out, '    node1 allocatable intel.com/sriov_netdevice\n      sim:  2\n      qemu: 1\n', 'the plugin advertises one VF less');
    t.match(out, /    ListAndWatch node1 \S+\.sock devices\n      sim:  0000:01:10\.0 Healthy, 0000:01:10\.4 Healthy\n      qemu: 0000:01:10\.0 Healthy\n/, 'the settled device list, per stream');
    t.match(out, '    node1 sysfs write "3" to /sys/class/net/ens1f0/device/sriov_numvfs\n      sim:  errno EBUSY\n      qemu: errno EINVAL\n');
    t.match(out, '    operation outcome\n      sim:  passed\n      qemu: failed: SysfsError EINVAL\n');
    // the step stopped on qemu, so the read did not run there
    t.match(out, /✗ fidelity-small › two VFs › sysfs \S+ \/sys\/class\/net\/ens1f0\/device\/sriov_numvfs.* \(harness\/fidelity\/fixtures\/small\.yaml:19\)\n    operation\n      sim:  ran\n      qemu: not run\n/);
    t.match(out, /✗ fidelity-small \(harness\/fidelity\/fixtures\/small\.yaml\): 2 operations compared, \d+ differences.*; the scenario failed on qemu\n/);
    const c = r.json.comparisons[0];
    t.ok(c.differences.every((d) => d.operation?.location?.file === 'harness/fidelity/fixtures/small.yaml'), 'every difference names its operation file:line');
    t.notOk(c.differences.some((d) => d.what.includes(' vf 0000:01:00.0/0 ')), 'the VF that is there on both sides does not differ');

    // --from: the recorded observations compared again give the same differences, printed the same way
    const dir = mkdtempSync(join(tmpdir(), 'sl-fid-from-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'run.json'), JSON.stringify(r.json));
    let again = '';
    const code = await fidelityCommand(['--from', join(dir, 'run.json'), '--json', join(dir, 'again.json')], { stdout: { write: (s: string) => (again += s) }, stderr: { write: () => true } });
    t.equal(code, 1);
    const body = (s: string) => s.split('\n').filter((l) => !l.startsWith('sriov-lab fidelity:') && !l.startsWith('reproduce:')).join('\n');
    t.equal(body(again), body(out), 'the same output from the recorded observations');
    t.match(again, `compared again from ${join(dir, 'run.json')}`);
    const j = JSON.parse(readFileSync(join(dir, 'again.json'), 'utf8')) as FidelityResult;
    t.same(j.comparisons, r.json.comparisons);
    t.same(j.observations, r.json.observations, 'the observations are kept');
  });
}
