// The CNI image's install step: its arguments, the copy under a temporary name renamed into place, further names as
// hard links, and a clear error when the host directory is not there.
import t from 'tap';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { installCopies, parseInstallArgs } from './install.ts';

t.test('arguments', async (t) => {
  t.same(parseInstallArgs([]), { dest: '/host/opt/cni/bin', names: ['sriov'], once: false });
  t.same(parseInstallArgs(['--dest', '/d', '--as', 'sriov', '--as', 'ehost-device', '--once']), { dest: '/d', names: ['sriov', 'ehost-device'], once: true });
  for (const [args, msg] of [
    [['--dest'], /install: --dest needs a value/],
    [['--as', '--once'], /install: --as needs a value/],
    [['--as', '../sriov'], /install: --as \.\.\/sriov: a file name, not a path/],
    [['--nope'], /install: unknown argument --nope\n\nUsage: sriov install/],
  ] as const) t.throws(() => parseInstallArgs([...args]), { message: msg }, args.join(' '));
});

t.test('copies, links the further names, leaves no temporary file; re-running replaces in place', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cni-install-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const self = join(dir, 'self');
  writeFileSync(self, 'ELF…');
  const dest = join(dir, 'bin');
  t.throws(() => installCopies(self, { dest, names: ['sriov'], once: true }), { message: `install: ${dest} is not a directory (mount the host's /opt/cni/bin there)` });
  mkdirSync(dest);
  t.same(installCopies(self, { dest, names: ['sriov', 'ehost-device'], once: true }), [join(dest, 'sriov'), join(dest, 'ehost-device')]);
  t.same(readdirSync(dest).sort(), ['ehost-device', 'sriov']);
  t.equal(statSync(join(dest, 'sriov')).mode & 0o777, 0o755);
  t.equal(statSync(join(dest, 'ehost-device')).ino, statSync(join(dest, 'sriov')).ino, 'a hard link');
  t.not(statSync(join(dest, 'sriov')).ino, statSync(self).ino, 'the first is a copy');
  writeFileSync(self, 'ELF v2');
  installCopies(self, { dest, names: ['sriov'], once: true });
  t.equal(readFileSync(join(dest, 'sriov'), 'utf8'), 'ELF v2', 'a second install replaces the file');
  t.same(readdirSync(dest).sort(), ['ehost-device', 'sriov']);
});
