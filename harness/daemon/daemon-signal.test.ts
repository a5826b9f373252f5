// `up` over a stale state dir (its daemon died and left a process, namespaces and a mount) with a user-given device
// plugin command line and CNI binary; then SIGTERM to the daemon alone must leave nothing behind.
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { caps } from '../../sim/caps.ts';
import { bundledCniArgv } from '../plugins.ts';
import { cliFor, until } from './fixtures/cli.ts';
import { DAEMON_ID_ENV, cleanupLeftovers, daemonPaths, findLeftovers, isDaemonAlive, listNetns, readDaemonInfo, type DaemonInfo } from './state.ts';

const missing = [caps.root(), caps.fuse(), caps.netns(), caps.cniPlugins()].find((c) => !c.ok);

if (missing) {
  t.plan(0, `skipped: the simulated cluster needs ${missing.name}: ${missing.detail}`);
} else {
  t.test('stale state is recovered; a user plugin and CNI run in the node; SIGTERM cleans everything', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'sl-sig-'));
    const stateDir = join(dir, 'state');
    const paths = daemonPaths(stateDir);
    const cli = cliFor(stateDir, dir);

    // a daemon that died without cleaning up: dead pid, a marked process, two namespaces, a mount in its work dir
    const dead = spawnSync('sh', ['-c', 'echo $$']);
    const staleId = randomUUID();
    const straggler = spawn('sleep', ['600'], { env: { ...process.env, [DAEMON_ID_ENV]: staleId }, stdio: 'ignore' });
    const staleNetns = `slst${process.pid.toString(36)}-node1`;
    spawnSync('ip', ['netns', 'add', staleNetns]);
    spawnSync('ip', ['netns', 'add', `${staleNetns}-0a1b2c3d`]);
    const staleWork = mkdtempSync(join(tmpdir(), 'sl-sig-work-'));
    mkdirSync(join(staleWork, 'mnt'));
    spawnSync('mount', ['-t', 'tmpfs', 'sl-stale', join(staleWork, 'mnt')]);
    mkdirSync(stateDir, { recursive: true });
    const stale: DaemonInfo = {
      pid: Number(dead.stdout.toString().trim()),
      id: staleId,
      stateDir,
      workDir: staleWork,
      socket: paths.socket,
      log: paths.log,
      startedAt: '2026-01-01T00:00:00.000Z',
      netns: [staleNetns],
    };
    writeFileSync(paths.info, JSON.stringify(stale));
    writeFileSync(paths.socket, ''); // a dead socket file

    let info: DaemonInfo | undefined;
    t.teardown(async () => {
      straggler.kill('SIGKILL');
      await cleanupLeftovers(stale, paths);
      const i = info ?? readDaemonInfo(paths);
      if (i && (isDaemonAlive(i) || existsSync(i.workDir))) {
        await cli(['down']);
        await cleanupLeftovers(i, paths);
      }
      rmSync(dir, { recursive: true, force: true });
    });

    const cni = join(dir, 'my-cni');
    writeFileSync(cni, '#!/bin/sh\necho "my-cni $CNI_COMMAND"\n');
    chmodSync(cni, 0o755);

    const up = await cli(['up', '--device-plugin', `sh -c 'echo "hello from my plugin"; exec sleep 600'`, '--cni', 'my-cni', '--ready-timeout', '1', '--seed', '9']);
    t.equal(up.code, 0, `up exits 0\n${up.stderr}`);
    t.match(up.stderr, new RegExp(`the daemon recorded in .* \\(pid ${stale.pid}\\) is gone; cleaning up what it left: processes ${straggler.pid}; network namespaces `), 'up notices the stale daemon');
    t.equal(straggler.exitCode === null && straggler.signalCode === null ? await new Promise((r) => straggler.once('exit', (_c, s) => r(s))) : straggler.signalCode, 'SIGKILL', 'its leftover process is killed');
    t.same(listNetns().filter((n) => n.startsWith(staleNetns)), [], 'its namespaces are deleted');
    t.notOk(readFileSync('/proc/self/mounts', 'utf8').includes(staleWork), 'its mount is gone');
    t.notOk(existsSync(staleWork), 'its work dir is removed');
    t.match(up.stdout, /^warning: no device plugin resources on node1 after 1000ms; see `sriov-lab logs device-plugin --node node1`$/m, 'a plugin that registers nothing: ready with a warning');
    t.match(up.stdout, /seed 9\)/);

    info = readDaemonInfo(paths);
    t.ok(info && isDaemonAlive(info) && info.id !== staleId, 'a new daemon runs');
    const log = await until('the plugin output in its log', async () => {
      const r = await cli(['logs', 'device-plugin', '--node', 'node1']);
      return r.stdout.includes('hello from my plugin') && r.stdout;
    });
    t.match(log, /^hello from my plugin$/m, 'the user plugin ran inside the node with its quoting intact');

    const link = await cli(['node', 'exec', 'node1', '--', 'readlink', '/opt/cni/bin/sriov']);
    t.equal(link.stdout, `${cni}\n`, '--cni is installed as /opt/cni/bin/sriov');
    const ran = await cli(['node', 'exec', 'node1', '--', 'env', 'CNI_COMMAND=VERSION', '/opt/cni/bin/sriov']);
    t.equal(ran.stdout, 'my-cni VERSION\n', 'and runs inside the node');
    const ehost = await cli(['node', 'exec', 'node1', '--', 'test', '-e', '/opt/cni/bin/ehost-device']);
    t.equal(ehost.code === 0, bundledCniArgv() !== undefined, 'ehost-device is the bundled CNI when there is one');

    const own = findLeftovers(info!);
    t.ok(own.processes.length >= 3 && own.netns.length >= 2, 'the daemon, its sysfs server and the plugin run; the node namespaces exist');
    process.kill(info!.pid, 'SIGTERM');
    await until('the daemon exits after SIGTERM', async () => !isDaemonAlive(info!));
    const left = findLeftovers(info!);
    t.same(left, { processes: [], netns: [], mounts: [], workDirExists: false }, 'SIGTERM leaves no process, namespace, mount or work dir');
    t.notOk(existsSync(paths.info) || existsSync(paths.socket) || existsSync(paths.options), 'and removes its state files');
    t.match(readFileSync(paths.log, 'utf8'), /SIGTERM: stopping the cluster[\s\S]*stopped\n$/, 'the log says why it stopped');

    const down = await cli(['down']);
    t.equal(down.code, 0);
    t.match(down.stderr, /^no simulated cluster is running/);
  });
}
