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

/** What discovery makes of one /sys/bus/pci/devices entry. */
export type AddrEntry =
  | { kind: 'device'; dev: HostDevice }
  | { kind: 'skipped'; reason: string }
  /** not a class the plugin looks at, or vanished while being read */
  | { kind: 'other' };

/** One entry and the facts incremental re-discovery keeps about it. */
interface ReadEntry {
  entry: AddrEntry;
  /** the netdevs seen under the device's directory (also for skipped devices), for mapping a netdev change to it */
  netdevs: string[];
  /** sriov_numvfs as read, for SR-IOV PFs; undefined otherwise */
  numVfs?: string | null;
}

/**
 * Reads devices one at a time against one set of default routes, memoising per-PF facts (virtfn links, PF netdev
 * name and link type) for the VFs read after it. One context serves one pass; a later pass takes a new one.
 */
class DiscoveryPass {
  private readonly sys: string;
  private readonly busDir: string;
  private readonly pfVfIndex = new Map<string, Map<string, number>>();
  private readonly pfNames = new Map<string, string | null>();
  private readonly pfLinkTypes = new Map<string, string | null>();
  /** iommu group → its `name` says vfio-noiommu (VFs often share a group; most groups have no `name`) */
  private readonly noiommu = new Map<string, boolean>();

  constructor(
    paths: HostPaths,
    private readonly cache: NetdevAttrCache,
    private readonly defaultRoutes: ReadonlySet<string>,
    /** address → driver, from the structure read just before (/sys/bus/pci/drivers/<drv>/<addr>): one readlink less per device */
    private readonly bound: ReadonlyMap<string, string>,
  ) {
    this.sys = paths.sysfsRoot;
    this.busDir = join(paths.sysfsRoot, 'bus/pci/devices');
  }

  private vfIndexOf(pfAddr: string, vfAddr: string): number {
    let m = this.pfVfIndex.get(pfAddr);
    if (!m) {
      m = new Map();
      const pfDir = join(this.busDir, pfAddr);
      for (const e of tryReaddir(pfDir)) {
        const k = /^virtfn(\d+)$/.exec(e);
        if (!k) continue;
        const target = tryReadlink(join(pfDir, e));
        if (target) m.set(basename(target), Number(k[1]));
      }
      this.pfVfIndex.set(pfAddr, m);
    }
    return m.get(vfAddr) ?? -1;
  }

  private pfNameOf(pfAddr: string): string | null {
    if (!this.pfNames.has(pfAddr)) this.pfNames.set(pfAddr, tryReaddir(join(this.busDir, pfAddr, 'net'))[0] ?? null);
    return this.pfNames.get(pfAddr)!;
  }

  private pfLinkTypeOf(pfAddr: string): string | null {
    if (!this.pfLinkTypes.has(pfAddr)) {
      const pfName = this.pfNameOf(pfAddr);
      const t = pfName === null ? null : tryRead(join(this.busDir, pfAddr, 'net', pfName, 'type'));
      this.pfLinkTypes.set(pfAddr, t === null ? null : (ARPHRD[t] ?? t));
    }
    return this.pfLinkTypes.get(pfAddr)!;
  }

  read(addr: string): ReadEntry {
    const { sys, busDir, cache } = this;
    // template strings, not join(): the parts are normalized names, and join() costs ~5% of a device's read
    const dir = `${busDir}/${addr}`;
    const entries = new Set(tryReaddir(dir));
    if (entries.size === 0) return { entry: { kind: 'other' }, netdevs: [] }; // vanished between readdirs
    const ids = parseModalias(tryRead(`${dir}/modalias`) ?? '') ?? classFromFiles(dir);
    if (!ids || !DISCOVERED_CLASSES.has(ids.baseClass)) return { entry: { kind: 'other' }, netdevs: [] };
    let driver = this.bound.get(addr) ?? '';
    if (!driver && entries.has('driver')) {
      // bound since the structure read
      const driverLink = tryReadlink(`${dir}/driver`);
      driver = driverLink ? basename(driverLink) : '';
    }
    const physfn = entries.has('physfn') ? tryReadlink(`${dir}/physfn`) : null;
    const pfAddr = physfn ? basename(physfn) : null;
    let sriovPf = false;
    let numVfsRaw: string | null | undefined;
    let netdevs: string[] = [];
    let virtio = false;
    if (entries.has('net')) netdevs = tryReaddir(`${dir}/net`);
    if (entries.has('sriov_totalvfs')) {
      sriovPf = true;
      numVfsRaw = tryRead(`${dir}/sriov_numvfs`);
      const numVfs = Number(numVfsRaw ?? '0');
      if (numVfs > 0) return { entry: { kind: 'skipped', reason: `PF with ${numVfs} VFs configured` }, netdevs, numVfs: numVfsRaw };
    }
    for (const e of entries) {
      if (/^virtio\d+$/.test(e)) {
        virtio = true;
        netdevs.push(...tryReaddir(join(dir, e, 'net')));
      }
    }
    const routed = netdevs.find((n) => this.defaultRoutes.has(n));
    if (routed) return { entry: { kind: 'skipped', reason: `netdev ${routed} holds the default route` }, netdevs, numVfs: numVfsRaw };
    const numaRaw = tryRead(`${dir}/numa_node`);
    const numaNode = numaRaw !== null && /^-?\d+$/.test(numaRaw) ? Number(numaRaw) : -1;
    const groupLink = entries.has('iommu_group') ? tryReadlink(`${dir}/iommu_group`) : null;
    const iommuGroup = groupLink ? basename(groupLink) : null;
    let vfioNoiommu = false;
    if (iommuGroup !== null) {
      let v = this.noiommu.get(iommuGroup);
      if (v === undefined) {
        // existsSync first: a read of a missing file throws, and building that error costs more than the read
        const nameFile = join(sys, 'kernel/iommu_groups', iommuGroup, 'name');
        v = existsSync(nameFile) && tryRead(nameFile) === 'vfio-noiommu';
        this.noiommu.set(iommuGroup, v);
      }
      vfioNoiommu = v;
    }

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
      else if (pfAddr && driver && !USERSPACE_DRIVERS.has(driver)) linkType = this.pfLinkTypeOf(pfAddr);
    }
    const dev: HostDevice = {
      pciAddr: addr,
      vendor: ids.vendor,
      device: ids.device,
      baseClass: ids.baseClass,
      driver,
      isVf: pfAddr !== null,
      pfAddr,
      pfName: pfAddr ? this.pfNameOf(pfAddr) : null,
      vfIndex: pfAddr ? this.vfIndexOf(pfAddr, addr) : -1,
      sriovPf,
      numaNode,
      iommuGroup,
      vfioNoiommu,
      netdevs,
      virtio,
      linkType,
      isRdma: entries.has('infiniband') && tryReaddir(`${dir}/infiniband`).length > 0,
      acpiIndex: entries.has('acpi_index') ? tryRead(`${dir}/acpi_index`) : null,
    };
    return { entry: { kind: 'device', dev }, netdevs: [...netdevs], numVfs: numVfsRaw };
  }
}

/**
 * Enumerates /sys/bus/pci/devices like upstream: class filter, default-route exclusion, PFs with VFs skipped.
 * A device with no driver, no netdev or unreadable attributes is reported as it is, never an error.
 */
export function discoverDevices(paths: HostPaths, cache: NetdevAttrCache = new Map()): DiscoveryResult {
  const table = new DeviceTable(paths, cache);
  table.update();
  return table.result();
}

/** The parts of sysfs whose change means re-discovery (see structureKey). */
export interface StructureParts {
  /** /sys/bus/pci/devices, sorted */
  pci: string[];
  /** PCI address → driver it is bound to, from /sys/bus/pci/drivers/<drv>/<addr> */
  bound: Map<string, string>;
  /** /sys/class/net, sorted */
  netdevs: string[];
  /** interfaces holding the default route, sorted */
  routes: string[];
}

export function readStructure(paths: HostPaths): StructureParts {
  const sys = paths.sysfsRoot;
  const bound = new Map<string, string>();
  const drvDir = join(sys, 'bus/pci/drivers');
  for (const drv of tryReaddir(drvDir)) for (const e of tryReaddir(join(drvDir, drv))) if (PCI_ENTRY_RE.test(e)) bound.set(e, drv);
  return {
    pci: tryReaddir(join(sys, 'bus/pci/devices')),
    bound,
    netdevs: tryReaddir(join(sys, 'class/net')),
    routes: [...readDefaultRouteIfnames(paths.procNetRoute)].sort(),
  };
}

function structureKeyOf(p: StructureParts): string {
  const byDrv = new Map<string, string[]>();
  for (const [addr, drv] of p.bound) byDrv.set(drv, [...(byDrv.get(drv) ?? []), addr]);
  const drivers = [...byDrv].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([d, a]) => `${d}=${a.sort().join(',')}`);
  return [p.pci.join(','), ...drivers, p.netdevs.join(','), p.routes.join(',')].join('|');
}

/**
 * A cheap fingerprint of everything that changes which devices exist and how they are bound: the PCI device list,
 * the devices of each driver, the netdev names and the default-route interfaces. A few readdirs, whatever the VF count.
 */
export function structureKey(paths: HostPaths): string {
  return structureKeyOf(readStructure(paths));
}

/** What one update() re-read. */
export interface TableUpdate {
  /** anything changed: entries added, removed or re-read */
  changed: boolean;
  /** addresses read again (new ones included); every address on a full pass */
  reread: Set<string>;
  removed: string[];
  full: boolean;
}

const PCI_IN_PATH_RE = /(?:^|\/)([0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7])(?=\/)/g;

/**
 * Discovery kept up to date incrementally: each update() reads the structure parts (a few readdirs), compares them with
 * the last ones and re-reads only the devices they name: new PCI entries, devices whose driver binding changed, devices
 * whose netdev appeared or went away, SR-IOV PFs whose sriov_numvfs changed, and the VFs of any PF re-read (their PF
 * netdev name, link type and VF index come from it). A change of the default routes re-reads everything. The result
 * equals a full discoverDevices() for every change the structure parts see (plugin.test.ts checks this on random changes).
 */
export class DeviceTable {
  private readonly entries = new Map<string, ReadEntry>();
  private parts: StructureParts | null = null;
  /** SR-IOV PF → sriov_numvfs as read before the last update's structure read */
  private readonly numVfsSeen = new Map<string, string | null>();
  /** netdev name → the PCI address that showed it */
  private readonly netOwner = new Map<string, string>();
  private cached: DiscoveryResult | null = null;
  /** devices read since creation (for tests and benchmarks) */
  reads = 0;

  constructor(
    readonly paths: HostPaths,
    private readonly cache: NetdevAttrCache = new Map(),
  ) {}

  /** The SR-IOV PFs seen (with or without VFs). */
  sriovPfs(): string[] {
    return [...this.numVfsSeen.keys()];
  }

  /** A few file reads: has any SR-IOV PF's sriov_numvfs changed since the last update()? */
  numVfsChanged(): boolean {
    for (const [pf, seen] of this.numVfsSeen) if (tryRead(join(this.paths.sysfsRoot, 'bus/pci/devices', pf, 'sriov_numvfs')) !== seen) return true;
    return false;
  }

  private readNumVfs(): Map<string, string | null> {
    const now = new Map<string, string | null>();
    for (const pf of this.numVfsSeen.keys()) now.set(pf, tryRead(join(this.paths.sysfsRoot, 'bus/pci/devices', pf, 'sriov_numvfs')));
    return now;
  }

  private put(pass: DiscoveryPass, addr: string): void {
    const old = this.entries.get(addr);
    if (old) for (const n of old.netdevs) if (this.netOwner.get(n) === addr) this.netOwner.delete(n);
    const r = pass.read(addr);
    this.reads++;
    this.entries.set(addr, r);
    for (const n of r.netdevs) this.netOwner.set(n, addr);
    if (r.numVfs !== undefined) this.numVfsSeen.set(addr, r.numVfs);
    else this.numVfsSeen.delete(addr);
  }

  private drop(addr: string): void {
    const old = this.entries.get(addr);
    if (!old) return;
    for (const n of old.netdevs) if (this.netOwner.get(n) === addr) this.netOwner.delete(n);
    this.entries.delete(addr);
    this.numVfsSeen.delete(addr);
    this.cache.delete(addr);
  }

  /**
   * Full discovery in steps: yields after each device read so that a caller can let other work run in between (the
   * plugin registers while it discovers). Call result() when it is done.
   */
  *rebuildSteps(): Generator<AddrEntry & { addr: string }, TableUpdate> {
    const parts = readStructure(this.paths);
    const pass = new DiscoveryPass(this.paths, this.cache, new Set(parts.routes), parts.bound);
    this.entries.clear();
    this.netOwner.clear();
    this.numVfsSeen.clear();
    this.cached = null;
    for (const addr of parts.pci) {
      this.put(pass, addr);
      yield { addr, ...this.entries.get(addr)!.entry };
    }
    const known = new Set(parts.pci);
    for (const k of [...this.cache.keys()]) if (!known.has(k) || this.entries.get(k)?.entry.kind === 'other') this.cache.delete(k);
    this.parts = parts;
    this.cached = null;
    return { changed: true, reread: known, removed: [], full: true };
  }

  private rebuild(): TableUpdate {
    const steps = this.rebuildSteps();
    for (;;) {
      const s = steps.next();
      if (s.done) return s.value;
    }
  }

  /** Re-reads what changed since the last call (everything on the first call). */
  update(): TableUpdate {
    if (!this.parts) return this.rebuild();
    const numVfs = this.readNumVfs();
    const next = readStructure(this.paths);
    const prev = this.parts;
    if (next.routes.join(',') !== prev.routes.join(',')) return this.rebuild();
    const dirty = new Set<string>();
    const removed: string[] = [];
    const nextPci = new Set(next.pci);
    for (const addr of prev.pci) if (!nextPci.has(addr)) removed.push(addr);
    const prevPci = new Set(prev.pci);
    for (const addr of next.pci) if (!prevPci.has(addr)) dirty.add(addr);
    for (const [addr, drv] of next.bound) if (prev.bound.get(addr) !== drv) dirty.add(addr);
    for (const addr of prev.bound.keys()) if (!next.bound.has(addr)) dirty.add(addr);
    const nextNet = new Set(next.netdevs);
    for (const n of prev.netdevs) {
      if (nextNet.has(n)) continue;
      const owner = this.netOwner.get(n);
      if (owner) dirty.add(owner);
    }
    const prevNet = new Set(prev.netdevs);
    for (const n of next.netdevs) {
      if (prevNet.has(n)) continue;
      const target = tryReadlink(join(this.paths.sysfsRoot, 'class/net', n));
      // the device is the last PCI address in the link's path (virtio: the one above virtioN)
      const addrs = target ? [...target.matchAll(PCI_IN_PATH_RE)].map((m) => m[1]) : [];
      if (addrs.length > 0) dirty.add(addrs[addrs.length - 1]);
      const owner = this.netOwner.get(n);
      if (owner) dirty.add(owner);
    }
    for (const [pf, v] of numVfs) if (this.numVfsSeen.get(pf) !== v) dirty.add(pf);
    for (const addr of removed) {
      dirty.delete(addr);
      this.drop(addr);
    }
    // a PF read again may have a new netdev name or VF set: its VFs are read again with it
    const pfsDirty = new Set([...dirty].filter((a) => this.numVfsSeen.has(a)));
    if (pfsDirty.size > 0) {
      for (const [addr, r] of this.entries) if (r.entry.kind === 'device' && r.entry.dev.pfAddr !== null && pfsDirty.has(r.entry.dev.pfAddr)) dirty.add(addr);
    }
    const reread = new Set<string>();
    const pass = new DiscoveryPass(this.paths, this.cache, new Set(next.routes), next.bound);
    // address order, as a full pass reads them
    for (const addr of next.pci) {
      if (!dirty.has(addr)) continue;
      this.put(pass, addr);
      reread.add(addr);
    }
    for (const addr of reread) if (this.entries.get(addr)?.entry.kind === 'other') this.cache.delete(addr);
    // the SR-IOV PFs' counts as read before the structure: a change after that read is seen by the next numVfsChanged()
    for (const [pf, v] of numVfs) if (this.numVfsSeen.has(pf)) this.numVfsSeen.set(pf, v);
    this.parts = next;
    const changed = reread.size > 0 || removed.length > 0;
    if (changed) this.cached = null;
    return { changed, reread, removed, full: false };
  }

  /** Devices and skipped devices in address order. */
  result(): DiscoveryResult {
    if (this.cached) return this.cached;
    const devices: HostDevice[] = [];
    const skipped: SkippedDevice[] = [];
    for (const addr of [...this.entries.keys()].sort()) {
      const e = this.entries.get(addr)!.entry;
      if (e.kind === 'device') devices.push(e.dev);
      else if (e.kind === 'skipped') skipped.push({ pciAddr: addr, reason: e.reason });
    }
    this.cached = { devices, skipped };
    return this.cached;
  }
}

function classFromFiles(dir: string): { vendor: string; device: string; baseClass: string; subClass: string } | null {
  const v = tryRead(join(dir, 'vendor'));
  const d = tryRead(join(dir, 'device'));
  const c = tryRead(join(dir, 'class'));
  if (!v || !d || !c) return null;
  const cls = c.replace(/^0x/, '').padStart(6, '0');
  return { vendor: v.replace(/^0x/, '').toLowerCase(), device: d.replace(/^0x/, '').toLowerCase(), baseClass: cls.slice(0, 2), subClass: cls.slice(2, 4) };
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
  const v = tryRead(`${sys}/class/net/${ifname}/carrier`);
  const out = v === '0' || v === '1' ? v : null; // unreadable (EINVAL) while administratively down
  memo?.set(ifname, out);
  return out;
}

/**
 * Link health. `operstate`: healthy iff operstate is up or unknown (the virt device plugin's rule). `link`: unhealthy
 * when the device's own carrier is off or its PF's carrier is off; an administratively-down netdev (carrier unreadable)
 * and a netdev away in a pod say nothing, so they do not make a device unhealthy.
 */
/** the common answer, shared: the poll loop asks for a thousand devices every tick */
const HEALTHY: HealthState = Object.freeze({ healthy: true });

export function readHealth(paths: HostPaths, dev: HostDevice, mode: 'link' | 'operstate' | 'none', memo?: CarrierMemo): HealthState {
  if (mode === 'none') return HEALTHY;
  const sys = paths.sysfsRoot;
  if (mode === 'operstate') {
    if (dev.netdevs.length === 0) return { healthy: true, reason: 'no netdev in this namespace' };
    const op = tryRead(join(sys, 'class/net', dev.netdevs[0], 'operstate'));
    if (op === null) return { healthy: true, reason: 'operstate unreadable' };
    return op === 'up' || op === 'unknown' ? HEALTHY : { healthy: false, reason: `${dev.netdevs[0]} operstate ${op}` };
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
  return HEALTHY;
}

/** Host-side character devices that needVhostNet shares. */
export function vhostNetAvailable(paths: HostPaths): boolean {
  return existsSync(join(paths.devRoot, 'vhost-net')) && existsSync(join(paths.devRoot, 'net/tun'));
}
