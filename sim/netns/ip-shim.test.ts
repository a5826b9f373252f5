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
});

