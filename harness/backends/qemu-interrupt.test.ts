// Ctrl-C during `sriov-lab run --backend qemu` while the guest boots: the VM's exit hook leaves SIGINT to the run, the
// boot is abandoned (QEMU stopped, its run directory removed), the report is written saying the run was interrupted,
// and the run exits 1 — rather than "interrupted twice, exiting without cleanup" and no report.
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../../sim/paths.ts';
import type { RunResult } from '../../reports/types.ts';
import { qemuBackend } from './qemu.ts';

const root = projectRoot();
const available = await qemuBackend.available();
const missingBundles = ['sriov-lab', 'sriov-lab-node-agent', 'sriov-lab-cni', 'sriov-lab-device-plugin'].filter((b) => !existsSync(join(root, 'dist', `${b}.mjs`)));

/** the QEMU processes of the run with this pid (its VM names carry it) */
const qemusOf = (pid: number): string[] =>
  spawnSync('pgrep', ['-a', '-f', 'qemu-system-x86_64'], { encoding: 'utf8' }).stdout.split('\n').filter((l) => l.includes(`-${pid} `) || l.includes(`-${pid}-`));

if (!available.ok) {
  t.plan(0, `skipped: the qemu backend cannot run here: ${available.reason}`);
} else if (missingBundles.length) {
  t.plan(0, `skipped: dist bundles missing (${missingBundles.join(', ')}): run npm run build`);
} else {
  t.setTimeout(600_000);
  t.test('SIGINT while the guest boots: QEMU stopped, report written, exit 1', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'sl-qemu-int-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const report = join(dir, 'run.json');
    const c = spawn(process.execPath, [join(root, 'bin/sriov-lab.js'), 'run', '--backend', 'qemu', 'scenarios/tutorial/sriov-kernel.yaml', '--json', report], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    t.teardown(() => {
      if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    });
    let out = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const closed = new Promise<string>((resolve) => c.on('close', (code, signal) => resolve(signal ?? String(code))));
    // the guest artefacts may be built first (minutes on a fresh machine): wait for QEMU itself
    for (let i = 0; i < 4000 && qemusOf(c.pid!).length === 0 && c.exitCode === null; i++) await new Promise((r) => setTimeout(r, 100));
    t.ok(qemusOf(c.pid!).length > 0, `QEMU started\n${out.slice(-1500)}`);
    c.kill('SIGINT');
    t.equal(await closed, '1', `the interrupted run exits 1\n${out.slice(-3000)}`);
    t.notMatch(out, /interrupted twice/, 'one Ctrl-C is not taken for two');
    t.same(qemusOf(c.pid!), [], 'no QEMU of the run left');
    const run = JSON.parse(readFileSync(report, 'utf8')) as RunResult;
    t.equal(run.run.interrupted, true, 'the report says the run was interrupted');
    t.same(run.scenarios.map((s) => [s.name, s.error?.name]), [['tutorial-sriov-kernel', 'InterruptedError']]);
  });
}
