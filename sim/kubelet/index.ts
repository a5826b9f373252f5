// The kubelet emulator: one Kubelet per simulated node.
export * from './types.ts';
export { Kubelet, KubeletError, SUPPORTED_VERSIONS, UNEXPECTED_ADMISSION_ERROR, DEVICE_PLUGIN_TYPE } from './kubelet.ts';
export type { KubeletOptions, PodPhase, PodStatusLite, StartOptions, InProcessPluginHandle } from './kubelet.ts';
export { ManualClock, RealClock, SkewClock } from './clock.ts';
export { DeviceManager, DeviceAllocationError, ENDPOINT_STOP_GRACE_PERIOD_MS } from './device-manager.ts';
export type { DeviceEndpoint } from './device-manager.ts';
export { encodeCheckpoint, parseCheckpoint, readCheckpointFile, CheckpointError, CHECKPOINT_FILE, NO_NUMA } from './checkpoint.ts';
export type { CheckpointData, CheckpointEntry, ParsedCheckpoint } from './checkpoint.ts';
export {
  protos,
  findApiDir,
  METHODS,
  DevicePluginClient,
  RegistrationClient,
  PluginRegistrationClient,
  PodResourcesClient,
  encodeContainerAllocateResponse,
  decodeContainerAllocateResponse,
  goRpcError,
} from './grpc.ts';
export { isExtendedResourceName } from './resource-name.ts';
export { POD_RESOURCES_QPS, POD_RESOURCES_BURST, TokenBucket } from './pod-resources.ts';
