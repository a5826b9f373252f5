// The sysfs server process: one process serves the sysfs of many simulated nodes. Each node has its own
// SysfsModel, FUSE mount, control socket and (for a simulated node) mirror of its netdevs into the node's network
// namespace; the FUSE connections share the event loop (fuse/connection.ts reads them through epoll).
// Started by server-process.ts. It speaks JSON lines (HostRequest / HostReply) on stdin and stdout and prints
// {"ready":true,"pid":N} once it listens. It unmounts everything and exits on SIGTERM/SIGINT/SIGHUP; when stdin
// closes (its parent died) it also removes what each node asked to be removed then (cleanupOnParentExit).
import { mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { SysfsModel, type ModelOptions } from './model.ts';
import { mountModel } from './fuse-projection.ts';
import { serveControl } from './control-server.ts';
import { NetdevMirror } from '../node/mirror.ts';
import { onLines } from '../lines.ts';

export interface SysfsServerConfig {
  model: ModelOptions;
  mountDir: string;
  controlSocket: string;
  mirror?: { netns: string; fabricNetns: string; ipPath?: string };
  /**
   * the drivers' link delays (NIC catalog driverLinkTiming) are modelled, each lasting exactly this long (default
   * 1000 ms): the states come in the kernel's order while a sim stays fast, and a device plugin that polls every
   * 300 ms, or registers a resource for VFs that just appeared, sees each of them every time (igb's 630 ms PF gap
   * was missed now and then by a plugin registering its new resource); null: links change at once
   */
  linkDelayCapMs?: number | null;
  /** what to remove when the parent dies without stopping us (e.g. killed with SIGKILL) */
  cleanupOnParentExit?: { netns: string[]; dirs: string[]; netnsPrefix?: string };
}

export type HostRequest = { op: 'add'; id: string; config: SysfsServerConfig } | { op: 'remove'; id: string };

export type HostReply =
  | { ready: true; pid: number }
  /** `timings`: ms each part of the node's start took here (model, mirror, mount, control), for the phase bench */
  | { id: string; added: true; mountDir: string; controlSocket: string; timings?: Record<string, number> }
  | { id: string; removed: true }
  | { id: string; error: string }
  | { id: string; log: string };

interface ServedNode {
  stop(cleanup: boolean): Promise<void>;
  /** ms each part of the start took */
  timings: Record<string, number>;
}

/** Serves one node's sysfs until stop(). */
async function serveNode(config: SysfsServerConfig, log: (line: string) => void): Promise<ServedNode> {
  const timings: Record<string, number> = {};
  let t = performance.now();
  const lap = (part: string) => {
    const now = performance.now();
    timings[part] = now - t;
    t = now;
  };
  const model = new SysfsModel(config.model);
  const mirror = config.mirror ? new NetdevMirror(model, config.mirror) : null;
  const undo: Array<() => Promise<void> | void> = [];
  if (config.linkDelayCapMs !== null) {
    const timers = new Set<NodeJS.Timeout>();
    undo.push(() => timers.forEach((t) => clearTimeout(t)));
    model.modelLinkDelays((ms, fn) => {
      const t = setTimeout(() => {
        timers.delete(t);
        fn();
        mirror?.flush().catch((e: Error) => log(`link delay: ${e.message}`));
      }, ms);
      timers.add(t);
    }, config.linkDelayCapMs ?? 1000, config.linkDelayCapMs ?? 1000);
  }
  const stop = async (cleanup: boolean) => {
    for (const u of undo.reverse()) {
      try {
        await u();
      } catch (e) {
        log(`stopping: ${(e as Error).message}`);
      }
    }
    undo.length = 0;
    if (cleanup && config.cleanupOnParentExit) {
      const { dirs, netnsPrefix } = config.cleanupOnParentExit;
      // the pods' namespaces too: the harness process made them, and it is the one that died
      let named: string[] = [];
      try {
        named = netnsPrefix ? readdirSync('/run/netns').filter((n) => n.startsWith(netnsPrefix)) : [];
      } catch {
        /* no /run/netns */
      }
      const netns = [...new Set([...config.cleanupOnParentExit.netns, ...named])];
      if (netns.length) spawnSync('ip', ['-force', '-batch', '-'], { input: netns.map((n) => `netns del ${n}\n`).join('') });
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    }
  };
  try {
    lap('model');
    if (mirror) {
      undo.push(() => mirror.stop());
      await mirror.start();
      lap('mirror (veths)');
    }
    mkdirSync(config.mountDir, { recursive: true });
    // the PFs' names next to the control socket, for the node's ip shim (it sends only PF listings to the wrapper)
    const pfList = join(dirname(config.controlSocket), 'pfs');
    let pfNames = '';
    const publishPfs = () => {
      const now = model
        .pfs()
        .filter((p) => p.ifname && p.totalVfs > 0)
        .map((p) => `${p.ifname}\n`)
        .join('');
      if (now === pfNames) return;
      pfNames = now;
      writeFileSync(`${pfList}.tmp`, now);
      renameSync(`${pfList}.tmp`, pfList);
    };
    if (config.mirror) publishPfs();
    const mounted = await mountModel(model, config.mountDir, {
      afterWrite: async () => {
        await mirror?.flush();
        if (config.mirror) publishPfs();
      },
      // a listing of a netdev directory, or a netdev name that is not there, looks at the real links (a netdev may
      // have just come back from a pod before the link monitor's event arrived); other lookups sync when the monitor
      // saw a change
      beforeLookup: async (_path, force) => mirror?.sync(force),
      log,
    });
    undo.push(() => mounted.unmount());
    lap('FUSE mount');
    const control = await serveControl(model, config.controlSocket, {
      afterChange: async () => mirror?.flush(),
      sync: async () => mirror?.sync(true),
      afterRequest: () => mounted.refresh(),
      stats: () => mounted.stats(),
    });
    undo.push(() => void control.close());
    lap('control socket');
    return { stop, timings };
  } catch (e) {
    await stop(false);
    throw e;
  }
}

async function main(): Promise<void> {
  // once the parent is gone our stdio pipes are broken: a write must not kill us before we have cleaned up
  process.stdout.on('error', () => undefined);
  process.stderr.on('error', () => undefined);
  const send = (r: HostReply) => process.stdout.write(`${JSON.stringify(r)}\n`);
  const nodes = new Map<string, Promise<ServedNode | undefined>>();
  let stopping = false;
  const stopAll = async (why: string, cleanup: boolean) => {
    if (stopping) return;
    stopping = true;
    if (why !== 'parent gone') process.stderr.write(`sysfs-server: stopping (${why})\n`);
    await Promise.all([...nodes.values()].map(async (p) => (await p.catch(() => undefined))?.stop(cleanup)));
    process.exit(0);
  };
  onLines(process.stdin, (line) => {
    if (!line.trim() || stopping) return;
    let req: HostRequest;
    try {
      req = JSON.parse(line) as HostRequest;
    } catch (e) {
      process.stderr.write(`sysfs-server: bad request: ${(e as Error).message}\n`);
      return;
    }
    const log = (l: string) => send({ id: req.id, log: l });
    if (req.op === 'add') {
      if (nodes.has(req.id)) return send({ id: req.id, error: `node ${req.id} is already served` });
      const { id, config } = req;
      const started = serveNode(config, log).then(
        (n) => {
          send({ id, added: true, mountDir: config.mountDir, controlSocket: config.controlSocket, timings: n.timings });
          return n;
        },
        (e: unknown) => {
          nodes.delete(id);
          send({ id, error: (e as Error).stack ?? String(e) });
          return undefined;
        },
      );
      nodes.set(id, started);
    } else if (req.op === 'remove') {
      const { id } = req;
      const n = nodes.get(id);
      nodes.delete(id);
      void (async () => {
        await (await n)?.stop(false);
        send({ id, removed: true });
      })();
    }
  });
  process.on('SIGTERM', () => void stopAll('SIGTERM', false));
  process.on('SIGINT', () => void stopAll('SIGINT', false));
  process.on('SIGHUP', () => void stopAll('SIGHUP', false));
  // the parent holds our stdin: when it dies, stdin closes and we clean up rather than leave dead mounts
  process.stdin.on('end', () => void stopAll('parent gone', true));
  send({ ready: true, pid: process.pid });
}

main().catch((e: unknown) => {
  process.stderr.write(`sysfs-server: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
