// Starts the sysfs of a node in a sysfs server process and gives back an AsyncDisposable handle; the mount is
// always removed, also when the caller fails. One server process serves every node this process starts (a cluster
// of N nodes is one FUSE process, not N); `ownProcess` gives a node a process of its own (to kill it in a test).
// The shared process holds this one open only while it serves a node.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { entryCommand } from '../paths.ts';
import { onLines } from '../lines.ts';
import { ControlClient } from './control-client.ts';
import { recoverMount } from './fuse/fusectl.ts';
import { isMounted } from './fuse/connection.ts';
import type { HostReply, HostRequest, SysfsServerConfig } from './fuse-server.ts';
import { phaseDone, phaseStart } from '../phases.ts';

export interface StartedSysfsServer extends AsyncDisposable {
  /** the serving process (shared by the nodes of this process unless started with ownProcess) */
  readonly pid: number;
  readonly mountDir: string;
  readonly controlSocket: string;
  readonly control: ControlClient;
  /** what the server logged for this node so far (for logs and failure reports) */
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

export { isMounted };

/**
 * Removes what is still mounted at `dir` (a server killed with -9 leaves its mount behind): its FUSE connection is
 * aborted through fusectl first, so that no process stays blocked on it, then it is lazily unmounted.
 */
export function forceUnmount(dir: string): void {
  if (!isMounted(dir)) return;
  if (!recoverMount(dir).unmounted) spawnSync('umount', ['-l', dir]);
}

type Waiter = { resolve: (r: HostReply) => void };

/** One sysfs server process and the nodes it serves for us. */
class SysfsHost {
  readonly child: ChildProcess;
  readonly ready: Promise<number>;
  readonly exited: Promise<number | null>;
  private stderr = '';
  private readonly logs = new Map<string, string>();
  private readonly waiters = new Map<string, Waiter>();
  private nodes = 0;
  dead = false;

  constructor(timeoutMs: number) {
    const endSpawn = phaseStart('sysfs server process: spawn → ready');
    const [cmd, ...args] = entryCommand('sysfs-server', 'sim/kernel/fuse-server.ts');
    this.child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      this.stderr += d;
      if (this.stderr.length > 1_000_000) this.stderr = this.stderr.slice(-500_000);
    });
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code) => {
        this.dead = true;
        for (const [id, w] of this.waiters) w.resolve({ id, error: `sysfs server exited with ${code}` });
        this.waiters.clear();
        resolve(code);
      }),
    );
    this.child.on('error', () => undefined);
    // a server killed meanwhile: the write fails with EPIPE, and its exit answers the waiting request
    this.child.stdin!.on('error', () => undefined);
    this.ready = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new ServerStartError(`sysfs server not ready after ${timeoutMs}ms`, this.stderr)), timeoutMs);
      onLines(this.child.stdout!, (line) => {
        let r: HostReply;
        try {
          r = JSON.parse(line) as HostReply;
        } catch {
          return;
        }
        if ('ready' in r) {
          endSpawn();
          clearTimeout(timer);
          resolve(r.pid);
        } else if ('log' in r) {
          const prev = this.logs.get(r.id) ?? '';
          this.logs.set(r.id, (prev.length > 500_000 ? prev.slice(-250_000) : prev) + `${r.log}\n`);
        } else {
          const w = this.waiters.get(r.id);
          this.waiters.delete(r.id);
          w?.resolve(r);
        }
      });
      void this.exited.then((code) => {
        clearTimeout(timer);
        reject(new ServerStartError(`sysfs server exited with ${code} before it was ready`, this.stderr));
      });
    });
    this.ready.catch(() => undefined);
  }

  private request(req: HostRequest): Promise<HostReply> {
    if (this.dead) return Promise.resolve({ id: req.id, error: 'sysfs server is gone' });
    return new Promise((resolve) => {
      this.waiters.set(req.id, { resolve });
      (this.child.stdin as Writable).write(`${JSON.stringify(req)}\n`);
    });
  }

  /** not held by any node yet: it must not keep this process alive */
  idle(): void {
    this.hold(0);
  }

  /** an idle shared server must not keep this process alive; a busy one must */
  private hold(delta: number): void {
    this.nodes += delta;
    const ref = this.nodes > 0;
    for (const s of [this.child, this.child.stdin, this.child.stdout, this.child.stderr] as Array<ChildProcess | Readable | Writable | null>) {
      const h = s as unknown as { ref?: () => void; unref?: () => void } | null;
      if (ref) h?.ref?.();
      else h?.unref?.();
    }
  }

  async add(id: string, config: SysfsServerConfig, node?: string): Promise<void> {
    await this.ready;
    this.hold(1);
    const end = phaseStart('sysfs: add node (request → reply)', node);
    const r = await this.request({ op: 'add', id, config });
    end();
    if ('error' in r) {
      this.hold(-1);
      throw new ServerStartError(`sysfs of ${id}: ${r.error.split('\n')[0]}`, `${this.log(id)}${this.stderr}`);
    }
    if ('timings' in r && r.timings) for (const [part, ms] of Object.entries(r.timings)) phaseDone(`sysfs server: ${part}`, node, ms);
  }

  async remove(id: string): Promise<void> {
    try {
      await this.request({ op: 'remove', id });
    } finally {
      this.hold(-1);
    }
  }

  log(id: string): string {
    return this.logs.get(id) ?? '';
  }

  async close(): Promise<void> {
    if (this.dead) return;
    this.child.kill('SIGTERM');
    const t = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await this.exited;
    clearTimeout(t);
  }
}

let shared: SysfsHost | undefined;
let nextNodeId = 0;

/**
 * Starts the shared sysfs server process now (its start is ~0.5 s of Node start-up) so that the first node does not
 * wait for it; an idle server does not keep this process alive.
 */
export function prestartSysfsServer(timeoutMs = 20_000): void {
  if (shared && !shared.dead) return;
  shared = new SysfsHost(timeoutMs);
  shared.idle();
}

export async function startSysfsServer(
  config: Omit<SysfsServerConfig, 'mountDir' | 'controlSocket'> & { mountDir?: string; controlSocket?: string; workDir?: string },
  opts: { timeoutMs?: number; ownProcess?: boolean; /** the node's name, for the phase bench */ node?: string } = {},
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
  const timeoutMs = opts.timeoutMs ?? 20_000;
  let host: SysfsHost;
  if (opts.ownProcess) host = new SysfsHost(timeoutMs);
  else {
    if (!shared || shared.dead) shared = new SysfsHost(timeoutMs);
    host = shared;
  }
  const id = `n${process.pid}-${nextNodeId++}`;
  let pid: number;
  try {
    pid = await host.ready;
    await Promise.race([
      host.add(id, full, opts.node),
      new Promise<never>((_, reject) => setTimeout(() => reject(new ServerStartError(`sysfs of ${id} not ready after ${timeoutMs}ms`, host.log(id))), timeoutMs).unref()),
    ]);
  } catch (e) {
    if (opts.ownProcess) await host.close();
    forceUnmount(full.mountDir);
    if (!config.workDir) rmSync(work, { recursive: true, force: true });
    throw e;
  }
  const control = new ControlClient(full.controlSocket);
  let stopped: Promise<void> | null = null;
  const stop = () => {
    stopped ??= (async () => {
      control.close();
      if (!host.dead) await host.remove(id);
      if (opts.ownProcess) await host.close();
      forceUnmount(full.mountDir);
      if (!config.workDir) rmSync(work, { recursive: true, force: true });
    })();
    return stopped;
  };
  return {
    pid,
    mountDir: full.mountDir,
    controlSocket: full.controlSocket,
    control,
    log: () => host.log(id),
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
