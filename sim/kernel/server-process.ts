// Starts a sysfs server process and gives back an AsyncDisposable handle; the process is always stopped and the
// mount always removed, also when the caller fails.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { entryCommand } from '../paths.ts';
import { ControlClient } from './control-client.ts';
import { recoverMount } from './fuse/fusectl.ts';
import type { SysfsServerConfig } from './fuse-server.ts';

export interface StartedSysfsServer extends AsyncDisposable {
  readonly pid: number;
  readonly mountDir: string;
  readonly controlSocket: string;
  readonly control: ControlClient;
  /** stderr of the server so far (for logs and failure reports) */
  log(): string;
  stop(): Promise<void>;
}

export class ServerStartError extends Error {
  constructor(
    message: string,
    readonly stderr: string,
  ) {
    super(`${message}${stderr ? `\n${stderr.trim()}` : ''}`);
    this.name = 'ServerStartError';
  }
}

/** from /proc/self/mounts, since stat() of a dead FUSE mount fails with ENOTCONN */
export function isMounted(dir: string): boolean {
  const esc = dir.replace(/ /g, '\\040');
  return readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .some((l) => l.split(' ')[1] === esc);
}

/**
 * Removes what is still mounted at `dir` (a server killed with -9 leaves its mount behind): its FUSE connection is
 * aborted through fusectl first, so that no process stays blocked on it, then it is lazily unmounted.
 */
export function forceUnmount(dir: string): void {
  if (!isMounted(dir)) return;
  if (!recoverMount(dir).unmounted) spawnSync('umount', ['-l', dir]);
}

export async function startSysfsServer(
  config: Omit<SysfsServerConfig, 'mountDir' | 'controlSocket'> & { mountDir?: string; controlSocket?: string; workDir?: string },
  opts: { timeoutMs?: number } = {},
): Promise<StartedSysfsServer> {
  const work = config.workDir ?? mkdtempSync(join(tmpdir(), 'sl-sysfs-'));
  mkdirSync(work, { recursive: true });
  const full: SysfsServerConfig = {
    model: config.model,
    mirror: config.mirror,
    cleanupOnParentExit: config.cleanupOnParentExit,
    mountDir: config.mountDir ?? join(work, 'mnt'),
    controlSocket: config.controlSocket ?? join(work, 'ctl.sock'),
  };
  const cfgPath = join(work, 'sysfs-server.json');
  writeFileSync(cfgPath, JSON.stringify(full));
  const [cmd, ...args] = entryCommand('sysfs-server', 'sim/kernel/fuse-server.ts');
  const child: ChildProcess = spawn(cmd, [...args, cfgPath], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
    if (stderr.length > 1_000_000) stderr = stderr.slice(-500_000);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const timeoutMs = opts.timeoutMs ?? 20_000;
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new ServerStartError(`sysfs server not ready after ${timeoutMs}ms`, stderr)), timeoutMs);
      const rl = createInterface({ input: child.stdout! });
      rl.on('line', (line) => {
        if (line.includes('"ready":true')) {
          clearTimeout(timer);
          resolve();
        }
      });
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new ServerStartError(`sysfs server exited with ${code} before it was ready`, stderr));
      });
    });
  } catch (e) {
    child.kill('SIGKILL');
    forceUnmount(full.mountDir);
    if (!config.workDir) rmSync(work, { recursive: true, force: true });
    throw e;
  }
  const control = new ControlClient(full.controlSocket);
  let stopped: Promise<void> | null = null;
  const stop = () => {
    stopped ??= (async () => {
      control.close();
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(t);
      }
      forceUnmount(full.mountDir);
      if (!config.workDir) rmSync(work, { recursive: true, force: true });
    })();
    return stopped;
  };
  return {
    pid: child.pid!,
    mountDir: full.mountDir,
    controlSocket: full.controlSocket,
    control,
    log: () => stderr,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
