// Library surface of the bundled CNI plugin.
export { runPlugin, COMMAND_TABLE, type PluginIo, type PluginOutput } from './plugin.ts';
export { CNI_CODES, CniError, CommandError } from './errors.ts';
export { SUPPORTED_VERSIONS, LATEST_VERSION, convertResult, parseResult, compareVersions, type CniResult, type CniInterface, type CniIpConfig, type CniVersion } from './version.ts';
export { parseEnv, parseNetConf, normalizePciAddr, type NetConf, type CniEnv, type VfSettings } from './config.ts';
export { Cache, DEFAULT_CACHE_DIR, type AttachmentState, type DeviceMarker } from './cache.ts';
export { ADD_STEPS } from './attach.ts';
