// Ctrl-C during `run` on a backend with exit hooks (qemu's VM, the cluster backend's namespace, host's journal): the
// hooks used to run on the same SIGINT, tear the backend down and re-raise the signal, which `run` took for a second
// Ctrl-C ("interrupted twice, exiting without cleanup") and exited with no report. While `run` handles Ctrl-C the
// hooks leave SIGINT to it.
import t from 'tap';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from '../../sim/paths.ts';

function start(mode: string): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_OPTIONS' && !k.startsWith('TAP') && !k.startsWith('_TAP')));
  const p = spawn(process.execPath, ['--import', 'tsx', join(projectRoot(), 'harness/runner/fixtures/interrupt-hooks.ts'), mode], { cwd: projectRoot(), env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  p.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    if (stdout.startsWith('ready\n') && !p.killed) p.kill('SIGINT');
  });
  p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((res) => p.once('exit', (code, signal) => res({ code, signal, stdout, stderr })));
}

t.test('while run handles Ctrl-C, the exit hooks leave SIGINT to it', async (t) => {
  const r = await start('deferred');
  t.equal(r.code, 0, `the process finished its own cleanup and exited 0\n${r.stderr}`);
  t.notMatch(r.stdout, /hook ran/, 'the backend hook did not run under the run');
  t.match(r.stdout, /cleaned up by the run/);
  t.match(r.stderr, /interrupting: finishing the current scenario's cleanup/);
  t.notMatch(r.stderr, /interrupted twice/);
});

t.test('without it, SIGINT runs the hooks and the process dies of SIGINT', async (t) => {
  const r = await start('plain');
  t.equal(r.signal, 'SIGINT', `died of the re-raised signal\n${r.stderr}`);
  t.match(r.stdout, /hook ran/);
});
