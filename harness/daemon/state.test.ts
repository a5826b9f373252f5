// The state dir's bookkeeping: where it is, reading daemon.json, and recognising a daemon's processes by marker.
import t from 'tap';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DAEMON_ID_ENV, daemonPaths, findLeftovers, isDaemonAlive, leftoversEmpty, processesOf, readDaemonInfo, resolveStateDir, writeDaemonInfo, type DaemonInfo } from './state.ts';

const dir = mkdtempSync(join(tmpdir(), 'sl-state-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

t.test('the state dir: SRIOV_LAB_STATE_DIR first, /run for root', async (t) => {
  t.equal(resolveStateDir({ SRIOV_LAB_STATE_DIR: '/tmp/x' }), '/tmp/x');
  if (process.getuid?.() === 0) t.equal(resolveStateDir({}), '/run/sriov-lab/cluster');
  else t.equal(resolveStateDir({ XDG_RUNTIME_DIR: '/run/user/1000' }), '/run/user/1000/sriov-lab/cluster');
  t.same(daemonPaths('/s'), { stateDir: '/s', info: '/s/daemon.json', socket: '/s/control.sock', log: '/s/daemon.log', options: '/s/options.json', kubeconfig: '/s/kubeconfig' });
});

t.test('daemon.json: missing, half-written and complete', async (t) => {
  const paths = daemonPaths(join(dir, 'a'));
  mkdirSync(paths.stateDir);
  t.equal(readDaemonInfo(paths), undefined, 'missing');
  writeFileSync(paths.info, '{"pid": 12');
  t.equal(readDaemonInfo(paths), undefined, 'half-written (a daemon killed mid-write) reads as nothing');
  writeFileSync(paths.info, '{"id": "x"}');
  t.equal(readDaemonInfo(paths), undefined, 'without a pid');
  const info: DaemonInfo = { pid: 42, id: 'abc', stateDir: paths.stateDir, workDir: '/tmp/w', socket: paths.socket, log: paths.log, startedAt: 'now', netns: ['sl1-node1'] };
  writeDaemonInfo(paths, info);
  t.same(readDaemonInfo(paths), info, 'written atomically, read back');
});

t.test('a daemon is recognised by its marker, never by its pid alone', async (t) => {
  const id = randomUUID();
  // "ready" is printed after exec, so /proc/<pid>/environ is the new program's
  const started = (env: NodeJS.ProcessEnv) => {
    const c = spawn('sh', ['-c', 'echo ready; exec sleep 60'], { env, stdio: ['ignore', 'pipe', 'ignore'] });
    return { c, ready: new Promise((r) => c.stdout.once('data', r)) };
  };
  const m = started({ ...process.env, [DAEMON_ID_ENV]: id });
  const u = started(process.env);
  const marked = m.c;
  const unmarked = u.c;
  t.teardown(() => {
    marked.kill('SIGKILL');
    unmarked.kill('SIGKILL');
  });
  await Promise.all([m.ready, u.ready]);
  const base = { stateDir: dir, workDir: '', socket: '', log: '', startedAt: '', netns: [] };
  t.ok(isDaemonAlive({ ...base, pid: marked.pid!, id }), 'the marked process is the daemon');
  t.notOk(isDaemonAlive({ ...base, pid: unmarked.pid!, id }), 'a process with a recycled pid is not');
  t.same(processesOf(id), [marked.pid], 'processesOf finds exactly the marked process');
  t.notOk(leftoversEmpty(findLeftovers({ id, workDir: '', netns: [] })), 'a running marked process is a leftover');
  marked.kill('SIGKILL');
  await new Promise((r) => marked.once('exit', r));
  t.notOk(isDaemonAlive({ ...base, pid: marked.pid!, id }), 'a dead daemon is not alive');
  t.ok(leftoversEmpty(findLeftovers({ id, workDir: join(dir, 'no-such-dir'), netns: [] })), 'nothing left');
});
