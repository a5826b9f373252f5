// `sriov-lab setup`: installs with apt-get the Debian packages this machine lacks for a target, like
// `playwright install --with-deps`. What is present is decided by the binaries and files the project uses (not by
// dpkg), so nothing already there is installed. On Debian 12, QEMU >= 8 (with igb) comes from bookworm-backports,
// served by the mirror this machine already uses. Ubuntu 22.04 and 24.04 (GitHub's runners) have the same package
// names in their main suites; what a release has no usable build of (22.04's QEMU 6.2 has no igb, Ubuntu's
// chromium is a snap stub) is not installed, and what needs it is skipped with the reason.
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { findChromium } from '../../sim/caps.ts';

export type SetupTarget = 'sim' | 'test' | 'qemu';
export const SETUP_TARGETS: readonly SetupTarget[] = ['sim', 'test', 'qemu'];

/** What setup asks of the machine. Injected, so the decisions can be tested without apt. */
export interface Probe {
  hasFile(path: string): boolean;
  /** an executable of this name on PATH or in the usual bin/sbin directories */
  hasCommand(name: string): boolean;
  /** `qemu-system-x86_64 -device help` lists the igb (82576 SR-IOV) NIC */
  qemuHasIgb(): boolean;
  isRoot(): boolean;
  readFile(path: string): string | undefined;
  listDir(path: string): string[];
  /** the environment (CHROME_BIN); default process.env */
  env?(): Record<string, string | undefined>;
}

/** Runs the install commands. */
export interface Runner {
  /** runs cmd, showing its output line by line through `out`; resolves with the exit code and the last lines */
  run(cmd: string, args: string[], env: Record<string, string>, out: (line: string) => void): Promise<{ code: number; tail: string[] }>;
  writeFile(path: string, text: string): void;
}

export interface SystemPackage {
  name: string;
  /** the binaries or files the project uses from it */
  provides: string;
  /** what needs it */
  usedBy: string;
  /** QEMU: from <codename>-backports on Debian 12 */
  backports?: boolean;
  present(p: Probe): boolean;
}

const commands = (...names: string[]) => (p: Probe) => names.every((n) => p.hasCommand(n));

const PACKAGES = {
  iproute2: { name: 'iproute2', provides: 'ip', usedBy: 'network namespaces and netdevs', present: commands('ip') },
  cni: {
    name: 'containernetworking-plugins',
    provides: '/usr/lib/cni/{host-device,host-local,bridge}',
    usedBy: 'the reference CNI plugins and the pods’ default network',
    present: (p: Probe) => ['host-device', 'host-local', 'bridge'].every((f) => p.hasFile(`/usr/lib/cni/${f}`)),
  },
  utilLinux: { name: 'util-linux', provides: 'unshare, nsenter', usedBy: 'simulated nodes (namespaces)', present: commands('unshare', 'nsenter') },
  mount: { name: 'mount', provides: 'mount, umount', usedBy: 'the sysfs and node mounts', present: commands('mount', 'umount') },
  chromium: {
    name: 'chromium',
    provides: 'a Chromium or Chrome',
    usedBy: 'browser tests of the HTML report',
    present: (p: Probe) => findChromium(p, p.env?.() ?? process.env) !== undefined,
  },
  procps: { name: 'procps', provides: 'pgrep, pkill', usedBy: 'cleanup checks in the tests', present: commands('pgrep', 'pkill') },
  // GitHub's runners have Docker already (dockerd on PATH): nothing is installed there
  docker: {
    name: 'docker.io',
    provides: 'dockerd, docker',
    usedBy: 'tests that start a dockerd of their own (the plugin images with testcontainers, the kind backend’s node side in a container)',
    present: commands('dockerd', 'docker'),
  },
  psmisc: { name: 'psmisc', provides: 'fuser', usedBy: 'cleanup checks in the tests', present: commands('fuser') },
  qemu: {
    name: 'qemu-system-x86',
    provides: 'qemu-system-x86_64 >= 8 with the igb NIC',
    usedBy: 'the qemu backend',
    backports: true,
    present: (p: Probe) => p.qemuHasIgb(),
  },
  xz: { name: 'xz-utils', provides: 'xz', usedBy: 'the qemu backend’s guest kernel (unpacked from its Debian package)', present: commands('xz') },
} satisfies Record<string, SystemPackage>;

const SIM: SystemPackage[] = [PACKAGES.iproute2, PACKAGES.cni, PACKAGES.utilLinux, PACKAGES.mount];
const QEMU: SystemPackage[] = [...SIM, PACKAGES.qemu, PACKAGES.xz];

/** Every package a target needs, present or not. */
export function packagesFor(target: SetupTarget): SystemPackage[] {
  switch (target) {
    case 'sim':
      return SIM;
    case 'qemu':
      return QEMU;
    case 'test':
      return [...QEMU, PACKAGES.chromium, PACKAGES.procps, PACKAGES.psmisc, PACKAGES.docker];
  }
}

export interface Plan {
  target: SetupTarget;
  missing: SystemPackage[];
  /** installed from the suites already configured */
  main: string[];
  /** installed with -t <suite> (Debian 12: bookworm-backports) */
  backports: string[];
  backportsSuite?: string;
  /** the sources line that enables backports, when none is configured yet */
  addSource?: { file: string; line: string };
  /** why this machine cannot install them (not Debian, no apt-get, no mirror to take backports from) */
  problem?: string;
  /**
   * missing packages this distribution has no usable build of (Ubuntu 22.04's QEMU has no igb; Ubuntu's chromium is a
   * snap stub): not installed; what needs them is skipped with the reason
   */
  unavailable: Array<{ name: string; reason: string }>;
}

export const BACKPORTS_LIST = '/etc/apt/sources.list.d/sriov-lab-backports.list';

/** the fields of an /etc/os-release file (quotes removed) */
export function parseOsRelease(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z_]+)=(["']?)(.*)\2$/.exec(line.trim());
    if (m) fields[m[1]] = m[3];
  }
  return fields;
}

function osRelease(p: Probe): Record<string, string> {
  return parseOsRelease(p.readFile('/etc/os-release') ?? '');
}

/** this machine's /etc/os-release */
export function hostOsRelease(): Record<string, string> {
  return osRelease(systemProbe());
}

// QEMU in the main archive of the Ubuntu releases GitHub runs: igb (the 82576 SR-IOV NIC) came with QEMU 8.0
const UBUNTU_QEMU: Record<string, string> = { '22.04': '6.2', '24.04': '8.2' };

/**
 * Why this distribution has no usable build of a package, for the packages where that is known; undefined when its
 * own package will do. From /etc/os-release fields.
 */
export function unavailableReason(pkg: string, os: Record<string, string>): string | undefined {
  if (os.ID !== 'ubuntu') return undefined;
  const version = os.VERSION_ID ?? '';
  if (pkg === 'qemu-system-x86') {
    const qemu = UBUNTU_QEMU[version];
    if (qemu && Number(qemu.split('.')[0]) < 8) {
      return `Ubuntu ${version}'s QEMU is ${qemu}, which has no igb NIC (needs QEMU >= 8.0, as in Ubuntu 24.04): the qemu backend skips its scenarios`;
    }
  }
  if (pkg === 'chromium') {
    return 'on Ubuntu the chromium package only installs the snap; install Google Chrome (GitHub\'s Ubuntu image has it) or another Chromium, or set CHROME_BIN: the browser tests are skipped until then';
  }
  return undefined;
}

/** The apt source files: /etc/apt/sources.list and /etc/apt/sources.list.d/*.{list,sources}. */
function sourceFiles(p: Probe): Array<{ path: string; text: string }> {
  const paths = ['/etc/apt/sources.list', ...p.listDir('/etc/apt/sources.list.d').filter((f) => /\.(list|sources)$/.test(f)).map((f) => `/etc/apt/sources.list.d/${f}`)];
  return paths.flatMap((path) => {
    const text = p.readFile(path);
    return text === undefined ? [] : [{ path, text }];
  });
}

/** The URI of the mirror configured for `suite`: debian.sources (deb822 `URIs:`) first, then sources.list. */
export function mirrorUri(p: Probe, suite: string): string | undefined {
  const deb822 = p.readFile('/etc/apt/sources.list.d/debian.sources');
  if (deb822) {
    for (const stanza of deb822.split(/\n\s*\n/)) {
      const field = (name: string) => new RegExp(`^${name}:\\s*(.+)$`, 'im').exec(stanza)?.[1].trim().split(/\s+/) ?? [];
      if (field('Types').includes('deb') && field('Suites').includes(suite) && field('URIs').length) return field('URIs')[0];
    }
  }
  for (const raw of (p.readFile('/etc/apt/sources.list') ?? '').split('\n')) {
    const words = raw.replace(/#.*/, '').replace(/\[[^\]]*\]/, '').trim().split(/\s+/);
    if (words[0] === 'deb' && words[2] === suite && words[1]) return words[1];
  }
  return undefined;
}

/** What setup would do for `target` on the machine `p` describes. */
export function plan(target: SetupTarget, p: Probe): Plan {
  const missing = packagesFor(target).filter((s) => !s.present(p));
  const result: Plan = { target, missing, main: [], backports: [], unavailable: [] };
  if (!missing.length) return result;
  if (!p.hasCommand('apt-get')) {
    return { ...result, problem: 'this machine has no apt-get (sriov-lab setup installs Debian packages only)' };
  }
  const os = osRelease(p);
  const debianLike = os.ID === 'debian' || (os.ID_LIKE ?? '').split(/\s+/).includes('debian');
  if (!debianLike) return { ...result, problem: `this is not Debian or a derivative (/etc/os-release: ID=${os.ID ?? 'unknown'})` };
  // only Debian 12 needs backports for QEMU >= 8; later releases (and derivatives) have it in their main suite
  const useBackports = os.ID === 'debian' && os.VERSION_CODENAME === 'bookworm';
  for (const s of missing) {
    const reason = unavailableReason(s.name, os);
    if (reason) result.unavailable.push({ name: s.name, reason });
    else (s.backports && useBackports ? result.backports : result.main).push(s.name);
  }
  if (!result.backports.length) return result;
  const suite = `${os.VERSION_CODENAME}-backports`;
  result.backportsSuite = suite;
  const configured = sourceFiles(p).some((f) => f.text.split('\n').some((l) => !/^\s*#/.test(l) && new RegExp(`(^|\\s)${suite}(\\s|$)`).test(l)));
  if (configured) return result;
  const uri = mirrorUri(p, os.VERSION_CODENAME);
  if (!uri) {
    return {
      ...result,
      problem: `${result.backports.join(', ')} comes from ${suite}, and no mirror for ${os.VERSION_CODENAME} was found in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list to take it from: add a "${suite} main" source for your mirror, then run setup again`,
    };
  }
  result.addSource = { file: BACKPORTS_LIST, line: `deb ${uri} ${suite} main` };
  return result;
}

const INSTALL = ['install', '-y', '-q', '--no-install-recommends'];

/** The shell commands that carry out a plan, in order. */
export function planCommands(pl: Plan): string[] {
  if (!pl.main.length && !pl.backports.length) return [];
  const cmds: string[] = [];
  if (pl.addSource) cmds.push(`echo "${pl.addSource.line}" > ${pl.addSource.file}`);
  cmds.push('apt-get update');
  if (pl.main.length) cmds.push(`apt-get install -y --no-install-recommends ${pl.main.join(' ')}`);
  if (pl.backports.length) cmds.push(`apt-get install -y -t ${pl.backportsSuite} --no-install-recommends ${pl.backports.join(' ')}`);
  return cmds;
}

/** The plan as one command a person can paste (through sudo when not root). */
export function oneCommand(pl: Plan, root: boolean): string {
  const line = planCommands(pl).join(' && ');
  return root ? line : `sudo sh -c '${line}'`;
}

export interface SetupIo {
  probe: () => Probe;
  runner: Runner;
  out: (line: string) => void;
  env: Record<string, string | undefined>;
  now: () => number;
}

export interface SetupOptions {
  dryRun?: boolean;
  /**
   * Called before something that needs the packages (npm start, npm test, run --backend qemu): silent when nothing is
   * missing. 'optional' (the tests, which skip with a reason): when it cannot install, it says so and returns 0.
   */
  prerequisite?: 'required' | 'optional';
  /** who asks, for the messages: e.g. "the sim backend" */
  neededBy?: string;
}

function describe(missing: SystemPackage[]): string[] {
  const width = Math.max(...missing.map((s) => s.name.length));
  return missing.map((s) => `  ${s.name.padEnd(width)}  ${s.provides}: ${s.usedBy}`);
}

/** `sriov-lab setup --for TARGET`: 0 when everything is there (or got installed), 2 when it cannot install, 1 when apt failed. */
export async function setup(target: SetupTarget, opts: SetupOptions, io: SetupIo): Promise<number> {
  const t0 = io.now();
  const probe = io.probe();
  const pl = plan(target, probe);
  const root = probe.isRoot();
  const who = opts.neededBy ?? `sriov-lab setup --for ${target}`;
  if (!pl.missing.length) {
    if (!opts.prerequisite) io.out(`${who}: nothing to install (present: ${packagesFor(target).map((s) => s.name).join(', ')})`);
    return 0;
  }
  const giveUp = (code: number) => {
    if (opts.prerequisite !== 'optional') return code;
    io.out('Going on without them: what needs them is skipped, with the reason.');
    return 0;
  };
  const self = `npx sriov-lab setup --for ${target}`;
  io.out(`${who}: this machine lacks ${pl.missing.length} Debian package(s):`);
  for (const l of describe(pl.missing)) io.out(l);
  for (const u of pl.unavailable) io.out(`${u.name} is not installed: ${u.reason}.`);
  if (!pl.problem && !pl.main.length && !pl.backports.length) return 0;
  if (pl.problem) {
    io.out(`cannot install them: ${pl.problem}.`);
    io.out('Install what provides the files above with your system\'s package manager.');
    return giveUp(2);
  }
  if (opts.dryRun) {
    io.out('dry run: nothing installed. setup would run:');
    for (const c of planCommands(pl)) io.out(`  ${c}`);
    return 0;
  }
  if (io.env.SRIOV_LAB_NO_INSTALL === '1') {
    io.out('SRIOV_LAB_NO_INSTALL=1: nothing installed. To install them, run:');
    io.out(`  ${oneCommand(pl, root)}`);
    return giveUp(2);
  }
  if (!root) {
    io.out('Installing them needs root. Run:');
    io.out(`  sudo ${self}`);
    io.out('or by hand:');
    io.out(`  ${oneCommand(pl, false)}`);
    return giveUp(2);
  }

  const env = { DEBIAN_FRONTEND: 'noninteractive' };
  const indent = (l: string) => io.out(`  ${l}`);
  const fail = (what: string, tail: string[]) => {
    for (const l of tail) indent(l);
    io.out(`${what} failed; nothing else was done. Fix the cause above, then run: ${self}`);
    return 1;
  };
  if (pl.addSource) {
    io.out(`enabling ${pl.backportsSuite}: ${pl.addSource.file}`);
    io.runner.writeFile(pl.addSource.file, `# added by sriov-lab setup (QEMU >= 8 with igb)\n${pl.addSource.line}\n`);
  }
  io.out('apt-get update…');
  const up = await io.runner.run('apt-get', ['update', '-q'], env, indent);
  if (up.code !== 0) return fail('apt-get update', up.tail);
  if (pl.main.length) {
    io.out(`installing ${pl.main.join(', ')}…`);
    const r = await io.runner.run('apt-get', [...INSTALL, ...pl.main], env, indent);
    if (r.code !== 0) return fail(`apt-get install ${pl.main.join(' ')}`, r.tail);
  }
  if (pl.backports.length) {
    io.out(`installing from ${pl.backportsSuite}: ${pl.backports.join(', ')}…`);
    const r = await io.runner.run('apt-get', [...INSTALL, '-t', String(pl.backportsSuite), ...pl.backports], env, indent);
    if (r.code !== 0) return fail(`apt-get install -t ${pl.backportsSuite} ${pl.backports.join(' ')}`, r.tail);
  }
  const after = io.probe();
  const still = pl.missing.filter((s) => !s.present(after) && !pl.unavailable.some((u) => u.name === s.name));
  const secs = ((io.now() - t0) / 1000).toFixed(1);
  if (still.length) {
    io.out(`installed, but still missing after ${secs} s:`);
    for (const l of describe(still)) io.out(l);
    io.out('The installed version may be too old (QEMU needs >= 8.0 for igb): install a newer one from your distribution.');
    return 1;
  }
  io.out(`done in ${secs} s: installed ${[...pl.main, ...pl.backports].join(', ')}`);
  return 0;
}

const BIN_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** The machine itself. Memoised: call again for a fresh look (after installing). */
export function systemProbe(): Probe {
  const memo = new Map<string, boolean>();
  const once = (key: string, f: () => boolean) => {
    if (!memo.has(key)) memo.set(key, f());
    return memo.get(key) === true;
  };
  const executable = (path: string) => {
    try {
      accessSync(path, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  };
  return {
    hasFile: (path) => existsSync(path),
    hasCommand: (name) =>
      once(`cmd:${name}`, () => [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...BIN_DIRS].some((d) => executable(join(d, name)))),
    qemuHasIgb: () =>
      once('igb', () => {
        const r = spawnSync('qemu-system-x86_64', ['-device', 'help'], { encoding: 'utf8', timeout: 10000 });
        return r.status === 0 && /name "igb"/.test(`${r.stdout}${r.stderr}`);
      }),
    isRoot: () => typeof process.getuid === 'function' && process.getuid() === 0,
    readFile: (path) => {
      try {
        return readFileSync(path, 'utf8');
      } catch {
        return undefined;
      }
    },
    listDir: (path) => {
      try {
        return readdirSync(path);
      } catch {
        return [];
      }
    },
  };
}

export const systemRunner: Runner = {
  run(cmd, args, env, out) {
    return new Promise((resolve) => {
      const tail: string[] = [];
      const emit = (raw: string) => {
        // a progress line redrawn with \r ("Reading database ... 5%"): only its final state
        const l = (raw.split('\r').filter((x) => x.trim()).at(-1) ?? '').trimEnd();
        if (!l) return;
        out(l);
        tail.push(l);
        if (tail.length > 30) tail.shift();
      };
      const rest = { out: '', err: '' };
      const onData = (stream: keyof typeof rest) => (d: Buffer) => {
        const lines = (rest[stream] + d.toString()).split('\n');
        rest[stream] = lines.pop() ?? '';
        lines.forEach(emit);
      };
      const p = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      p.stdout.on('data', onData('out'));
      p.stderr.on('data', onData('err'));
      p.on('error', (e) => resolve({ code: 127, tail: [...tail, `cannot run ${cmd}: ${e.message}`] }));
      p.on('close', (code) => {
        emit(rest.out);
        emit(rest.err);
        resolve({ code: code ?? 1, tail });
      });
    });
  },
  writeFile: (path, text) => writeFileSync(path, text),
};

export const systemIo = (): SetupIo => ({
  probe: systemProbe,
  runner: systemRunner,
  out: (line) => process.stdout.write(`${line}\n`),
  env: process.env,
  now: () => performance.now(),
});

/**
 * Before something that needs `target`'s packages: installs what is missing (as root), or says what to run.
 * Returns 0 when the caller can go on, else the exit code to stop with.
 */
export function ensureSystemPackages(target: 'sim' | 'qemu', neededBy = `the ${target} backend`, io: SetupIo = systemIo()): Promise<number> {
  return setup(target, { prerequisite: 'required', neededBy }, io);
}
