// The kubelet plugin-watcher registration (pluginregistration v1) API's messages as @grpc/proto-loader decodes them (keepCase: field names as in api.proto). The one
// definition the kubelet emulator (sim/kubelet) and the bundled device plugin (plugins/device-plugin) share, the way
// the kubelet and plugins share k8s.io/kubelet's API package; api/types.test.ts checks it against the .proto.

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
