// The kubelet Pod Resources v1 API's messages as @grpc/proto-loader decodes them (keepCase: field names as in api.proto). The one
// definition the kubelet emulator (sim/kubelet) and the bundled device plugin (plugins/device-plugin) share, the way
// the kubelet and plugins share k8s.io/kubelet's API package; api/types.test.ts checks it against the .proto.
/** the package's own NUMA node message (the same shape as the device plugin API's) */
export interface NUMANode {
  /** int64 on the wire; decoded as a number */
  ID: number;
}

export interface TopologyInfo {
  nodes: NUMANode[];
}


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
