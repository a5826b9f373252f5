// The TypeScript FUSE server through the real kernel: every operation a process can make, errno to the writer,
// freshness of what the kernel caches, concurrent readers, a server killed with SIGKILL. Needs root and /dev/fuse.
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, statSync, lstatSync, readlinkSync, readdirSync, statfsSync, existsSync } from 'node:fs';
import { caps } from '../../caps.ts';
import { startSysfsServer, isMounted } from '../server-process.ts';
import { connectionOf } from './connection.ts';
import { recoverMount } from './fusectl.ts';

const fuse = caps.fuse();
const PF = '0000:01:00.0';
const NICS = { nics: [{ model: 'intel-i350', pciAddr: PF, ifname: 'ens1f0', numVfs: 2 }] };

/** Runs a python program with the mount as argv[1]; python reports the real errno of a failed write. */
function py(script: string, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('python3', ['-c', script, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const WRITE_ERRNO = `
import os, sys, errno
def w(path, value):
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, value.encode())
        return 'ok'
    except OSError as e:
        return errno.errorcode[e.errno]
    finally:
        os.close(fd)
sys.stdout.write(w(sys.argv[1], sys.argv[2]))
`;

if (!fuse.ok) {
  t.plan(0, `skipped: FUSE sysfs unavailable: ${fuse.detail}`);
} else {
  t.test('every operation a process makes, through the kernel', async (t) => {
    const srv = await startSysfsServer({ model: NICS });
    t.teardown(() => srv.stop());
    const sys = `${srv.mountDir}/sys`;
    const dev = `${sys}/bus/pci/devices/${PF}`;
    // LOOKUP + GETATTR
    const st = statSync(`${dev}/vendor`);
    t.ok(st.isFile());
    t.equal(st.mode & 0o777, 0o444, 'mode of a read-only attribute');
    t.ok(lstatSync(dev).isSymbolicLink(), 'bus/pci/devices/<dev> is a symlink');
    t.ok(statSync(dev).isDirectory(), '… to a directory');
    // READLINK: relative, like the kernel's
    t.match(readlinkSync(dev), /^\.\.\/\.\.\/\.\.\/devices\/pci0000:00\//);
    // READ
    t.equal(readFileSync(`${dev}/vendor`, 'utf8'), '0x8086\n');
    // READDIR with . and ..
    const ls = spawnSync('ls', ['-a', dev], { encoding: 'utf8' }).stdout.split('\n');
    t.ok(ls.includes('.') && ls.includes('..') && ls.includes('sriov_numvfs') && ls.includes('virtfn1'), 'ls -a');
    t.same(readdirSync(`${sys}/bus/pci/devices`).filter((d) => d.startsWith('0000:01')).length, 3, 'the PF and 2 VFs');
    // WRITE + SETATTR (O_TRUNC: bash opens with it; sysfs ignores it on a writable attribute)
    let r = spawnSync('bash', ['-c', `echo 0 > ${dev}/sriov_numvfs && echo 3 > ${dev}/sriov_numvfs && cat ${dev}/sriov_numvfs`], { encoding: 'utf8' });
    t.equal(r.stdout, '3\n', r.stderr);
    r = spawnSync('bash', ['-c', `echo 1 > ${dev}/vendor`], { encoding: 'utf8' });
    t.match(r.stderr, /Permission denied/, 'O_TRUNC of a read-only attribute: EACCES at open');
    r = spawnSync('truncate', ['-s', '0', `${dev}/sriov_numvfs`], { encoding: 'utf8' });
    t.equal(r.status, 0, `truncate of a writable attribute succeeds: ${r.stderr}`);
    t.equal(readFileSync(`${dev}/sriov_numvfs`, 'utf8'), '3\n', '… and changes nothing');
    // STATFS
    const fs = statfsSync(sys);
    t.equal(fs.bsize, 4096);
    // ACCESS (with default_permissions the kernel decides from the mode, as for sysfs)
    r = spawnSync('bash', ['-c', `test -r ${dev}/vendor && test -w ${dev}/sriov_numvfs && ! test -x ${dev}/vendor`], { encoding: 'utf8' });
    t.equal(r.status, 0, 'test -r / -w / ! -x');
    // what sysfs refuses
    r = spawnSync('bash', ['-c', `touch ${dev}/newfile 2>&1; mkdir ${dev}/d 2>&1; rm -f ${dev}/vendor 2>&1; ln -s x ${dev}/l 2>&1`], { encoding: 'utf8' });
    t.match(r.stdout, /touch: .*Permission denied/);
    t.match(r.stdout, /mkdir: .*Read-only file system/);
    t.match(r.stdout, /rm: .*Operation not permitted/);
    t.match(r.stdout, /ln: .*Operation not permitted/);
    // FORGET / BATCH_FORGET: the kernel drops its dentries and inodes and tells the server
    spawnSync('sh', ['-c', 'sync; echo 2 > /proc/sys/vm/drop_caches']);
    await new Promise((res) => setTimeout(res, 200));
    const stats = (await srv.control.request({ op: 'fuse.stats' })).data as { byOp: Record<string, number>; malformed: number };
    t.ok((stats.byOp.FORGET ?? 0) + (stats.byOp.BATCH_FORGET ?? 0) > 0, `forgets reached the server (${JSON.stringify(stats.byOp)})`);
    t.equal(readFileSync(`${dev}/sriov_numvfs`, 'utf8'), '3\n', 'served again after the kernel forgot');
    t.ok((stats.byOp.LOOKUP ?? 0) > 0 && (stats.byOp.GETATTR ?? 0) + (stats.byOp.LOOKUP ?? 0) > 0 && (stats.byOp.READ ?? 0) > 0 && (stats.byOp.WRITE ?? 0) > 0);
    t.equal(stats.malformed, 0, 'the kernel sent nothing malformed');
  });

  t.test('errno of a failed write reaches the writer', async (t) => {
    const srv = await startSysfsServer({ model: NICS });
    t.teardown(() => srv.stop());
    const sys = `${srv.mountDir}/sys`;
    const dev = `${sys}/bus/pci/devices/${PF}`;
    const cases: Array<[string, string, string]> = [
      [`${dev}/sriov_numvfs`, '1', 'EBUSY'], // 2 → 1 without going through 0
      [`${dev}/sriov_numvfs`, 'x', 'EINVAL'],
      [`${dev}/sriov_numvfs`, '99', 'ERANGE'],
      [`${sys}/bus/pci/drivers/igb/unbind`, '0000:99:00.0', 'ENODEV'],
      [`${sys}/bus/pci/drivers/igbvf/bind`, '0000:01:10.0', 'EBUSY'], // already bound
      [`${dev}/sriov_drivers_autoprobe`, '1', 'ok'],
    ];
    for (const [path, value, want] of cases) {
      const r = py(WRITE_ERRNO, path, value);
      t.equal(r.stdout, want, `write "${value}" to ${path.slice(sys.length)}: ${want} ${r.stderr}`);
    }
    await srv.control.request({ op: 'fault.failWrites', path: `/sys/bus/pci/devices/${PF}/sriov_numvfs`, errno: 'ENODEV', count: 1 });
    t.equal(py(WRITE_ERRNO, `${dev}/sriov_numvfs`, '0').stdout, 'ENODEV', 'an injected ENODEV');
    t.equal(py(WRITE_ERRNO, `${dev}/sriov_numvfs`, '0').stdout, 'ok');
  });

  t.test('10,000 write-then-read pairs from another process are all fresh, and so are names', async (t) => {
    const srv = await startSysfsServer({ model: NICS });
    t.teardown(() => srv.stop());
    const sys = `${srv.mountDir}/sys`;
    const dev = `${sys}/bus/pci/devices/${PF}`;
    const vf = `${sys}/bus/pci/devices/0000:01:10.0`;
    // values of different lengths, so a stale size would show as much as stale content
    const r = py(
      `
import os, sys
path = sys.argv[1]
stale = 0
for i in range(10000):
    v = 'drv' + 'x' * (i % 7) + str(i)
    with open(path, 'w') as f:
        f.write(v)
    with open(path) as f:
        got = f.read()
    if got != v + '\\n':
        stale += 1
        if stale < 5: sys.stderr.write('wrote %r read %r\\n' % (v, got))
print(stale)
`,
      `${vf}/driver_override`,
    );
    t.equal(r.stdout.trim(), '0', `no stale read in 10,000 pairs ${r.stderr}`);
    // names: VFs appear and vanish with sriov_numvfs; the kernel's cached dentries must follow at once
    const n = py(
      `
import os, sys
dev = sys.argv[1]
bad = 0
for i in range(300):
    k = 1 + i % 7
    for v in ('0', str(k)):
        with open(dev + '/sriov_numvfs', 'w') as f: f.write(v)
        want = 0 if v == '0' else k
        have = sum(1 for j in range(8) if os.path.exists(dev + '/virtfn%d' % j))
        link_ok = want == 0 or os.path.realpath(dev + '/virtfn%d' % (want - 1)).endswith('/0000:01:1%d.%d' % ((want - 1) // 2, ((want - 1) % 2) * 4))
        if have != want or not link_ok:
            bad += 1
            if bad < 5: sys.stderr.write('numvfs %s: %d virtfn links\\n' % (v, have))
print(bad)
`,
      dev,
    );
    t.equal(n.stdout.trim(), '0', `virtfn links always match sriov_numvfs ${n.stderr}`);
    const stats = (await srv.control.request({ op: 'fuse.stats' })).data as { notifications: number; byOp: Record<string, number> };
    t.ok(stats.notifications > 0, `the server sent invalidations (${stats.notifications})`);
  });

  t.test('8 concurrent readers see whole values while a writer changes them', async (t) => {
    const srv = await startSysfsServer({ model: NICS });
    t.teardown(() => srv.stop());
    const sys = `${srv.mountDir}/sys`;
    const path = `${sys}/bus/pci/devices/0000:01:10.0/driver_override`;
    const values = ['vfio-pci', 'igbvf-override-with-a-longer-name', 'x'];
    const reader = `
import sys
path, n, allowed = sys.argv[1], int(sys.argv[2]), set(v + '\\n' for v in sys.argv[3].split(',')) | {'(null)\\n'}
bad = 0
for i in range(n):
    with open(path) as f:
        got = f.read()
    if got not in allowed:
        bad += 1
        if bad < 3: sys.stderr.write('read %r\\n' % got)
print(bad)
`;
    const writer = `
import sys, time
path, values, until = sys.argv[1], sys.argv[2].split(','), time.time() + float(sys.argv[3])
i = 0
while time.time() < until:
    with open(path, 'w') as f: f.write(values[i % len(values)])
    i += 1
print(i)
`;
    const run = (args: string[]) =>
      new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
        const c = spawn('python3', args, { stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        let err = '';
        c.stdout.on('data', (d: Buffer) => (out += d));
        c.stderr.on('data', (d: Buffer) => (err += d));
        c.on('close', (code) => resolve({ code, out, err }));
      });
    const readers = Array.from({ length: 8 }, () => run(['-c', reader, path, '1500', values.join(',')]));
    const w = run(['-c', writer, path, values.join(','), '3']);
    const results = await Promise.all(readers);
    const wr = await w;
    t.ok(Number(wr.out) > 10, `the writer wrote ${wr.out.trim()} times`);
    results.forEach((r, i) => t.equal(r.out.trim(), '0', `reader ${i}: every read a whole value ${r.err}`));
  });

  t.test('a server killed with SIGKILL: callers return, the mount is recoverable, nothing hangs', async (t) => {
    const srv = await startSysfsServer({ model: NICS }, { ownProcess: true });
    const sys = `${srv.mountDir}/sys`;
    const path = `/sys/bus/pci/devices/${PF}/sriov_numvfs`;
    // a write held in the server by a delay, so that a caller is waiting when the server dies
    await srv.control.request({ op: 'fault.delay', path, delayMs: 60_000, count: 1 });
    const waiter = spawn('bash', ['-c', `echo 0 > ${srv.mountDir}${path}`], { stdio: 'ignore' });
    const exited = new Promise<number | null>((res) => waiter.on('close', (code) => res(code)));
    await new Promise((res) => setTimeout(res, 300));
    const conn = connectionOf(srv.mountDir);
    t.ok(conn !== undefined, `the mount has a fusectl connection (${conn})`);
    process.kill(srv.pid, 'SIGKILL');
    const code = await Promise.race([exited, new Promise<string>((res) => setTimeout(() => res('hung'), 10_000))]);
    t.not(code, 'hung', 'the waiting writer returned');
    t.not(code, 0, 'with an error');
    const s = spawnSync('stat', [sys], { encoding: 'utf8', timeout: 5000 });
    t.not(s.status, 0, 'the dead mount answers with an error, at once');
    t.equal(s.error, undefined, 'stat did not time out');
    const rec = recoverMount(srv.mountDir);
    t.ok(rec.unmounted, 'recoverMount removed it');
    t.notOk(isMounted(srv.mountDir), 'not a mountpoint any more');
    await srv.stop();
    t.notOk(existsSync(`${srv.mountDir}/sys`), 'nothing left under the mount directory');
  });
}
