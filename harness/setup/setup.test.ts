// sriov-lab setup: which packages for which target on which machine, and what it runs, with a fake machine and a
// recording runner (no apt); then the real CLI once, as a dry run.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { findChromium } from '../../sim/caps.ts';
import { join } from 'node:path';
import { projectRoot } from '../../sim/paths.ts';
import { setupCommand, backendArg } from './command.ts';
import { BACKPORTS_LIST, mirrorUri, oneCommand, parseOsRelease, plan, setup, systemProbe, systemRunner, unavailableReason, type Probe, type Runner, type SetupIo, type SetupTarget } from './setup.ts';

const BOOKWORM = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\n';
const TRIXIE = 'ID=debian\nVERSION_CODENAME=trixie\n';
const UBUNTU = 'ID=ubuntu\nID_LIKE=debian\nVERSION_CODENAME=noble\n';
const MIRROR = 'http://mirror.invalid/debian';
const DEB822 =
  `Types: deb\nURIs: http://security.invalid/debian-security\nSuites: bookworm-security\nComponents: main\n\n` +
  `Types: deb\nURIs: ${MIRROR}\nSuites: bookworm bookworm-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n`;

/** What each package puts on the fake machine when "installed". */
const INSTALLS: Record<string, { cmds?: string[]; files?: string[]; igb?: boolean }> = {
  iproute2: { cmds: ['ip'] },
  'containernetworking-plugins': { files: ['/usr/lib/cni/host-device', '/usr/lib/cni/host-local', '/usr/lib/cni/bridge'] },
  'util-linux': { cmds: ['unshare', 'nsenter'] },
  mount: { cmds: ['mount', 'umount'] },
  chromium: { files: ['/usr/bin/chromium'] },
  procps: { cmds: ['pgrep', 'pkill'] },
  psmisc: { cmds: ['fuser'] },
  'docker.io': { cmds: ['dockerd', 'docker', 'containerd', 'runc'] },
  'qemu-system-x86': { cmds: ['qemu-system-x86_64'], igb: true },
  'xz-utils': { cmds: ['xz'] },
};

interface MachineSpec {
  /** packages whose files are present */
  has?: string[];
  root?: boolean;
  osRelease?: string;
  apt?: boolean;
  /** path → content (sources files) */
  files?: Record<string, string>;
  /** QEMU present but 7.2, without igb */
  oldQemu?: boolean;
  /** what `apt-get install` of a package really does here (default: INSTALLS) */
  installs?: Record<string, { cmds?: string[]; files?: string[]; igb?: boolean }>;
}

/** Debian 12 as a fresh build machine has it (minbase + iproute2 + procps): the default. */
const FRESH = ['iproute2', 'util-linux', 'mount', 'procps'];

function machine(spec: MachineSpec = {}) {
  const cmds = new Set<string>(spec.apt === false ? [] : ['apt-get']);
  const files = new Map<string, string>(Object.entries({ '/etc/os-release': spec.osRelease ?? BOOKWORM, '/etc/apt/sources.list.d/debian.sources': DEB822, ...spec.files }));
  let igb = false;
  const add = (pkg: string) => {
    const e = (spec.installs ?? INSTALLS)[pkg] ?? {};
    e.cmds?.forEach((c) => cmds.add(c));
    e.files?.forEach((f) => files.set(f, ''));
    if (e.igb) igb = true;
  };
  (spec.has ?? FRESH).forEach(add);
  if (spec.oldQemu) cmds.add('qemu-system-x86_64');
  const probe = (): Probe => ({
    hasFile: (p) => files.has(p),
    hasCommand: (c) => cmds.has(c),
    qemuHasIgb: () => igb,
    isRoot: () => spec.root ?? true,
    readFile: (p) => files.get(p),
    listDir: (d) => [...files.keys()].filter((f) => f.startsWith(`${d}/`)).map((f) => f.slice(d.length + 1)),
    env: () => ({}),
  });
  const calls: string[] = [];
  const frontends = new Set<string | undefined>();
  const runner: Runner & { fail?: string } = {
    async run(cmd, args, env, out) {
      calls.push([cmd, ...args].join(' '));
      frontends.add(env.DEBIAN_FRONTEND);
      if (runner.fail && calls.at(-1)!.includes(runner.fail)) return { code: 100, tail: ['E: Unable to locate package'] };
      if (args[0] === 'install') args.filter((a) => !a.startsWith('-') && a !== 'install' && a !== 'bookworm-backports').forEach(add);
      out(`(apt output of ${args[0]})`);
      return { code: 0, tail: [] };
    },
    writeFile(path, text) {
      calls.push(`write ${path}: ${text.trim().split('\n').at(-1)}`);
      files.set(path, text);
    },
  };
  let out = '';
  const io = (env: Record<string, string> = {}): SetupIo => ({ probe, runner, out: (l) => (out += `${l}\n`), env, now: () => 0 });
  return { probe, runner, calls, frontends, io, out: () => out };
}

const names = (target: SetupTarget, spec?: MachineSpec) => {
  const p = plan(target, machine(spec).probe());
  return { missing: p.missing.map((s) => s.name), main: p.main, backports: p.backports, addSource: p.addSource?.line, problem: p.problem };
};

t.test('which packages, for which target, on which machine', async (t) => {
  const ALL = Object.keys(INSTALLS);
  const cases: Array<{ name: string; target: SetupTarget; spec?: MachineSpec; expect: Partial<ReturnType<typeof names>> }> = [
    { name: 'fresh Debian 12, sim', target: 'sim', expect: { missing: ['containernetworking-plugins'], main: ['containernetworking-plugins'], backports: [], addSource: undefined } },
    {
      name: 'fresh Debian 12, qemu: QEMU from backports, the mirror taken from debian.sources',
      target: 'qemu',
      expect: { main: ['containernetworking-plugins', 'xz-utils'], backports: ['qemu-system-x86'], addSource: `deb ${MIRROR} bookworm-backports main` },
    },
    {
      name: 'fresh Debian 12, test: everything the tests use',
      target: 'test',
      expect: { missing: ['containernetworking-plugins', 'qemu-system-x86', 'xz-utils', 'chromium', 'psmisc', 'docker.io'], main: ['containernetworking-plugins', 'xz-utils', 'chromium', 'psmisc', 'docker.io'], backports: ['qemu-system-x86'] },
    },
    { name: 'everything present: sim', target: 'sim', spec: { has: ALL }, expect: { missing: [], main: [], backports: [] } },
    { name: 'everything present: test', target: 'test', spec: { has: ALL }, expect: { missing: [] } },
    { name: 'no iproute2 either', target: 'sim', spec: { has: ['util-linux', 'mount'] }, expect: { main: ['iproute2', 'containernetworking-plugins'] } },
    {
      name: 'only host-device of the CNI plugins: the package is still missing',
      target: 'sim',
      spec: { has: [...FRESH, 'half-cni'], installs: { ...INSTALLS, 'half-cni': { files: ['/usr/lib/cni/host-device'] } } },
      expect: { missing: ['containernetworking-plugins'] },
    },
    {
      name: 'QEMU 7.2 without igb counts as missing',
      target: 'qemu',
      spec: { has: [...FRESH, 'containernetworking-plugins', 'xz-utils'], oldQemu: true },
      expect: { missing: ['qemu-system-x86'], main: [], backports: ['qemu-system-x86'] },
    },
    {
      name: 'backports already configured: no source added',
      target: 'qemu',
      spec: { files: { '/etc/apt/sources.list.d/backports.list': `deb ${MIRROR} bookworm-backports main\n` } },
      expect: { backports: ['qemu-system-x86'], addSource: undefined, problem: undefined },
    },
    {
      name: 'a commented-out backports line does not count',
      target: 'qemu',
      spec: { files: { '/etc/apt/sources.list.d/old.list': `# deb ${MIRROR} bookworm-backports main\n` } },
      expect: { addSource: `deb ${MIRROR} bookworm-backports main` },
    },
    {
      name: 'no debian.sources: the mirror from sources.list',
      target: 'qemu',
      spec: { files: { '/etc/apt/sources.list.d/debian.sources': '', '/etc/apt/sources.list': 'deb [arch=amd64] http://other.invalid/debian bookworm main\n' } },
      expect: { addSource: 'deb http://other.invalid/debian bookworm-backports main' },
    },
    {
      name: 'no mirror for bookworm anywhere: says what to add',
      target: 'qemu',
      spec: { files: { '/etc/apt/sources.list.d/debian.sources': '' } },
      expect: { backports: ['qemu-system-x86'], problem: 'qemu-system-x86 comes from bookworm-backports, and no mirror for bookworm was found in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list to take it from: add a "bookworm-backports main" source for your mirror, then run setup again' },
    },
    { name: 'Debian 13: QEMU from the main suite', target: 'qemu', spec: { osRelease: TRIXIE }, expect: { main: ['containernetworking-plugins', 'qemu-system-x86', 'xz-utils'], backports: [], addSource: undefined } },
    { name: 'Ubuntu (ID_LIKE=debian): main suite', target: 'qemu', spec: { osRelease: UBUNTU }, expect: { backports: [], problem: undefined } },
    { name: 'no apt-get', target: 'sim', spec: { apt: false, osRelease: 'ID=fedora\n' }, expect: { missing: ['containernetworking-plugins'], problem: 'this machine has no apt-get (sriov-lab setup installs Debian packages only)' } },
    { name: 'apt-get but not Debian', target: 'sim', spec: { osRelease: 'ID=arch\n' }, expect: { problem: 'this is not Debian or a derivative (/etc/os-release: ID=arch)' } },
    { name: 'not Debian, but nothing missing: no problem', target: 'sim', spec: { apt: false, osRelease: 'ID=fedora\n', has: ALL }, expect: { missing: [], problem: undefined } },
  ];
  for (const c of cases) {
    const got = names(c.target, c.spec);
    // exactly the fields the case names (t.match would accept a longer array)
    t.same(Object.fromEntries(Object.keys(c.expect).map((k) => [k, got[k as keyof typeof got]])), c.expect, c.name);
  }
  t.notOk(
    ['sim', 'test', 'qemu'].some((target) => plan(target as SetupTarget, machine().probe()).missing.some((s) => /fuse|pkg-config/.test(s.name))),
    'never libfuse, fuse or pkg-config',
  );
});

t.test('mirrorUri reads the bookworm stanza, not the security one', async (t) => {
  t.equal(mirrorUri(machine().probe(), 'bookworm'), MIRROR);
  t.equal(mirrorUri(machine().probe(), 'bookworm-security'), 'http://security.invalid/debian-security');
  t.equal(mirrorUri(machine().probe(), 'sid'), undefined);
});

t.test('as root: apt-get update once, then the main suite, then backports; done', async (t) => {
  const m = machine();
  t.equal(await setup('test', {}, m.io()), 0, m.out());
  t.same(m.calls, [
    `write ${BACKPORTS_LIST}: deb ${MIRROR} bookworm-backports main`,
    'apt-get update -q',
    'apt-get install -y -q --no-install-recommends containernetworking-plugins xz-utils chromium psmisc docker.io',
    'apt-get install -y -q --no-install-recommends -t bookworm-backports qemu-system-x86',
  ]);
  t.same([...m.frontends], ['noninteractive'], 'apt-get runs with DEBIAN_FRONTEND=noninteractive');
  t.match(m.out(), /lacks 6 Debian package\(s\):\n {2}containernetworking-plugins +\/usr\/lib\/cni/);
  t.match(m.out(), 'apt-get update…\n  (apt output of update)\ninstalling containernetworking-plugins, xz-utils, chromium, psmisc, docker.io…\n');
  t.match(m.out(), 'installing from bookworm-backports: qemu-system-x86…');
  t.match(m.out(), 'done in 0.0 s: installed containernetworking-plugins, xz-utils, chromium, psmisc, docker.io, qemu-system-x86\n');
  // the second run finds everything
  const again = machine({ has: Object.keys(INSTALLS) });
  t.equal(await setup('test', {}, again.io()), 0);
  t.same(again.calls, [], 'nothing installed, no apt-get update');
  t.match(again.out(), 'nothing to install');
});

t.test('the same machine after setup --for sim: the second run installs nothing', async (t) => {
  const m = machine();
  t.equal(await setup('sim', {}, m.io()), 0);
  t.same(m.calls, ['apt-get update -q', 'apt-get install -y -q --no-install-recommends containernetworking-plugins']);
  m.calls.length = 0;
  t.equal(await setup('sim', {}, m.io()), 0);
  t.same(m.calls, []);
});

t.test('as a prerequisite with nothing missing: silent', async (t) => {
  const m = machine({ has: Object.keys(INSTALLS) });
  t.equal(await setup('qemu', { prerequisite: 'required', neededBy: 'the qemu backend' }, m.io()), 0);
  t.equal(m.out(), '');
});

t.test('not root: exit 2, names the packages and the commands, runs nothing', async (t) => {
  const m = machine({ root: false });
  t.equal(await setup('qemu', {}, m.io()), 2);
  t.same(m.calls, []);
  t.match(m.out(), /qemu-system-x86 +qemu-system-x86_64 >= 8 with the igb NIC: the qemu backend/);
  t.match(m.out(), 'Installing them needs root. Run:\n  sudo npx sriov-lab setup --for qemu\n');
  t.match(
    m.out(),
    `  sudo sh -c 'echo "deb ${MIRROR} bookworm-backports main" > ${BACKPORTS_LIST} && apt-get update && apt-get install -y --no-install-recommends containernetworking-plugins xz-utils && apt-get install -y -t bookworm-backports --no-install-recommends qemu-system-x86'\n`,
  );
  // before the tests (--if-missing): the same message, then the tests go on
  const opt = machine({ root: false });
  t.equal(await setup('test', { prerequisite: 'optional' }, opt.io()), 0);
  t.match(opt.out(), 'sudo npx sriov-lab setup --for test');
  t.match(opt.out(), 'Going on without them');
});

t.test('SRIOV_LAB_NO_INSTALL=1: installs nothing, prints the one command', async (t) => {
  const m = machine();
  t.equal(await setup('sim', { prerequisite: 'required', neededBy: 'sriov-lab demo' }, m.io({ SRIOV_LAB_NO_INSTALL: '1' })), 2);
  t.same(m.calls, []);
  t.match(m.out(), 'sriov-lab demo: this machine lacks 1 Debian package(s):');
  t.match(m.out(), 'SRIOV_LAB_NO_INSTALL=1: nothing installed. To install them, run:\n  apt-get update && apt-get install -y --no-install-recommends containernetworking-plugins\n');
  t.equal(oneCommand(plan('sim', m.probe()), false), "sudo sh -c 'apt-get update && apt-get install -y --no-install-recommends containernetworking-plugins'");
});

t.test('--dry-run: prints the plan and commands, runs nothing, exit 0 even without root', async (t) => {
  const m = machine({ root: false });
  t.equal(await setupCommand(['--for', 'qemu', '--dry-run'], m.io()), 0);
  t.same(m.calls, []);
  t.match(m.out(), `dry run: nothing installed. setup would run:\n  echo "deb ${MIRROR} bookworm-backports main" > ${BACKPORTS_LIST}\n  apt-get update\n`);
});

t.test('not Debian: lists what is missing and what provides it, exit 2', async (t) => {
  const m = machine({ apt: false, osRelease: 'ID=fedora\n' });
  t.equal(await setup('sim', {}, m.io()), 2);
  t.same(m.calls, []);
  t.match(m.out(), 'containernetworking-plugins  /usr/lib/cni/{host-device,host-local,bridge}');
  t.match(m.out(), 'cannot install them: this machine has no apt-get');
});

t.test('apt-get update fails: exit 1, nothing installed, its output shown', async (t) => {
  const m = machine();
  m.runner.fail = 'update';
  t.equal(await setup('sim', {}, m.io()), 1);
  t.same(m.calls, ['apt-get update -q']);
  t.match(m.out(), '  E: Unable to locate package\napt-get update failed; nothing else was done. Fix the cause above, then run: npx sriov-lab setup --for sim\n');
});

t.test('installed but still missing (an old QEMU): exit 1 and says so', async (t) => {
  const m = machine({ osRelease: TRIXIE, installs: { ...INSTALLS, 'qemu-system-x86': { cmds: ['qemu-system-x86_64'] } } });
  t.equal(await setup('qemu', {}, m.io()), 1);
  t.match(m.out(), /installed, but still missing after 0\.0 s:\n {2}qemu-system-x86 /);
});

t.test('CLI arguments', async (t) => {
  const m = machine();
  await t.rejects(setupCommand(['--for', 'vm'], m.io()), { name: 'UsageError', message: 'setup --for vm: expected one of sim, test, qemu' });
  await t.rejects(setupCommand(['sim'], m.io()), { name: 'UsageError' });
  t.equal(backendArg(['scenarios/', '--backend', 'qemu']), 'qemu');
  t.equal(backendArg(['--backend=qemu', 'x.yaml']), 'qemu');
  t.equal(backendArg(['x.yaml']), undefined);
  t.equal(backendArg(['--device-plugin', 'p', '--', '--backend', 'qemu']), undefined);
});

t.test('the real runner: output line by line, progress redrawn with \\r shown once, env, exit code', async (t) => {
  const lines: string[] = [];
  const r = await systemRunner.run('sh', ['-c', 'printf "(db 5%%\\r(db 100%%)\\nnext\\n"; echo "$SL_X" >&2; printf tail; exit 3'], { SL_X: 'from env' }, (l) => lines.push(l));
  t.equal(r.code, 3);
  t.same(lines.sort(), ['(db 100%)', 'from env', 'next', 'tail'].sort());
  t.same(r.tail.sort(), lines);
  const missing = await systemRunner.run('no-such-command-sl', [], {}, () => {});
  t.equal(missing.code, 127);
  t.match(missing.tail.at(-1), 'cannot run no-such-command-sl');
});

t.test('the real CLI: setup --for sim --dry-run on this machine', async (t) => {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_OPTIONS' && !k.startsWith('TAP')));
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(projectRoot(), 'harness/cli/main.ts'), 'setup', '--for', 'sim', '--dry-run'], {
    cwd: projectRoot(),
    env,
    encoding: 'utf8',
    timeout: 60000,
  });
  t.equal(r.status, 0, r.stderr);
  const expected = plan('sim', systemProbe());
  if (expected.missing.length === 0) {
    t.match(r.stdout, 'sriov-lab setup --for sim: nothing to install (present: iproute2, containernetworking-plugins, util-linux, mount)');
  } else {
    t.match(r.stdout, `this machine lacks ${expected.missing.length} Debian package(s):`);
    for (const s of expected.missing) t.match(r.stdout, new RegExp(`^  ${s.name} `, 'm'), `lists ${s.name}`);
    t.match(r.stdout, expected.problem ? 'cannot install them' : 'dry run: nothing installed');
  }
  t.notMatch(r.stdout, /installing |done in/, 'a dry run installs nothing');
});

// ---- distributions, from /etc/os-release samples (harness/setup/fixtures/os-release/) ----

const osFixture = (name: string) => readFileSync(join(import.meta.dirname, 'fixtures', 'os-release', name), 'utf8');
const DEBIAN_12 = osFixture('debian-12');
const UBUNTU_2204 = osFixture('ubuntu-22.04');
const UBUNTU_2404 = osFixture('ubuntu-24.04');
/** GitHub's Ubuntu image: the simulator's packages and xz there, Google Chrome, no QEMU, no CNI plugins */
const GITHUB_IMAGE = { has: [...FRESH, 'xz-utils', 'psmisc', 'docker.io', 'chrome'], installs: { ...INSTALLS, chrome: { files: ['/usr/bin/google-chrome'] } } };

t.test('os-release samples are read', async (t) => {
  t.match(parseOsRelease(DEBIAN_12), { ID: 'debian', VERSION_ID: '12', VERSION_CODENAME: 'bookworm', PRETTY_NAME: 'Debian GNU/Linux 12 (bookworm)' });
  t.match(parseOsRelease(UBUNTU_2204), { ID: 'ubuntu', ID_LIKE: 'debian', VERSION_ID: '22.04', VERSION_CODENAME: 'jammy' });
  t.match(parseOsRelease(UBUNTU_2404), { ID: 'ubuntu', VERSION_ID: '24.04', VERSION_CODENAME: 'noble' });
  t.same(parseOsRelease("ID='single'\n# comment\n"), { ID: 'single' });
});

t.test('per distribution: what is installed from where, and what is not installed and why', async (t) => {
  const cases: Array<{ name: string; target: SetupTarget; spec: MachineSpec; expect: Partial<ReturnType<typeof names>> & { unavailable?: string[] } }> = [
    { name: 'Debian 12, qemu: QEMU from bookworm-backports', target: 'qemu', spec: { osRelease: DEBIAN_12 }, expect: { main: ['containernetworking-plugins', 'xz-utils'], backports: ['qemu-system-x86'], unavailable: [] } },
    { name: 'Debian 12, test: the chromium package', target: 'test', spec: { osRelease: DEBIAN_12 }, expect: { main: ['containernetworking-plugins', 'xz-utils', 'chromium', 'psmisc', 'docker.io'], unavailable: [] } },
    { name: 'Ubuntu 24.04 (GitHub), qemu: QEMU 8.2 from the main suite', target: 'qemu', spec: { osRelease: UBUNTU_2404, ...GITHUB_IMAGE }, expect: { main: ['containernetworking-plugins', 'qemu-system-x86'], backports: [], addSource: undefined, unavailable: [], problem: undefined } },
    { name: 'Ubuntu 22.04 (GitHub), qemu: no QEMU (6.2 has no igb), the rest installed', target: 'qemu', spec: { osRelease: UBUNTU_2204, ...GITHUB_IMAGE }, expect: { main: ['containernetworking-plugins'], backports: [], unavailable: ['qemu-system-x86'] } },
    { name: 'Ubuntu 22.04, sim: same names as Debian', target: 'sim', spec: { osRelease: UBUNTU_2204 }, expect: { main: ['containernetworking-plugins'], unavailable: [] } },
    { name: 'Ubuntu 24.04 (GitHub), test: Google Chrome counts as the browser', target: 'test', spec: { osRelease: UBUNTU_2404, ...GITHUB_IMAGE }, expect: { main: ['containernetworking-plugins', 'qemu-system-x86'], unavailable: [] } },
    { name: 'Ubuntu 24.04 without a browser: chromium is not installed (a snap stub)', target: 'test', spec: { osRelease: UBUNTU_2404 }, expect: { main: ['containernetworking-plugins', 'qemu-system-x86', 'xz-utils', 'psmisc', 'docker.io'], unavailable: ['chromium'] } },
    {
      name: 'Ubuntu with only the chromium-browser snap stub: still no browser',
      target: 'test',
      spec: { osRelease: UBUNTU_2404, has: [...GITHUB_IMAGE.has.filter((h) => h !== 'chrome'), 'containernetworking-plugins', 'qemu-system-x86'], files: { '/usr/bin/chromium-browser': '#! /bin/sh\n# the chromium snap stub\nexec /snap/bin/chromium "$@"\n' } },
      expect: { missing: ['chromium'], main: [], unavailable: ['chromium'] },
    },
  ];
  for (const c of cases) {
    const m = machine(c.spec);
    const p = plan(c.target, m.probe());
    const got = { ...names(c.target, c.spec), unavailable: p.unavailable.map((u) => u.name) };
    t.same(Object.fromEntries(Object.keys(c.expect).map((k) => [k, got[k as keyof typeof got]])), c.expect, c.name);
  }
});

t.test('Ubuntu 22.04, setup --for qemu: installs the rest, says why not QEMU, exit 0', async (t) => {
  const m = machine({ osRelease: UBUNTU_2204, ...GITHUB_IMAGE });
  t.equal(await setup('qemu', {}, m.io()), 0, m.out());
  t.same(m.calls, ['apt-get update -q', 'apt-get install -y -q --no-install-recommends containernetworking-plugins']);
  t.match(m.out(), "qemu-system-x86 is not installed: Ubuntu 22.04's QEMU is 6.2, which has no igb NIC (needs QEMU >= 8.0, as in Ubuntu 24.04): the qemu backend skips its scenarios.");
  t.notMatch(m.out(), 'still missing');
  // only QEMU missing (run --backend qemu asks first): no apt-get at all, and the run goes on to skip
  const only = machine({ osRelease: UBUNTU_2204, has: [...GITHUB_IMAGE.has, 'containernetworking-plugins'], installs: GITHUB_IMAGE.installs });
  t.equal(await setup('qemu', { prerequisite: 'required', neededBy: 'the qemu backend' }, only.io()), 0);
  t.same(only.calls, []);
  t.match(only.out(), 'the qemu backend: this machine lacks 1 Debian package(s)');
});

t.test('unavailableReason: only where the distribution has no usable build', async (t) => {
  t.match(unavailableReason('qemu-system-x86', parseOsRelease(UBUNTU_2204)), /QEMU is 6\.2, which has no igb/);
  t.equal(unavailableReason('qemu-system-x86', parseOsRelease(UBUNTU_2404)), undefined);
  t.equal(unavailableReason('qemu-system-x86', parseOsRelease(DEBIAN_12)), undefined);
  t.match(unavailableReason('chromium', parseOsRelease(UBUNTU_2204)), /snap/);
  t.equal(unavailableReason('chromium', parseOsRelease(DEBIAN_12)), undefined);
  t.equal(unavailableReason('iproute2', parseOsRelease(UBUNTU_2204)), undefined);
});

t.test('findChromium: CHROME_BIN, Debian\'s chromium, Google Chrome; never the snap stub', async (t) => {
  const fs = (files: Record<string, string>) => ({ hasFile: (p: string) => p in files, readFile: (p: string) => files[p] });
  t.equal(findChromium(fs({ '/usr/bin/chromium': '#!/bin/sh\nexec /usr/lib/chromium/chromium "$@"\n' }), {}), '/usr/bin/chromium');
  t.equal(findChromium(fs({ '/usr/bin/google-chrome': 'ELF…' }), {}), '/usr/bin/google-chrome');
  t.equal(findChromium(fs({ '/usr/bin/google-chrome': 'x', '/opt/chrome': 'x' }), { CHROME_BIN: '/opt/chrome' }), '/opt/chrome');
  t.equal(findChromium(fs({ '/usr/bin/chromium-browser': '#!/bin/sh\n# requires the chromium snap\n/snap/bin/chromium "$@"\n' }), {}), undefined);
  t.equal(findChromium(fs({ '/usr/bin/chromium-browser': '#!/bin/sh\nexec /usr/lib/chromium-browser/chromium-browser "$@"\n', '/usr/bin/x': '' }), {}), '/usr/bin/chromium-browser', 'a real chromium-browser');
  t.equal(findChromium(fs({}), {}), undefined);
});
