// The host directory each kind node's simulated sysfs is served under: bind-mounted on itself and made a shared mount,
// so that the FUSE mounts made under it later propagate into the node containers, which mount it with
// host-to-container propagation (the generated kind config's extraMounts; Docker refuses that propagation for a
// source that is not on a shared or slave mount).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** where a node container sees its part of the share */
export const SHARE_IN_NODE = '/run/sriov-lab/host';

function must(argv: string[]): void {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed: ${(r.stderr || r.error?.message || '').trim()}`);
}

const isMountPoint = (dir: string): boolean => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === dir);

/** `mount --bind DIR DIR && mount --make-shared DIR` (once) */
export function makeShared(dir: string): void {
  if (!isMountPoint(dir)) must(['mount', '--bind', dir, dir]);
  must(['mount', '--make-shared', dir]);
}

/** removes the share's mount (and whatever is still mounted under it) */
export function unmakeShared(dir: string): void {
  if (isMountPoint(dir)) must(['umount', '-l', dir]);
}
