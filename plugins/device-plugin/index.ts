// Library entry of the bundled SR-IOV network device plugin.
export { startDevicePlugin, SriovDevicePlugin, DEFAULT_KUBELET_DIR, DEFAULT_DEVINFO_DIR } from './plugin.ts';
export type { DevicePluginOptions, ResourceStatus } from './plugin.ts';
export { parseConfig, loadConfigFile, ConfigError, parseVfRange, parseVfRangeRef, defaultConfigJson } from './config.ts';
export type { PluginConfig, ResourceConfig, Selector, DeviceType, HealthCheck, AllocationPolicy, VfRangeRef } from './config.ts';
export { discoverDevices, structureKey, readHealth, parseModalias, parseDefaultRouteIfnames, defaultHostPaths } from './sysfs.ts';
export type { HostPaths, HostDevice, DiscoveryResult, HealthState } from './sysfs.ts';
export { buildPools, selectorMatches, resourceMatches } from './pools.ts';
export { envName, socketName, deviceInfoFileName, deviceInfoJson, buildContainerResponse, preferredAllocation, sortedJson } from './allocate.ts';
export { ResourceServer, AllocateError, DEVICE_PLUGIN_OPTIONS } from './server.ts';
export { parseArgs, USAGE } from './cli.ts';
export { createLogger, memoryLogger } from './log.ts';
export type { Logger, LogLevel } from './log.ts';
export { loadProtos, findApiDir } from './proto.ts';
