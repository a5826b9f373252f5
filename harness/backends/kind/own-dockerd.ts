// For tests: a dockerd of the test's own — its data, exec root, pidfile and unix socket under a temporary directory,
// no iptables rules and no bridge (MACHINE.md: the defaults break bridged namespaces), never the default socket — and
// a tiny image imported from a root filesystem made of this machine's own binaries and the libraries they load
// (registry pulls do not work on the build machines).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { onLines } from '../../../sim/lines.ts';

export interface OwnDockerd {
  /** DOCKER_HOST for the docker client and the wrappers */
  readonly host: string;
  readonly dir: string;
  /** docker CLI with this daemon; throws with its stderr on a non-zero exit */
  docker(args: string[]): string;
  stop(): Promise<void>;
}

/** why dockerd cannot run here, or undefined */
export function dockerdMissing(): string | undefined {
  if (process.getuid?.() !== 0) return 'dockerd needs root';
  for (const b of ['dockerd', 'docker', 'containerd', 'runc']) {
    if (spawnSync('sh', ['-c', `command -v ${b}`]).status !== 0) return `${b} is not installed (sriov-lab setup --for test installs docker.io)`;
  }
  return undefined;
}

/** Starts dockerd and resolves once it listens on its socket ("API listen on" in its log). */
export async function startOwnDockerd(timeoutMs = 120_000): Promise<OwnDockerd> {
  const dir = mkdtempSync(join(tmpdir(), 'sl-dkr-'));
  const sock = join(dir, 'docker.sock');
  const host = `unix://${sock}`;
  const args = ['--iptables=false', '--ip-forward=false', '--ip-masq=false', '--bridge=none', '--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec'), '--pidfile', join(dir, 'dockerd.pid'), '--host', host];
  const d: ChildProcess = spawn('dockerd', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const exited = new Promise<number | null>((resolve) => d.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`dockerd did not listen within ${timeoutMs} ms:\n${log.slice(-3000)}`)), timeoutMs);
    const onLine = (l: string) => {
      log += `${l}\n`;
      if (l.includes('API listen on')) {
        clearTimeout(timer);
        resolve();
      }
    };
    onLines(d.stdout!, onLine);
    onLines(d.stderr!, onLine);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`dockerd exited with ${code}:\n${log.slice(-3000)}`));
    });
  }).catch((e: unknown) => {
    d.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw e;
  });
  const docker = (a: string[]) => {
    const r = spawnSync('docker', a, { encoding: 'utf8', env: { ...process.env, DOCKER_HOST: host } });
    if (r.status !== 0) throw new Error(`docker ${a.join(' ')}: ${r.stderr.trim()}`);
    return r.stdout;
  };
  return {
    host,
    dir,
    docker,
    async stop() {
      try {
        const ids = docker(['ps', '-aq']).split('\n').filter(Boolean);
        if (ids.length) docker(['rm', '-f', ...ids]);
      } catch {
        /* the daemon is gone already */
      }
      if (d.exitCode === null) {
        d.kill('SIGTERM');
        const t = setTimeout(() => d.kill('SIGKILL'), 20_000);
        await exited;
        clearTimeout(t);
      }
      // what the daemon may still have mounted under its roots (overlay layers, netns of containers)
      const mounts = spawnSync('sh', ['-c', `grep -o " ${dir}[^ ]*" /proc/self/mounts | sort -r`], { encoding: 'utf8' }).stdout.split('\n').map((s) => s.trim()).filter(Boolean);
      for (const m of mounts) spawnSync('umount', ['-l', m]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A root filesystem of this machine's programs (found on PATH) with the shared libraries ldd lists for each, as a
 * tarball for `docker import`. Enough for a container that runs sh, mount and ip, like a kind node's.
 */
export function hostRootfsTarball(programs: string[], outDir: string): string {
  const root = join(outDir, 'rootfs');
  const copy = (src: string) => {
    const dst = join(root, src);
    if (existsSync(dst)) return;
    mkdirSync(dirname(dst), { recursive: true });
    copyFileSync(src, dst);
    chmodSync(dst, 0o755);
  };
  for (const p of programs) {
    const path = spawnSync('sh', ['-c', `command -v ${p}`], { encoding: 'utf8' }).stdout.trim();
    if (!path.startsWith('/')) throw new Error(`${p} is not on PATH`);
    copy(path);
    const ldd = spawnSync('ldd', [path], { encoding: 'utf8' }).stdout;
    for (const m of ldd.matchAll(/(\/\S+) \(0x/g)) copy(m[1]);
    // /bin/sh: the programs' own names under /bin, as a usual image has them
    const bin = join(root, 'bin', p);
    if (!existsSync(bin)) {
      mkdirSync(dirname(bin), { recursive: true });
      symlinkSync(path, bin);
    }
  }
  for (const d of ['sys', 'proc', 'dev', 'run', 'tmp', 'etc']) mkdirSync(join(root, d), { recursive: true });
  const tar = join(outDir, 'rootfs.tar');
  const r = spawnSync('tar', ['-C', root, '-cf', tar, '.'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tar of ${root}: ${r.stderr}`);
  return tar;
}

/** a temporary directory */
export const tempDir = (prefix: string): string => mkdtempSync(join(tmpdir(), prefix));
