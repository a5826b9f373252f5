// Guest artefacts for the qemu backend: an uncompressed kernel (booted as PVH, which halves boot time under TCG) and
// an initramfs with busybox, the modules the lab needs and our /init, rc and agent. Built from Debian packages
// (`apt-get download`), cached under <cacheDir>/vm/<key>, where the key hashes every input: the package names and
// versions, the scripts in guest-files.ts, the module lists and this builder's format version.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeCpio, sha256, type CpioEntry } from './cpio.ts';
import { AGENT, BOOT_MODULES, EXTRA_MODULES, INIT, INITTAB, RC } from './guest-files.ts';

/** Bump when the artefact layout changes in a way the inputs do not show. */
const FORMAT_VERSION = 1;

export interface GuestArtefacts {
  key: string;
  dir: string;
  /** uncompressed ELF kernel with a PVH entry note */
  vmlinux: string;
  initramfs: string;
  /** kernel release, e.g. 6.1.0-56-amd64 */
  kernelRelease: string;
  packages: Array<{ name: string; version: string }>;
  /** true when the artefacts came from the cache */
  cached: boolean;
  buildMs: number;
}

export interface BuildOptions {
  /** default $SRIOV_LAB_CACHE or ~/.cache/sriov-lab */
  cacheDir?: string;
  /** default: the kernel that bookworm's linux-image-amd64 depends on */
  kernelPackage?: string;
  onProgress?: (line: string) => void;
  /** rebuild even when the cache has these inputs */
  force?: boolean;
}

export class ArtefactError extends Error {
  constructor(
    message: string,
    readonly step: string,
    readonly detail?: string,
  ) {
    super(detail ? `${message}\n${detail}` : message);
    this.name = 'ArtefactError';
  }
}

export function defaultCacheDir(): string {
  return process.env.SRIOV_LAB_CACHE || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'sriov-lab');
}

function run(step: string, cmd: string, args: string[], opts: { cwd?: string } = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', cwd: opts.cwd, maxBuffer: 64 << 20 });
  if (r.error) throw new ArtefactError(`${step}: cannot run ${cmd}: ${r.error.message}`, step);
  if (r.status !== 0) throw new ArtefactError(`${step}: ${cmd} ${args.join(' ')} exited with ${r.status}`, step, (r.stderr || r.stdout).trim().split('\n').slice(-15).join('\n'));
  return r.stdout;
}

function candidateVersion(pkg: string): string | undefined {
  const out = spawnSync('apt-cache', ['policy', pkg], { encoding: 'utf8' }).stdout ?? '';
  const m = /Candidate:\s*(\S+)/.exec(out);
  return m && m[1] !== '(none)' ? m[1] : undefined;
}

type Inputs = { kernel: { name: string; version: string }; busybox: { name: string; version: string } };

/** Names, sizes and mtimes of apt's package lists: the resolution only changes when they do. */
function aptListsStamp(): string {
  const dir = '/var/lib/apt/lists';
  try {
    return sha256(readdirSync(dir).filter((f) => f.endsWith('Packages') || f.endsWith('Release')).sort().map((f) => {
      const st = statSync(join(dir, f));
      return `${f} ${st.size} ${st.mtimeMs}`;
    }).join('\n'));
  } catch {
    return 'none';
  }
}

/**
 * The inputs that decide the artefacts, resolved from apt's package lists (no network). apt-cache takes seconds
 * per call here, so the answer is memoised in the cache dir against the lists' stamp.
 */
export function resolveInputs(kernelPackage?: string, cacheDir = defaultCacheDir()): Inputs {
  const memoFile = join(cacheDir, 'apt-resolved.json');
  const stamp = `${aptListsStamp()} ${kernelPackage ?? ''}`;
  try {
    const m = JSON.parse(readFileSync(memoFile, 'utf8')) as { stamp: string; inputs: Inputs };
    if (m.stamp === stamp) return m.inputs;
  } catch {
    /* resolve */
  }
  const inputs = resolveWithApt(kernelPackage);
  try {
    mkdirSync(cacheDir, { recursive: true });
    writeFileSync(memoFile, `${JSON.stringify({ stamp, inputs })}\n`);
  } catch {
    /* a read-only cache only costs time */
  }
  return inputs;
}

function resolveWithApt(kernelPackage?: string): Inputs {
  let kname = kernelPackage;
  if (!kname) {
    const deps = spawnSync('apt-cache', ['depends', 'linux-image-amd64'], { encoding: 'utf8' }).stdout ?? '';
    const m = /Depends:\s*(linux-image-\d[^\s]*-amd64)\b/.exec(deps);
    if (!m) throw new ArtefactError('cannot find the kernel package: `apt-cache depends linux-image-amd64` names none (run apt-get update)', 'resolve');
    kname = m[1];
  }
  const kver = candidateVersion(kname);
  if (!kver) throw new ArtefactError(`apt knows no version of ${kname} (run apt-get update)`, 'resolve');
  const bver = candidateVersion('busybox-static');
  if (!bver) throw new ArtefactError('apt knows no version of busybox-static (run apt-get update)', 'resolve');
  return { kernel: { name: kname, version: kver }, busybox: { name: 'busybox-static', version: bver } };
}

export function artefactKey(inputs: ReturnType<typeof resolveInputs>): string {
  return sha256(JSON.stringify({ FORMAT_VERSION, inputs, INIT, INITTAB, RC, AGENT, BOOT_MODULES, EXTRA_MODULES })).slice(0, 16);
}

interface Manifest {
  key: string;
  kernelRelease: string;
  packages: Array<{ name: string; version: string }>;
  builtAt: string;
}

function fromCache(dir: string, buildMs: number): GuestArtefacts | undefined {
  const mf = join(dir, 'manifest.json');
  if (!existsSync(mf) || !existsSync(join(dir, 'vmlinux')) || !existsSync(join(dir, 'initramfs.cpio'))) return undefined;
  const m = JSON.parse(readFileSync(mf, 'utf8')) as Manifest;
  return { key: m.key, dir, vmlinux: join(dir, 'vmlinux'), initramfs: join(dir, 'initramfs.cpio'), kernelRelease: m.kernelRelease, packages: m.packages, cached: true, buildMs };
}

/** The newest complete build in the cache, whatever its inputs (used when apt cannot resolve, e.g. offline). */
export function newestCached(cacheDir = defaultCacheDir()): GuestArtefacts | undefined {
  const base = join(cacheDir, 'vm');
  if (!existsSync(base)) return undefined;
  const dirs = readdirSync(base)
    .filter((d) => existsSync(join(base, d, 'manifest.json')))
    .sort((a, b) => statSync(join(base, b, 'manifest.json')).mtimeMs - statSync(join(base, a, 'manifest.json')).mtimeMs);
  for (const d of dirs) {
    const a = fromCache(join(base, d), 0);
    if (a) return a;
  }
  return undefined;
}

/** Removes all but the newest `keep` builds (each is ~50 MiB), never `current`; leftovers of killed builds too. */
export function pruneCache(cacheDir: string, current: string, keep = 2): string[] {
  const base = join(cacheDir, 'vm');
  const removed: string[] = [];
  const entries = readdirSync(base).map((d) => ({ d, mtimeMs: statSync(join(base, d)).mtimeMs }));
  for (const { d, mtimeMs } of entries) {
    // a half-written build (".<key>-XXXX") older than an hour belongs to a killed process
    if (d.startsWith('.') && Date.now() - mtimeMs > 3_600_000) {
      rmSync(join(base, d), { recursive: true, force: true });
      removed.push(d);
    }
  }
  const builds = entries.filter((e) => !e.d.startsWith('.') && e.d !== current).sort((a, b) => b.mtimeMs - a.mtimeMs);
  for (const { d } of builds.slice(Math.max(0, keep - 1))) {
    rmSync(join(base, d), { recursive: true, force: true });
    removed.push(d);
  }
  return removed;
}

/** The bzImage's compressed payload (setup header payload_offset/length), decompressed to the ELF vmlinux. */
async function extractVmlinux(bzImage: string, out: string): Promise<void> {
  const buf = readFileSync(bzImage);
  if (buf.toString('ascii', 0x202, 0x206) !== 'HdrS') throw new ArtefactError(`${bzImage} is not a bzImage (no HdrS)`, 'vmlinux');
  const setupSects = buf[0x1f1] || 4;
  const payloadOffset = buf.readUInt32LE(0x248);
  const payloadLength = buf.readUInt32LE(0x24c);
  const start = (setupSects + 1) * 512 + payloadOffset;
  const payload = buf.subarray(start, start + payloadLength);
  const magic = payload.subarray(0, 6);
  const tool = magic.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))
    ? ['xz', ['-dc', '--single-stream']]
    : magic.subarray(0, 2).equals(Buffer.from([0x1f, 0x8b]))
      ? ['gzip', ['-dc']]
      : magic.subarray(0, 4).equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))
        ? ['zstd', ['-dc']]
        : undefined;
  if (!tool) throw new ArtefactError(`unknown kernel compression (magic ${magic.toString('hex')})`, 'vmlinux');
  const [cmd, args] = tool as [string, string[]];
  const chunks: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let err = '';
    p.stdout.on('data', (d: Buffer) => chunks.push(d));
    p.stderr.on('data', (d: Buffer) => (err += d));
    p.on('error', (e) => reject(new ArtefactError(`vmlinux: cannot run ${cmd}: ${e.message}`, 'vmlinux')));
    p.on('close', (code) => (code === 0 ? resolve() : reject(new ArtefactError(`vmlinux: ${cmd} exited with ${code}`, 'vmlinux', err))));
    p.stdin.end(payload);
  });
  const elf = Buffer.concat(chunks);
  if (!elf.subarray(0, 4).equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]))) throw new ArtefactError('vmlinux: the decompressed payload is not an ELF file', 'vmlinux');
  writeFileSync(out, elf);
}

/** The "depends=" entry of a module's .modinfo strings. */
export function moduleDepends(ko: Buffer): string[] {
  const key = Buffer.from('\0depends=');
  const at = ko.indexOf(key);
  if (at < 0) return [];
  const end = ko.indexOf(0, at + key.length);
  return ko.toString('latin1', at + key.length, end).split(',').filter(Boolean);
}

const modName = (path: string): string => path.replace(/^.*\//, '').replace(/\.ko(\.\w+)?$/, '').replace(/-/g, '_');

function walk(dir: string, rel = ''): Array<{ rel: string; abs: string; kind: 'dir' | 'file' | 'symlink' }> {
  const out: Array<{ rel: string; abs: string; kind: 'dir' | 'file' | 'symlink' }> = [];
  for (const e of readdirSync(join(dir, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) {
      out.push({ rel: r, abs: join(dir, r), kind: 'dir' }, ...walk(dir, r));
    } else out.push({ rel: r, abs: join(dir, r), kind: e.isSymbolicLink() ? 'symlink' : 'file' });
  }
  return out;
}

/** Builds (or finds in the cache) the kernel and initramfs. Needs apt-get, dpkg-deb, xz; no root. */
export async function buildGuestArtefacts(opts: BuildOptions = {}): Promise<GuestArtefacts> {
  const t0 = performance.now();
  const say = opts.onProgress ?? (() => undefined);
  const cacheDir = opts.cacheDir ?? defaultCacheDir();
  let inputs: ReturnType<typeof resolveInputs>;
  try {
    inputs = resolveInputs(opts.kernelPackage, cacheDir);
  } catch (e) {
    const old = opts.kernelPackage ? undefined : newestCached(cacheDir);
    if (old && !opts.force) {
      say(`${(e as Error).message}; using the cached artefacts ${old.key} (${old.kernelRelease})`);
      return { ...old, buildMs: performance.now() - t0 };
    }
    throw e;
  }
  const key = artefactKey(inputs);
  const dir = join(cacheDir, 'vm', key);
  if (!opts.force) {
    const hit = fromCache(dir, 0);
    if (hit) {
      say(`guest artefacts ${key} (${hit.kernelRelease}) from the cache: ${dir}`);
      return { ...hit, buildMs: performance.now() - t0 };
    }
  }
  mkdirSync(join(cacheDir, 'vm'), { recursive: true });
  const work = mkdtempSync(join(tmpdir(), 'sl-vm-build-'));
  try {
    say(`downloading ${inputs.kernel.name}=${inputs.kernel.version} and ${inputs.busybox.name}=${inputs.busybox.version}`);
    // apt-get download drops privileges to _apt, which cannot write a root-only temp dir: let it
    spawnSync('chmod', ['755', work]);
    run('download', 'apt-get', ['download', '-q', `${inputs.kernel.name}=${inputs.kernel.version}`, `${inputs.busybox.name}=${inputs.busybox.version}`], { cwd: work });
    const debs = readdirSync(work).filter((f) => f.endsWith('.deb'));
    const kdeb = debs.find((f) => f.startsWith('linux-image-'));
    const bdeb = debs.find((f) => f.startsWith('busybox-static'));
    if (!kdeb || !bdeb) throw new ArtefactError(`download: expected two .deb files, found ${debs.join(', ') || 'none'}`, 'download');
    say(`unpacking ${kdeb}`);
    const kroot = join(work, 'kernel');
    const broot = join(work, 'busybox');
    run('unpack', 'dpkg-deb', ['-x', join(work, kdeb), kroot]);
    run('unpack', 'dpkg-deb', ['-x', join(work, bdeb), broot]);
    const releases = readdirSync(join(kroot, 'lib', 'modules'));
    if (releases.length !== 1) throw new ArtefactError(`unpack: expected one kernel release in ${kdeb}, found ${releases.join(', ')}`, 'unpack');
    const kernelRelease = releases[0];
    const busybox = join(broot, 'bin', 'busybox');

    const modDir = join(kroot, 'lib', 'modules', kernelRelease);
    // the dependency closure from each needed module's own modinfo "depends=" (a depmod of all ~4,000 modules
    // costs seconds); busybox depmod then indexes the trimmed tree that ships in the initramfs
    const byName = new Map<string, string>();
    for (const e of walk(modDir)) if (e.kind === 'file' && /\.ko(\.\w+)?$/.test(e.rel)) byName.set(modName(e.rel), e.rel);
    const builtin = new Set(readFileSync(join(modDir, 'modules.builtin'), 'utf8').split('\n').filter(Boolean).map(modName));
    const wanted = new Set<string>();
    const add = (name: string): void => {
      const n = name.replace(/-/g, '_');
      const path = byName.get(n);
      if (!path) {
        if (builtin.has(n)) return;
        throw new ArtefactError(`modules: ${name} is neither a module nor built into ${kernelRelease}`, 'modules');
      }
      if (wanted.has(path)) return;
      wanted.add(path);
      for (const d of moduleDepends(readFileSync(join(modDir, path)))) add(d);
    };
    for (const m of [...BOOT_MODULES, ...EXTRA_MODULES]) add(m);
    say(`initramfs: busybox + ${wanted.size} modules`);

    const stage = join(work, 'stage');
    const stageMods = join(stage, 'lib', 'modules', kernelRelease);
    mkdirSync(stageMods, { recursive: true });
    for (const f of ['modules.builtin', 'modules.order', 'modules.builtin.modinfo']) {
      if (existsSync(join(modDir, f))) writeFileSync(join(stageMods, f), readFileSync(join(modDir, f)));
    }
    for (const rel of wanted) {
      const to = join(stageMods, rel);
      mkdirSync(join(to, '..'), { recursive: true });
      writeFileSync(to, readFileSync(join(modDir, rel)));
    }
    run('depmod', busybox, ['depmod', '-b', stage, kernelRelease]);

    const entries: CpioEntry[] = [];
    for (const d of ['bin', 'sbin', 'usr', 'usr/bin', 'usr/sbin', 'etc', 'etc/sriov-lab', 'proc', 'sys', 'dev', 'run', 'tmp', 'mnt', 'root', 'lib', 'lib/modules']) {
      entries.push({ kind: 'dir', path: d });
    }
    entries.push({ kind: 'chardev', path: 'dev/console', major: 5, minor: 1 }, { kind: 'chardev', path: 'dev/null', major: 1, minor: 3, mode: 0o666 });
    entries.push({ kind: 'file', path: 'bin/busybox', data: readFileSync(busybox), mode: 0o755 });
    const applets = run('busybox', busybox, ['--list-full']).split('\n').filter(Boolean);
    for (const a of applets) {
      if (a === 'bin/busybox') continue;
      const depth = a.split('/').length - 1;
      entries.push({ kind: 'symlink', path: a, target: `${'../'.repeat(depth)}bin/busybox` });
    }
    entries.push(
      { kind: 'file', path: 'init', data: Buffer.from(INIT), mode: 0o755 },
      { kind: 'file', path: 'etc/inittab', data: Buffer.from(INITTAB) },
      { kind: 'file', path: 'etc/sriov-lab/rc', data: Buffer.from(RC), mode: 0o755 },
      { kind: 'file', path: 'etc/sriov-lab/agent', data: Buffer.from(AGENT), mode: 0o755 },
      { kind: 'file', path: 'etc/sriov-lab/modules', data: Buffer.from(`${BOOT_MODULES.join('\n')}\n`) },
      { kind: 'file', path: 'etc/passwd', data: Buffer.from('root:x:0:0:root:/root:/bin/sh\n') },
      { kind: 'file', path: 'etc/group', data: Buffer.from('root:x:0:\n') },
    );
    for (const e of walk(join(stage, 'lib', 'modules'))) {
      const path = `lib/modules/${e.rel}`;
      entries.push(e.kind === 'dir' ? { kind: 'dir', path } : { kind: 'file', path, data: readFileSync(e.abs) });
    }

    say('extracting the uncompressed vmlinux (PVH entry) from the bzImage');
    const tmpOut = mkdtempSync(join(cacheDir, 'vm', `.${key}-`));
    await extractVmlinux(join(kroot, 'boot', `vmlinuz-${kernelRelease}`), join(tmpOut, 'vmlinux'));
    const cpio = writeCpio(entries);
    writeFileSync(join(tmpOut, 'initramfs.cpio'), cpio);
    const manifest: Manifest = { key, kernelRelease, packages: [inputs.kernel, inputs.busybox], builtAt: new Date().toISOString() };
    writeFileSync(join(tmpOut, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmpOut, dir);
    pruneCache(cacheDir, key);
    const buildMs = performance.now() - t0;
    say(`guest artefacts ${key} built in ${(buildMs / 1000).toFixed(1)} s: ${dir} (initramfs ${(cpio.length / 1048576).toFixed(1)} MiB)`);
    return { key, dir, vmlinux: join(dir, 'vmlinux'), initramfs: join(dir, 'initramfs.cpio'), kernelRelease, packages: manifest.packages, cached: false, buildMs };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
