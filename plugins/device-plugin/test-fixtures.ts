// Test fixtures only (never imported by the plugin itself): simulated hosts from the kernel model's snapshot
// projection, and a small fake kubelet on a temporary socket.
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync, readdirSync, existsSync, statSync, watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { SysfsModel, type ModelNicSpec } from '../../sim/kernel/model.ts';
import { writeSnapshot } from '../../sim/kernel/snapshot.ts';
import type { HostPaths } from './sysfs.ts';
import { loadProtos } from './proto.ts';
import type { AllocateResponse, Device, DevicePluginOptions, ListAndWatchResponse, PluginInfo, PreferredAllocationResponse } from './api-types.ts';

export interface Teardown {
  teardown(fn: () => void | Promise<void>): void;
}

/** A short temp dir under /tmp (unix socket paths must stay under ~108 bytes). */
export function shortTmp(t: Teardown, tag = 'dp', base = '/tmp'): string {
  const d = mkdtempSync(`${base}/${tag}-`);
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

export const NO_DEFAULT_ROUTE = 'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n';
export function routeTable(defaultIfnames: string[]): string {
  return NO_DEFAULT_ROUTE + defaultIfnames.map((i) => `${i}\t00000000\t0102A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n`).join('');
}

/**
 * A host whose /sys and /dev/vfio are snapshots of a kernel model. `refresh()` writes a fresh snapshot and swaps the
 * `sys`/`dev` symlinks at once, so a running plugin sees the whole change in one step.
 */
export class SimHost {
  readonly model: SysfsModel;
  readonly root: string;
  readonly paths: HostPaths;
  private gen = 0;

  constructor(t: Teardown, nics: ModelNicSpec[], opts: { defaultRouteIfnames?: string[]; prepare?: (m: SysfsModel) => void } = {}) {
    // snapshots are hundreds of small files: tmpfs when there is one
    this.root = shortTmp(t, 'host', existsSync('/dev/shm') ? '/dev/shm' : '/tmp');
    this.model = new SysfsModel({ nics });
    opts.prepare?.(this.model);
    writeFileSync(join(this.root, 'route'), routeTable(opts.defaultRouteIfnames ?? []));
    this.paths = { sysfsRoot: join(this.root, 'sys'), devRoot: join(this.root, 'dev'), devVfioRoot: join(this.root, 'dev', 'vfio'), procNetRoute: join(this.root, 'route') };
    this.refresh();
  }

  /** Re-projects the model (after model.write(...) etc.). */
  refresh(): void {
    const dir = join(this.root, `g${++this.gen}`);
    mkdirSync(dir);
    writeSnapshot(this.model, dir);
    for (const name of ['sys', 'dev']) {
      const tmp = join(this.root, `.${name}.tmp`);
      rmSync(tmp, { force: true });
      symlinkSync(join(dir, name), tmp);
      renameSync(tmp, join(this.root, name));
    }
    // older generations stay until teardown: deleting thousands of files here would delay the caller after the swap
  }

  setDefaultRoutes(ifnames: string[]): void {
    writeFileSync(join(this.root, 'route'), routeTable(ifnames));
  }

  /** every netdev administratively up, so carrier and operstate reflect the link */
  allUp(): void {
    for (const { pciAddr } of this.model.netdevs()) this.model.updateNetdev(pciAddr, { adminUp: true });
  }
}

type AnyClient = grpc.Client & Record<string, (...args: unknown[]) => unknown>;

interface PluginConn {
  resource: string;
  endpoint: string;
  client: AnyClient;
  options: DevicePluginOptions;
  devices: Device[];
  updates: number;
  stream: grpc.ClientReadableStream<ListAndWatchResponse>;
}

/** A fake kubelet: registration server (kubelet.sock) and/or a plugins_registry watcher; keeps each plugin's latest list. */
export class FakeKubelet {
  readonly dir: string;
  readonly plugins = new Map<string, PluginConn>();
  readonly registerCalls: Array<{ version: string; endpoint: string; resource_name: string; options?: DevicePluginOptions | null }> = [];
  readonly registryInfos: PluginInfo[] = [];
  private server: grpc.Server | null = null;
  private watcher: FSWatcher | null = null;
  private readonly protos = loadProtos();
  private waiters = new Set<() => void>();
  /** answer NotifyRegistrationStatus with plugin_registered=false */
  rejectRegistry = false;

  constructor(kubeletDir: string) {
    this.dir = kubeletDir;
  }

  get devicePluginDir(): string {
    return join(this.dir, 'device-plugins');
  }

  async start(): Promise<void> {
    mkdirSync(this.devicePluginDir, { recursive: true });
    const server = new grpc.Server();
    server.addService(this.protos.deviceplugin.Registration.service, {
      Register: (call: grpc.ServerUnaryCall<FakeKubelet['registerCalls'][number], object>, cb: grpc.sendUnaryData<object>) => {
        const req = call.request;
        this.registerCalls.push(req);
        this.notify(); // a waiter for the Register call sees it now, not at its next 25 ms poll or after the dial back
        this.connect(req.resource_name, join(this.devicePluginDir, req.endpoint)).then(
          () => cb(null, {}),
          (e: Error) => cb({ code: grpc.status.UNKNOWN, details: `failed to dial device plugin: ${e.message}` } as grpc.ServiceError),
        );
      },
    });
    await new Promise<void>((res, rej) =>
      server.bindAsync(`unix://${join(this.devicePluginDir, 'kubelet.sock')}`, grpc.ServerCredentials.createInsecure(), (e) => (e ? rej(e) : res())),
    );
    this.server = server;
  }

  /** Like the kubelet's plugin watcher: GetInfo on each new socket in plugins_registry, connect, notify. */
  watchRegistry(): void {
    const reg = join(this.dir, 'plugins_registry');
    mkdirSync(reg, { recursive: true });
    // path → inode: a socket deleted and re-created between two events is a new plugin socket (as inotify reports it)
    const seen = new Map<string, number>();
    const scan = () => {
      for (const f of readdirSync(reg)) {
        const p = join(reg, f);
        if (!f.endsWith('.sock')) continue;
        let ino: number;
        try {
          ino = statSync(p).ino;
        } catch {
          continue;
        }
        if (seen.get(p) === ino) continue;
        seen.set(p, ino);
        void this.registryRegister(p).catch(() => seen.delete(p));
      }
      for (const p of [...seen.keys()]) if (!existsSync(p)) seen.delete(p);
    };
    this.watcher = watch(reg, () => scan());
    scan();
  }

  private async registryRegister(sock: string): Promise<void> {
    const Reg = this.protos.pluginregistration.Registration;
    const c = new Reg(`unix://${sock}`, grpc.credentials.createInsecure()) as unknown as AnyClient;
    const info = await unary<PluginInfo>(c, 'GetInfo', {});
    this.registryInfos.push(info);
    if (this.rejectRegistry) {
      await unary(c, 'NotifyRegistrationStatus', { plugin_registered: false, error: 'rejected by test' });
      c.close();
      return;
    }
    await this.connect(info.name, info.endpoint);
    await unary(c, 'NotifyRegistrationStatus', { plugin_registered: true, error: '' });
    c.close();
  }

  private async connect(resource: string, sockPath: string): Promise<void> {
    const old = this.plugins.get(resource);
    if (old) {
      old.stream.cancel();
      old.client.close();
    }
    const client = new this.protos.deviceplugin.DevicePlugin(`unix://${sockPath}`, grpc.credentials.createInsecure()) as unknown as AnyClient;
    const options = await unary<DevicePluginOptions>(client, 'GetDevicePluginOptions', {});
    const stream = (client.ListAndWatch as (r: object) => grpc.ClientReadableStream<ListAndWatchResponse>).call(client, {});
    const conn: PluginConn = { resource, endpoint: sockPath, client, options, devices: [], updates: 0, stream };
    stream.on('data', (m: ListAndWatchResponse) => {
      conn.devices = m.devices;
      conn.updates++;
      this.notify();
    });
    stream.on('error', () => undefined);
    stream.on('end', () => {
      if (this.plugins.get(resource) === conn) {
        conn.devices = conn.devices.map((d) => ({ ...d, health: 'Unhealthy' }));
        this.notify();
      }
    });
    this.plugins.set(resource, conn);
    this.notify();
  }

  private notify(): void {
    for (const w of this.waiters) w();
  }

  /** healthy device IDs of a resource, sorted */
  allocatable(resource: string): string[] {
    return (this.plugins.get(resource)?.devices ?? []).filter((d) => d.health === 'Healthy').map((d) => d.ID).sort();
  }
  capacity(resource: string): string[] {
    return (this.plugins.get(resource)?.devices ?? []).map((d) => d.ID).sort();
  }

  /** Resolves when `pred` holds (checked on every update); rejects after timeoutMs naming what it waited for. */
  waitFor(what: string, pred: () => boolean, timeoutMs = 3000): Promise<void> {
    if (pred()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (pred()) {
          cleanup();
          resolve();
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`${what} not observed after ${timeoutMs}ms`));
      }, timeoutMs);
      const poll = setInterval(check, 25);
      const cleanup = () => {
        clearTimeout(timer);
        clearInterval(poll);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
    });
  }

  allocate(resource: string, ids: string[][]): Promise<AllocateResponse> {
    const c = this.plugins.get(resource);
    if (!c) throw new Error(`no plugin for ${resource}`);
    return unary<AllocateResponse>(c.client, 'Allocate', { container_requests: ids.map((d) => ({ devices_ids: d })) });
  }

  preferred(resource: string, available: string[], mustInclude: string[], size: number): Promise<PreferredAllocationResponse> {
    const c = this.plugins.get(resource)!;
    return unary<PreferredAllocationResponse>(c.client, 'GetPreferredAllocation', {
      container_requests: [{ available_deviceIDs: available, must_include_deviceIDs: mustInclude, allocation_size: size }],
    });
  }

  /** A kubelet restart as docs/reference/kubelet-behaviour.md#kubelet-restart describes: stop, delete every socket in
   * device-plugins/, listen again. */
  async restart(): Promise<void> {
    await this.stopServer();
    for (const f of readdirSync(this.devicePluginDir)) if (f.endsWith('.sock')) rmSync(join(this.devicePluginDir, f), { force: true });
    for (const c of this.plugins.values()) {
      c.stream.cancel();
      c.client.close();
    }
    this.plugins.clear();
    await this.start();
  }

  private async stopServer(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (s) s.forceShutdown();
  }

  async stop(): Promise<void> {
    this.watcher?.close();
    await this.stopServer();
    for (const c of this.plugins.values()) {
      c.stream.cancel();
      c.client.close();
    }
    this.plugins.clear();
  }
}

export function unary<T>(client: AnyClient, method: string, req: object, timeoutMs = 3000): Promise<T> {
  return new Promise((resolve, reject) => {
    (client[method] as (r: object, md: grpc.Metadata, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, v: T) => void) => void).call(
      client,
      req,
      new grpc.Metadata(),
      { deadline: Date.now() + timeoutMs },
      (e, v) => (e ? reject(e) : resolve(v)),
    );
  });
}
