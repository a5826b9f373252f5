// The install step of the CNI image (images: Dockerfile): the single executable copies itself into the host's CNI bin
// directory (the image mounts it at /host/opt/cni/bin, as upstream's sriov-cni image does) and sleeps until it is
// terminated, so the DaemonSet's pod stays Running. The copy is written under a temporary name and renamed, so a
// runtime never executes a half-written plugin.
import { chmodSync, copyFileSync, existsSync, linkSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const INSTALL_USAGE = `Usage: sriov install [--dest DIR] [--as NAME]... [--once]

Copies this single executable into DIR (default /host/opt/cni/bin) as NAME (default sriov; repeat --as for more
names, e.g. --as sriov --as ehost-device), then sleeps until SIGTERM or SIGINT. --once exits after the copy.
`;

export interface InstallOptions {
  dest: string;
  names: string[];
  once: boolean;
}

export function parseInstallArgs(args: readonly string[]): InstallOptions {
  const opts: InstallOptions = { dest: '/host/opt/cni/bin', names: [], once: false };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const value = (): string => {
      const v = args[++i];
      if (v === undefined || v.startsWith('--')) throw new Error(`install: ${a} needs a value\n\n${INSTALL_USAGE}`);
      return v;
    };
    if (a === '--dest') opts.dest = value();
    else if (a === '--as') {
      const n = value();
      if (n.includes('/') || n === '.' || n === '..') throw new Error(`install: --as ${n}: a file name, not a path`);
      opts.names.push(n);
    } else if (a === '--once') opts.once = true;
    else throw new Error(`install: unknown argument ${a}\n\n${INSTALL_USAGE}`);
  }
  if (opts.names.length === 0) opts.names.push('sriov');
  return opts;
}

/**
 * Copies `self` into opts.dest under the first name and hard-links the others to that copy (one ~100 MB file on the
 * host, not one per name; a copy where the link fails); returns the paths written.
 */
export function installCopies(self: string, opts: InstallOptions): string[] {
  if (!existsSync(opts.dest) || !statSync(opts.dest).isDirectory()) {
    throw new Error(`install: ${opts.dest} is not a directory (mount the host's /opt/cni/bin there)`);
  }
  const written: string[] = [];
  for (const name of opts.names) {
    const target = join(opts.dest, name);
    const tmp = join(opts.dest, `.${name}.sriov-lab-install-${process.pid}`);
    try {
      let linked = false;
      if (written.length > 0) {
        try {
          linkSync(written[0], tmp);
          linked = true;
        } catch {
          // another file system under the same directory, or links not allowed: copy
        }
      }
      if (!linked) copyFileSync(self, tmp);
      chmodSync(tmp, 0o755);
      renameSync(tmp, target);
    } catch (e) {
      rmSync(tmp, { force: true });
      throw new Error(`install: cannot write ${target}: ${(e as Error).message}`);
    }
    written.push(target);
  }
  return written;
}

/** The `install` command: copy, say so, then sleep until terminated (or exit with --once). */
export function runInstall(self: string, args: readonly string[]): void {
  let written: string[];
  try {
    written = installCopies(self, parseInstallArgs(args));
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(1);
  }
  const mib = (statSync(self).size / (1 << 20)).toFixed(1);
  for (const w of written) process.stdout.write(`installed the sriov-lab CNI as ${w} (${mib} MiB)\n`);
  if (args.includes('--once')) process.exit(0);
  process.stdout.write('sleeping until terminated\n');
  const keepAlive = setInterval(() => undefined, 1 << 30);
  const stop = () => {
    clearInterval(keepAlive);
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
