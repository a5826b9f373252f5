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

// The kubelet's gRPC API messages: one definition in api/ (shared with the bundled device plugin).
export type {
  Empty,
  DevicePluginOptions,
  RegisterRequest,
  NUMANode,
  TopologyInfo,
  DeviceHealth,
  Device,
  ListAndWatchResponse,
  PreStartContainerRequest,
  PreStartContainerResponse,
  ContainerPreferredAllocationRequest,
  PreferredAllocationRequest,
  ContainerPreferredAllocationResponse,
  PreferredAllocationResponse,
  ContainerAllocateRequest,
  AllocateRequest,
  Mount,
  DeviceSpec,
  CDIDevice,
  ContainerAllocateResponse,
  AllocateResponse,
} from '../../api/deviceplugin/v1beta1/types.ts';
export type {
  InfoRequest,
  PluginInfo,
  RegistrationStatus,
  RegistrationStatusResponse,
} from '../../api/pluginregistration/v1/types.ts';
export type {
  ContainerDevices,
  ContainerMemory,
  ContainerResources,
  PodResources,
  ListPodResourcesRequest,
  ListPodResourcesResponse,
  AllocatableResourcesRequest,
  AllocatableResourcesResponse,
  GetPodResourcesRequest,
  GetPodResourcesResponse,
} from '../../api/podresources/v1/types.ts';
import type { ContainerAllocateResponse } from '../../api/deviceplugin/v1beta1/types.ts';

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
      /** the plugin's socket, for a call the kubelet makes to a plugin (tells two resources' streams apart) */
      socket?: string;
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
