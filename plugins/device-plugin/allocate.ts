// What Allocate hands out (env vars, DeviceSpecs, device-info files) and GetPreferredAllocation's choice.
import { existsSync, mkdirSync, writeFileSync, renameSync, rmSync } from 'node:fs';
import { mkdir, writeFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { AllocationPolicy, ResourceConfig } from './config.ts';
import type { HostDevice, HostPaths } from './sysfs.ts';
import type { ContainerAllocateResponse, DeviceSpec } from './api-types.ts';

/** `PCIDEVICE_<PREFIX>_<NAME>`: upper case, "." and "/" become "_" (upstream's spelling). */
export function envName(res: Pick<ResourceConfig, 'resourcePrefix' | 'resourceName'>): string {
  return `PCIDEVICE_${`${res.resourcePrefix}_${res.resourceName}`.replace(/[./]/g, '_').toUpperCase()}`;
}

/** The socket file name upstream uses: `<prefix>_<name>.sock`. */
export function socketName(res: Pick<ResourceConfig, 'resourcePrefix' | 'resourceName'>): string {
  return `${res.resourcePrefix}_${res.resourceName}.sock`;
}

/** `<prefix>-<name>-<pci>-device.json` */
export function deviceInfoFileName(res: Pick<ResourceConfig, 'resourcePrefix' | 'resourceName'>, pciAddr: string): string {
  return `${res.resourcePrefix}-${res.resourceName}-${pciAddr}-device.json`;
}

/** The device-info spec 1.1.0 document for a PCI device (field order as the spec's struct). */
export function deviceInfoJson(pciAddr: string): string {
  return JSON.stringify({ type: 'pci', version: '1.1.0', pci: { 'pci-address': pciAddr } });
}

let tmpSeq = 0; // unique temp names: Allocate and the background writer may write the same file at once

export function writeDeviceInfoFile(dir: string, res: ResourceConfig, pciAddr: string): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, deviceInfoFileName(res, pciAddr));
  const tmp = `${path}.tmp${process.pid}.${++tmpSeq}`;
  writeFileSync(tmp, deviceInfoJson(pciAddr));
  renameSync(tmp, path); // readers (Multus) never see a half-written file
  return path;
}

/**
 * Allocate's check: the background writer has usually written the file already (files are complete or absent: they are
 * renamed into place), so one stat instead of mkdir, write and rename (~0.3-1 ms on a disk, on the call path).
 */
export function ensureDeviceInfoFile(dir: string, res: ResourceConfig, pciAddr: string): void {
  if (!existsSync(join(dir, deviceInfoFileName(res, pciAddr)))) writeDeviceInfoFile(dir, res, pciAddr);
}

/** Async form, so that hundreds of files go through the thread pool without blocking gRPC. */
export async function writeDeviceInfoFileAsync(dir: string, res: ResourceConfig, pciAddr: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, deviceInfoFileName(res, pciAddr));
  const tmp = `${path}.tmp${process.pid}.${++tmpSeq}`;
  await writeFile(tmp, deviceInfoJson(pciAddr));
  await rename(tmp, path);
  return path;
}

export async function removeDeviceInfoFileAsync(dir: string, res: ResourceConfig, pciAddr: string): Promise<void> {
  await rm(join(dir, deviceInfoFileName(res, pciAddr)), { force: true });
}

export function removeDeviceInfoFile(dir: string, res: ResourceConfig, pciAddr: string): void {
  rmSync(join(dir, deviceInfoFileName(res, pciAddr)), { force: true });
}

/** Container and host paths of the vfio group node (`noiommu-N` on the host when the group is vfio-noiommu). */
export function vfioGroupPaths(dev: HostDevice, paths: Pick<HostPaths, 'devVfioRoot'>): { container: string; host: string } | null {
  if (dev.iommuGroup === null) return null;
  return {
    container: `/dev/vfio/${dev.iommuGroup}`,
    host: join(paths.devVfioRoot, dev.vfioNoiommu ? `noiommu-${dev.iommuGroup}` : dev.iommuGroup),
  };
}

/** JSON with keys sorted at every level, as Go's encoding/json writes maps (upstream's `_INFO` is nested maps). */
export function sortedJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(sortedJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${sortedJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

export interface AllocateOptions {
  paths: Pick<HostPaths, 'devVfioRoot' | 'devRoot'>;
  /** the resource has a needVhostNet selector */
  needVhostNet: boolean;
}

/** One container's response for devices already checked to be in the pool and healthy. */
export function buildContainerResponse(res: ResourceConfig, devs: HostDevice[], opts: AllocateOptions): ContainerAllocateResponse {
  const info: Record<string, Record<string, Record<string, string>>> = {};
  const specs: DeviceSpec[] = [];
  const seenHost = new Set<string>();
  const addSpec = (s: DeviceSpec) => {
    if (seenHost.has(s.host_path)) return;
    seenHost.add(s.host_path);
    specs.push(s);
  };
  for (const d of devs) {
    const entry: Record<string, Record<string, string>> = { generic: { deviceID: d.pciAddr } };
    if (d.driver === 'vfio-pci') {
      const vfio: Record<string, string> = { mount: '/dev/vfio/vfio' };
      addSpec({ container_path: '/dev/vfio/vfio', host_path: join(opts.paths.devVfioRoot, 'vfio'), permissions: 'rw' });
      const g = vfioGroupPaths(d, opts.paths);
      if (g) {
        vfio['dev-mount'] = g.container;
        addSpec({ container_path: g.container, host_path: g.host, permissions: 'rw' });
      }
      entry.vfio = vfio;
    }
    if (opts.needVhostNet) {
      entry.vhost = { 'net-mount': '/dev/vhost-net', 'tun-mount': '/dev/net/tun' };
      addSpec({ container_path: '/dev/vhost-net', host_path: join(opts.paths.devRoot, 'vhost-net'), permissions: 'rw' });
      addSpec({ container_path: '/dev/net/tun', host_path: join(opts.paths.devRoot, 'net/tun'), permissions: 'rw' });
    }
    const extra = res.additionalInfo[d.pciAddr] ?? res.additionalInfo['*'];
    if (extra) entry.extra = { ...extra };
    info[d.pciAddr] = entry;
  }
  const name = envName(res);
  return {
    envs: { [name]: devs.map((d) => d.pciAddr).join(','), [`${name}_INFO`]: sortedJson(info) },
    mounts: [],
    devices: specs,
    annotations: {},
    cdi_devices: [],
  };
}

export interface PreferredRequest {
  available: string[];
  mustInclude: string[];
  size: number;
}

/**
 * NUMA-aligned first (the node of the must-include devices, else the node with the most free devices), then across
 * PFs: `spread` takes round-robin from the least-used PF, `packed` fills one PF before the next.
 */
export function preferredAllocation(req: PreferredRequest, known: ReadonlyMap<string, HostDevice>, policy: AllocationPolicy): string[] {
  const chosen: string[] = [];
  for (const id of req.mustInclude) if (!chosen.includes(id)) chosen.push(id);
  if (chosen.length >= req.size) return chosen.slice(0, Math.max(req.size, req.mustInclude.length));
  const free = [...new Set(req.available)].filter((id) => !chosen.includes(id)).sort();
  const numaOf = (id: string) => known.get(id)?.numaNode ?? -1;
  const groupOf = (id: string) => {
    const d = known.get(id);
    return d ? (d.pfAddr ?? d.pciAddr) : `?${id}`;
  };

  const freeByNuma = new Map<number, number>();
  for (const id of free) freeByNuma.set(numaOf(id), (freeByNuma.get(numaOf(id)) ?? 0) + 1);
  let target: number;
  if (chosen.length > 0) {
    const counts = new Map<number, number>();
    for (const id of chosen) counts.set(numaOf(id), (counts.get(numaOf(id)) ?? 0) + 1);
    target = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0][0];
  } else {
    const need = req.size;
    const nodes = [...freeByNuma.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0]);
    // the smallest node that fits keeps bigger nodes whole for bigger requests; else the biggest node
    const fitting = nodes.filter(([, n]) => n >= need).sort((a, b) => a[1] - b[1] || a[0] - b[0]);
    target = (fitting[0] ?? nodes[0])?.[0] ?? -1;
  }
  const numaOrder = [target, ...[...freeByNuma.entries()].filter(([n]) => n !== target).sort((a, b) => b[1] - a[1] || a[0] - b[0]).map(([n]) => n)];

  const usedPerGroup = new Map<string, number>();
  for (const id of chosen) usedPerGroup.set(groupOf(id), (usedPerGroup.get(groupOf(id)) ?? 0) + 1);
  for (const numa of numaOrder) {
    if (chosen.length >= req.size) break;
    const byGroup = new Map<string, string[]>();
    for (const id of free) {
      if (numaOf(id) !== numa) continue;
      const g = groupOf(id);
      byGroup.set(g, [...(byGroup.get(g) ?? []), id]);
    }
    while (chosen.length < req.size && byGroup.size > 0) {
      const groups = [...byGroup.keys()];
      let g: string;
      if (policy === 'spread') {
        g = groups.sort((a, b) => (usedPerGroup.get(a) ?? 0) - (usedPerGroup.get(b) ?? 0) || (a < b ? -1 : 1))[0];
      } else {
        g = groups.sort((a, b) => (usedPerGroup.get(b) ?? 0) - (usedPerGroup.get(a) ?? 0) || (a < b ? -1 : 1))[0];
      }
      const list = byGroup.get(g)!;
      chosen.push(list.shift()!);
      usedPerGroup.set(g, (usedPerGroup.get(g) ?? 0) + 1);
      if (list.length === 0) byGroup.delete(g);
    }
  }
  return chosen;
}
