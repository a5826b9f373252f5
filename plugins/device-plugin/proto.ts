// Loads the wire protocols from api/**.proto with @grpc/proto-loader (field names keep their case: ID, devices_ids,
// available_deviceIDs). The plugin itself uses the static definitions of grpc-api.ts; this is for tests (the fake
// kubelet talks to the plugin through protobufjs, an encoder of its own) and library users who want the .proto files.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { Protos } from './grpc-api.ts';

const DP_PROTO = 'deviceplugin/v1beta1/api.proto';
const REG_PROTO = 'pluginregistration/v1/api.proto';

/**
 * The api/ directory: SRIOV_LAB_API_DIR, else the first `api/` above this module (works from the sources and from
 * dist/, where the bundle sits one level below the project root).
 */
export function findApiDir(explicit?: string): string {
  const candidates: string[] = [];
  if (explicit) candidates.push(explicit);
  if (process.env.SRIOV_LAB_API_DIR) candidates.push(process.env.SRIOV_LAB_API_DIR);
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    candidates.push(join(dir, 'api'));
    dir = dirname(dir);
  }
  for (const c of candidates) if (existsSync(join(c, DP_PROTO))) return resolve(c);
  throw new Error(`cannot find ${DP_PROTO}; looked in ${candidates.join(', ')} (set SRIOV_LAB_API_DIR or --api-dir)`);
}

export type { Protos };

const cache = new Map<string, Protos>();

export function loadProtos(apiDir?: string): Protos {
  const dir = findApiDir(apiDir);
  const hit = cache.get(dir);
  if (hit) return hit;
  const opts: protoLoader.Options = { keepCase: true, longs: Number, enums: String, defaults: true, arrays: true, objects: true };
  const dp = grpc.loadPackageDefinition(protoLoader.loadSync(join(dir, DP_PROTO), opts)) as unknown as {
    v1beta1: Protos['deviceplugin'];
  };
  const reg = grpc.loadPackageDefinition(protoLoader.loadSync(join(dir, REG_PROTO), opts)) as unknown as {
    pluginregistration: Protos['pluginregistration'];
  };
  const p: Protos = { deviceplugin: dp.v1beta1, pluginregistration: reg.pluginregistration };
  cache.set(dir, p);
  return p;
}
