// The device manager checkpoint, /var/lib/kubelet/device-plugins/kubelet_internal_checkpoint, in the kubelet's JSON:
//   {"Data":{"PodDeviceEntries":[{"PodUID","ContainerName","ResourceName","DeviceIDs":{"<numa>":[ids]},
//     "AllocResp":"<base64 protobuf ContainerAllocateResponse>"}],"RegisteredDevices":{"<res>":[ids]}},"Checksum":<uint32>}
//
// CHECKSUM: the real kubelet's checksum is FNV-32a over a Go-specific dump (spew) of the Data struct; it cannot be
// reproduced portably. Checkpoints WRITTEN HERE carry our own checksum: FNV-32a over the UTF-8 JSON text of the
// "Data" value exactly as written. A real kubelet reading one of our files would reject it as corrupt (and continue
// without it, as it does for any corrupt checkpoint). When READING, we accept any checksum (we cannot verify a real
// one) and report whether it matched ours.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { decodeContainerAllocateResponse, encodeContainerAllocateResponse } from './grpc.ts';
import type { ContainerAllocateResponse } from './types.ts';

export const CHECKPOINT_FILE = 'kubelet_internal_checkpoint';
/** NUMA key for a device without topology */
export const NO_NUMA = -1;

export interface CheckpointEntry {
  podUid: string;
  containerName: string;
  resourceName: string;
  /** device IDs per NUMA node (-1 = none) */
  deviceIds: Map<number, string[]>;
  allocResp: ContainerAllocateResponse;
}

export interface CheckpointData {
  entries: CheckpointEntry[];
  /** resource → healthy device IDs at the time of writing (the kubelet records healthy devices only) */
  registeredDevices: Record<string, string[]>;
}

export interface ParsedCheckpoint {
  data: CheckpointData;
  /** 'v2': NUMA-keyed DeviceIDs (Kubernetes ≥ 1.20); 'v1': flat list (older) — its devices land on NUMA node 0, as the kubelet's migration does */
  format: 'v1' | 'v2';
  checksum: number;
  /** true when the checksum is the one this emulator writes (false for real kubelet checkpoints) */
  checksumMatchesOurs: boolean;
}

export class CheckpointError extends Error {
  readonly path: string;
  readonly reason: string;
  constructor(path: string, reason: string) {
    super(`checkpoint ${path} is unreadable: ${reason}`);
    this.name = 'CheckpointError';
    this.path = path;
    this.reason = reason;
  }
}

/** FNV-1a, 32 bit. */
export function fnv32a(text: string): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(text, 'utf8')) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** Go's encoding/json escapes these; match it so a file reads the same. */
function goJsonEscape(json: string): string {
  return json.replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * A JSON object from entries with keys sorted by their string form, as Go marshals maps. Built by hand: a JS object
 * would put integer-like keys ("0", "1") before "-1".
 */
function goMapJson(entries: Array<[string, unknown]>): string {
  const sorted = [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${sorted.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`;
}

function dataJson(data: CheckpointData): string {
  const entries = data.entries.map(
    (e) =>
      `{"PodUID":${JSON.stringify(e.podUid)},"ContainerName":${JSON.stringify(e.containerName)},"ResourceName":${JSON.stringify(e.resourceName)},` +
      `"DeviceIDs":${goMapJson([...e.deviceIds].map(([numa, ids]) => [String(numa), ids]))},` +
      `"AllocResp":${JSON.stringify(encodeContainerAllocateResponse(e.allocResp).toString('base64'))}}`,
  );
  // a Go nil slice marshals as null: the kubelet writes "PodDeviceEntries":null when no pod holds devices
  const podDeviceEntries = entries.length ? `[${entries.join(',')}]` : 'null';
  const registered = goMapJson(Object.entries(data.registeredDevices).map(([r, ids]) => [r, [...ids]]));
  return goJsonEscape(`{"PodDeviceEntries":${podDeviceEntries},"RegisteredDevices":${registered}}`);
}

/** The file content, compact JSON without a trailing newline, like the kubelet's checkpoint manager. */
export function encodeCheckpoint(data: CheckpointData): string {
  const d = dataJson(data);
  return `{"Data":${d},"Checksum":${fnv32a(d)}}`;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stringList(v: unknown, what: string, path: string): string[] {
  if (v === null || v === undefined) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new CheckpointError(path, `${what} is not a list of strings`);
  return v as string[];
}

/** Parse a checkpoint file's text: ours, or a real kubelet's (NUMA-keyed or the pre-1.20 flat form). */
export function parseCheckpoint(text: string, path = CHECKPOINT_FILE): ParsedCheckpoint {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new CheckpointError(path, `not JSON (${(e as Error).message})`);
  }
  if (!isRecord(doc) || !isRecord(doc.Data)) throw new CheckpointError(path, 'no "Data" object');
  const checksum = typeof doc.Checksum === 'number' ? doc.Checksum : NaN;
  const rawEntries = doc.Data.PodDeviceEntries ?? [];
  if (!Array.isArray(rawEntries)) throw new CheckpointError(path, 'PodDeviceEntries is not a list');
  let format: 'v1' | 'v2' = 'v2';
  const entries: CheckpointEntry[] = rawEntries.map((raw, i) => {
    if (!isRecord(raw)) throw new CheckpointError(path, `PodDeviceEntries[${i}] is not an object`);
    const deviceIds = new Map<number, string[]>();
    if (Array.isArray(raw.DeviceIDs) || raw.DeviceIDs === null) {
      format = 'v1';
      // no NUMA affinity was recorded before 1.20; the kubelet's own migration puts them on node 0
      deviceIds.set(0, stringList(raw.DeviceIDs, `PodDeviceEntries[${i}].DeviceIDs`, path));
    } else if (isRecord(raw.DeviceIDs)) {
      for (const [numa, ids] of Object.entries(raw.DeviceIDs)) {
        const n = Number(numa);
        if (!Number.isInteger(n)) throw new CheckpointError(path, `PodDeviceEntries[${i}].DeviceIDs key "${numa}" is not a NUMA node`);
        deviceIds.set(n, stringList(ids, `PodDeviceEntries[${i}].DeviceIDs["${numa}"]`, path));
      }
    } else throw new CheckpointError(path, `PodDeviceEntries[${i}].DeviceIDs is missing`);
    let allocResp: ContainerAllocateResponse;
    try {
      allocResp = decodeContainerAllocateResponse(Buffer.from(typeof raw.AllocResp === 'string' ? raw.AllocResp : '', 'base64'));
    } catch (e) {
      throw new CheckpointError(path, `PodDeviceEntries[${i}].AllocResp is not a ContainerAllocateResponse (${(e as Error).message})`);
    }
    return {
      podUid: String(raw.PodUID ?? ''),
      containerName: String(raw.ContainerName ?? ''),
      resourceName: String(raw.ResourceName ?? ''),
      deviceIds,
      allocResp,
    };
  });
  const registeredDevices: Record<string, string[]> = {};
  const rawReg = doc.Data.RegisteredDevices ?? {};
  if (!isRecord(rawReg)) throw new CheckpointError(path, 'RegisteredDevices is not an object');
  for (const [r, ids] of Object.entries(rawReg)) registeredDevices[r] = stringList(ids, `RegisteredDevices["${r}"]`, path);
  // our checksum covers the Data text exactly as written; re-derive it from the raw text
  const m = /^\{"Data":(.*),"Checksum":\d+\}$/s.exec(text.trim());
  const checksumMatchesOurs = !!m && fnv32a(m[1]) === checksum;
  return { data: { entries, registeredDevices }, format, checksum, checksumMatchesOurs };
}

/** Read the checkpoint; undefined when the file does not exist. */
export function readCheckpointFile(path: string): ParsedCheckpoint | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CheckpointError(path, (e as Error).message);
  }
  return parseCheckpoint(text, path);
}

/** Write atomically (temp file + rename), as the kubelet's file store does. */
export function writeCheckpointFile(path: string, data: CheckpointData): void {
  const tmp = join(dirname(path), `.${basename(path)}.tmp`);
  writeFileSync(tmp, encodeCheckpoint(data), { mode: 0o644 });
  renameSync(tmp, path);
}
