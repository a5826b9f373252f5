// The kubelet's device-plugin v1beta1 and plugin-registration v1 services as static gRPC service definitions: the
// message tables of api/deviceplugin/v1beta1/api.proto and api/pluginregistration/v1/api.proto written out (field
// names and numbers exactly as there; wire.test.ts compares them with the .proto files), encoded by wire.ts. The plugin
// serves and dials with these; nothing parses a .proto at run time, so the bundle needs neither protobufjs nor api/.
import * as grpc from '@grpc/grpc-js';
import { codec, type Codec, type FieldSpec, type MessageSpec } from './wire.ts';
import type {
  AllocateRequest,
  AllocateResponse,
  DevicePluginOptions,
  ListAndWatchResponse,
  PluginInfo,
  PreferredAllocationRequest,
  PreferredAllocationResponse,
  RegisterRequest,
  RegistrationStatus,
} from './api-types.ts';

/** The services the plugin uses, as client constructors (each with its `.service` definition for a server). */
export interface Protos {
  /** v1beta1 package: Registration (client) and DevicePlugin (service) */
  deviceplugin: {
    Registration: grpc.ServiceClientConstructor;
    DevicePlugin: grpc.ServiceClientConstructor;
  };
  pluginregistration: {
    Registration: grpc.ServiceClientConstructor;
  };
}

const msg = (name: string, fields: FieldSpec[]): MessageSpec => ({ name, fields });
const str = (name: string, no: number, repeated = false): FieldSpec => ({ name, no, type: 'string', repeated });

// ---- v1beta1 -----------------------------------------------------------------------------------
const Empty = msg('v1beta1.Empty', []);
const DevicePluginOptionsSpec = msg('v1beta1.DevicePluginOptions', [
  { name: 'pre_start_required', no: 1, type: 'bool' },
  { name: 'get_preferred_allocation_available', no: 2, type: 'bool' },
]);
const RegisterRequestSpec = msg('v1beta1.RegisterRequest', [
  str('version', 1),
  str('endpoint', 2),
  str('resource_name', 3),
  { name: 'options', no: 4, type: DevicePluginOptionsSpec },
]);
const NUMANodeSpec = msg('v1beta1.NUMANode', [{ name: 'ID', no: 1, type: 'int64' }]);
const TopologyInfoSpec = msg('v1beta1.TopologyInfo', [{ name: 'nodes', no: 1, type: NUMANodeSpec, repeated: true }]);
const DeviceSpec_ = msg('v1beta1.Device', [str('ID', 1), str('health', 2), { name: 'topology', no: 3, type: TopologyInfoSpec }]);
const ListAndWatchResponseSpec = msg('v1beta1.ListAndWatchResponse', [{ name: 'devices', no: 1, type: DeviceSpec_, repeated: true }]);
const PreStartContainerRequestSpec = msg('v1beta1.PreStartContainerRequest', [str('devices_ids', 1, true)]);
const PreStartContainerResponseSpec = msg('v1beta1.PreStartContainerResponse', []);
const ContainerPreferredAllocationRequestSpec = msg('v1beta1.ContainerPreferredAllocationRequest', [
  str('available_deviceIDs', 1, true),
  str('must_include_deviceIDs', 2, true),
  { name: 'allocation_size', no: 3, type: 'int32' },
]);
const PreferredAllocationRequestSpec = msg('v1beta1.PreferredAllocationRequest', [
  { name: 'container_requests', no: 1, type: ContainerPreferredAllocationRequestSpec, repeated: true },
]);
const ContainerPreferredAllocationResponseSpec = msg('v1beta1.ContainerPreferredAllocationResponse', [str('deviceIDs', 1, true)]);
const PreferredAllocationResponseSpec = msg('v1beta1.PreferredAllocationResponse', [
  { name: 'container_responses', no: 1, type: ContainerPreferredAllocationResponseSpec, repeated: true },
]);
const ContainerAllocateRequestSpec = msg('v1beta1.ContainerAllocateRequest', [str('devices_ids', 1, true)]);
const AllocateRequestSpec = msg('v1beta1.AllocateRequest', [{ name: 'container_requests', no: 1, type: ContainerAllocateRequestSpec, repeated: true }]);
const MountSpec = msg('v1beta1.Mount', [str('container_path', 1), str('host_path', 2), { name: 'read_only', no: 3, type: 'bool' }]);
const DeviceSpecSpec = msg('v1beta1.DeviceSpec', [str('container_path', 1), str('host_path', 2), str('permissions', 3)]);
const CDIDeviceSpec = msg('v1beta1.CDIDevice', [str('name', 1)]);
const ContainerAllocateResponseSpec = msg('v1beta1.ContainerAllocateResponse', [
  { name: 'envs', no: 1, type: 'string', map: true },
  { name: 'mounts', no: 2, type: MountSpec, repeated: true },
  { name: 'devices', no: 3, type: DeviceSpecSpec, repeated: true },
  { name: 'annotations', no: 4, type: 'string', map: true },
  { name: 'cdi_devices', no: 5, type: CDIDeviceSpec, repeated: true },
]);
const AllocateResponseSpec = msg('v1beta1.AllocateResponse', [{ name: 'container_responses', no: 1, type: ContainerAllocateResponseSpec, repeated: true }]);

// ---- pluginregistration ------------------------------------------------------------------------
const PluginInfoSpec = msg('pluginregistration.PluginInfo', [str('type', 1), str('name', 2), str('endpoint', 3), str('supported_versions', 4, true)]);
const RegistrationStatusSpec = msg('pluginregistration.RegistrationStatus', [{ name: 'plugin_registered', no: 1, type: 'bool' }, str('error', 2)]);
const RegistrationStatusResponseSpec = msg('pluginregistration.RegistrationStatusResponse', []);
const InfoRequestSpec = msg('pluginregistration.InfoRequest', []);

/** Every message table, by full name (for wire.test.ts). */
export const MESSAGES: ReadonlyMap<string, MessageSpec> = new Map(
  [
    Empty,
    DevicePluginOptionsSpec,
    RegisterRequestSpec,
    NUMANodeSpec,
    TopologyInfoSpec,
    DeviceSpec_,
    ListAndWatchResponseSpec,
    PreStartContainerRequestSpec,
    PreStartContainerResponseSpec,
    ContainerPreferredAllocationRequestSpec,
    PreferredAllocationRequestSpec,
    ContainerPreferredAllocationResponseSpec,
    PreferredAllocationResponseSpec,
    ContainerAllocateRequestSpec,
    AllocateRequestSpec,
    MountSpec,
    DeviceSpecSpec,
    CDIDeviceSpec,
    ContainerAllocateResponseSpec,
    AllocateResponseSpec,
    PluginInfoSpec,
    RegistrationStatusSpec,
    RegistrationStatusResponseSpec,
    InfoRequestSpec,
  ].map((m) => [m.name, m]),
);

type EmptyMessage = Record<string, never>;

function method<Req extends object, Res extends object>(
  path: string,
  req: Codec<Req>,
  res: Codec<Res>,
  responseStream = false,
): grpc.MethodDefinition<Req, Res> {
  return {
    path,
    requestStream: false,
    responseStream,
    requestSerialize: req.encode,
    requestDeserialize: req.decode,
    responseSerialize: res.encode,
    responseDeserialize: res.decode,
    originalName: path.slice(path.lastIndexOf('/') + 1),
  };
}

/** Service definitions keyed by method name, as grpc-js takes them (method paths as the kubelet calls them). */
export const SERVICES = {
  registration: {
    Register: method('/v1beta1.Registration/Register', codec<RegisterRequest>(RegisterRequestSpec), codec<EmptyMessage>(Empty)),
  },
  devicePlugin: {
    GetDevicePluginOptions: method('/v1beta1.DevicePlugin/GetDevicePluginOptions', codec<EmptyMessage>(Empty), codec<DevicePluginOptions>(DevicePluginOptionsSpec)),
    ListAndWatch: method('/v1beta1.DevicePlugin/ListAndWatch', codec<EmptyMessage>(Empty), codec<ListAndWatchResponse>(ListAndWatchResponseSpec), true),
    GetPreferredAllocation: method(
      '/v1beta1.DevicePlugin/GetPreferredAllocation',
      codec<PreferredAllocationRequest>(PreferredAllocationRequestSpec),
      codec<PreferredAllocationResponse>(PreferredAllocationResponseSpec),
    ),
    Allocate: method('/v1beta1.DevicePlugin/Allocate', codec<AllocateRequest>(AllocateRequestSpec), codec<AllocateResponse>(AllocateResponseSpec)),
    PreStartContainer: method('/v1beta1.DevicePlugin/PreStartContainer', codec<{ devices_ids: string[] }>(PreStartContainerRequestSpec), codec<EmptyMessage>(PreStartContainerResponseSpec)),
  },
  pluginRegistration: {
    GetInfo: method('/pluginregistration.Registration/GetInfo', codec<EmptyMessage>(InfoRequestSpec), codec<PluginInfo>(PluginInfoSpec)),
    NotifyRegistrationStatus: method(
      '/pluginregistration.Registration/NotifyRegistrationStatus',
      codec<RegistrationStatus>(RegistrationStatusSpec),
      codec<EmptyMessage>(RegistrationStatusResponseSpec),
    ),
  },
} as const;

let built: Protos | null = null;

/** The plugin's services (built once). */
export function staticProtos(): Protos {
  built ??= {
    deviceplugin: {
      Registration: grpc.makeGenericClientConstructor(SERVICES.registration, 'v1beta1.Registration'),
      DevicePlugin: grpc.makeGenericClientConstructor(SERVICES.devicePlugin, 'v1beta1.DevicePlugin'),
    },
    pluginregistration: {
      Registration: grpc.makeGenericClientConstructor(SERVICES.pluginRegistration, 'pluginregistration.Registration'),
    },
  };
  return built;
}
