// Decoded messages of the device-plugin and plugin-registration APIs: the one definition in api/, shared with the
// kubelet emulator (the plugin depends on nothing of the simulator; api/ is the contract between them).
export type {
  AllocateRequest,
  AllocateResponse,
  ContainerAllocateResponse,
  ContainerPreferredAllocationRequest,
  Device,
  DeviceSpec,
  DevicePluginOptions,
  ListAndWatchResponse,
  Mount,
  NUMANode,
  PreferredAllocationRequest,
  PreferredAllocationResponse,
  RegisterRequest,
  TopologyInfo,
} from '../../api/deviceplugin/v1beta1/types.ts';
export type { PluginInfo, RegistrationStatus } from '../../api/pluginregistration/v1/types.ts';
