// The sh shim sends link/address commands to the Node wrapper and everything else straight to the real ip.
import t from 'tap';
import { chmodSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ipShimScript } from './ip-shim.ts';

t.test('routing of argv between wrapper and real ip', async (t) => {
  const dir = t.testdir({});
  const shim = join(dir, 'ip');
  // echo stands in for both: the wrapper's output starts with its (quoted) path
  writeFileSync(shim, ipShimScript({ nodePath: '/bin/echo', wrapperPath: "WRAP'PER", realIpPath: '/bin/echo' }));
  chmodSync(shim, 0o755);
  const table: Array<[string, 'wrapper' | 'real']> = [
    ['-d link show ens1f0', 'wrapper'], ['link set ens1f0 vf 0 trust on', 'wrapper'], ['l', 'wrapper'], ['-j -p -d a', 'wrapper'],
    ['address show', 'wrapper'], ['-f inet link show', 'wrapper'], ['-family inet6 a', 'wrapper'], ['-rc 5 link', 'wrapper'],
    ['--json link', 'wrapper'], ['route show', 'real'], ['netns exec x ip link', 'real'], ['addrlabel', 'real'], ['-4 r', 'real'],
    ['-netns ns1 link', 'real'], ['-f link route', 'real'], ['', 'real'], ['-V', 'real'],
  ];
  for (const [argv, want] of table) {
    const args = argv.split(' ').filter(Boolean);
    const r = spawnSync(shim, args, { encoding: 'utf8', env: { ...process.env, SRIOV_LAB_REAL_IP: '' } });
    t.equal(r.status, 0);
    t.equal(r.stdout, want === 'wrapper' ? `WRAP'PER ${argv}\n` : `${argv}\n`, `ip ${argv} → ${want}`);
  }
  const env = spawnSync(shim, ['route'], { encoding: 'utf8', env: { ...process.env, SRIOV_LAB_REAL_IP: '/bin/true' } });
  t.equal(env.stdout, '', 'SRIOV_LAB_REAL_IP overrides the real ip at run time');
});

t.test('the control socket of an adopted container: exported unless the caller set one', async (t) => {
  const dir = t.testdir({});
  const shim = join(dir, 'ip');
  // sh stands in for node: the "wrapper" prints the socket the real wrapper would connect to
  writeFileSync(join(dir, 'show-ctl'), 'echo "$SRIOV_LAB_CTL"\n');
  writeFileSync(shim, ipShimScript({ nodePath: '/bin/sh', wrapperPath: join(dir, 'show-ctl'), realIpPath: '/bin/echo', controlSocketPath: "/run/sriov-lab/host/ctl'sock" }));
  chmodSync(shim, 0o755);
  const env: NodeJS.ProcessEnv = { ...process.env, SRIOV_LAB_REAL_IP: '' };
  delete env.SRIOV_LAB_CTL;
  t.equal(spawnSync(shim, ['link', 'show'], { encoding: 'utf8', env }).stdout, "/run/sriov-lab/host/ctl'sock\n", 'the share’s socket');
  t.equal(spawnSync(shim, ['link', 'show'], { encoding: 'utf8', env: { ...env, SRIOV_LAB_CTL: '/elsewhere.sock' } }).stdout, '/elsewhere.sock\n', 'the caller’s wins');
});

t.test('precise routing when the node publishes its PFs and netns', async (t) => {
  const dir = t.testdir({ pfs: 'ens1f0\nens2f0\n' });
  const nsId = spawnSync('readlink', ['/proc/self/ns/net'], { encoding: 'utf8' }).stdout.trim();
  writeFileSync(join(dir, 'netns-here'), `${nsId}\n`);
  writeFileSync(join(dir, 'netns-other'), 'net:[1]\n');
  const table: Array<[string, 'wrapper' | 'real', 'here' | 'other']> = [
    ['-j -d link show ens1f0', 'wrapper', 'here'],
    ['-j link show dev ens2f0', 'wrapper', 'here'],
    ['link set dev ens1f0 vf 2 vlan 100', 'wrapper', 'here'],
    ['link', 'wrapper', 'here'],
    ['-d a', 'wrapper', 'here'],
    ['link show up', 'wrapper', 'here'],
    ['-j link show dev ens1f0v3', 'real', 'here'],
    ['link set dev ens1f0v3 netns /run/netns/p name net1 up', 'real', 'here'],
    ['address add 10.0.0.1/24 dev eth1', 'real', 'here'],
    ['route show', 'real', 'here'],
    ['-j address show', 'real', 'other'],
    ['-j link show', 'real', 'other'],
    ['link set ens1f0 vf 0 mac 02:00:00:00:00:01', 'wrapper', 'other'],
  ];
  for (const [argv, want, where] of table) {
    const shim = join(dir, `ip-${where}`);
    writeFileSync(
      shim,
      ipShimScript({ nodePath: '/bin/echo', wrapperPath: 'WRAPPER', realIpPath: '/bin/echo', pfListPath: join(dir, 'pfs'), nodeNetnsPath: join(dir, `netns-${where}`) }),
    );
    chmodSync(shim, 0o755);
    const r = spawnSync(shim, argv.split(' '), { encoding: 'utf8', env: { ...process.env, SRIOV_LAB_REAL_IP: '' } });
    t.equal(r.stdout, want === 'wrapper' ? `WRAPPER ${argv}\n` : `${argv}\n`, `ip ${argv} (${where === 'here' ? 'node netns' : 'another netns'}) → ${want}`);
  }
  // the same decisions with nodeNetnsFile (compared by `test -ef`): this process's netns is the shim's, a plain file
  // is no netns at all
  for (const [argv, want, where] of table) {
    const shim = join(dir, `ip-file-${where}`);
    const nodeNetnsFile = where === 'here' ? `/proc/${process.pid}/ns/net` : join(dir, 'pfs');
    writeFileSync(shim, ipShimScript({ nodePath: '/bin/echo', wrapperPath: 'WRAPPER', realIpPath: '/bin/echo', pfListPath: join(dir, 'pfs'), nodeNetnsFile }));
    chmodSync(shim, 0o755);
    const r = spawnSync(shim, argv.split(' '), { encoding: 'utf8', env: { ...process.env, SRIOV_LAB_REAL_IP: '' } });
    t.equal(r.stdout, want === 'wrapper' ? `WRAPPER ${argv}\n` : `${argv}\n`, `nodeNetnsFile: ip ${argv} (${where === 'here' ? 'node netns' : 'another netns'}) → ${want}`);
  }
});


t.test('batches: to the wrapper when the first stdin line (or a line of the file) needs it, stdin intact', async (t) => {
  const dir = t.testdir({
    pfs: 'ens1f0\n',
    'wrapper.sh': 'echo "WRAPPER $* first=$SRIOV_LAB_IP_BATCH_FIRST"; cat\n',
    'real.sh': '#!/bin/sh\necho "REAL $*"; cat\n',
    'vf.batch': 'link set dev x up\nlink set dev ens1f0 vf 0 vlan 3\n',
    'plain.batch': 'link set dev x up\naddress add 10.0.0.1/24 dev x\n',
  });
  chmodSync(join(dir, 'real.sh'), 0o755);
  const nsId = spawnSync('readlink', ['/proc/self/ns/net'], { encoding: 'utf8' }).stdout.trim();
  writeFileSync(join(dir, 'netns-here'), `${nsId}\n`);
  const shim = join(dir, 'ip');
  writeFileSync(shim, ipShimScript({ nodePath: '/bin/sh', wrapperPath: join(dir, 'wrapper.sh'), realIpPath: join(dir, 'real.sh'), pfListPath: join(dir, 'pfs'), nodeNetnsPath: join(dir, 'netns-here') }));
  chmodSync(shim, 0o755);
  const run = (args: string, input: string) => spawnSync(shim, args.split(' '), { encoding: 'utf8', input, env: { ...process.env, SRIOV_LAB_REAL_IP: '' } });
  let r = run('-j -batch -', 'link show\nlink set dev ens1f0 vf 0 trust on\n');
  t.equal(r.stdout, 'WRAPPER -j -batch - first=link show\nlink set dev ens1f0 vf 0 trust on\n', 'a listing first: the wrapper, handed the line it read');
  r = run('-b -', 'link set dev ens1f0 vf 1 vlan 5\n');
  t.equal(r.stdout, 'WRAPPER -b - first=link set dev ens1f0 vf 1 vlan 5\n', '"-b" is -batch');
  r = run('-batch -', 'link set dev x netns /run/netns/p name net1 up\naddress add 10.0.0.1/24 dev x\n');
  t.equal(r.stdout, 'REAL -batch -\nlink set dev x netns /run/netns/p name net1 up\naddress add 10.0.0.1/24 dev x\n', 'else the real ip, with the line read put back');
  r = run('-br link show', '');
  t.equal(r.stdout, 'WRAPPER -br link show first=\n', '"-br" is -brief, no batch');
  t.equal(run(`-batch ${join(dir, 'vf.batch')}`, '').stdout, `WRAPPER -batch ${join(dir, 'vf.batch')} first=\n`, 'a file with a VF line: the wrapper');
  t.equal(run(`-force -batch ${join(dir, 'plain.batch')}`, '').stdout, `REAL -force -batch ${join(dir, 'plain.batch')}\n`, 'a file without: the real ip');
});
