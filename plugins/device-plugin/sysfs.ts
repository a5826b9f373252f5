// Device discovery from sysfs, as the upstream plugin does it (docs/reference/device-plugin.md#discovery),
// plus the cheap signals used to
// notice changes while running. Reads are synchronous and few: one readdir per device tells which attributes exist.
import { readFileSync, readdirSync, readlinkSync, existsSync } from 'node:fs';
import { join, basename } from 'node:path';

/** Where the plugin looks; every real path can be relocated. */
export interface HostPaths {
  /** default /sys */
  sysfsRoot: string;
  /** default /dev (for /dev/vhost-net and /dev/net/tun) */
  devRoot: string;
  /** default /dev/vfio: host side of vfio DeviceSpecs */
  devVfioRoot: string;
  /** default /proc/net/route: the default-route table of the plugin's own network namespace */
  procNetRoute: string;
}

export const defaultHostPaths: HostPaths = {
  sysfsRoot: '/sys',
  devRoot: '/dev',
  devVfioRoot: '/dev/vfio',
  procNetRoute: '/proc/net/route',
};

/** One PCI function the plugin may hand out. */
export interface HostDevice {
  pciAddr: string;
  vendor: string;
  device: string;
  /** PCI base class, 2 hex digits ("02" network, "12" accelerator) */
  baseClass: string;
  /** bound driver, "" when none */
  driver: string;
  isVf: boolean;
  /** PF's PCI address (VFs) */
  pfAddr: string | null;
  /** PF's netdev name (VFs) */
  pfName: string | null;
  /** index N of the PF's virtfnN link (VFs), -1 otherwise */
  vfIndex: number;
  /** an SR-IOV capable PF (with no VFs enabled, or it would have been skipped) */
  sriovPf: boolean;
  /** -1 when the platform has no NUMA information */
  numaNode: number;
  iommuGroup: string | null;
  /** the iommu group's `name` says vfio-noiommu */
  vfioNoiommu: boolean;
  /** netdevs of the device visible in this namespace (for virtio: under virtioN/net) */
  netdevs: string[];
  virtio: boolean;
  /** "ether", "infiniband", … from net/<if>/type; kept from an earlier scan while the netdev is away in a pod */
  linkType: string | null;
  isRdma: boolean;
  acpiIndex: string | null;
}

export interface SkippedDevice {
  pciAddr: string;
  reason: string;
}

export interface DiscoveryResult {
  devices: HostDevice[];
  skipped: SkippedDevice[];
}

/** Attributes learned from a device's own netdev, kept while the netdev is away (moved into a pod). */
export type NetdevAttrCache = Map<string, { driver: string; linkType: string | null }>;

const ARPHRD: Record<string, string> = { '1': 'ether', '32': 'infiniband', '772': 'loopback', '65534': 'none', '24': 'ieee1394' };
const PCI_ENTRY_RE = /^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/;

function tryRead(path: string): string | null {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return null;
  }
}
function tryReaddir(path: string): string[] {
  try {
    return readdirSync(path).sort();
  } catch {
    return [];
  }
}
function tryReadlink(path: string): string | null {
  try {
    return readlinkSync(path);
  } catch {
    return null;
  }
}

/** `pci:v00008086d000010EDsv…sd…bc02sc00i00` → ids and class */
export function parseModalias(s: string): { vendor: string; device: string; baseClass: string; subClass: string } | null {
  const m = /^pci:v([0-9A-Fa-f]{8})d([0-9A-Fa-f]{8})sv[0-9A-Fa-f*]+sd[0-9A-Fa-f*]+bc([0-9A-Fa-f]{2})sc([0-9A-Fa-f]{2})i/.exec(s.trim());
  if (!m) return null;
  return { vendor: m[1].slice(4).toLowerCase(), device: m[2].slice(4).toLowerCase(), baseClass: m[3].toLowerCase(), subClass: m[4].toLowerCase() };
}

/** Interface names holding a default route (destination and mask 0) in /proc/net/route format. */
export function parseDefaultRouteIfnames(text: string): Set<string> {
  const out = new Set<string>();
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    if (f[1] === '00000000' && f[7] === '00000000') out.add(f[0]);
  }
  return out;
}

export function readDefaultRouteIfnames(procNetRoute: string): Set<string> {
  const text = tryRead(procNetRoute);
  return text === null ? new Set() : parseDefaultRouteIfnames(text);
}

/** Drivers that take a device away from the kernel's network stack: a VF on one has no netdev anywhere. */
const USERSPACE_DRIVERS = new Set(['vfio-pci', 'uio_pci_generic', 'igb_uio']);

/** Classes the plugin looks at: network (0x02) for netDevice, processing accelerators (0x12) for accelerator. */
export const DISCOVERED_CLASSES = new Set(['02', '12']);

/**
 * Enumerates /sys/bus/pci/devices like upstream: class filter, default-route exclusion, PFs with VFs skipped.
 * A device with no driver, no netdev or unreadable attributes is reported as it is, never an error.
 */
export function discoverDevices(paths: HostPaths, cache: NetdevAttrCache = new Map()): DiscoveryResult {
  const sys = paths.sysfsRoot;
  const busDir = join(sys, 'bus/pci/devices');
  const defaultRoutes = readDefaultRouteIfnames(paths.procNetRoute);
  const devices: HostDevice[] = [];
  const skipped: SkippedDevice[] = [];
  const pfVfIndex = new Map<string, Map<string, number>>();
  const pfNames = new Map<string, string | null>();
  const vfIndexOf = (pfAddr: string, vfAddr: string): number => {
    let m = pfVfIndex.get(pfAddr);
    if (!m) {
      m = new Map();
      const pfDir = join(busDir, pfAddr);
      for (const e of tryReaddir(pfDir)) {
        const k = /^virtfn(\d+)$/.exec(e);
        if (!k) continue;
        const target = tryReadlink(join(pfDir, e));
        if (target) m.set(basename(target), Number(k[1]));
      }
      pfVfIndex.set(pfAddr, m);
    }
    return m.get(vfAddr) ?? -1;
  };
  const pfNameOf = (pfAddr: string): string | null => {
    if (!pfNames.has(pfAddr)) pfNames.set(pfAddr, tryReaddir(join(busDir, pfAddr, 'net'))[0] ?? null);
    return pfNames.get(pfAddr)!;
  };
  const pfLinkTypes = new Map<string, string | null>();
  const pfLinkTypeOf = (pfAddr: string): string | null => {
    if (!pfLinkTypes.has(pfAddr)) {
      const pfName = pfNameOf(pfAddr);
      const t = pfName === null ? null : tryRead(join(busDir, pfAddr, 'net', pfName, 'type'));
      pfLinkTypes.set(pfAddr, t === null ? null : (ARPHRD[t] ?? t));
    }
    return pfLinkTypes.get(pfAddr)!;
  };
  const seen = new Set<string>();

  for (const addr of tryReaddir(busDir)) {
    const dir = join(busDir, addr);
    const entries = new Set(tryReaddir(dir));
    if (entries.size === 0) continue; // vanished between readdirs
    const ids = parseModalias(tryRead(join(dir, 'modalias')) ?? '') ?? classFromFiles(dir);
    if (!ids || !DISCOVERED_CLASSES.has(ids.baseClass)) continue;
    seen.add(addr);
    const driverLink = entries.has('driver') ? tryReadlink(join(dir, 'driver')) : null;
    const driver = driverLink ? basename(driverLink) : '';
    const physfn = entries.has('physfn') ? tryReadlink(join(dir, 'physfn')) : null;
    const pfAddr = physfn ? basename(physfn) : null;
    let sriovPf = false;
    if (entries.has('sriov_totalvfs')) {
      sriovPf = true;
      const numVfs = Number(tryRead(join(dir, 'sriov_numvfs')) ?? '0');
      if (numVfs > 0) {
        skipped.push({ pciAddr: addr, reason: `PF with ${numVfs} VFs configured` });
        continue;
      }
    }
    let netdevs: string[] = [];
    let virtio = false;
    if (entries.has('net')) netdevs = tryReaddir(join(dir, 'net'));
    for (const e of entries) {
      if (/^virtio\d+$/.test(e)) {
        virtio = true;
        netdevs.push(...tryReaddir(join(dir, e, 'net')));
      }
    }
    const routed = netdevs.find((n) => defaultRoutes.has(n));
    if (routed) {
      skipped.push({ pciAddr: addr, reason: `netdev ${routed} holds the default route` });
      continue;
    }
    const numaRaw = tryRead(join(dir, 'numa_node'));
    const numaNode = numaRaw !== null && /^-?\d+$/.test(numaRaw) ? Number(numaRaw) : -1;
    const groupLink = entries.has('iommu_group') ? tryReadlink(join(dir, 'iommu_group')) : null;
    const iommuGroup = groupLink ? basename(groupLink) : null;
    let vfioNoiommu = false;
    if (iommuGroup !== null) vfioNoiommu = tryRead(join(sys, 'kernel/iommu_groups', iommuGroup, 'name')) === 'vfio-noiommu';

    let linkType: string | null = null;
    if (netdevs.length > 0) {
      const netDir = virtio ? join(sys, 'class/net', netdevs[0]) : join(dir, 'net', netdevs[0]);
      const t = tryRead(join(netDir, 'type'));
      linkType = t === null ? null : (ARPHRD[t] ?? t);
      cache.set(addr, { driver, linkType });
    } else {
      const c = cache.get(addr);
      if (c && c.driver === driver) linkType = c.linkType;
      // A VF on a kernel network driver whose netdev is in another namespace (a pod's) has its PF's link layer. A
      // plugin started while pods hold VFs has no cache: without this those VFs fail a linkTypes selector and drop out
      // of capacity (sriov-network-device-plugin#565).
      else if (pfAddr && driver && !USERSPACE_DRIVERS.has(driver)) linkType = pfLinkTypeOf(pfAddr);
    }
    devices.push({
      pciAddr: addr,
      vendor: ids.vendor,
      device: ids.device,
      baseClass: ids.baseClass,
      driver,
      isVf: pfAddr !== null,
      pfAddr,
      pfName: pfAddr ? pfNameOf(pfAddr) : null,
      vfIndex: pfAddr ? vfIndexOf(pfAddr, addr) : -1,
      sriovPf,
      numaNode,
      iommuGroup,
      vfioNoiommu,
      netdevs,
      virtio,
      linkType,
      isRdma: entries.has('infiniband') && tryReaddir(join(dir, 'infiniband')).length > 0,
      acpiIndex: entries.has('acpi_index') ? tryRead(join(dir, 'acpi_index')) : null,
    });
  }
  for (const k of cache.keys()) if (!seen.has(k)) cache.delete(k);
  return { devices, skipped };
}

function classFromFiles(dir: string): { vendor: string; device: string; baseClass: string; subClass: string } | null {
  const v = tryRead(join(dir, 'vendor'));
  const d = tryRead(join(dir, 'device'));
  const c = tryRead(join(dir, 'class'));
  if (!v || !d || !c) return null;
  const cls = c.replace(/^0x/, '').padStart(6, '0');
  return { vendor: v.replace(/^0x/, '').toLowerCase(), device: d.replace(/^0x/, '').toLowerCase(), baseClass: cls.slice(0, 2), subClass: cls.slice(2, 4) };
}

/**
 * A cheap fingerprint of everything that changes which devices exist and how they are bound: the PCI device list,
 * the devices of each driver, the netdev names and the default-route interfaces. A few readdirs, whatever the VF count.
 */
export function structureKey(paths: HostPaths): string {
  const sys = paths.sysfsRoot;
  const parts: string[] = [tryReaddir(join(sys, 'bus/pci/devices')).join(',')];
  const drvDir = join(sys, 'bus/pci/drivers');
  for (const drv of tryReaddir(drvDir)) {
    const bound = tryReaddir(join(drvDir, drv)).filter((e) => PCI_ENTRY_RE.test(e));
    if (bound.length) parts.push(`${drv}=${bound.join(',')}`);
  }
  parts.push(tryReaddir(join(sys, 'class/net')).join(','));
  parts.push([...readDefaultRouteIfnames(paths.procNetRoute)].sort().join(','));
  return parts.join('|');
}

export interface HealthState {
  healthy: boolean;
  /** why it is unhealthy (or what could not be read), for logs */
  reason?: string;
}

/** Per-scan memo of PF carrier reads, so a PF with 256 VFs is read once. */
export type CarrierMemo = Map<string, string | null>;

function readCarrier(sys: string, ifname: string, memo?: CarrierMemo): string | null {
  if (memo?.has(ifname)) return memo.get(ifname)!;
  const v = tryRead(join(sys, 'class/net', ifname, 'carrier'));
  const out = v === '0' || v === '1' ? v : null; // unreadable (EINVAL) while administratively down
  memo?.set(ifname, out);
  return out;
}

/**
 * Link health. `operstate`: healthy iff operstate is up or unknown (the virt device plugin's rule). `link`: unhealthy
 * when the device's own carrier is off or its PF's carrier is off; an administratively-down netdev (carrier unreadable)
 * and a netdev away in a pod say nothing, so they do not make a device unhealthy.
 */
export function readHealth(paths: HostPaths, dev: HostDevice, mode: 'link' | 'operstate' | 'none', memo?: CarrierMemo): HealthState {
  if (mode === 'none') return { healthy: true };
  const sys = paths.sysfsRoot;
  if (mode === 'operstate') {
    if (dev.netdevs.length === 0) return { healthy: true, reason: 'no netdev in this namespace' };
    const op = tryRead(join(sys, 'class/net', dev.netdevs[0], 'operstate'));
    if (op === null) return { healthy: true, reason: 'operstate unreadable' };
    return op === 'up' || op === 'unknown' ? { healthy: true } : { healthy: false, reason: `${dev.netdevs[0]} operstate ${op}` };
  }
  if (dev.netdevs.length > 0) {
    const c = readCarrier(sys, dev.netdevs[0], memo);
    if (c === '0') return { healthy: false, reason: `${dev.netdevs[0]} has no carrier` };
    if (c === null) {
      const op = tryRead(join(sys, 'class/net', dev.netdevs[0], 'operstate'));
      if (op === 'lowerlayerdown' || op === 'notpresent') return { healthy: false, reason: `${dev.netdevs[0]} operstate ${op}` };
    }
  }
  if (dev.isVf && dev.pfName) {
    const pc = readCarrier(sys, dev.pfName, memo);
    if (pc === '0') return { healthy: false, reason: `PF ${dev.pfName} has no carrier` };
  }
  return { healthy: true };
}

/** Host-side character devices that needVhostNet shares. */
export function vhostNetAvailable(paths: HostPaths): boolean {
  return existsSync(join(paths.devRoot, 'vhost-net')) && existsSync(join(paths.devRoot, 'net/tun'));
}
