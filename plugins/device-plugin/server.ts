// One resource's DevicePlugin gRPC server: its socket, registration with the kubelet (kubelet.sock or
// plugins_registry), the ListAndWatch streams, Allocate and GetPreferredAllocation.
import { existsSync, statSync, rmSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { ResourceConfig } from './config.ts';
import type { HostDevice, HostPaths } from './sysfs.ts';
import type { Logger } from './log.ts';
import type { Protos } from './grpc-api.ts';
import { mark } from './trace.ts';
import type {
  AllocateRequest,
  AllocateResponse,
  ContainerAllocateResponse,
  Device,
  DevicePluginOptions,
  ListAndWatchResponse,
  PluginInfo,
  PreferredAllocationRequest,
  PreferredAllocationResponse,
  RegistrationStatus,
} from './api-types.ts';
import {
  buildContainerResponse,
  ensureDeviceInfoFile,
  preferredAllocation,
  removeDeviceInfoFileAsync,
  socketName,
  writeDeviceInfoFileAsync,
} from './allocate.ts';

export type RegistrationMode = 'kubelet.sock' | 'plugins_registry';

/** A device as the server advertises it. */
export interface PoolEntry {
  dev: HostDevice;
  healthy: boolean;
  reason?: string;
}

export interface ResourceServerOptions {
  res: ResourceConfig;
  kubeletDir: string;
  devinfoDir: string;
  paths: HostPaths;
  protos: Protos;
  logger: Logger;
  /** a resource selector asks for /dev/vhost-net */
  needVhostNet: boolean;
  /** wait before serving again after the kubelet refused the plugin (plugins_registry mode) */
  retryAfterRejectMs?: number;
  /** Register RPC deadline */
  registerTimeoutMs?: number;
}

export class AllocateError extends Error {
  readonly resource: string;
  readonly deviceId: string;
  readonly code: grpc.status;
  constructor(resource: string, deviceId: string, code: grpc.status, message: string) {
    super(message);
    this.name = 'AllocateError';
    this.resource = resource;
    this.deviceId = deviceId;
    this.code = code;
  }
}

type StreamCall = grpc.ServerWritableStream<unknown, ListAndWatchResponse>;

function inode(path: string): number | null {
  try {
    return statSync(path).ino;
  } catch {
    return null;
  }
}

/** device-info file operations in flight at once (the thread pool has four threads) */
const FILE_OPS_AT_ONCE = 8;

export const DEVICE_PLUGIN_OPTIONS: DevicePluginOptions = { pre_start_required: false, get_preferred_allocation_available: true };

export class ResourceServer {
  readonly res: ResourceConfig;
  private readonly o: ResourceServerOptions;
  private readonly log: Logger;
  private server: grpc.Server | null = null;
  private streams = new Set<StreamCall>();
  private entries = new Map<string, PoolEntry>();
  /** what the kubelet was last sent (see setDevices); never equal to a real list's */
  private listSig = '\0';
  /** the pool has been set once: before that, ListAndWatch streams wait for the first list */
  private ready = false;
  private socketIno: number | null = null;
  private kubeletIno: number | null = null;
  private rejectedAtMs: number | null = null;
  private checking: Promise<void> | null = null;
  private stopped = false;
  private fileOps: Promise<void> = Promise.resolve();
  mode: RegistrationMode = 'kubelet.sock';
  socketPath = '';
  registered = false;
  /** how many times the plugin registered (kubelet.sock) or was told it is registered (plugins_registry) */
  registrations = 0;

  constructor(o: ResourceServerOptions) {
    this.o = o;
    this.res = o.res;
    this.log = o.logger;
  }

  get devicePluginDir(): string {
    return join(this.o.kubeletDir, 'device-plugins');
  }
  get registryDir(): string {
    return join(this.o.kubeletDir, 'plugins_registry');
  }
  get kubeletSocket(): string {
    return join(this.devicePluginDir, 'kubelet.sock');
  }

  /** The advertised list (as last sent). */
  devices(): Device[] {
    return this.toDevices();
  }

  private toDevices(): Device[] {
    return [...this.entries.values()].map((e) => ({
      ID: e.dev.pciAddr,
      health: e.healthy ? 'Healthy' : 'Unhealthy',
      topology: !this.res.excludeTopology && e.dev.numaNode >= 0 ? { nodes: [{ ID: e.dev.numaNode }] } : null,
    }));
  }

  /** Replaces the pool; sends ListAndWatch only when the advertised list changed. Returns whether it changed. */
  setDevices(list: PoolEntry[]): boolean {
    let same = list.length === this.entries.size;
    for (let i = 0; same && i < list.length; i++) same = this.entries.has(list[i].dev.pciAddr);
    if (same) {
      // the usual poll tick: the same devices, maybe another health; no new map, no file work
      for (const e of list) this.entries.set(e.dev.pciAddr, e);
      return this.advertise(list);
    }
    const next = new Map(list.map((e) => [e.dev.pciAddr, e]));
    const gone = [...this.entries.keys()].filter((id) => !next.has(id));
    const added = [...next.keys()].filter((id) => !this.entries.has(id));
    if (gone.length || added.length) {
      const ops = [
        ...gone.map((id) => () => removeDeviceInfoFileAsync(this.o.devinfoDir, this.res, id)),
        ...added.map((id) => () => writeDeviceInfoFileAsync(this.o.devinfoDir, this.res, id)),
      ];
      this.fileOps = this.fileOps.then(() => this.settle('update device-info files', ops));
    }
    this.entries = next;
    return this.advertise(list);
  }

  private advertise(list: PoolEntry[]): boolean {
    this.ready = true;
    // what the kubelet sees of each device, without building the message: the poll loop calls this every tick
    let sig = '';
    for (const e of list) sig += `${e.dev.pciAddr}${e.healthy ? '+' : '-'}${this.res.excludeTopology ? '' : e.dev.numaNode},`;
    if (sig === this.listSig) return false;
    this.listSig = sig;
    const devices = this.toDevices();
    const healthy = devices.filter((d) => d.health === 'Healthy').length;
    this.log.info('devices changed', { resource: this.res.fullName, total: devices.length, healthy, streams: this.streams.size });
    for (const s of this.streams) s.write({ devices });
    return true;
  }

  /** Runs file operations a few at a time (a thousand at once hold a thousand buffers and promises), then logs failures. */
  private async settle(what: string, ops: Array<() => Promise<unknown>>): Promise<void> {
    const failed: unknown[] = [];
    let next = 0;
    const worker = async () => {
      while (next < ops.length) {
        const op = ops[next++];
        await op().catch((e: unknown) => failed.push(e));
      }
    };
    await Promise.all(Array.from({ length: Math.min(FILE_OPS_AT_ONCE, ops.length) }, worker));
    mark('device-info files');
    if (failed.length) this.log.warn(`cannot ${what}`, { resource: this.res.fullName, failures: failed.length, error: (failed[0] as Error).message });
  }

  /** Resolves when queued device-info file writes and removals are done. */
  async flushFiles(): Promise<void> {
    await this.fileOps;
  }

  private safe(f: () => void, what: string): void {
    try {
      f();
    } catch (e) {
      this.log.warn(`cannot ${what}`, { resource: this.res.fullName, error: (e as Error).message });
    }
  }

  /** Serves on the socket and registers. A failing registration is retried by check(). */
  async start(): Promise<void> {
    this.stopped = false;
    await this.serve();
    if (this.mode === 'kubelet.sock') await this.register();
  }

  private async serve(): Promise<void> {
    await this.shutdownServer();
    this.mode = existsSync(this.registryDir) ? 'plugins_registry' : 'kubelet.sock';
    const dir = this.mode === 'plugins_registry' ? this.registryDir : this.devicePluginDir;
    mkdirSync(dir, { recursive: true });
    this.socketPath = join(dir, socketName(this.res));
    rmSync(this.socketPath, { force: true });
    mark('serve');
    const server = new grpc.Server();
    server.addService(this.o.protos.deviceplugin.DevicePlugin.service, this.devicePluginHandlers());
    if (this.mode === 'plugins_registry') server.addService(this.o.protos.pluginregistration.Registration.service, this.registrationHandlers());
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(`unix://${this.socketPath}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
    );
    mark('bound');
    this.server = server;
    this.socketIno = inode(this.socketPath);
    this.kubeletIno = inode(this.kubeletSocket);
    this.registered = false;
    this.log.info('serving', { resource: this.res.fullName, socket: this.socketPath, mode: this.mode });
  }

  private async shutdownServer(): Promise<void> {
    const s = this.server;
    this.server = null;
    for (const st of this.streams) st.end();
    this.streams.clear();
    if (s) s.forceShutdown();
    if (this.socketPath && this.socketIno !== null && inode(this.socketPath) === this.socketIno) rmSync(this.socketPath, { force: true });
    this.socketIno = null;
  }

  private async register(): Promise<void> {
    if (!existsSync(this.kubeletSocket)) {
      this.log.warn('kubelet socket not present; will register when it appears', { resource: this.res.fullName, kubeletSocket: this.kubeletSocket });
      return;
    }
    const Client = this.o.protos.deviceplugin.Registration;
    const client = new Client(`unix://${this.kubeletSocket}`, grpc.credentials.createInsecure());
    const req = { version: 'v1beta1', endpoint: socketName(this.res), resource_name: this.res.fullName, options: DEVICE_PLUGIN_OPTIONS };
    const deadline = Date.now() + (this.o.registerTimeoutMs ?? 5000);
    mark('register call');
    try {
      await new Promise<void>((resolve, reject) => {
        (client as unknown as { Register: (r: unknown, md: grpc.Metadata, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null) => void) => void }).Register(
          req,
          new grpc.Metadata(),
          { deadline },
          (err) => (err ? reject(err) : resolve()),
        );
      });
      mark('registered');
      this.registered = true;
      this.registrations++;
      this.kubeletIno = inode(this.kubeletSocket);
      this.log.info('registered with kubelet', { resource: this.res.fullName, endpoint: req.endpoint });
    } catch (e) {
      this.registered = false;
      this.log.error('registration failed; will retry', { resource: this.res.fullName, error: (e as Error).message });
    } finally {
      client.close();
    }
  }

  /**
   * Notices a kubelet restart (own socket gone or replaced, kubelet.sock re-created) and serves/registers again.
   * Cheap: two stats when nothing changed.
   */
  check(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (!this.checking) {
      this.checking = this.doCheck().finally(() => {
        this.checking = null;
      });
    }
    return this.checking;
  }

  private async doCheck(): Promise<void> {
    if (this.stopped) return;
    const ownIno = this.socketPath ? inode(this.socketPath) : null;
    const kubeIno = inode(this.kubeletSocket);
    const wantMode: RegistrationMode = existsSync(this.registryDir) ? 'plugins_registry' : 'kubelet.sock';
    if (this.server === null) {
      if (this.rejectedAtMs !== null && Date.now() - this.rejectedAtMs < (this.o.retryAfterRejectMs ?? 5000)) return;
      this.rejectedAtMs = null;
      await this.restart('not serving');
      return;
    }
    if (ownIno === null || ownIno !== this.socketIno) {
      await this.restart('plugin socket removed');
      return;
    }
    if (wantMode !== this.mode) {
      await this.restart(`registration mode is now ${wantMode}`);
      return;
    }
    if (kubeIno !== null && kubeIno !== this.kubeletIno) {
      this.log.info('kubelet socket re-created: kubelet restarted', { resource: this.res.fullName });
      if (this.mode === 'plugins_registry') {
        // a new socket file makes the plugin watcher of a restarted kubelet call GetInfo again
        await this.restart('kubelet restarted');
      } else {
        this.kubeletIno = kubeIno;
        await this.register();
      }
      return;
    }
    if (this.mode === 'kubelet.sock' && !this.registered && kubeIno !== null) await this.register();
  }

  private async restart(why: string): Promise<void> {
    this.log.info('re-serving', { resource: this.res.fullName, reason: why });
    try {
      await this.serve();
      if (this.mode === 'kubelet.sock') await this.register();
    } catch (e) {
      this.log.error('cannot serve', { resource: this.res.fullName, error: (e as Error).message });
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.checking?.catch(() => undefined);
    await this.shutdownServer(); // sockets first: the kubelet must stop calling a plugin that is going away
    const ids = [...this.entries.keys()];
    this.fileOps = this.fileOps.then(() => this.settle('remove device-info files', ids.map((id) => () => removeDeviceInfoFileAsync(this.o.devinfoDir, this.res, id))));
    await this.fileOps;
    this.registered = false;
  }

  // ---- RPCs ----------------------------------------------------------------------------------

  /** Checks and builds the response of one Allocate call (exported for tests and benchmarks). */
  allocate(req: AllocateRequest): AllocateResponse {
    const container_responses: ContainerAllocateResponse[] = [];
    for (const creq of req.container_requests ?? []) {
      const devs: HostDevice[] = [];
      for (const id of creq.devices_ids ?? []) {
        const e = this.entries.get(id);
        if (!e) {
          throw new AllocateError(
            this.res.fullName,
            id,
            grpc.status.INVALID_ARGUMENT,
            `device "${id}" is not a device of ${this.res.fullName} (it has ${this.entries.size}: ${[...this.entries.keys()].slice(0, 8).join(', ')}${this.entries.size > 8 ? ', …' : ''})`,
          );
        }
        if (!e.healthy) {
          throw new AllocateError(this.res.fullName, id, grpc.status.FAILED_PRECONDITION, `device "${id}" of ${this.res.fullName} is unhealthy${e.reason ? `: ${e.reason}` : ''}`);
        }
        devs.push(e.dev);
      }
      for (const d of devs) this.safe(() => ensureDeviceInfoFile(this.o.devinfoDir, this.res, d.pciAddr), 'write device-info file');
      container_responses.push(buildContainerResponse(this.res, devs, { paths: this.o.paths, needVhostNet: this.o.needVhostNet }));
    }
    return { container_responses };
  }

  preferred(req: PreferredAllocationRequest): PreferredAllocationResponse {
    const known = new Map([...this.entries].map(([id, e]) => [id, e.dev]));
    return {
      container_responses: (req.container_requests ?? []).map((c) => ({
        deviceIDs: preferredAllocation(
          { available: c.available_deviceIDs ?? [], mustInclude: c.must_include_deviceIDs ?? [], size: c.allocation_size },
          known,
          this.res.allocationPolicy,
        ),
      })),
    };
  }

  private devicePluginHandlers(): grpc.UntypedServiceImplementation {
    return {
      GetDevicePluginOptions: (_call: grpc.ServerUnaryCall<unknown, DevicePluginOptions>, cb: grpc.sendUnaryData<DevicePluginOptions>) => {
        cb(null, DEVICE_PLUGIN_OPTIONS);
      },
      ListAndWatch: (call: StreamCall) => {
        this.streams.add(call);
        this.log.info('ListAndWatch opened', { resource: this.res.fullName, devices: this.entries.size });
        const drop = () => this.streams.delete(call);
        call.on('cancelled', drop);
        call.on('close', drop);
        call.on('error', drop);
        // registered before discovery finished: setDevices() sends the first list to this stream
        if (this.ready) call.write({ devices: this.toDevices() });
      },
      GetPreferredAllocation: (call: grpc.ServerUnaryCall<PreferredAllocationRequest, PreferredAllocationResponse>, cb: grpc.sendUnaryData<PreferredAllocationResponse>) => {
        cb(null, this.preferred(call.request));
      },
      Allocate: (call: grpc.ServerUnaryCall<AllocateRequest, AllocateResponse>, cb: grpc.sendUnaryData<AllocateResponse>) => {
        try {
          const resp = this.allocate(call.request);
          this.log.info('allocated', { resource: this.res.fullName, devices: call.request.container_requests.map((c) => c.devices_ids) });
          cb(null, resp);
        } catch (e) {
          const code = e instanceof AllocateError ? e.code : grpc.status.INTERNAL;
          this.log.warn('allocate refused', { resource: this.res.fullName, error: (e as Error).message });
          cb({ code, details: (e as Error).message, name: 'AllocateError', message: (e as Error).message, metadata: new grpc.Metadata() });
        }
      },
      PreStartContainer: (_call: grpc.ServerUnaryCall<unknown, object>, cb: grpc.sendUnaryData<object>) => cb(null, {}),
    };
  }

  private registrationHandlers(): grpc.UntypedServiceImplementation {
    return {
      GetInfo: (_call: grpc.ServerUnaryCall<unknown, PluginInfo>, cb: grpc.sendUnaryData<PluginInfo>) => {
        cb(null, { type: 'DevicePlugin', name: this.res.fullName, endpoint: this.socketPath, supported_versions: ['v1beta1'] });
      },
      NotifyRegistrationStatus: (call: grpc.ServerUnaryCall<RegistrationStatus, object>, cb: grpc.sendUnaryData<object>) => {
        const st = call.request;
        cb(null, {});
        if (st.plugin_registered) {
          this.registered = true;
          this.registrations++;
          this.log.info('registered with kubelet (plugin watcher)', { resource: this.res.fullName });
        } else {
          this.registered = false;
          this.rejectedAtMs = Date.now();
          this.log.error('kubelet refused the plugin; stopping this server and retrying later', { resource: this.res.fullName, error: st.error });
          setImmediate(() => void this.shutdownServer());
        }
      },
    };
  }
}
