// For tests: a tiny image's root filesystem made of this machine's own programs and the libraries their loader maps
// (registry pulls do not work on the build machines), as a tarball for `docker import` into the private dockerd of
// harness/images/dockerd.ts.
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { sharedLibraries } from '../../images/rootfs.ts';

/**
 * A root filesystem of this machine's programs (found on PATH) with the shared libraries each loads, as a tarball for
 * `docker import`. Enough for a container that runs sh, mount and ip, like a kind node's; `librariesOf` adds the
 * libraries (not the executables) of further programs.
 */
export function hostRootfsTarball(programs: string[], outDir: string, o: { librariesOf?: string[] } = {}): string {
  const root = join(outDir, 'rootfs');
  const copy = (src: string, at = src) => {
    const dst = join(root, at);
    if (existsSync(dst)) return;
    mkdirSync(dirname(dst), { recursive: true });
    copyFileSync(src, dst);
    chmodSync(dst, 0o755);
  };
  for (const p of programs) {
    const path = spawnSync('sh', ['-c', `command -v ${p}`], { encoding: 'utf8' }).stdout.trim();
    if (!path.startsWith('/')) throw new Error(`${p} is not on PATH`);
    copy(path);
    for (const lib of sharedLibraries(path)) copy(lib.source, lib.path);
    // /bin/sh: the programs' own names under /bin, as a usual image has them
    const bin = join(root, 'bin', p);
    if (!existsSync(bin)) {
      mkdirSync(dirname(bin), { recursive: true });
      symlinkSync(path, bin);
    }
  }
  // only the libraries of these (the node binary: the ip wrapper runs this machine's, bound in from the share)
  for (const exe of o.librariesOf ?? []) for (const lib of sharedLibraries(exe)) copy(lib.source, lib.path);
  for (const d of ['sys', 'proc', 'dev', 'run', 'tmp', 'etc']) mkdirSync(join(root, d), { recursive: true });
  const tar = join(outDir, 'rootfs.tar');
  const r = spawnSync('tar', ['-C', root, '-cf', tar, '.'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tar of ${root}: ${r.stderr}`);
  return tar;
}

/** a temporary directory */
export const tempDir = (prefix: string): string => mkdtempSync(join(tmpdir(), prefix));
