// The scenario library on the sim backend with the bundled plugins: every scenario passes; the same library with
// the bundled device plugin given as a third-party command line gives the same results; a broken expectation
// fails with a diff that points at its file and step.
import t from 'tap';
import { join } from 'node:path';
import { projectRoot } from '../../sim/paths.ts';
import { runToResult } from '../runner/command.ts';
import { joinCommandLine } from '../runner/shell-words.ts';
import { bundledDevicePluginArgv } from '../plugins.ts';
import { simBackend } from './sim.ts';

const root = projectRoot();

/** the reproductions of upstream bug reports (scenarios/upstream/) */
const UPSTREAM = ['sriov-cni-119', 'sriov-cni-126', 'sriov-cni-219', 'sriov-cni-349', 'sriov-dp-685', 'sriov-dp-8', 'sriov-dp-181', 'sriov-dp-262', 'sriov-dp-369', 'sriov-dp-565', 'sriov-op-443'].map((n) => `upstream-${n}`);

const run = (args: string[]) => runToResult(args, [simBackend], root);

const available = await simBackend.available();
if (!available.ok) {
  t.plan(0, `skipped: the sim backend cannot run here: ${available.reason}`);
} else {
  t.test('every scenario of the library passes on sim with the bundled plugins', async (t) => {
    const r = await run([join(root, 'scenarios'), '--seed', '7']);
    const statuses = Object.fromEntries(r.result.scenarios.map((s) => [s.name, s.status]));
    t.ok(r.result.scenarios.length >= 24, `${r.result.scenarios.length} scenarios ran`);
    for (const name of UPSTREAM) t.equal(statuses[name], 'passed', `${name} is part of the library and passes`);
    t.same(
      r.result.scenarios
        .filter((s) => s.status !== 'passed')
        .map((s) => `${s.name}: ${s.status} ${s.skipReason ?? ''}${s.steps.flatMap((st) => st.operations).find((o) => o.error)?.error?.message ?? ''}`),
      [],
      'all passed',
    );
    t.equal(r.code, 0, r.err.slice(-2000));
    t.match(r.out, /\d+ scenarios: 0 failed, \d+ passed/, 'the terminal summary');
    for (const s of r.result.scenarios) t.ok(s.durationMs > 0, `${s.name} has a wall time (${s.durationMs} ms)`);
    t.comment(JSON.stringify(statuses));

    // the same library with the bundled plugin run as a third-party command line
    const argv = bundledDevicePluginArgv();
    const third = await run([join(root, 'scenarios'), '--seed', '7', '--device-plugin', joinCommandLine(argv)]);
    for (const s of third.result.scenarios.filter((x) => x.status === 'failed')) {
      t.comment(`${s.name}: ${s.steps.flatMap((st) => st.operations).find((o) => o.error)?.error?.message ?? ''}`);
    }
    t.same(
      Object.fromEntries(third.result.scenarios.map((s) => [s.name, s.status])),
      statuses,
      'same results with --device-plugin',
    );
    const dp = third.result.run.plugins.find((p) => p.role === 'device-plugin');
    t.match(dp, { bundled: false, path: argv[0] }, 'the report names the third-party plugin');
  });

  t.test('a broken expectation fails with a diff pointing at its file and step', async (t) => {
    const r = await run([join(root, 'harness/backends/fixtures/broken-expectation.yaml'), '--seed', '1']);
    t.equal(r.code, 1);
    const s = r.result.scenarios[0];
    t.equal(s.status, 'failed');
    const step = s.steps.find((x) => x.status === 'failed');
    t.equal(step?.name, 'claim three');
    const op = step?.operations.find((o) => o.status === 'failed');
    t.match(op?.error, { name: 'WaitTimeoutError', location: { file: 'harness/backends/fixtures/broken-expectation.yaml', line: 19 } });
    t.match(op?.error?.diff ?? '', /-\s+intel\.com\/sriov_netdevice: "3"\n\+\s+intel\.com\/sriov_netdevice: "2"/);
    t.match(r.out, /harness\/backends\/fixtures\/broken-expectation\.yaml:19:\d+/, 'the terminal names file:line:column');
    t.ok(s.attachments?.some((a) => a.name === 'node1/sysfs.txt' && a.body.includes('sriov_numvfs = 2')), 'the catch collected a sysfs dump');
  });
}
