// The kubelet's device manager: per-resource device health from ListAndWatch, the 5-minute grace period after a
// plugin disconnects, per-container allocation at admission, the checkpoint, and what the pod-resources API reports.
// It talks to plugins through DeviceEndpoint, so the same logic serves real gRPC plugins and in-process ones.
import { NO_NUMA, readCheckpointFile, writeCheckpointFile, type CheckpointData, type ParsedCheckpoint } from './checkpoint.ts';
import { emptyContainerAllocateResponse, goRpcError, normalizeAllocateResponse } from './grpc.ts';
import type {
  AllocateRequest,
  AllocateResponse,
  Clock,
  ContainerAllocateResponse,
  ContainerDevices,
  ContainerLite,
  Device,
  DevicePluginOptions,
  KubeletEvent,
  PodSpecLite,
  PreferredAllocationRequest,
  PreferredAllocationResponse,
  PreStartContainerRequest,
  PreStartContainerResponse,
  ResourceList,
  TimerHandle,
} from './types.ts';

/** How long a disconnected plugin's resource is kept (reported unhealthy) before it is removed. */
export const ENDPOINT_STOP_GRACE_PERIOD_MS = 5 * 60 * 1000;

/** A connected device plugin, seen from the device manager. */
export interface DeviceEndpoint {
  readonly resource: string;
  allocate(req: AllocateRequest): Promise<AllocateResponse>;
  getPreferredAllocation(req: PreferredAllocationRequest): Promise<PreferredAllocationResponse>;
  preStartContainer(req: PreStartContainerRequest): Promise<PreStartContainerResponse>;
}

interface EndpointInfo {
  /** null: restored from the checkpoint, no plugin connected since */
  endpoint: DeviceEndpoint | null;
  options: DevicePluginOptions | null;
  /** when the plugin disconnected (or the endpoint was restored); null while connected */
  stopTimeMs: number | null;
  graceTimer?: TimerHandle;
}

interface AllocInfo {
  deviceIds: Map<number, string[]>;
  allocResp: ContainerAllocateResponse;
}

/** every device ID of an allocation, whatever its NUMA node */
function idsOf(info: AllocInfo): Set<string> {
  const s = new Set<string>();
  for (const ids of info.deviceIds.values()) for (const id of ids) s.add(id);
  return s;
}

/**
 * The devices allocated to pods: pod → container → resource → allocation, as the kubelet's podDevices keeps them.
 * Insertion order is kept: the checkpoint lists entries in it.
 */
class PodDevices {
  readonly #byPod = new Map<string, Map<string, Map<string, AllocInfo>>>();

  insert(podUid: string, container: string, resource: string, info: AllocInfo): void {
    let containers = this.#byPod.get(podUid);
    if (!containers) this.#byPod.set(podUid, (containers = new Map()));
    let resources = containers.get(container);
    if (!resources) containers.set(container, (resources = new Map()));
    resources.set(resource, info);
  }

  get(podUid: string, container: string, resource: string): AllocInfo | undefined {
    return this.#byPod.get(podUid)?.get(container)?.get(resource);
  }

  /** resource → allocation of one container */
  container(podUid: string, container: string): ReadonlyMap<string, AllocInfo> {
    return this.#byPod.get(podUid)?.get(container) ?? new Map();
  }

  podUids(): string[] {
    return [...this.#byPod.keys()];
  }

  delete(podUid: string): void {
    this.#byPod.delete(podUid);
  }

  /** every allocation, in insertion order */
  *entries(): Generator<{ podUid: string; container: string; resource: string; info: AllocInfo }> {
    for (const [podUid, containers] of this.#byPod)
      for (const [container, resources] of containers) for (const [resource, info] of resources) yield { podUid, container, resource, info };
  }

  hasResource(resource: string): boolean {
    for (const e of this.entries()) if (e.resource === resource) return true;
    return false;
  }

  /** device IDs held by pods, per resource */
  devices(): Map<string, Set<string>> {
    const out = new Map<string, Set<string>>();
    for (const { resource, info } of this.entries()) {
      const s = out.get(resource) ?? new Set<string>();
      for (const id of idsOf(info)) s.add(id);
      out.set(resource, s);
    }
    return out;
  }
}

/** An allocation error: its message is the kubelet's `<err>` in "Allocate failed due to <err>, which is unexpected". */
export class DeviceAllocationError extends Error {
  readonly resource: string;
  readonly podUid: string;
  readonly container: string;
  constructor(message: string, podUid: string, container: string, resource: string) {
    super(message);
    this.name = 'DeviceAllocationError';
    this.podUid = podUid;
    this.container = container;
    this.resource = resource;
  }
}

/** What the device manager needs from its kubelet. */
export interface DeviceManagerHost {
  nodeName: string;
  clock: Clock;
  /** a deterministic random source in [0, 1) */
  random: () => number;
  /** path of kubelet_internal_checkpoint, or null to keep nothing on disk */
  checkpointPath: string | null;
  /** UIDs of active pods (not terminal, not deleted), plus the pod being admitted */
  activePodUids(): Set<string>;
  /** false while the kubelet is starting and has not yet seen all its pods */
  sourcesReady(): boolean;
  isContainerRunning(podUid: string, container: string): boolean;
  emit(e: KubeletEvent): void;
  warn(msg: string): void;
  /** resources (capacity/allocatable) may have changed */
  resourcesChanged(): void;
}

function sortedIds(s: Iterable<string>): string[] {
  return [...s].sort();
}

/** Parse an extended-resource quantity (integers only, as the API server enforces). */
export function parseCount(q: string, resource: string): number {
  const n = Number(q);
  if (!Number.isInteger(n) || n < 0) throw new Error(`quantity "${q}" of ${resource} is not a non-negative integer`);
  return n;
}

export class DeviceManager {
  readonly #host: DeviceManagerHost;
  readonly #healthy = new Map<string, Set<string>>();
  readonly #unhealthy = new Map<string, Set<string>>();
  readonly #allDevices = new Map<string, Map<string, Device>>();
  readonly #endpoints = new Map<string, EndpointInfo>();
  readonly #podDevices = new PodDevices();
  #allocated = new Map<string, Set<string>>();
  /** resources removed after the grace period: the node keeps reporting them with capacity 0 */
  readonly #removed = new Set<string>();
  readonly #devicesToReuse = new Map<string, Map<string, Set<string>>>();
  #pendingAdmissionPod: string | null = null;

  constructor(host: DeviceManagerHost) {
    this.#host = host;
  }

  // ---- plugin lifecycle ----

  /** A plugin registered (and answered GetDevicePluginOptions): it replaces any previous endpoint of the resource. */
  pluginConnected(resource: string, endpoint: DeviceEndpoint, options: DevicePluginOptions | null): void {
    const old = this.#endpoints.get(resource);
    if (old?.graceTimer) this.#host.clock.clearTimeout(old.graceTimer);
    this.#endpoints.set(resource, { endpoint, options, stopTimeMs: null });
  }

  /** The plugin's ListAndWatch stream ended: all its devices turn unhealthy and the grace period starts. */
  pluginDisconnected(resource: string, endpoint: DeviceEndpoint): void {
    const info = this.#endpoints.get(resource);
    // a stream of an endpoint that was already replaced by a re-registration says nothing about the new one
    if (!info || info.endpoint !== endpoint) return;
    this.#markUnhealthy(resource);
    this.#stopEndpoint(resource, info);
    this.#host.resourcesChanged();
  }

  #stopEndpoint(resource: string, info: EndpointInfo): void {
    info.stopTimeMs = this.#host.clock.now();
    if (info.graceTimer) this.#host.clock.clearTimeout(info.graceTimer);
    info.graceTimer = this.#host.clock.setTimeout(() => {
      info.graceTimer = undefined;
      if (this.sweepExpired().length) this.#host.resourcesChanged();
    }, ENDPOINT_STOP_GRACE_PERIOD_MS);
    void resource;
  }

  #markUnhealthy(resource: string): void {
    const healthy = this.#healthy.get(resource) ?? new Set<string>();
    if (this.#healthy.has(resource)) this.#healthy.set(resource, new Set());
    const unhealthy = this.#unhealthy.get(resource) ?? new Set<string>();
    for (const d of healthy) unhealthy.add(d);
    this.#unhealthy.set(resource, unhealthy);
  }

  /** One ListAndWatch message: it replaces the resource's whole device set. */
  devicesUpdated(resource: string, devices: Device[]): void {
    const healthy = new Set<string>();
    const unhealthy = new Set<string>();
    const all = new Map<string, Device>();
    for (const d of devices) {
      all.set(d.ID, d);
      if (d.health === 'Healthy') healthy.add(d.ID);
      else unhealthy.add(d.ID);
    }
    this.#healthy.set(resource, healthy);
    this.#unhealthy.set(resource, unhealthy);
    this.#allDevices.set(resource, all);
    this.#removed.delete(resource);
    this.writeCheckpoint();
    this.#host.resourcesChanged();
  }

  /** Remove resources whose endpoint stopped more than the grace period ago; returns their names. */
  sweepExpired(): string[] {
    const now = this.#host.clock.now();
    const deleted: string[] = [];
    for (const resource of new Set([...this.#healthy.keys(), ...this.#unhealthy.keys()])) {
      const info = this.#endpoints.get(resource);
      const expired = !info || (info.stopTimeMs !== null && now - info.stopTimeMs >= ENDPOINT_STOP_GRACE_PERIOD_MS);
      if (!expired) continue;
      if (info?.graceTimer) this.#host.clock.clearTimeout(info.graceTimer);
      this.#endpoints.delete(resource);
      this.#healthy.delete(resource);
      this.#unhealthy.delete(resource);
      this.#removed.add(resource);
      deleted.push(resource);
      this.#host.emit({ kind: 'lifecycle', node: this.#host.nodeName, what: 'resource-removed', detail: resource, atMs: now });
    }
    if (deleted.length) this.writeCheckpoint();
    return deleted;
  }

  /** Stop all grace timers (the kubelet process goes away). */
  dispose(): void {
    for (const info of this.#endpoints.values()) if (info.graceTimer) this.#host.clock.clearTimeout(info.graceTimer);
  }

  // ---- capacity ----

  /** capacity = healthy + unhealthy; allocatable = healthy; removed resources report "0". */
  resources(): { capacity: ResourceList; allocatable: ResourceList } {
    const capacity: ResourceList = {};
    const allocatable: ResourceList = {};
    for (const r of this.#removed) {
      capacity[r] = '0';
      allocatable[r] = '0';
    }
    for (const r of new Set([...this.#healthy.keys(), ...this.#unhealthy.keys()])) {
      const h = this.#healthy.get(r)?.size ?? 0;
      const u = this.#unhealthy.get(r)?.size ?? 0;
      capacity[r] = String(h + u);
      allocatable[r] = String(h);
    }
    return { capacity, allocatable };
  }

  /** Per-resource counts, for trace events. */
  counts(): Map<string, { capacity: number; allocatable: number }> {
    const { capacity, allocatable } = this.resources();
    const out = new Map<string, { capacity: number; allocatable: number }>();
    for (const r of Object.keys(capacity).sort()) out.set(r, { capacity: Number(capacity[r]), allocatable: Number(allocatable[r]) });
    return out;
  }

  isRegistered(resource: string): boolean {
    return this.#healthy.has(resource);
  }

  hasEndpoint(resource: string): boolean {
    const e = this.#endpoints.get(resource);
    return !!e && e.endpoint !== null && e.stopTimeMs === null;
  }

  // ---- admission ----

  #isDevicePluginResource(resource: string): boolean {
    return this.#healthy.has(resource) || this.#podDevices.hasResource(resource);
  }

  #podDevicesSet(): Map<string, Set<string>> {
    return this.#podDevices.devices();
  }

  /** Forget devices of pods that are no longer active (only once the kubelet has seen all its pods). */
  updateAllocatedDevices(): void {
    if (!this.#host.sourcesReady()) return;
    const active = this.#host.activePodUids();
    if (this.#pendingAdmissionPod) active.add(this.#pendingAdmissionPod);
    let removed = false;
    for (const uid of this.#podDevices.podUids())
      if (!active.has(uid)) {
        this.#podDevices.delete(uid);
        removed = true;
      }
    if (removed) this.#allocated = this.#podDevicesSet();
  }

  #containerDevices(podUid: string, container: string, resource: string): Set<string> | null {
    const info = this.#podDevices.get(podUid, container, resource);
    return info ? idsOf(info) : null;
  }

  /** Seeded shuffle: Go iterates its sets in random order; we make that order reproducible. */
  #shuffled(ids: Iterable<string>): string[] {
    const a = sortedIds(ids);
    for (let i = a.length - 1; i > 0; i--) {
      const j = Math.floor(this.#host.random() * (i + 1));
      [a[i], a[j]] = [a[j], a[i]];
    }
    return a;
  }

  async #devicesToAllocate(
    podUid: string,
    container: string,
    resource: string,
    required: number,
    reusable: Set<string> | undefined,
  ): Promise<string[] | null> {
    const fail = (msg: string) => new DeviceAllocationError(msg, podUid, container, resource);
    let needed = required;
    const existing = this.#containerDevices(podUid, container, resource);
    if (existing) {
      needed -= existing.size;
      if (needed !== 0)
        throw fail(`pod "${podUid}" container "${container}" changed request for resource "${resource}" from ${existing.size} to ${required}`);
    }
    // kubelet restart: the container still runs with its devices, nothing to do
    if (!this.#host.sourcesReady() && this.#host.isContainerRunning(podUid, container)) return null;
    const healthy = this.#healthy.get(resource);
    if (!healthy) throw fail(`cannot allocate unregistered device ${resource}`);
    if (healthy.size === 0) throw fail(`no healthy devices present; cannot allocate unhealthy devices ${resource}`);
    if (existing) for (const d of existing) if (!healthy.has(d)) throw fail(`previously allocated devices are no longer healthy; cannot allocate unhealthy devices ${resource}`);
    if (needed === 0) return null;

    const allocated: string[] = [];
    const allocatedSet = new Set<string>();
    const inUse = (): Set<string> => {
      let s = this.#allocated.get(resource);
      if (!s) {
        s = new Set();
        this.#allocated.set(resource, s);
      }
      return s;
    };
    const takeFrom = (ids: Iterable<string>): boolean => {
      for (const d of ids) {
        if (allocatedSet.has(d)) continue;
        inUse().add(d);
        allocated.push(d);
        allocatedSet.add(d);
        needed--;
        if (needed === 0) return true;
      }
      return false;
    };
    if (reusable && takeFrom(sortedIds(reusable))) return allocated;

    const used = inUse();
    const available = new Set([...healthy].filter((d) => !used.has(d)));
    if (available.size < needed)
      throw fail(`requested number of devices unavailable for ${resource}. Requested: ${needed}, Available: ${available.size}`);

    // no topology manager here: every device is "no affinity"; the plugin may choose when there is a real choice
    if (available.size > needed) {
      const preferred = await this.#preferredAllocation(podUid, container, resource, [...available, ...allocated], allocated, required);
      if (preferred && takeFrom(preferred.filter((d) => available.has(d)))) return allocated;
    }
    if (takeFrom(this.#shuffled(available))) return allocated;
    throw fail(`unexpectedly allocated less resources than required. Requested: ${required}, Got: ${required - needed}`);
  }

  async #preferredAllocation(
    podUid: string,
    container: string,
    resource: string,
    available: string[],
    mustInclude: string[],
    size: number,
  ): Promise<string[] | null> {
    const info = this.#endpoints.get(resource);
    if (!info) throw new DeviceAllocationError(`endpoint not found in cache for a registered resource: ${resource}`, podUid, container, resource);
    if (!info.options?.get_preferred_allocation_available || !info.endpoint) return null;
    try {
      const resp = await info.endpoint.getPreferredAllocation({
        container_requests: [{ available_deviceIDs: sortedIds(new Set(available)), must_include_deviceIDs: sortedIds(mustInclude), allocation_size: size }],
      });
      return resp.container_responses?.[0]?.deviceIDs ?? [];
    } catch (e) {
      throw new DeviceAllocationError(`device plugin GetPreferredAllocation rpc failed with err: ${goRpcError(e)}`, podUid, container, resource);
    }
  }

  async #allocateContainerResources(pod: PodSpecLite, container: ContainerLite, reuse: Map<string, Set<string>>): Promise<void> {
    let updated = false;
    let needsCheckpoint = false;
    for (const resource of Object.keys(container.limits ?? {}).sort()) {
      if (!this.#isDevicePluginResource(resource)) continue;
      const needed = parseCount(container.limits[resource], resource);
      if (!updated) {
        this.updateAllocatedDevices();
        updated = true;
      }
      const devs = await this.#devicesToAllocate(pod.uid, container.name, resource, needed, reuse.get(resource));
      if (!devs || devs.length === 0) continue;
      needsCheckpoint = true;
      const info = this.#endpoints.get(resource);
      if (!info) {
        this.#allocated = this.#podDevicesSet();
        throw new DeviceAllocationError(`unknown Device Plugin ${resource}`, pod.uid, container.name, resource);
      }
      let resp: AllocateResponse;
      try {
        if (!info.endpoint || info.stopTimeMs !== null) throw new Error(`endpoint for resource ${resource} has been stopped`);
        resp = await info.endpoint.allocate({ container_requests: [{ devices_ids: devs }] });
      } catch (e) {
        this.#allocated = this.#podDevicesSet();
        throw new DeviceAllocationError(goRpcError(e), pod.uid, container.name, resource);
      }
      if (!resp.container_responses?.length)
        throw new DeviceAllocationError(
          'no containers return in allocation response &AllocateResponse{ContainerResponses:[]*ContainerAllocateResponse{},}',
          pod.uid,
          container.name,
          resource,
        );
      const byNuma = new Map<number, string[]>();
      const all = this.#allDevices.get(resource);
      for (const d of devs) {
        const nodes = all?.get(d)?.topology?.nodes ?? [];
        if (!nodes.length) byNuma.set(NO_NUMA, [...(byNuma.get(NO_NUMA) ?? []), d]);
        for (const n of nodes) byNuma.set(n.ID, [...(byNuma.get(n.ID) ?? []), d]);
      }
      this.#insert(pod.uid, container.name, resource, byNuma, normalizeAllocateResponse(resp.container_responses[0]));
    }
    if (needsCheckpoint) this.writeCheckpoint();
  }

  #insert(podUid: string, container: string, resource: string, deviceIds: Map<number, string[]>, allocResp: ContainerAllocateResponse): void {
    this.#podDevices.insert(podUid, container, resource, { deviceIds, allocResp });
  }

  #containerAllocated(podUid: string, container: string): Map<string, Set<string>> {
    const out = new Map<string, Set<string>>();
    for (const [r, info] of this.#podDevices.container(podUid, container)) {
      out.set(r, idsOf(info));
    }
    return out;
  }

  /**
   * Allocate devices for one container of a pod being admitted. Call for init containers first, then app
   * containers, as the kubelet does: devices of a finished (non-restartable) init container are reused by later
   * containers; a restartable init container keeps its own.
   */
  async allocate(pod: PodSpecLite, container: ContainerLite): Promise<void> {
    this.#pendingAdmissionPod = pod.uid;
    if (!this.#devicesToReuse.has(pod.uid)) this.#devicesToReuse.set(pod.uid, new Map());
    for (const uid of [...this.#devicesToReuse.keys()]) if (uid !== pod.uid) this.#devicesToReuse.delete(uid);
    const reuse = this.#devicesToReuse.get(pod.uid)!;
    const init = pod.initContainers.find((c) => c.name === container.name);
    await this.#allocateContainerResources(pod, container, reuse);
    const mine = this.#containerAllocated(pod.uid, container.name);
    if (init && init.restartPolicy !== 'Always') {
      for (const [r, ids] of mine) reuse.set(r, new Set([...(reuse.get(r) ?? []), ...ids]));
    } else {
      for (const [r, ids] of mine) {
        const s = reuse.get(r);
        if (s) for (const id of ids) s.delete(id);
      }
    }
  }

  /** Admission of this pod is over (admitted or not). */
  admissionDone(podUid: string): void {
    if (this.#pendingAdmissionPod === podUid) this.#pendingAdmissionPod = null;
  }

  /** PreStartContainer for each of the container's resources whose plugin asked for it. */
  async preStartContainer(pod: PodSpecLite, container: ContainerLite): Promise<void> {
    for (const resource of Object.keys(container.limits ?? {}).sort()) {
      if (!this.#isDevicePluginResource(resource) || container.limits[resource] === '0') continue;
      const info = this.#endpoints.get(resource);
      if (!info) throw new DeviceAllocationError(`endpoint not found in cache for a registered resource: ${resource}`, pod.uid, container.name, resource);
      if (!info.options?.pre_start_required) continue;
      const devices = this.#containerDevices(pod.uid, container.name, resource);
      if (!devices)
        throw new DeviceAllocationError(
          `no devices found allocated in local cache for pod ${pod.uid}, container ${container.name}, resource ${resource}`,
          pod.uid,
          container.name,
          resource,
        );
      try {
        if (!info.endpoint || info.stopTimeMs !== null) throw new Error(`endpoint for resource ${resource} has been stopped`);
        await info.endpoint.preStartContainer({ devices_ids: [...devices] });
      } catch (e) {
        throw new DeviceAllocationError(`device plugin PreStartContainer rpc failed with err: ${goRpcError(e)}`, pod.uid, container.name, resource);
      }
    }
  }

  /** Allocations of one container: resource → device IDs (allocation order) and the plugin's response. */
  containerAllocations(podUid: string, container: string): Array<{ resource: string; deviceIds: string[]; response: ContainerAllocateResponse }> {
    const out: Array<{ resource: string; deviceIds: string[]; response: ContainerAllocateResponse }> = [];
    for (const [resource, info] of this.#podDevices.container(podUid, container)) {
      const ids: string[] = [];
      for (const numa of [...info.deviceIds.keys()].sort((a, b) => a - b)) ids.push(...(info.deviceIds.get(numa) ?? []));
      out.push({ resource, deviceIds: ids, response: info.allocResp });
    }
    return out.sort((a, b) => (a.resource < b.resource ? -1 : a.resource > b.resource ? 1 : 0));
  }

  /**
   * What the container runtime gets: the responses of all the container's resources merged (resources in name
   * order); on a duplicate env/annotation key, device or mount container path, the first value wins.
   */
  runContainerOptions(podUid: string, container: string): ContainerAllocateResponse {
    const merged = emptyContainerAllocateResponse();
    const devPaths = new Set<string>();
    const mountPaths = new Set<string>();
    const cdi = new Set<string>();
    for (const { response } of this.containerAllocations(podUid, container)) {
      for (const [k, v] of Object.entries(response.envs)) if (!(k in merged.envs)) merged.envs[k] = v;
      for (const d of response.devices)
        if (!devPaths.has(d.container_path)) {
          devPaths.add(d.container_path);
          merged.devices.push(d);
        }
      for (const m of response.mounts)
        if (!mountPaths.has(m.container_path)) {
          mountPaths.add(m.container_path);
          merged.mounts.push(m);
        }
      for (const [k, v] of Object.entries(response.annotations)) if (!(k in merged.annotations)) merged.annotations[k] = v;
      for (const c of response.cdi_devices)
        if (!cdi.has(c.name)) {
          cdi.add(c.name);
          merged.cdi_devices.push(c);
        }
    }
    return merged;
  }

  // ---- pod resources API ----

  /** Devices of one container, one entry per resource and NUMA node (as the pod-resources API reports them). */
  podResourcesDevices(podUid: string, container: string): ContainerDevices[] {
    const out: ContainerDevices[] = [];
    for (const [resource, info] of this.#podDevices.container(podUid, container)) {
      for (const numa of [...info.deviceIds.keys()].sort((a, b) => a - b)) {
        const ids = info.deviceIds.get(numa) ?? [];
        if (!ids.length) continue;
        out.push({ resource_name: resource, device_ids: [...ids], topology: numa >= 0 ? { nodes: [{ ID: numa }] } : null });
      }
    }
    return out;
  }

  /** Healthy devices, one entry per device and NUMA node. */
  allocatableDevices(): ContainerDevices[] {
    const out: ContainerDevices[] = [];
    for (const resource of [...this.#healthy.keys()].sort()) {
      const all = this.#allDevices.get(resource);
      for (const id of sortedIds(this.#healthy.get(resource) ?? [])) {
        const nodes = all?.get(id)?.topology?.nodes ?? [];
        if (!nodes.length) out.push({ resource_name: resource, device_ids: [id], topology: null });
        for (const n of nodes) out.push({ resource_name: resource, device_ids: [id], topology: { nodes: [{ ID: n.ID }] } });
      }
    }
    return out;
  }

  /** Device IDs currently held by pods, per resource. */
  allocatedDevices(): Map<string, Set<string>> {
    return this.#podDevicesSet();
  }

  podUids(): string[] {
    return this.#podDevices.podUids();
  }

  // ---- checkpoint ----

  checkpointData(): CheckpointData {
    const entries: CheckpointData['entries'] = [];
    for (const { podUid, container, resource, info } of this.#podDevices.entries())
      entries.push({ podUid, containerName: container, resourceName: resource, deviceIds: info.deviceIds, allocResp: info.allocResp });
    const registeredDevices: Record<string, string[]> = {};
    for (const [r, ids] of this.#healthy) registeredDevices[r] = sortedIds(ids);
    return { entries, registeredDevices };
  }

  writeCheckpoint(): void {
    const path = this.#host.checkpointPath;
    if (!path) return;
    try {
      writeCheckpointFile(path, this.checkpointData());
      this.#host.emit({ kind: 'lifecycle', node: this.#host.nodeName, what: 'checkpoint-written', detail: path, atMs: this.#host.clock.now() });
    } catch (e) {
      this.#host.warn(`Failed to write checkpoint file ${path}: ${(e as Error).message}`);
    }
  }

  /**
   * Restore from the checkpoint at kubelet start: pods keep their devices; every resource in it comes back with no
   * devices and a stopped endpoint (its grace period starts now) until its plugin registers again.
   */
  restore(): ParsedCheckpoint | undefined {
    const path = this.#host.checkpointPath;
    if (!path) return undefined;
    let cp: ParsedCheckpoint | undefined;
    try {
      cp = readCheckpointFile(path);
    } catch (e) {
      this.#host.warn(`Continue after failing to read checkpoint file. Device allocation info may NOT be up-to-date: ${(e as Error).message}`);
      return undefined;
    }
    if (!cp) return undefined;
    for (const e of cp.data.entries) this.#insert(e.podUid, e.containerName, e.resourceName, e.deviceIds, e.allocResp);
    this.#allocated = this.#podDevicesSet();
    for (const resource of Object.keys(cp.data.registeredDevices)) {
      this.#healthy.set(resource, new Set());
      this.#unhealthy.set(resource, new Set());
      const info: EndpointInfo = { endpoint: null, options: null, stopTimeMs: null };
      this.#endpoints.set(resource, info);
      this.#stopEndpoint(resource, info);
    }
    return cp;
  }
}
