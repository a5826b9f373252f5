// Recovery of a FUSE connection whose server is gone or stuck: the fusectl filesystem lists each connection under
// /sys/fs/fuse/connections/<N> (N = the mount's device minor); writing to its `abort` fails every waiting request
// with ENOTCONN, so processes blocked in the mount return and the mount can be removed.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { connectionOf, isMounted } from './connection.ts';

export const FUSECTL_DIR = '/sys/fs/fuse/connections';

/** Mounts fusectl if it is not mounted yet; false where that is not possible (no root, no kernel support). */
export function ensureFusectl(): boolean {
  if (isMounted(FUSECTL_DIR)) return true;
  if (!existsSync(FUSECTL_DIR)) {
    try {
      mkdirSync(FUSECTL_DIR, { recursive: true });
    } catch {
      return false;
    }
  }
  return spawnSync('mount', ['-t', 'fusectl', 'fusectl', FUSECTL_DIR]).status === 0 && isMounted(FUSECTL_DIR);
}

/** Aborts connection `n`; true if fusectl knew it. */
export function abortConnection(n: number): boolean {
  if (!ensureFusectl()) return false;
  const f = `${FUSECTL_DIR}/${n}/abort`;
  if (!existsSync(f)) return false;
  writeFileSync(f, '1');
  return true;
}

/** Number of requests waiting for an answer on connection `n` (undefined if unknown). */
export function waitingRequests(n: number): number | undefined {
  if (!ensureFusectl()) return undefined;
  try {
    return Number(readFileSync(`${FUSECTL_DIR}/${n}/waiting`, 'utf8').trim());
  } catch {
    return undefined;
  }
}

/**
 * Removes whatever FUSE mount is left at `dir`: aborts its connection first (a server killed with SIGKILL, or one
 * that stopped answering, would otherwise leave callers blocked), then unmounts lazily. Returns what it did.
 */
export function recoverMount(dir: string): { aborted: boolean; unmounted: boolean } {
  const n = connectionOf(dir);
  if (n === undefined) return { aborted: false, unmounted: false };
  const aborted = abortConnection(n);
  const unmounted = spawnSync('umount', ['-l', dir]).status === 0;
  return { aborted, unmounted };
}
