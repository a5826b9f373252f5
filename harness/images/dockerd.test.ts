// The private dockerd fixture: its own socket and directories, no bridge and no forwarding change on the machine,
// two at once side by side, and everything gone after stop() and after a SIGINT of the process that started it.
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../sim/paths.ts';
import { dockerdUnavailable, ping, startDockerd } from './dockerd.ts';

const why = dockerdUnavailable();
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const forward = () => readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim();

if (why) {
  t.test('private dockerd', { skip: `no private dockerd here: ${why}` }, async () => undefined);
} else {
  t.test('two private daemons side by side, each with its own roots; nothing left after stop', async (t) => {
    const before = forward();
    const [a, b] = await Promise.all([startDockerd(), startDockerd()]);
    t.teardown(() => Promise.all([a.stop(), b.stop()]));
    t.not(a.host, b.host);
    for (const d of [a, b]) {
      const info = spawnSync('docker', ['info', '--format', '{{.DockerRootDir}}'], { env: { ...process.env, ...d.env }, encoding: 'utf8' });
      t.equal(info.stdout.trim(), join(d.dir, 'data'), 'its own data root');
      const nets = spawnSync('docker', ['network', 'ls', '--format', '{{.Name}}'], { env: { ...process.env, ...d.env }, encoding: 'utf8' });
      t.notMatch(nets.stdout, /^bridge$/m, 'no bridge network');
    }
    t.equal(forward(), before, 'ip_forward unchanged');
    t.notOk(existsSync('/sys/class/net/docker0'), 'no docker0');
    await a.stop();
    t.notOk(alive(a.pid), 'the first daemon ended');
    t.notOk(existsSync(a.dir), 'and its directory is gone');
    t.ok(await ping(join(b.dir, 'docker.sock')), 'the other still answers');
    await b.stop();
    t.notOk(existsSync(b.dir));
  });

  t.test('SIGINT of the process that started it: the exit hooks stop it and remove its directory', async (t) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'fixtures', 'dockerd-until-signal.ts')], { cwd: projectRoot(), stdio: ['ignore', 'pipe', 'inherit'] });
    const started = await new Promise<{ pid: number; dir: string }>((resolve, reject) => {
      let text = '';
      child.stdout.setEncoding('utf8').on('data', (c: string) => {
        text += c;
        if (text.includes('\n')) resolve(JSON.parse(text.split('\n')[0]) as { pid: number; dir: string });
      });
      child.once('exit', (code) => reject(new Error(`the fixture exited (${code}) before starting dockerd`)));
    });
    t.ok(alive(started.pid));
    child.kill('SIGINT');
    const status = await new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_c, s) => resolve(s)));
    t.equal(status, 'SIGINT', 'the process still dies of its signal');
    t.notOk(alive(started.pid), 'the daemon ended');
    t.notOk(existsSync(started.dir), 'its directory is gone');
  });
}
