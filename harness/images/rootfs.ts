// The smallest root filesystem that runs a dynamically linked executable (the node binary): its ELF interpreter and
// the shared libraries the loader resolves, each at the path the loader found it. The list comes from glibc's loader
// itself (LD_TRACE_LOADED_OBJECTS=1 makes it print what it maps and exit, as ldd does), so no ELF parsing of our own.
// Used twice with the same code: inside the image build's first stage (stage.ts, with the base image's node) and on
// this machine for a locally built base image (`sriov-lab image build --local-base`).
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';

export interface RuntimeFile {
  /** absolute path inside the root filesystem */
  path: string;
  /** the file on this machine whose content it gets (symlinks resolved) */
  source: string;
}

/** The interpreter and libraries `executable` loads, as its loader reports them. */
export function sharedLibraries(executable: string): RuntimeFile[] {
  const r = spawnSync(executable, [], { env: { LD_TRACE_LOADED_OBJECTS: '1' }, encoding: 'utf8', timeout: 30_000 });
  if (r.error || r.status !== 0) {
    throw new Error(`listing the libraries of ${executable} (LD_TRACE_LOADED_OBJECTS=1): ${r.error?.message ?? `exit ${r.status}: ${r.stderr.trim()}`}`);
  }
  const files: RuntimeFile[] = [];
  for (const line of r.stdout.split('\n')) {
    // "\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x…)" or "\t/lib64/ld-linux-x86-64.so.2 (0x…)"; vdso has no file
    const m = /^\s*(?:\S+\s+=>\s+)?(\/\S+)\s+\(0x[0-9a-f]+\)\s*$/.exec(line);
    if (m && isAbsolute(m[1])) files.push({ path: m[1], source: realpathSync(m[1]) });
    else if (/=>\s+not found/.test(line)) throw new Error(`${executable}: library ${line.trim()}`);
  }
  if (!files.some((f) => /\/ld-linux[^/]*\.so/.test(f.path))) throw new Error(`${executable}: the loader reported no ELF interpreter (a static or non-glibc binary?)\n${r.stdout}`);
  return files;
}

/** the programs the node-agent image has beside node (harness/node/node-ops.ts: nsenter; its DaemonSet: sleep) */
export const AGENT_TOOLS = ['nsenter', 'sleep'] as const;

/** where a program is on PATH (or the usual directories), without a shell: the image build's stage has none */
export function findProgram(name: string, path = process.env.PATH || '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'): string | undefined {
  for (const dir of path.split(':').filter(Boolean)) {
    const f = join(dir, name);
    try {
      if (statSync(f).isFile()) return f;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/**
 * Writes each program (found on PATH) at /usr/bin/NAME under `dir`, with the libraries it loads; a program that is not
 * there fails, naming it. Returns the bytes written.
 */
export function writePrograms(dir: string, names: readonly string[]): number {
  let bytes = 0;
  for (const name of names) {
    const exe = findProgram(name);
    if (!exe) throw new Error(`${name} is not on PATH (${process.env.PATH ?? ''}): the node-agent image needs it`);
    for (const f of [...sharedLibraries(exe), { path: `/usr/bin/${name}`, source: realpathSync(exe) }]) {
      const target = join(dir, f.path);
      mkdirSync(dirname(target), { recursive: true });
      copyFileSync(f.source, target);
      chmodSync(target, statSync(f.source).mode & 0o7777);
      bytes += statSync(target).size;
    }
  }
  return bytes;
}

export interface RootfsOptions {
  /** copy the executable itself to this absolute path (e.g. /usr/local/bin/node) */
  executableAt?: string;
}

/**
 * Writes `executable`'s libraries (and, with executableAt, the executable) under `dir`, plus what a container expects
 * of a root: /tmp (1777), and /etc/passwd and /etc/group naming root and nobody. Returns the bytes written.
 */
export function writeRuntimeRootfs(dir: string, executable: string, opts: RootfsOptions = {}): number {
  const files = sharedLibraries(executable);
  if (opts.executableAt) files.push({ path: opts.executableAt, source: realpathSync(executable) });
  let bytes = 0;
  for (const f of files) {
    const target = join(dir, f.path);
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(f.source, target);
    chmodSync(target, statSync(f.source).mode & 0o7777);
    bytes += statSync(target).size;
  }
  mkdirSync(join(dir, 'tmp'), { recursive: true });
  chmodSync(join(dir, 'tmp'), 0o1777);
  mkdirSync(join(dir, 'etc'), { recursive: true });
  writeFileSync(join(dir, 'etc', 'passwd'), 'root:x:0:0:root:/root:/nonexistent\nnobody:x:65534:65534:nobody:/nonexistent:/nonexistent\n');
  writeFileSync(join(dir, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\n');
  return bytes;
}
