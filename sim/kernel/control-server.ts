// The control socket of a sysfs server: JSON lines (one request, one response) for the harness and the ip wrapper.
import { createServer, type Server } from 'node:net';
import { rmSync } from 'node:fs';
import type { SysfsModel } from './model.ts';
import { onLines } from '../lines.ts';
import { type ControlRequest, type ControlResponse, SysfsError } from './types.ts';

export interface ControlHooks {
  /** after anything that changed netdevs (VF MAC, link state, unplug): mirror them */
  afterChange?: () => Promise<void>;
  /** bring the model's netdev view up to date with the real links */
  sync?: () => Promise<void>;
  /** every well-formed request, in the order the model sees it, before it is handled (for tracing and tests) */
  onRequest?: (req: ControlRequest) => void;
  /** after every request, before its answer: e.g. tell a caching FUSE projection what changed */
  afterRequest?: () => Promise<void>;
  /** the serving projection's counters, for `fuse.stats` */
  stats?: () => unknown;
}

export async function handleControl(model: SysfsModel, req: ControlRequest, hooks: ControlHooks = {}): Promise<ControlResponse> {
  try {
    switch (req.op) {
      case 'vf.set':
        model.setVf(req.pf, req.vf, req.attrs);
        await hooks.afterChange?.();
        return { ok: true };
      case 'vf.list':
        await hooks.sync?.();
        return { ok: true, vfs: model.listVfs(req.pf) };
      case 'pf.list':
        await hooks.sync?.();
        return { ok: true, pfs: model.pfs() };
      case 'fault.failWrites':
        model.failWrites(req.path, req.errno, req.count);
        return { ok: true };
      case 'fault.failVfSet':
        model.failVfSet(req.pf, req.attr, req.errno, req.count);
        return { ok: true };
      case 'fault.delay':
        model.delay(req.path, req.delayMs, req.count);
        return { ok: true };
      case 'vf.unplug':
        model.unplug(req.pciAddr);
        await hooks.afterChange?.();
        return { ok: true };
      case 'link.set':
        model.setLink(req.ifname, req.up);
        await hooks.afterChange?.();
        return { ok: true };
      case 'events':
        return { ok: true, events: model.eventsSince(req.since) };
      case 'snapshot':
        await hooks.sync?.();
        return { ok: true, data: model.walk() };
      case 'fuse.stats':
        return { ok: true, data: hooks.stats?.() ?? null };
      case 'netdev.sync':
        await hooks.sync?.();
        return { ok: true, data: model.netdevs() };
      default:
        return { ok: false, errno: 'EINVAL', message: `unknown op ${(req as { op: string }).op}` };
    }
  } catch (e) {
    if (e instanceof SysfsError) return { ok: false, errno: e.errno, message: e.message };
    return { ok: false, errno: 'EIO', message: (e as Error).message };
  }
}

export function serveControl(model: SysfsModel, socketPath: string, hooks: ControlHooks = {}): Promise<Server> {
  rmSync(socketPath, { force: true });
  // requests are handled one at a time across all clients, so the model sees a total order
  let chain: Promise<unknown> = Promise.resolve();
  const server = createServer((sock) => {
    onLines(sock, (line) => {
      if (!line.trim()) return;
      chain = chain.then(async () => {
        let res: ControlResponse;
        try {
          const req = JSON.parse(line) as ControlRequest;
          hooks.onRequest?.(req);
          res = await handleControl(model, req, hooks);
          await hooks.afterRequest?.();
        } catch (e) {
          res = { ok: false, errno: 'EINVAL', message: `bad request: ${(e as Error).message}` };
        }
        if (!sock.destroyed) sock.write(`${JSON.stringify(res)}\n`);
      });
    });
    sock.on('error', () => undefined);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve(server));
  });
}
