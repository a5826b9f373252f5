// Ctrl-C on `sriov-lab run … | tee log`: Ctrl-C kills tee too, so the run's writes to stdout fail with EPIPE while it
// cleans up; the cleanup must not depend on stdout being writable. Here the reader of the run's stdout is gone from
// the start, and the run gets SIGINT while its node is up: it must exit 1 (interrupted) with no network namespace left.
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { caps } from '../../sim/caps.ts';
import { projectRoot } from '../../sim/paths.ts';

const missing = [caps.root(), caps.fuse(), caps.netns(), caps.cniPlugins()].find((c) => !c.ok);
const netns = () => new Set(spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout.split('\n').map((l) => l.split(' ')[0]).filter((n) => n.startsWith('sl')));

if (missing) {
  t.plan(0, `skipped: an interrupted run needs the simulator: ${missing.name}: ${missing.detail}`);
} else {
  t.test('SIGINT with stdout a broken pipe: the run cleans up and exits 1', async (t) => {
    const before = netns();
    // the CLI as a user starts it: without tap's loaders and environment
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_OPTIONS' && !k.startsWith('TAP') && !k.startsWith('_TAP')));
    const p = spawn(process.execPath, ['--import', 'tsx', join(projectRoot(), 'harness/cli/main.ts'), 'run', join(projectRoot(), 'harness/runner/fixtures/long-sleep.yaml'), '--seed', '3'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: projectRoot(),
      env,
    });
    p.stdout.destroy(); // the reader is gone: every write to stdout fails with EPIPE
    let stderr = '';
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | string | null>((r) => p.once('exit', (code, sig) => r(code ?? sig)));
    // the run's own namespaces: new ones named from its pid (sim/node's run ids start with the pid in base 36), so
    // another test file's nodes, started meanwhile, are not taken for them
    const runPrefix = `sl${p.pid!.toString(36)}`;
    let ours: string[] = [];
    for (let i = 0; i < 300 && ours.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      ours = [...netns()].filter((n) => !before.has(n) && n.startsWith(runPrefix));
    }
    t.ok(ours.length > 0, `the run's node is up (${ours.join(', ')})`);
    await new Promise((r) => setTimeout(r, 500));
    p.kill('SIGINT');
    t.equal(await exited, 1, `an interrupted run exits 1, as a failed one\n${stderr.slice(-2000)}`);
    t.match(stderr, /interrupting: finishing the current scenario's cleanup/);
    const prefix = ours[0].split('-')[0];
    const left = [...netns()].filter((n) => n.startsWith(`${prefix}-`));
    t.same(left, [], 'no network namespace of the run left when it has exited');
  });
}
