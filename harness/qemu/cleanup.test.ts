// A VM never outlives the process that started it: Ctrl-C runs the exit hooks (QEMU killed, sockets removed) and a
// SIGKILLed parent takes QEMU with it (pdeathsig).
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { caps } from '../../sim/caps.ts';

const qemu = caps.qemu();
const helper = fileURLToPath(new URL('./testdata/start-vm.ts', import.meta.url));

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const until = async (f: () => boolean, ms: number): Promise<boolean> => {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (f()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return f();
};
const qemusNamed = (name: string): string[] =>
  spawnSync('pgrep', ['-f', `sriov-lab-${name} `], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);

if (!qemu.ok) {
  t.plan(0, `skipped: QEMU with igb is needed: ${qemu.detail}`);
} else {
  for (const [signal, when] of [
    ['SIGINT', 'booting'],
    ['SIGINT', 'booted'],
    ['SIGKILL', 'booting'],
  ] as const) {
    t.test(`${signal} while ${when}: no QEMU left`, async (t) => {
      const runDir = mkdtempSync(join(tmpdir(), 'sl-vm-cleanup-'));
      const name = `cleanup-${process.pid}-${signal.toLowerCase()}-${when}`;
      t.teardown(() => rmSync(runDir, { recursive: true, force: true }));
      const child = spawn(process.execPath, ['--import', 'tsx', helper, runDir, name], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
      const exited = new Promise<[number | null, NodeJS.Signals | null]>((res) => child.on('exit', (c, s) => res([c, s])));
      t.teardown(() => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      });
      const pidFile = join(runDir, 'qemu.pid');
      t.ok(await until(() => existsSync(pidFile), 60_000), `QEMU started (${err.trim().split('\n').pop()})`);
      const pid = Number(readFileSync(pidFile, 'utf8'));
      t.ok(alive(pid), `QEMU pid ${pid} runs`);
      if (when === 'booted') t.ok(await until(() => out.includes('booted'), 120_000), 'the VM booted');
      child.kill(signal);
      t.same(await exited, [null, signal], `the parent still dies of ${signal}`);
      t.ok(await until(() => !alive(pid), 10_000), 'QEMU is gone');
      t.same(qemusNamed(name), [], 'no QEMU process with the VM name');
      if (signal === 'SIGINT') {
        t.notOk(existsSync(join(runDir, 'agent.sock')), 'agent socket removed');
        t.notOk(existsSync(pidFile), 'pid file removed');
      }
    });
  }
}
