// The kubelet emulator's public shapes: what sim/cluster and sim/scheduler call, and the decoded
// device-plugin / pod-resources messages (field names as in the protos, case kept).

/** Quantities as strings, like Kubernetes ("4", "0"). */
export interface ResourceList {
  [resource: string]: string;
}

/** What the cluster/scheduler side sees of one node's kubelet. */
export interface NodeAgent {
  readonly nodeName: string;
  /** extended resources only (the cluster adds cpu/memory/pods) */
  capacity(): ResourceList;
  allocatable(): ResourceList;
  /** returns unsubscribe */
  onResourcesChanged(cb: () => void): () => void;
  admitPod(pod: PodSpecLite): Promise<AdmitResult>;
  releasePod(podUid: string): Promise<void>;
}

export interface ContainerLite {
  name: string;
  limits: Record<string, string>;
  requests: Record<string, string>;
  /** 'Always' on an init container makes it a restartable (sidecar) init container */
  restartPolicy?: 'Always';
}

export interface PodSpecLite {
  uid: string;
  name: string;
  namespace: string;
  initContainers: ContainerLite[];
  containers: ContainerLite[];
}

export interface ContainerAllocation {
  container: string;
  resource: string;
  deviceIds: string[];
  response: ContainerAllocateResponse;
}

export type AdmitResult =
  | { admitted: true; allocations: ContainerAllocation[] }
  | { admitted: false; reason: string; message: string };

// ---- device plugin API v1beta1 (docs/reference/kubelet-api.md#device-plugin-api-v1beta1) ----

// a message without fields (an empty interface would accept any value but null and undefined)
export type Empty = Record<string, never>;

export interface DevicePluginOptions {
  pre_start_required: boolean;
  get_preferred_allocation_available: boolean;
}

export interface RegisterRequest {
  version: string;
  endpoint: string;
  resource_name: string;
  options?: DevicePluginOptions | null;
}

export interface NUMANode {
  /** int64 on the wire; decoded as a number */
  ID: number;
}

export interface TopologyInfo {
  nodes: NUMANode[];
}

export type DeviceHealth = 'Healthy' | 'Unhealthy';

export interface Device {
  ID: string;
  /** "Healthy" or "Unhealthy"; anything else is treated as unhealthy, like the kubelet does */
  health: string;
  topology?: TopologyInfo | null;
}

export interface ListAndWatchResponse {
  devices: Device[];
}

export interface PreStartContainerRequest {
  devices_ids: string[];
}

export type PreStartContainerResponse = Record<string, never>;

export interface ContainerPreferredAllocationRequest {
  available_deviceIDs: string[];
  must_include_deviceIDs: string[];
  allocation_size: number;
}

export interface PreferredAllocationRequest {
  container_requests: ContainerPreferredAllocationRequest[];
}

export interface ContainerPreferredAllocationResponse {
  deviceIDs: string[];
}

export interface PreferredAllocationResponse {
  container_responses: ContainerPreferredAllocationResponse[];
}

export interface ContainerAllocateRequest {
  devices_ids: string[];
}

export interface AllocateRequest {
  container_requests: ContainerAllocateRequest[];
}

export interface Mount {
  container_path: string;
  host_path: string;
  read_only: boolean;
}

export interface DeviceSpec {
  container_path: string;
  host_path: string;
  /** letters of "rwm" */
  permissions: string;
}

export interface CDIDevice {
  name: string;
}

export interface ContainerAllocateResponse {
  envs: Record<string, string>;
  mounts: Mount[];
  devices: DeviceSpec[];
  annotations: Record<string, string>;
  cdi_devices: CDIDevice[];
}

export interface AllocateResponse {
  container_responses: ContainerAllocateResponse[];
}

// ---- plugin watcher (pluginregistration v1) ----

export type InfoRequest = Record<string, never>;

export interface PluginInfo {
  type: string;
  name: string;
  endpoint: string;
  supported_versions: string[];
}

export interface RegistrationStatus {
  plugin_registered: boolean;
  error: string;
}

export type RegistrationStatusResponse = Record<string, never>;

// ---- pod resources API v1 ----

export interface ContainerDevices {
  resource_name: string;
  device_ids: string[];
  topology?: TopologyInfo | null;
}

export interface ContainerMemory {
  memory_type: string;
  size: number;
  topology?: TopologyInfo | null;
}

export interface ContainerResources {
  name: string;
  devices: ContainerDevices[];
  cpu_ids: number[];
  memory: ContainerMemory[];
}

export interface PodResources {
  name: string;
  namespace: string;
  containers: ContainerResources[];
}

export type ListPodResourcesRequest = Record<string, never>;
export interface ListPodResourcesResponse {
  pod_resources: PodResources[];
}

export type AllocatableResourcesRequest = Record<string, never>;
export interface AllocatableResourcesResponse {
  devices: ContainerDevices[];
  cpu_ids: number[];
  memory: ContainerMemory[];
}

export interface GetPodResourcesRequest {
  pod_name: string;
  pod_namespace: string;
}
export interface GetPodResourcesResponse {
  pod_resources: PodResources | null;
}

// ---- time ----

/** An injectable clock: the grace period and rate limits run on it, so tests advance time instantly. */
export interface Clock {
  /** milliseconds since the epoch (virtual for ManualClock) */
  now(): number;
  setTimeout(cb: () => void, delayMs: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

export interface TimerHandle {
  readonly id: number;
}

// ---- trace ----

export type RegistrationMode = 'kubelet.sock' | 'plugins_registry';

/** Everything the emulator does that a trace wants: gRPC messages in and out, capacity changes, admissions. */
export type KubeletEvent =
  | {
      kind: 'grpc';
      node: string;
      /** 'in' = a call the kubelet serves; 'out' = a call the kubelet makes to a plugin */
      direction: 'in' | 'out';
      /** full method path, e.g. "/v1beta1.DevicePlugin/Allocate" */
      method: string;
      request?: unknown;
      response?: unknown;
      /** a streamed message (ListAndWatch) */
      message?: unknown;
      error?: string;
      atMs: number;
    }
  | { kind: 'resources'; node: string; resource: string; capacity: number; allocatable: number; atMs: number }
  | { kind: 'registration'; node: string; resource: string; endpoint: string; mode: RegistrationMode; ok: boolean; error?: string; atMs: number }
  | { kind: 'admission'; node: string; podUid: string; pod: string; admitted: boolean; reason?: string; message?: string; atMs: number }
  | { kind: 'lifecycle'; node: string; what: 'start' | 'stop' | 'restart' | 'reboot' | 'checkpoint-written' | 'checkpoint-restored' | 'resource-removed'; detail?: string; atMs: number };

export interface KubeletLogger {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}
