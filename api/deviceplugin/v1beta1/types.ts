// The kubelet device-plugin v1beta1 API's messages as @grpc/proto-loader decodes them (keepCase: field names as in api.proto). The one
// definition the kubelet emulator (sim/kubelet) and the bundled device plugin (plugins/device-plugin) share, the way
// the kubelet and plugins share k8s.io/kubelet's API package; api/types.test.ts checks it against the .proto.

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
