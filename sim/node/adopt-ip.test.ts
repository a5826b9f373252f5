// The ip wrapper of an adopted container (a kind node), bound over its ip and given back, on a process of mount and
// PID namespaces of its own with its own /proc and /run, as a container has them: the way back must run in the
// container's PID namespace (umount outside it fails: its /proc has no /proc/self for us). No Docker needed.
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { caps } from '../caps.ts';
import { NODE_PATHS, inContainerMountNs, unwrapContainerIp, wrapContainerIp } from './node.ts';

const root = caps.root();

/** a "container": unshare's child in new mount and PID namespaces, its own /proc and a tmpfs /run */
async function container(t: { teardown(f: () => void): void }): Promise<number> {
  const c = spawn('unshare', ['--mount', '--pid', '--fork', '--kill-child', '--mount-proc', '--propagation', 'private', '--', 'sh', '-c', 'mount -t tmpfs sl-run /run && echo up && exec sleep 600'], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => void c.kill('SIGKILL'));
  await new Promise<void>((resolve, reject) => {
    c.stdout!.once('data', () => resolve());
    c.once('exit', (code) => reject(new Error(`unshare exited (${code})`)));
  });
  const pid = Number(spawnSync('pgrep', ['-P', String(c.pid)], { encoding: 'utf8' }).stdout.trim());
  if (!(pid > 0)) throw new Error(`no child of unshare ${c.pid}`);
  return pid;
}

if (!root.ok) t.plan(0, `skipped: the namespaces need root (${root.detail})`);
else {
  t.test('wrapContainerIp / unwrapContainerIp', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'sl-adoptip-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const shim = join(dir, 'ip');
    writeFileSync(shim, `#!/bin/sh\necho "shim: $*"\nexec ${NODE_PATHS.realIp} "$@"\n`);
    chmodSync(shim, 0o755);
    const pid = await container(t);
    const inside = async (cmd: string) => (await inContainerMountNs(pid, cmd, [], true)).stdout;

    await wrapContainerIp(pid, shim);
    t.match(await inside('ip -V'), /^shim: -V\nip utility, iproute2/, 'ip in the container is the shim, which runs the real ip kept at ip.real');
    t.match(await inside('cat /run/sriov-lab/ip.bound'), /\/ip\n$/, 'the files bound over are listed');
    t.notMatch(spawnSync('ip', ['-V'], { encoding: 'utf8' }).stdout, /shim/, 'this machine’s ip is untouched');

    await unwrapContainerIp(pid);
    t.match(await inside('ip -V'), /^ip utility, iproute2/, 'the container has its own ip back');
    t.equal(await inside('ls /run/sriov-lab'), '', 'and nothing left in its /run/sriov-lab');
    t.notMatch(await inside('cat /proc/self/mountinfo'), /\/ip(\.real)? /, 'no bind over ip is left');
    await t.rejects(unwrapContainerIp(pid), /giving the container of PID \d+ its ip back: .*ip\.real/s, 'a second time fails, saying what it could not undo');
  });
}
