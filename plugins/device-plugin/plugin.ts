// The plugin as a whole: discovery and re-discovery, health, one ResourceServer per non-empty pool, and the watch
// that notices a kubelet restart.
import { watch, type FSWatcher, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { PluginConfig, ResourceConfig } from './config.ts';
import { buildPools, resourceMatches } from './pools.ts';
import { createLogger, type Logger } from './log.ts';
import { staticProtos, type Protos } from './grpc-api.ts';
import { mark } from './trace.ts';
import { ResourceServer, type PoolEntry, type RegistrationMode } from './server.ts';
import {
  type CarrierMemo,
  type DiscoveryResult,
  type HealthState,
  type HostPaths,
  type NetdevAttrCache,
  DeviceTable,
  defaultHostPaths,
  readHealth,
  vhostNetAvailable,
} from './sysfs.ts';
import type { Device } from './api-types.ts';

export interface DevicePluginOptions {
  config: PluginConfig;
  /** relocations of /sys, /dev, /dev/vfio, /proc/net/route */
  paths?: Partial<HostPaths>;
  /** default /var/lib/kubelet */
  kubeletDir?: string;
  /** default /var/run/k8s.cni.cncf.io/devinfo/dp */
  devinfoDir?: string;
  /** no longer used: the plugin's gRPC messages are built in (grpc-api.ts), it reads no .proto file */
  apiDir?: string;
  logger?: Logger;
  /** sysfs poll period; the loop backs off to twice the scan time when scans are slow. Default 300. */
  pollIntervalMs?: number;
  /**
   * period of the sriov_numvfs check: one small read per SR-IOV PF; a change re-discovers that PF's devices at once
   * instead of at the next poll. 0 turns it off. Default 10 (four PFs: four reads of ~15 µs per tick, ~0.6% of a core).
   */
  numVfsPollMs?: number;
  /** called between steps of the first discovery (tests use it to hold discovery back) */
  discoveryStep?: () => Promise<void>;
  /** periodic registration check (fallback to the fs watch). Default 1000. */
  registrationCheckMs?: number;
  /** after the kubelet refuses the plugin (plugins_registry), serve again after this long. Default 5000. */
  retryAfterRejectMs?: number;
}

export interface ResourceStatus {
  resourceName: string;
  serving: boolean;
  registered: boolean;
  registrations: number;
  mode: RegistrationMode | null;
  socketPath: string | null;
  devices: Device[];
}

/** health reads between two turns of the event loop during a scan (~25 µs each: under a millisecond of blocking) */
const HEALTH_READS_PER_TURN = 32;
/** the longest the first discovery waits for a resource's registration before it goes on reading devices */
const REGISTRATION_HOLD_MS = 250;
/** device reads between two turns of the event loop during the first discovery (~100 µs each) */
const DISCOVERY_READS_PER_TURN = 16;

/** `full`: the poll loop's pass (structure and the health of every device); `structure`: re-discovery only, health of
 * the devices read again (the sriov_numvfs check's pass). */
export type ScanKind = 'full' | 'structure';

export const DEFAULT_KUBELET_DIR = '/var/lib/kubelet';
export const DEFAULT_DEVINFO_DIR = '/var/run/k8s.cni.cncf.io/devinfo/dp';

export class SriovDevicePlugin implements AsyncDisposable {
  readonly config: PluginConfig;
  readonly paths: HostPaths;
  readonly kubeletDir: string;
  readonly devinfoDir: string;
  private readonly log: Logger;
  private readonly opts: DevicePluginOptions;
  private readonly protos: Protos;
  private readonly servers = new Map<string, ResourceServer>();
  private readonly attrCache: NetdevAttrCache = new Map();
  private readonly table: DeviceTable;
  private vhostNet = false;
  /** last health read of each pooled device */
  private health = new Map<string, HealthState>();
  private pools = new Map<string, PoolEntry['dev'][]>();
  private pollTimer: NodeJS.Timeout | null = null;
  private numVfsTimer: NodeJS.Timeout | null = null;
  private checkTimer: NodeJS.Timeout | null = null;
  private watchers: FSWatcher[] = [];
  private watchDebounce: NodeJS.Timeout | null = null;
  private scanning: Promise<boolean> | null = null;
  private stopped = false;
  /** re-discoveries run (structure changes, incremental or full), for tests and benchmarks */
  discoveries = 0;

  private constructor(opts: DevicePluginOptions) {
    this.opts = opts;
    this.config = opts.config;
    this.paths = { ...defaultHostPaths, ...opts.paths };
    if (opts.paths?.devVfioRoot === undefined && opts.paths?.devRoot !== undefined) this.paths.devVfioRoot = join(this.paths.devRoot, 'vfio');
    this.kubeletDir = opts.kubeletDir ?? DEFAULT_KUBELET_DIR;
    this.devinfoDir = opts.devinfoDir ?? DEFAULT_DEVINFO_DIR;
    this.log = opts.logger ?? createLogger('info');
    this.protos = staticProtos();
    mark('protos');
    this.table = new DeviceTable(this.paths, this.attrCache);
  }

  /** devices read from sysfs since start (a full discovery reads each once; an incremental one only what changed) */
  get devicesRead(): number {
    return this.table.reads;
  }

  /**
   * Discovers, serves every non-empty pool, registers, then keeps watching sysfs and the kubelet. A resource serves
   * and registers as soon as discovery finds its first device; its ListAndWatch sends the first list when discovery is
   * done (the kubelet opens the stream right after Register and waits for it).
   */
  static async start(opts: DevicePluginOptions): Promise<SriovDevicePlugin> {
    const p = new SriovDevicePlugin(opts);
    p.log.info('starting', {
      resources: p.config.resources.map((r) => r.fullName),
      sysfsRoot: p.paths.sysfsRoot,
      kubeletDir: p.kubeletDir,
      devinfoDir: p.devinfoDir,
    });
    try {
      await p.initialScan();
    } catch (e) {
      await p.stop();
      throw e;
    }
    p.schedulePoll(p.opts.pollIntervalMs ?? 300);
    p.scheduleNumVfsCheck(p.opts.numVfsPollMs ?? 10);
    p.startWatch();
    p.checkTimer = setInterval(() => void p.checkRegistrations(), p.opts.registrationCheckMs ?? 1000);
    p.checkTimer.unref();
    return p;
  }

  private schedulePoll(delayMs: number): void {
    if (this.stopped) return;
    this.pollTimer = setTimeout(async () => {
      const t0 = performance.now();
      try {
        await this.scan();
      } catch (e) {
        this.log.error('scan failed', { error: (e as Error).message });
      }
      const took = performance.now() - t0;
      this.schedulePoll(Math.max(this.opts.pollIntervalMs ?? 300, 2 * took));
    }, delayMs);
    this.pollTimer.unref();
  }

  private scheduleNumVfsCheck(periodMs: number): void {
    if (periodMs <= 0 || this.stopped) return;
    this.numVfsTimer = setInterval(() => {
      if (this.scanning || this.stopped) return;
      let changed = false;
      try {
        changed = this.table.numVfsChanged();
      } catch (e) {
        this.log.debug('sriov_numvfs check failed', { error: (e as Error).message });
      }
      if (changed) this.scan('structure').catch((e: Error) => this.log.error('scan failed', { error: e.message }));
    }, periodMs);
    this.numVfsTimer.unref();
  }

  private newServer(res: ResourceConfig): ResourceServer {
    const server = new ResourceServer({
      res,
      kubeletDir: this.kubeletDir,
      devinfoDir: this.devinfoDir,
      paths: this.paths,
      protos: this.protos,
      logger: this.log,
      needVhostNet: res.selectors.some((s) => s.needVhostNet === true),
      retryAfterRejectMs: this.opts.retryAfterRejectMs,
    });
    this.servers.set(res.fullName, server);
    return server;
  }

  /** The first discovery, device by device: a resource's server starts (and registers) with its first device. */
  private initialScan(): Promise<boolean> {
    this.scanning = (async () => {
      this.vhostNet = vhostNetAvailable(this.paths);
      const ctx = { vhostNetAvailable: this.vhostNet };
      const starts: Array<Promise<Error | null>> = [];
      const steps = this.table.rebuildSteps();
      mark('scan');
      let n = 0;
      for (let s = steps.next(); !s.done; s = steps.next()) {
        const e = s.value;
        if (e.kind === 'device') {
          const res = this.config.resources.find((r) => resourceMatches(r, e.dev, ctx));
          if (res && !this.servers.has(res.fullName)) {
            this.log.debug('first device of a resource: serving and registering', { resource: res.fullName, device: e.addr });
            mark('first device');
            const started = this.newServer(res).start().then(() => null, (err: Error) => err);
            starts.push(started);
            // discovery waits for the registration (bind, dial, Register, the kubelet's GetDevicePluginOptions and
            // ListAndWatch): interleaved with device reads, each of its dozen event-loop turns waited for a chunk of
            // reads (~50 ms at 1,024 VFs); the kubelet waits for the first list on the stream meanwhile anyway
            await Promise.race([started, new Promise<void>((resolve) => setTimeout(resolve, REGISTRATION_HOLD_MS).unref())]);
            if (this.stopped) break;
          }
        }
        if (++n % DISCOVERY_READS_PER_TURN === 0) {
          await (this.opts.discoveryStep ? this.opts.discoveryStep() : new Promise<void>((resolve) => setImmediate(resolve)));
          if (this.stopped) break;
        }
      }
      this.discoveries++;
      mark('discovered');
      const changed = await this.applyDiscovery('full', null, true);
      mark('listed');
      const failed = (await Promise.all(starts)).find((e) => e !== null);
      if (failed) throw failed;
      return changed;
    })().finally(() => {
      this.scanning = null;
    });
    return this.scanning;
  }

  /** One pass: re-discover what changed in sysfs, recompute health, update servers. Returns whether anything was sent. */
  scan(kind: ScanKind = 'full'): Promise<boolean> {
    if (!this.scanning) {
      this.scanning = this.doScan(kind).finally(() => {
        this.scanning = null;
      });
    }
    return this.scanning;
  }

  private async doScan(kind: ScanKind): Promise<boolean> {
    if (this.stopped) return false;
    const upd = this.table.update();
    const vhost = kind === 'full' ? vhostNetAvailable(this.paths) : this.vhostNet;
    if (upd.changed) this.discoveries++;
    const poolsChanged = upd.changed || vhost !== this.vhostNet;
    if (!poolsChanged && kind === 'structure') return false;
    this.vhostNet = vhost;
    if (kind === 'full' && poolsChanged) {
      // the new pools first, with the health of the devices read again (the others' as last read), then the health
      // of every device: a change the poll noticed reaches the kubelet without waiting for a thousand health reads
      // (~25-40 ms at 1,024 VFs)
      const sent = await this.applyDiscovery('structure', upd.changed ? upd.reread : null, true);
      if (this.stopped) return sent;
      return (await this.applyDiscovery('full', null, false)) || sent;
    }
    return this.applyDiscovery(kind, upd.changed ? upd.reread : null, poolsChanged);
  }

  /**
   * Pools from the table, health (of every device on a full pass; of the devices read again, and new ones, otherwise),
   * then each resource's list to its server; a non-empty pool without a server gets one.
   */
  private async applyDiscovery(kind: ScanKind, reread: ReadonlySet<string> | null, poolsChanged: boolean): Promise<boolean> {
    const discovery = this.table.result();
    if (poolsChanged) {
      this.pools = buildPools(this.config, discovery.devices, { vhostNetAvailable: this.vhostNet });
    }
    if (poolsChanged) {
      this.log.debug('discovered', {
        devices: discovery.devices.length,
        reread: reread?.size ?? discovery.devices.length + discovery.skipped.length,
        skipped: discovery.skipped,
        pools: Object.fromEntries([...this.pools].map(([k, v]) => [k, v.length])),
      });
      for (const s of discovery.skipped) if (!reread || reread.has(s.pciAddr)) this.log.debug('device skipped', { ...s });
    }
    const memo: CarrierMemo = new Map();
    const health = new Map<string, HealthState>();
    let reads = 0;
    let changed = false;
    for (const res of this.config.resources) {
      const devs = this.pools.get(res.fullName) ?? [];
      const entries: PoolEntry[] = [];
      for (const dev of devs) {
        let h = kind === 'full' || reread?.has(dev.pciAddr) ? undefined : this.health.get(dev.pciAddr);
        if (h === undefined) {
          // a thousand sysfs reads take tens of ms: let gRPC calls (Allocate) in between
          if (reads > 0 && reads % HEALTH_READS_PER_TURN === 0) {
            await new Promise<void>((resolve) => setImmediate(resolve));
            if (this.stopped) return changed;
          }
          reads++;
          const mode = res.healthCheck === 'auto' ? (dev.virtio ? 'operstate' : 'link') : res.healthCheck;
          h = readHealth(this.paths, dev, mode, memo);
        }
        health.set(dev.pciAddr, h);
        entries.push({ dev, healthy: h.healthy, reason: h.reason });
      }
      let server = this.servers.get(res.fullName);
      if (!server) {
        if (entries.length === 0) continue; // upstream: a pool with no devices gets no server
        server = this.newServer(res);
        server.setDevices(entries);
        await server.start();
        changed = true;
        continue;
      }
      if (server.setDevices(entries)) changed = true;
    }
    this.health = health;
    return changed;
  }

  private startWatch(): void {
    for (const w of this.watchers) w.close();
    this.watchers = [];
    for (const dir of [join(this.kubeletDir, 'device-plugins'), join(this.kubeletDir, 'plugins_registry')]) {
      if (!existsSync(dir)) continue;
      try {
        const w = watch(dir, { persistent: false }, () => this.onWatchEvent());
        w.on('error', () => undefined);
        this.watchers.push(w);
      } catch (e) {
        this.log.debug('cannot watch', { dir, error: (e as Error).message });
      }
    }
  }

  private onWatchEvent(): void {
    if (this.watchDebounce || this.stopped) return;
    this.watchDebounce = setTimeout(() => {
      this.watchDebounce = null;
      void this.checkRegistrations();
    }, 20);
    this.watchDebounce.unref();
  }

  private watchedDirs = '';
  private async checkRegistrations(): Promise<void> {
    if (this.stopped) return;
    // a kubelet dir created after start (or plugins_registry appearing) needs a new watch
    const dirs = ['device-plugins', 'plugins_registry'].filter((d) => existsSync(join(this.kubeletDir, d))).join(',');
    if (dirs !== this.watchedDirs) {
      this.watchedDirs = dirs;
      this.startWatch();
    }
    await Promise.all([...this.servers.values()].map((s) => s.check()));
  }

  resources(): ResourceStatus[] {
    return this.config.resources.map((r: ResourceConfig) => {
      const s = this.servers.get(r.fullName);
      return {
        resourceName: r.fullName,
        serving: !!s,
        registered: s?.registered ?? false,
        registrations: s?.registrations ?? 0,
        mode: s ? s.mode : null,
        socketPath: s ? s.socketPath : null,
        devices: s ? s.devices() : [],
      };
    });
  }

  /** The ResourceServer of a resource (for in-process Allocate calls in tests and benchmarks). */
  server(resourceName: string): ResourceServer | undefined {
    return this.servers.get(resourceName);
  }

  /** Resolves when the device-info files match the advertised devices (they are written in the background). */
  async settled(): Promise<void> {
    await this.scanning?.catch(() => undefined);
    await Promise.all([...this.servers.values()].map((s) => s.flushFiles()));
  }

  lastDiscovery(): DiscoveryResult {
    return this.table.result();
  }

  /** Stops polling, closes every server, removes its sockets and device-info files. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.pollTimer) clearTimeout(this.pollTimer);
    if (this.numVfsTimer) clearInterval(this.numVfsTimer);
    if (this.checkTimer) clearInterval(this.checkTimer);
    if (this.watchDebounce) clearTimeout(this.watchDebounce);
    for (const w of this.watchers) w.close();
    await this.scanning?.catch(() => undefined);
    await Promise.all([...this.servers.values()].map((s) => s.stop()));
    this.log.info('stopped', {});
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

export function startDevicePlugin(opts: DevicePluginOptions): Promise<SriovDevicePlugin> {
  return SriovDevicePlugin.start(opts);
}
