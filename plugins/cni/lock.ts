// Per-device lock. An abstract unix socket name is bound while the lock is held: binding is atomic, the kernel
// releases it when the holder exits or is killed (no stale lock files, nothing to clean up), and it is scoped to
// the network namespace the plugin runs in, i.e. the node, which is exactly the set of plugins that share its VFs.
import { createServer, type Server } from 'node:net';
import { CNI_CODES, CniError } from './errors.ts';

export interface HeldLock {
  readonly key: string;
  release(): Promise<void>;
}

function tryBind(name: string): Promise<Server | null> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EADDRINUSE') resolve(null);
      else reject(e);
    });
    srv.listen({ path: `\0${name}` }, () => {
      srv.unref();
      resolve(srv);
    });
  });
}

/** Waits up to `timeoutMs` for the lock on `key` (e.g. a PCI address). */
export async function acquireLock(key: string, opts: { timeoutMs?: number; namespace?: string } = {}): Promise<HeldLock> {
  const name = `${opts.namespace ?? 'sriov-lab-cni'}/${key}`;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const t0 = Date.now();
  let delay = 5;
  for (;;) {
    const srv = await tryBind(name);
    if (srv) {
      return {
        key,
        release: () => new Promise<void>((resolve) => srv.close(() => resolve())),
      };
    }
    if (Date.now() - t0 >= timeoutMs) {
      throw new CniError(CNI_CODES.tryAgainLater, `device ${key} is locked by another CNI call`, `still held after ${timeoutMs} ms (abstract socket @${name})`);
    }
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 50);
  }
}
