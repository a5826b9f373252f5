// `sriov-lab vm up|list|exec|down`: a VM that outlives the command that started it, used by name from others.
import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { caps } from '../../sim/caps.ts';

const qemu = caps.qemu();
const main = fileURLToPath(new URL('./testdata/vm-cli-main.ts', import.meta.url));

function cli(args: string[], input?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--import', 'tsx', main, ...args], { env: { ...process.env, SRIOV_LAB_RUN_DIR: runRoot } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d));
    p.stderr.on('data', (d: Buffer) => (stderr += d));
    p.on('close', (code) => resolve({ code, stdout, stderr }));
    p.stdin.end(input ?? '');
  });
}
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
let runRoot = '';

if (!qemu.ok) {
  t.plan(0, `skipped: QEMU with igb is needed: ${qemu.detail}`);
} else {
  runRoot = mkdtempSync(join(tmpdir(), 'sl-vm-cli-'));
  t.teardown(() => {
    // whatever happened above, no VM survives the test
    const state = join(runRoot, 'cli1', 'vm.json');
    if (existsSync(state)) {
      const pid = (JSON.parse(readFileSync(state, 'utf8')) as { pid: number }).pid;
      if (alive(pid)) process.kill(pid, 'SIGKILL');
    }
    rmSync(runRoot, { recursive: true, force: true });
  });

  t.test('up, list, exec (argv, stdin, exit code), down', async (t) => {
    const up = await cli(['up', 'cli1', '--igb', '1', '--virtio', '1', '--quiet']);
    t.equal(up.code, 0, up.stderr);
    t.match(up.stdout, /VM cli1 running \(pid \d+, (tcg|kvm)/);
    t.match(up.stdout, /0000:01:00\.0\s+igb\s+igb\s+eth\d/);
    const pid = Number(/pid (\d+)/.exec(up.stdout)?.[1]);
    t.ok(alive(pid), 'QEMU outlives `vm up`');
    t.match((await cli(['list'])).stdout, new RegExp(`^cli1\\trunning\\tpid ${pid}\\t`, 'm'));
    const ex = await cli(['exec', 'cli1', '--', 'sh', '-c', 'cat; echo "$1" >&2; exit 3', 'sh', 'an arg'], 'from stdin\n');
    t.equal(ex.code, 3);
    t.equal(ex.stdout, 'from stdin\n');
    t.equal(ex.stderr, 'an arg\n');
    const guest = await cli(['exec', 'cli1', '--guest', '-n', '--', 'cat', '/proc/sys/kernel/hostname']);
    t.equal(guest.stdout, 'cli1\n');
    const again = await cli(['up', 'cli1']);
    t.not(again.code, 0, 'a second up of a running VM is refused');
    t.match(again.stderr, /VM cli1 already runs \(pid \d+\); sriov-lab vm down cli1 first/);
    const down = await cli(['down', 'cli1']);
    t.equal(down.code, 0);
    t.notOk(alive(pid), 'QEMU is gone after down');
    t.notOk(existsSync(join(runRoot, 'cli1')), 'its run dir too');
    const gone = await cli(['exec', 'cli1', '-n', '--', 'true']);
    t.not(gone.code, 0);
    t.match(gone.stderr, /no VM named cli1/);
  });
}
