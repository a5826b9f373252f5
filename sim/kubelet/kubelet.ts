// The emulated kubelet of one node: registration server (kubelet.sock) and plugin watcher (plugins_registry), the
// device manager, admission, the checkpoint, restart/reboot, and the pod-resources API. All paths are under
// `rootDir`, the node's /var/lib/kubelet as the host sees it.
import { mulberry32 } from '../prng.ts';
import { existsSync, lstatSync, mkdirSync, readdirSync, rmSync, watch, type BigIntStats, type FSWatcher } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { fnv32a, CHECKPOINT_FILE, type ParsedCheckpoint } from './checkpoint.ts';
import { RealClock } from './clock.ts';
import { DeviceAllocationError, DeviceManager, parseCount, type DeviceEndpoint } from './device-manager.ts';
import { GrpcEndpoint } from './endpoint.ts';
import { grpc, listenUnix, METHODS, PluginRegistrationClient, protos, stopServer, unaryHandler } from './grpc.ts';
import { PodResourcesServer } from './pod-resources.ts';
import { isExtendedResourceName } from './resource-name.ts';
import type {
  AdmitResult,
  Clock,
  ContainerAllocateResponse,
  ContainerAllocation,
  Device,
  DevicePluginOptions,
  Empty,
  KubeletEvent,
  KubeletLogger,
  NodeAgent,
  PodSpecLite,
  RegisterRequest,
  RegistrationMode,
  ResourceList,
} from './types.ts';

export const SUPPORTED_VERSIONS = ['v1beta1'] as const;
export const DEVICE_PLUGIN_TYPE = 'DevicePlugin';
export const UNEXPECTED_ADMISSION_ERROR = 'UnexpectedAdmissionError';

export interface KubeletOptions {
  nodeName: string;
  /** the node's /var/lib/kubelet as seen from this process */
  rootDir: string;
  clock?: Clock;
  /** device picking derives from it */
  seed?: number | string;
  /** which registration paths the node offers; default both */
  registrationModes?: RegistrationMode[];
  log?: KubeletLogger;
  /** where plugins inside the node see rootDir (endpoints they report are translated); default /var/lib/kubelet */
  nodeKubeletDir?: string;
  /** dial timeout inside Register (the kubelet's is 10 s) */
  dialTimeoutMs?: number;
  /** deadline of each call to a plugin (the kubelet has none; default 30 s so a hung plugin fails visibly) */
  callTimeoutMs?: number;
  /** no files or sockets at all: in-process plugins only (benchmarks) */
  inMemory?: boolean;
}

export type PodPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed';

export interface PodStatusLite {
  uid: string;
  name: string;
  namespace: string;
  phase: PodPhase;
  reason?: string;
  message?: string;
}

interface PodRecord {
  pod: PodSpecLite;
  seq: number;
  phase: PodPhase;
  /** the pod's sandbox and containers exist in the runtime (gone after a reboot) */
  sandboxRunning: boolean;
  result?: AdmitResult;
  waiters: Array<(r: AdmitResult) => void>;
}

export interface StartOptions {
  /** runs after the kubelet listens and before it re-admits its pods (e.g. let a plugin register first) */
  beforeReadmit?: () => Promise<void>;
}

export interface InProcessPluginHandle {
  /** a ListAndWatch message */
  update(devices: Device[]): void;
  /** the stream ends */
  disconnect(): void;
}

const NOOP_LOG: KubeletLogger = { info() {}, warn() {}, error() {} };

function isSocket(path: string): boolean {
  try {
    return lstatSync(path).isSocket();
  } catch {
    return false;
  }
}

/**
 * A socket file's identity: its inode number and birth time. The inode number alone is not one: a plugin restarted
 * after SIGKILL unlinks its stale socket and binds a new one, and ext4 hands the freed inode number straight back, so
 * the new socket looked like the old one and was never registered. Without a birth time (a filesystem with no btime)
 * the change time stands in: a new socket's is its creation.
 */
export function socketIdentity(st: BigIntStats): string {
  return `${st.ino}:${st.birthtimeNs > 0n ? st.birthtimeNs : st.ctimeNs}`;
}

/** a socket in plugins_registry as the plugin watcher tracks it */
interface WatchedSocket {
  /** which socket file it is (socketIdentity): a socket made again under the same name is another plugin */
  id: string;
  resource?: string;
  endpoint?: string;
  retryMs?: number;
  retryTimer?: NodeJS.Timeout;
}

export class KubeletError extends Error {
  readonly nodeName: string;
  readonly op: string;
  constructor(nodeName: string, op: string, message: string) {
    super(`kubelet on node ${nodeName}: ${op}: ${message}`);
    this.name = 'KubeletError';
    this.nodeName = nodeName;
    this.op = op;
  }
}

export class Kubelet implements NodeAgent {
  readonly nodeName: string;
  readonly rootDir: string;
  readonly clock: Clock;
  readonly registrationModes: readonly RegistrationMode[];
  readonly devicePluginsDir: string;
  readonly kubeletSocket: string;
  readonly checkpointPath: string;
  readonly pluginsRegistryDir: string;
  readonly podResourcesSocket: string;

  readonly #log: KubeletLogger;
  readonly #random: () => number;
  readonly #nodeKubeletDir: string;
  readonly #dialTimeoutMs: number;
  readonly #callTimeoutMs: number;
  readonly #inMemory: boolean;

  #running = false;
  #sourcesReady = false;
  #dm: DeviceManager | null = null;
  #registrationServer: grpc.Server | null = null;
  #podResourcesServer: PodResourcesServer | null = null;
  #watcher: FSWatcher | null = null;
  /** resource → current gRPC endpoint (replaced on re-registration) */
  readonly #clients = new Map<string, GrpcEndpoint>();
  /** plugins_registry socket path → what registered through it */
  readonly #watched = new Map<string, WatchedSocket>();
  readonly #pods = new Map<string, PodRecord>();
  #podSeq = 0;
  #queue: Promise<unknown> = Promise.resolve();
  readonly #eventListeners = new Set<(e: KubeletEvent) => void>();
  readonly #resourceListeners = new Set<() => void>();
  readonly #podListeners = new Set<(s: PodStatusLite) => void>();
  #lastCapacity: ResourceList = {};
  #lastAllocatable: ResourceList = {};
  #lastCounts = new Map<string, { capacity: number; allocatable: number }>();
  #lastCheckpoint: ParsedCheckpoint | undefined;

  constructor(opts: KubeletOptions) {
    this.nodeName = opts.nodeName;
    this.rootDir = opts.rootDir;
    this.clock = opts.clock ?? new RealClock();
    this.registrationModes = opts.registrationModes ?? ['kubelet.sock', 'plugins_registry'];
    this.#log = opts.log ?? NOOP_LOG;
    this.#random = mulberry32(fnv32a(`${opts.seed ?? 0}/${opts.nodeName}`));
    this.#nodeKubeletDir = (opts.nodeKubeletDir ?? '/var/lib/kubelet').replace(/\/+$/, '');
    this.#dialTimeoutMs = opts.dialTimeoutMs ?? 10_000;
    this.#callTimeoutMs = opts.callTimeoutMs ?? 30_000;
    this.#inMemory = !!opts.inMemory;
    this.devicePluginsDir = join(this.rootDir, 'device-plugins');
    this.kubeletSocket = join(this.devicePluginsDir, 'kubelet.sock');
    this.checkpointPath = join(this.devicePluginsDir, CHECKPOINT_FILE);
    this.pluginsRegistryDir = join(this.rootDir, 'plugins_registry');
    this.podResourcesSocket = join(this.rootDir, 'pod-resources', 'kubelet.sock');
  }

  get running(): boolean {
    return this.#running;
  }

  /** The checkpoint read at the last start (undefined if there was none). */
  get restoredCheckpoint(): ParsedCheckpoint | undefined {
    return this.#lastCheckpoint;
  }

  // ---- events ----

  onEvent(cb: (e: KubeletEvent) => void): () => void {
    this.#eventListeners.add(cb);
    return () => this.#eventListeners.delete(cb);
  }

  onResourcesChanged(cb: () => void): () => void {
    this.#resourceListeners.add(cb);
    return () => this.#resourceListeners.delete(cb);
  }

  /** pod phase changes made by the kubelet (admission, re-admission after restart) */
  onPodStatusChanged(cb: (s: PodStatusLite) => void): () => void {
    this.#podListeners.add(cb);
    return () => this.#podListeners.delete(cb);
  }

  #emit(e: KubeletEvent): void {
    for (const cb of this.#eventListeners) {
      try {
        cb(e);
      } catch (err) {
        this.#log.error(`event listener failed: ${(err as Error).message}`);
      }
    }
  }

  #resourcesChanged(): void {
    if (!this.#dm) return;
    const { capacity, allocatable } = this.#dm.resources();
    const counts = this.#dm.counts();
    for (const [resource, c] of counts) {
      const last = this.#lastCounts.get(resource);
      if (!last || last.capacity !== c.capacity || last.allocatable !== c.allocatable)
        this.#emit({ kind: 'resources', node: this.nodeName, resource, ...c, atMs: this.clock.now() });
    }
    this.#lastCounts = counts;
    const same = JSON.stringify(capacity) === JSON.stringify(this.#lastCapacity) && JSON.stringify(allocatable) === JSON.stringify(this.#lastAllocatable);
    // the node object keeps resources the kubelet ever reported (a removed resource shows 0, not absent)
    this.#lastCapacity = { ...this.#lastCapacity, ...capacity };
    this.#lastAllocatable = { ...this.#lastAllocatable, ...allocatable };
    if (same) return;
    for (const cb of this.#resourceListeners) {
      try {
        cb();
      } catch (err) {
        this.#log.error(`resources listener failed: ${(err as Error).message}`);
      }
    }
  }

  #podStatus(rec: PodRecord): PodStatusLite {
    const s: PodStatusLite = { uid: rec.pod.uid, name: rec.pod.name, namespace: rec.pod.namespace, phase: rec.phase };
    if (rec.result && !rec.result.admitted) {
      s.reason = rec.result.reason;
      s.message = rec.result.message;
    }
    return s;
  }

  #setPhase(rec: PodRecord, phase: PodPhase): void {
    rec.phase = phase;
    const s = this.#podStatus(rec);
    for (const cb of this.#podListeners) {
      try {
        cb(s);
      } catch (err) {
        this.#log.error(`pod listener failed: ${(err as Error).message}`);
      }
    }
  }

  // ---- NodeAgent ----

  /** Extended resources as the node status shows them (the last reported values while the kubelet is down). */
  capacity(): ResourceList {
    this.#sweep();
    return { ...this.#lastCapacity };
  }

  allocatable(): ResourceList {
    this.#sweep();
    return { ...this.#lastAllocatable };
  }

  /** the grace period may have ended without its timer having run yet (a clock that jumped) */
  #sweep(): void {
    if (this.#dm && this.#dm.sweepExpired().length) this.#resourcesChanged();
  }

  /**
   * Admit a pod bound to this node: allocate its devices per container (init containers first) and start it.
   * While the kubelet is down the pod waits, and is admitted when it starts.
   */
  admitPod(pod: PodSpecLite): Promise<AdmitResult> {
    let rec = this.#pods.get(pod.uid);
    if (rec?.result) return Promise.resolve(rec.result);
    if (!rec) {
      rec = { pod, seq: this.#podSeq++, phase: 'Pending', sandboxRunning: false, waiters: [] };
      this.#pods.set(pod.uid, rec);
    }
    const r = rec;
    if (!this.#running) return new Promise((resolve) => r.waiters.push(resolve));
    return this.#serial(() => this.#admit(r));
  }

  /** The pod is deleted: its containers stop; its devices are freed at the next allocation (as in the kubelet). */
  async releasePod(podUid: string): Promise<void> {
    const rec = this.#pods.get(podUid);
    if (!rec) return;
    this.#pods.delete(podUid);
    for (const w of rec.waiters.splice(0)) w({ admitted: false, reason: 'PodDeleted', message: `pod ${rec.pod.namespace}/${rec.pod.name} was deleted before admission` });
  }

  /** The pod's containers exited: it is terminal, no longer active, and never re-admitted. */
  setPodPhase(podUid: string, phase: 'Succeeded' | 'Failed'): void {
    const rec = this.#pods.get(podUid);
    if (!rec) throw new KubeletError(this.nodeName, 'setPodPhase', `no pod with uid ${podUid}`);
    rec.sandboxRunning = false;
    this.#setPhase(rec, phase);
  }

  podStatus(podUid: string): PodStatusLite | undefined {
    const rec = this.#pods.get(podUid);
    return rec && this.#podStatus(rec);
  }

  pods(): PodStatusLite[] {
    return [...this.#pods.values()].sort((a, b) => a.seq - b.seq).map((r) => this.#podStatus(r));
  }

  /** Devices and plugin responses of one container. */
  containerAllocations(podUid: string, container: string): ContainerAllocation[] {
    return (this.#dm?.containerAllocations(podUid, container) ?? []).map((a) => ({ container, ...a }));
  }

  /** What the runtime would give the container: all its resources' Allocate responses merged (first value wins). */
  runContainerOptions(podUid: string, container: string): ContainerAllocateResponse | undefined {
    return this.#dm?.runContainerOptions(podUid, container);
  }

  /** Whether a plugin is currently connected for `resource`. */
  hasPlugin(resource: string): boolean {
    return !!this.#dm?.hasEndpoint(resource);
  }

  #serial<T>(f: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(f, f);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #fail(rec: PodRecord, reason: string, message: string): AdmitResult {
    const result: AdmitResult = { admitted: false, reason, message };
    rec.result = result;
    rec.sandboxRunning = false;
    this.#setPhase(rec, 'Failed');
    this.#emit({ kind: 'admission', node: this.nodeName, podUid: rec.pod.uid, pod: `${rec.pod.namespace}/${rec.pod.name}`, admitted: false, reason, message, atMs: this.clock.now() });
    this.#log.warn(`Pod ${rec.pod.namespace}/${rec.pod.name} rejected: ${reason}: ${message}`);
    return result;
  }

  async #admit(rec: PodRecord): Promise<AdmitResult> {
    const dm = this.#dm;
    if (!dm || !this.#pods.has(rec.pod.uid)) return { admitted: false, reason: 'PodDeleted', message: 'pod was deleted before admission' };
    const pod = rec.pod;
    try {
      for (const c of [...pod.initContainers, ...pod.containers]) await dm.allocate(pod, c);
    } catch (e) {
      return this.#fail(rec, UNEXPECTED_ADMISSION_ERROR, `Allocate failed due to ${(e as Error).message}, which is unexpected`);
    } finally {
      dm.admissionDone(pod.uid);
    }
    const outOf = this.#missingExtendedResource(pod, dm);
    if (outOf) return this.#fail(rec, outOf.reason, outOf.message);
    if (!rec.sandboxRunning) {
      try {
        for (const c of [...pod.initContainers, ...pod.containers]) await dm.preStartContainer(pod, c);
      } catch (e) {
        // in a real kubelet the pod stays Pending and the container start is retried; we report it and stop here
        const message = (e as Error).message;
        const result: AdmitResult = { admitted: false, reason: 'CreateContainerConfigError', message };
        this.#emit({ kind: 'admission', node: this.nodeName, podUid: pod.uid, pod: `${pod.namespace}/${pod.name}`, admitted: false, reason: result.reason, message, atMs: this.clock.now() });
        return result;
      }
    }
    const allocations: ContainerAllocation[] = [];
    for (const c of [...pod.initContainers, ...pod.containers]) allocations.push(...this.containerAllocations(pod.uid, c.name));
    const result: AdmitResult = { admitted: true, allocations };
    rec.result = result;
    rec.sandboxRunning = true;
    this.#setPhase(rec, 'Running');
    this.#emit({ kind: 'admission', node: this.nodeName, podUid: pod.uid, pod: `${pod.namespace}/${pod.name}`, admitted: true, atMs: this.clock.now() });
    return result;
  }

  /** The node-fit predicate for extended resources no device plugin manages (scheduler bypassed). */
  #missingExtendedResource(pod: PodSpecLite, dm: DeviceManager): { reason: string; message: string } | undefined {
    const { allocatable } = dm.resources();
    const names = new Set([...pod.initContainers, ...pod.containers].flatMap((c) => Object.keys(c.limits ?? {})));
    for (const r of [...names].sort()) {
      if (!isExtendedResourceName(r) || dm.isRegistered(r) || dm.allocatedDevices().has(r)) continue;
      const sumApp = pod.containers.reduce((n, c) => n + parseCount(c.limits?.[r] ?? '0', r), 0);
      const maxInit = pod.initContainers.reduce((n, c) => Math.max(n, parseCount(c.limits?.[r] ?? '0', r)), 0);
      const requested = Math.max(sumApp, maxInit);
      const cap = Number(allocatable[r] ?? '0');
      if (requested > cap)
        return { reason: `OutOf${r}`, message: `Node didn't have enough resource: ${r}, requested: ${requested}, used: 0, capacity: ${cap}` };
    }
    return undefined;
  }

  // ---- lifecycle ----

  #deviceManagerHost(): ConstructorParameters<typeof DeviceManager>[0] {
    return {
      nodeName: this.nodeName,
      clock: this.clock,
      random: this.#random,
      checkpointPath: this.#inMemory ? null : this.checkpointPath,
      activePodUids: () => new Set([...this.#pods.values()].filter((r) => r.phase === 'Pending' || r.phase === 'Running').map((r) => r.pod.uid)),
      sourcesReady: () => this.#sourcesReady,
      isContainerRunning: (uid, container) => {
        const r = this.#pods.get(uid);
        return !!r && r.sandboxRunning && [...r.pod.initContainers, ...r.pod.containers].some((c) => c.name === container);
      },
      emit: (e) => this.#emit(e),
      warn: (m) => this.#log.warn(m),
      resourcesChanged: () => this.#resourcesChanged(),
    };
  }

  /**
   * Start (or start again): restore from the checkpoint, delete every socket in device-plugins/ (the checkpoint
   * stays), listen on kubelet.sock and pod-resources, watch plugins_registry, then re-admit the pods that are not
   * terminal, then admit pods that arrived while the kubelet was down.
   */
  async start(opts: StartOptions = {}): Promise<void> {
    if (this.#running) return;
    const dm = new DeviceManager(this.#deviceManagerHost());
    this.#dm = dm;
    this.#sourcesReady = false;
    this.#running = true;
    this.#emit({ kind: 'lifecycle', node: this.nodeName, what: 'start', atMs: this.clock.now() });
    if (!this.#inMemory) {
      mkdirSync(this.devicePluginsDir, { recursive: true });
      mkdirSync(join(this.rootDir, 'pod-resources'), { recursive: true });
      this.#lastCheckpoint = dm.restore();
      if (this.#lastCheckpoint)
        this.#emit({ kind: 'lifecycle', node: this.nodeName, what: 'checkpoint-restored', detail: `${this.#lastCheckpoint.data.entries.length} entries, format ${this.#lastCheckpoint.format}`, atMs: this.clock.now() });
      for (const name of readdirSync(this.devicePluginsDir)) {
        const p = join(this.devicePluginsDir, name);
        if (isSocket(p)) rmSync(p, { force: true });
      }
      if (this.registrationModes.includes('kubelet.sock')) await this.#listenRegistration();
      rmSync(this.podResourcesSocket, { force: true });
      this.#podResourcesServer = this.#newPodResourcesServer();
      await this.#podResourcesServer.listen();
      if (this.registrationModes.includes('plugins_registry')) this.#startPluginWatcher();
    }
    this.#log.info(`kubelet on ${this.nodeName} started`);
    this.#resourcesChanged();
    if (opts.beforeReadmit) await opts.beforeReadmit();
    await this.#serial(async () => {
      for (const rec of [...this.#pods.values()].sort((a, b) => a.seq - b.seq)) {
        if (rec.phase !== 'Running' || !this.#running) continue;
        await this.#admit(rec);
      }
      this.#sourcesReady = true;
    });
    for (const rec of [...this.#pods.values()].sort((a, b) => a.seq - b.seq)) {
      if (!rec.waiters.length) continue;
      const waiters = rec.waiters.splice(0);
      void this.#serial(() => this.#admit(rec)).then((r) => waiters.forEach((w) => w(r)));
    }
  }

  /** The kubelet process goes away: servers and plugin streams close; pods keep running; state lives in the checkpoint. */
  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    await this.#queue;
    if (this.#registrationServer) stopServer(this.#registrationServer);
    this.#registrationServer = null;
    this.#podResourcesServer?.stop();
    this.#podResourcesServer = null;
    this.#watcher?.close();
    this.#watcher = null;
    for (const w of this.#watched.values()) if (w.retryTimer) clearTimeout(w.retryTimer);
    this.#watched.clear();
    for (const ep of this.#clients.values()) ep.close();
    this.#clients.clear();
    this.#dm?.dispose();
    this.#dm = null;
    this.#sourcesReady = false;
    this.#emit({ kind: 'lifecycle', node: this.nodeName, what: 'stop', atMs: this.clock.now() });
    this.#log.info(`kubelet on ${this.nodeName} stopped`);
  }

  /** stop + start: sockets wiped, checkpoint restored, running pods keep their devices. */
  async restart(opts: StartOptions = {}): Promise<void> {
    this.#emit({ kind: 'lifecycle', node: this.nodeName, what: 'restart', atMs: this.clock.now() });
    await this.stop();
    await this.start(opts);
  }

  /**
   * Node reboot: the kubelet stops, every pod's sandbox is gone, then the kubelet starts and re-admits the pods that
   * are not terminal; their devices are checked again (no healthy devices → UnexpectedAdmissionError).
   */
  async reboot(opts: StartOptions = {}): Promise<void> {
    this.#emit({ kind: 'lifecycle', node: this.nodeName, what: 'reboot', atMs: this.clock.now() });
    await this.stop();
    for (const rec of this.#pods.values()) rec.sandboxRunning = false;
    await this.start(opts);
  }

  /** Stop and forget: resolves pods still waiting for admission as not admitted. */
  async close(): Promise<void> {
    await this.stop();
    for (const rec of this.#pods.values())
      for (const w of rec.waiters.splice(0)) w({ admitted: false, reason: 'NodeShutdown', message: `kubelet on node ${this.nodeName} was closed` });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // ---- registration (kubelet.sock) ----

  async #listenRegistration(): Promise<void> {
    const server = new grpc.Server();
    server.addService(protos().registrationService, {
      Register: unaryHandler<RegisterRequest, Empty>(async (req) => {
        const at = this.clock.now();
        try {
          await this.#register(req);
          this.#emit({ kind: 'grpc', node: this.nodeName, direction: 'in', method: METHODS.register, request: req, response: {}, atMs: at });
          return {};
        } catch (e) {
          this.#emit({ kind: 'grpc', node: this.nodeName, direction: 'in', method: METHODS.register, request: req, error: (e as Error).message, atMs: at });
          throw e;
        }
      }),
    });
    await listenUnix(server, this.kubeletSocket);
    this.#registrationServer = server;
  }

  async #register(req: RegisterRequest): Promise<void> {
    this.#log.info(`Got registration request from device plugin with resource ${req.resource_name}`);
    let err: string | undefined;
    if (!(SUPPORTED_VERSIONS as readonly string[]).includes(req.version))
      err = `requested API version "${req.version}" is not supported by kubelet. Supported version is [${SUPPORTED_VERSIONS.map((v) => `"${v}"`).join(' ')}]`;
    else if (!isExtendedResourceName(req.resource_name)) err = `the ResourceName "${req.resource_name}" is invalid`;
    if (err) {
      this.#registrationEvent(req.resource_name, req.endpoint, 'kubelet.sock', err);
      throw new Error(err);
    }
    await this.#connectClient(req.resource_name, join(this.devicePluginsDir, req.endpoint), 'kubelet.sock');
  }

  #registrationEvent(resource: string, endpoint: string, mode: RegistrationMode, error?: string): void {
    this.#emit({ kind: 'registration', node: this.nodeName, resource, endpoint, mode, ok: !error, ...(error ? { error } : {}), atMs: this.clock.now() });
    if (error) this.#log.warn(`Registration of ${resource} at ${endpoint} failed: ${error}`);
    else this.#log.info(`Registered device plugin for ${resource} at ${endpoint}`);
  }

  /** Dial, GetDevicePluginOptions, replace the resource's endpoint, open the one ListAndWatch stream. */
  async #connectClient(resource: string, socketPath: string, mode: RegistrationMode): Promise<void> {
    const hooks = { nodeName: this.nodeName, clock: this.clock, emit: (e: KubeletEvent) => this.#emit(e), callTimeoutMs: this.#callTimeoutMs };
    let connected: { endpoint: GrpcEndpoint; options: DevicePluginOptions };
    try {
      connected = await GrpcEndpoint.connect(resource, socketPath, mode, hooks, this.#dialTimeoutMs);
    } catch (e) {
      this.#registrationEvent(resource, socketPath, mode, (e as Error).message);
      throw e;
    }
    const dm = this.#dm;
    if (!dm || !this.#running) {
      connected.endpoint.close();
      throw new Error('kubelet is shutting down');
    }
    const { endpoint, options } = connected;
    this.#clients.set(resource, endpoint);
    dm.pluginConnected(resource, endpoint, options);
    this.#registrationEvent(resource, socketPath, mode);
    endpoint.listAndWatch(
      (devices) => {
        if (this.#dm === dm) dm.devicesUpdated(resource, devices);
      },
      (error) => {
        this.#log.warn(`ListAndWatch ended unexpectedly for device plugin ${resource}${error ? `: ${error}` : ''}`);
        if (this.#clients.get(resource) === endpoint) this.#clients.delete(resource);
        if (this.#dm === dm) dm.pluginDisconnected(resource, endpoint);
      },
    );
  }

  /**
   * A device source without gRPC (benchmarks, model-only runs): it behaves like a registered plugin whose
   * ListAndWatch sends `devices` now and whatever update() sends later.
   */
  connectInProcessPlugin(endpoint: DeviceEndpoint, options: DevicePluginOptions, devices: Device[]): InProcessPluginHandle {
    const dm = this.#dm;
    if (!dm) throw new KubeletError(this.nodeName, 'connectInProcessPlugin', 'the kubelet is not running; call start() first');
    dm.pluginConnected(endpoint.resource, endpoint, options);
    dm.devicesUpdated(endpoint.resource, devices);
    return {
      update: (d) => {
        if (this.#dm === dm) dm.devicesUpdated(endpoint.resource, d);
      },
      disconnect: () => {
        if (this.#dm === dm) dm.pluginDisconnected(endpoint.resource, endpoint);
      },
    };
  }

  // ---- plugin watcher (plugins_registry) ----

  #startPluginWatcher(): void {
    mkdirSync(this.pluginsRegistryDir, { recursive: true });
    this.#watcher = watch(this.pluginsRegistryDir, () => this.#scanPluginsRegistry());
    this.#watcher.on('error', (e) => this.#log.error(`plugin watcher: ${e.message}`));
    this.#scanPluginsRegistry();
  }

  /** Compare the directory with what is registered: new sockets register, vanished ones deregister. */
  #scanPluginsRegistry(): void {
    if (!this.#running || !this.#watcher) return;
    let names: string[];
    try {
      names = readdirSync(this.pluginsRegistryDir);
    } catch {
      names = [];
    }
    const present = new Map<string, string>();
    for (const name of names) {
      if (name.startsWith('.')) continue;
      const p = join(this.pluginsRegistryDir, name);
      try {
        const st = lstatSync(p, { bigint: true });
        if (st.isSocket()) present.set(p, socketIdentity(st));
      } catch {
        // vanished between readdir and lstat
      }
    }
    for (const [p, w] of [...this.#watched]) {
      if (present.get(p) === w.id) continue;
      this.#watched.delete(p);
      if (w.retryTimer) clearTimeout(w.retryTimer);
      this.#deregisterWatched(w);
    }
    for (const [p, id] of present) {
      if (this.#watched.has(p)) continue;
      const w: WatchedSocket = { id };
      this.#watched.set(p, w);
      void this.#serialRegistration(() => this.#registerWatched(p, w));
    }
  }

  #registrationQueue: Promise<void> = Promise.resolve();
  #serialRegistration(f: () => Promise<void>): Promise<void> {
    const run = this.#registrationQueue.then(f, f);
    this.#registrationQueue = run.catch(() => undefined);
    return run;
  }

  #deregisterWatched(w: { resource?: string; endpoint?: string }): void {
    if (!w.resource) return;
    const ep = this.#clients.get(w.resource);
    if (!ep || ep.socketPath !== w.endpoint) return;
    this.#log.info(`DeRegisterPlugin ${w.resource} at ${w.endpoint}`);
    this.#clients.delete(w.resource);
    ep.close();
    this.#dm?.pluginDisconnected(w.resource, ep);
  }

  /** Translate a path a plugin reports (inside the node) to this process's view. */
  #hostPath(p: string): string {
    if (p === this.#nodeKubeletDir || p.startsWith(`${this.#nodeKubeletDir}/`)) return join(this.rootDir, p.slice(this.#nodeKubeletDir.length));
    return isAbsolute(p) ? p : join(this.pluginsRegistryDir, p);
  }

  /**
   * A registration that failed before the plugin answered (dial, GetInfo) is tried again, as the kubelet's plugin
   * manager reconciler does for a socket still in its desired state: with exponential backoff (500 ms doubling, at
   * most 2 min 2 s). A slow machine (a TCG guest) makes the 1 s deadlines miss now and then.
   */
  #retryWatched(socketPath: string, w: WatchedSocket): void {
    if (!this.#running || this.#watched.get(socketPath) !== w) return;
    w.retryMs = Math.min((w.retryMs ?? 250) * 2, 122_000);
    this.#log.info(`plugin watcher: registration of ${socketPath} retried in ${w.retryMs} ms`);
    w.retryTimer = setTimeout(() => {
      w.retryTimer = undefined;
      void this.#serialRegistration(() => this.#registerWatched(socketPath, w));
    }, w.retryMs);
    w.retryTimer.unref();
  }

  async #registerWatched(socketPath: string, w: WatchedSocket): Promise<void> {
    if (!this.#running || this.#watched.get(socketPath) !== w || !existsSync(socketPath)) return;
    const client = new PluginRegistrationClient(socketPath);
    const at = () => this.clock.now();
    const notify = async (registered: boolean, error: string): Promise<void> => {
      const status = { plugin_registered: registered, error };
      try {
        const response = await client.notifyRegistrationStatus(status, 1000);
        this.#emit({ kind: 'grpc', node: this.nodeName, direction: 'out', method: METHODS.notifyRegistrationStatus, request: status, response, atMs: at() });
      } catch (e) {
        this.#emit({ kind: 'grpc', node: this.nodeName, direction: 'out', method: METHODS.notifyRegistrationStatus, request: status, error: (e as Error).message, atMs: at() });
        this.#log.error(`RegisterPlugin error -- failed to send registration status at socket ${socketPath}, err: ${(e as Error).message}`);
      }
    };
    try {
      try {
        await client.waitForReady(1000);
      } catch (e) {
        this.#log.error(`RegisterPlugin error -- dial failed at socket ${socketPath}, err: ${(e as Error).message}`);
        this.#retryWatched(socketPath, w);
        return;
      }
      let info;
      try {
        info = await client.getInfo(1000);
        this.#emit({ kind: 'grpc', node: this.nodeName, direction: 'out', method: METHODS.getInfo, request: {}, response: info, atMs: at() });
      } catch (e) {
        this.#emit({ kind: 'grpc', node: this.nodeName, direction: 'out', method: METHODS.getInfo, request: {}, error: (e as Error).message, atMs: at() });
        this.#log.error(`RegisterPlugin error -- failed to get plugin info using RPC GetInfo at socket ${socketPath}, err: ${(e as Error).message}`);
        this.#retryWatched(socketPath, w);
        return;
      }
      if (info.type !== DEVICE_PLUGIN_TYPE) {
        const msg = `RegisterPlugin error -- no handler registered for plugin type: ${info.type} at socket ${socketPath}`;
        this.#registrationEvent(info.name, socketPath, 'plugins_registry', msg);
        await notify(false, msg);
        return;
      }
      const endpoint = this.#hostPath(info.endpoint || socketPath);
      let invalid: string | undefined;
      if (!info.supported_versions.some((v) => (SUPPORTED_VERSIONS as readonly string[]).includes(v)))
        invalid = `manager version, ${SUPPORTED_VERSIONS[0]}, is not among plugin supported versions [${info.supported_versions.join(' ')}]`;
      else if (!isExtendedResourceName(info.name)) invalid = `invalid name of device plugin socket: the ResourceName "${info.name}" is invalid`;
      if (invalid) {
        const msg = `RegisterPlugin error -- plugin validation failed with err: ${invalid}`;
        this.#registrationEvent(info.name, endpoint, 'plugins_registry', msg);
        await notify(false, msg);
        return;
      }
      w.resource = info.name;
      w.endpoint = endpoint;
      try {
        await this.#connectClient(info.name, endpoint, 'plugins_registry');
      } catch (e) {
        await notify(false, `RegisterPlugin error -- plugin registration failed with err: ${(e as Error).message}`);
        return;
      }
      await notify(true, '');
    } finally {
      client.close();
    }
  }

  // ---- pod resources ----

  #newPodResourcesServer(): PodResourcesServer {
    return new PodResourcesServer(this.podResourcesSocket, {
      nodeName: this.nodeName,
      clock: this.clock,
      emit: (e) => this.#emit(e),
      activePods: () =>
        [...this.#pods.values()].filter((r) => r.phase === 'Pending' || r.phase === 'Running').sort((a, b) => a.seq - b.seq).map((r) => r.pod),
      podByName: (ns, name) => [...this.#pods.values()].find((r) => r.pod.namespace === ns && r.pod.name === name)?.pod,
      updateAllocatedDevices: () => this.#dm?.updateAllocatedDevices(),
      containerDevices: (uid, c) => this.#dm?.podResourcesDevices(uid, c) ?? [],
      allocatableDevices: () => this.#dm?.allocatableDevices() ?? [],
    });
  }
}

export { DeviceAllocationError };
