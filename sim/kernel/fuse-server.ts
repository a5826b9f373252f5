// The sysfs server process: owns one SysfsModel, serves it over FUSE and a control socket, and (for a simulated
// node) mirrors its netdevs into the node's network namespace. Started by startSysfsServer(); prints one JSON line
// {"ready":true,...} on stdout when mounted; unmounts and exits on SIGTERM/SIGINT or when stdin closes.
import { readFileSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { SysfsModel, type ModelOptions } from './model.ts';
import { mountModel } from './fuse-projection.ts';
import { serveControl } from './control-server.ts';
import { NetdevMirror } from '../node/mirror.ts';

export interface SysfsServerConfig {
  model: ModelOptions;
  mountDir: string;
  controlSocket: string;
  mirror?: { netns: string; fabricNetns: string; ipPath?: string };
  /** what to remove when the parent dies without stopping us (e.g. killed with SIGKILL) */
  cleanupOnParentExit?: { netns: string[]; dirs: string[] };
}

async function main(): Promise<void> {
  // once the parent is gone our stdio pipes are broken: a write must not kill us before we have cleaned up
  process.stdout.on('error', () => undefined);
  process.stderr.on('error', () => undefined);
  const configPath = process.argv[2];
  if (!configPath) {
    process.stderr.write('usage: sysfs-server CONFIG.json\n');
    process.exit(2);
  }
  const config = JSON.parse(readFileSync(configPath, 'utf8')) as SysfsServerConfig;
  const model = new SysfsModel(config.model);
  const mirror = config.mirror ? new NetdevMirror(model, config.mirror) : null;
  if (mirror) await mirror.start();
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
    // listing a netdev directory always looks at the real links (a netdev may have just come back from a pod, and
    // the link monitor's event may not have arrived yet); other lookups sync when the monitor saw a change
    beforeLookup: async (path, listing) => mirror?.sync(listing && /\/net$/.test(path)),
    log: (msg) => process.stderr.write(`${msg}\n`),
  });
  const control = await serveControl(model, config.controlSocket, {
    afterChange: async () => mirror?.flush(),
    sync: async () => mirror?.sync(true),
    afterRequest: () => mounted.refresh(),
    stats: () => mounted.stats(),
  });
  let stopping = false;
  const stop = async (why: string) => {
    if (stopping) return;
    stopping = true;
    if (why !== 'parent gone') process.stderr.write(`sysfs-server: stopping (${why})\n`);
    mirror?.stop();
    control.close();
    await mounted.unmount();
    if (why === 'parent gone' && config.cleanupOnParentExit) {
      const { netns, dirs } = config.cleanupOnParentExit;
      if (netns.length) spawnSync('ip', ['-force', '-batch', '-'], { input: netns.map((n) => `netns del ${n}\n`).join('') });
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    }
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGHUP', () => void stop('SIGHUP'));
  // the parent holds our stdin: when it dies, stdin closes and we clean up rather than leave a dead mount
  process.stdin.on('end', () => void stop('parent gone'));
  process.stdin.resume();
  process.stdout.write(`${JSON.stringify({ ready: true, pid: process.pid, mountDir: config.mountDir, controlSocket: config.controlSocket })}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`sysfs-server: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
