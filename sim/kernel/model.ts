// The SysfsModel: PCI devices, drivers, SR-IOV and netdevs with the kernel's write semantics and errno.
// Pure and deterministic; projections (FUSE, snapshot) and the node runtime sit on top of it.
import { type NicModel, getNicModel, driverIdTables, driverLinkTiming } from '../nics/catalog.ts';
import { formatPciAddr, parsePciAddr, pciAddrProblem, vfPciAddr } from '../topology/pci.ts';
import { mulberry32 } from '../prng.ts';
import { type ErrnoName, type SysfsEvent, type VfAttrs, type VfAttrsPatch, SysfsError } from './types.ts';

export interface ModelNicSpec {
  /** catalog short name, e.g. "intel-i350" */
  model: string;
  pciAddr: string;
  ifname: string;
  numVfs?: number;
  totalVfs?: number;
  numaNode?: number;
  vfDriver?: 'default' | 'vfio-pci';
  linkState?: 'up' | 'down';
  mac?: string;
  mtu?: number;
  vfOffset?: number;
  vfStride?: number;
}

export interface ModelOptions {
  nics: ModelNicSpec[];
  netdevNaming?: 'predictable' | 'kernel';
  seed?: number;
  /** keep at most this many trace events (oldest dropped) */
  maxEvents?: number;
}

/** Runs `fn` after `ms` (the serving process's timer); the model itself keeps no time. */
export type LinkScheduler = (ms: number, fn: () => void) => void;

export interface Netdev {
  name: string;
  mac: string;
  mtu: number;
  ifindex: number;
  adminUp: boolean;
  carrier: boolean;
  /** false while the netdev lives in another network namespace (e.g. moved into a pod) */
  present: boolean;
}

/** A structural change of netdevs the node runtime mirrors with real links. */
export type NetdevChange =
  | { kind: 'add'; pciAddr: string; netdev: Netdev }
  | { kind: 'remove'; pciAddr: string; name: string }
  | { kind: 'carrier'; pciAddr: string; name: string; up: boolean };

interface PfState {
  totalVfs: number;
  numVfs: number;
  offset: number;
  stride: number;
  vfDevice: string;
  autoprobe: boolean;
  vfs: Array<PciDevice | null>; // index k; null after a hot-unplug
  vfAttrs: VfAttrs[];
}

export interface PciDevice {
  pciAddr: string;
  /** sysfs directory of the device's parent, e.g. "/sys/devices/pci0000:00/0000:00:1c.0" */
  parentDir: string;
  vendor: string;
  device: string;
  subsystemVendor: string;
  subsystemDevice: string;
  classCode: string;
  numaNode: number;
  driver: string | null;
  driverOverride: string | null;
  iommuGroup: number;
  netdev: Netdev | null;
  nic: NicModel | null; // null for bridges
  pf: PfState | null;
  physfn: PciDevice | null;
  vfIndex: number;
  hwMac: string;
  /** predictable name the device's netdev takes when (re)created */
  baseIfname: string | null;
  /** virtio: netdevs sit under virtioN/net instead of net/ */
  virtioIndex: number | null;
  linkUp: boolean;
  /** driver link delays in progress (driverLinkTiming): the carrier stays off while any is pending */
  carrierHolds?: number;
}

type Node = DirNode | FileNode | LinkNode;
interface DirNode {
  kind: 'dir';
  children: Map<string, Node>;
}
interface FileNode {
  kind: 'file';
  mode: number;
  read?: () => string;
  write?: (value: string) => void;
}
interface LinkNode {
  kind: 'link';
  target: string;
}

export interface Stat {
  kind: 'dir' | 'file' | 'link';
  mode: number;
  size: number;
}

const ZERO_MAC = '00:00:00:00:00:00';

/** VF attributes of a VF nobody has configured: what `ip link show` reports right after sriov_numvfs is written */
export function defaultVfAttrs(): VfAttrs {
  return {
    mac: ZERO_MAC,
    vlan: 0,
    qos: 0,
    vlanProto: '802.1Q',
    spoofchk: true,
    trust: false,
    linkState: 'auto',
    minTxRate: 0,
    maxTxRate: 0,
  };
}

const MAC_RE = /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/;

export class SysfsModel {
  readonly devices = new Map<string, PciDevice>();
  private readonly drivers: Map<string, Array<{ vendor: string; device: string }>>;
  private readonly dynIds = new Map<string, Array<{ vendor: string; device: string }>>();
  private readonly naming: 'predictable' | 'kernel';
  private readonly rand: () => number;
  private root: DirNode = { kind: 'dir', children: new Map() };
  private dirty = true;
  private nextIfindex = 2;
  private nextEth = 0;
  private nextGroup = 1;
  private nextVirtio = 0;
  private readonly events: SysfsEvent[] = [];
  private seq = 0;
  private readonly maxEvents: number;
  private readonly faults = new Map<string, { errno: ErrnoName; count: number }>();
  /** `<pf ifname> <attr>` → the errno the next settings of that VF attribute get */
  private readonly vfSetFaults = new Map<string, { errno: ErrnoName; count: number }>();
  private readonly delays = new Map<string, { delayMs: number; count: number }>();
  private netdevChanges: NetdevChange[] = [];
  private readonly listeners = new Set<(e: SysfsEvent) => void>();
  private later: LinkScheduler | null = null;
  private linkDelayCapMs = Infinity;
  private linkDelayFloorMs = 0;

  constructor(opts: ModelOptions) {
    this.naming = opts.netdevNaming ?? 'predictable';
    this.rand = mulberry32(opts.seed ?? 1);
    this.maxEvents = opts.maxEvents ?? 100_000;
    this.drivers = driverIdTables();
    for (const n of opts.nics) {
      const m = /^eth(\d+)$/.exec(n.ifname);
      if (m) this.nextEth = Math.max(this.nextEth, Number(m[1]) + 1);
    }
    this.reservedAddrs = new Set(opts.nics.map((n) => n.pciAddr));
    for (const spec of opts.nics) this.addNic(spec);
    this.netdevChanges = [];
  }

  // ---- construction -------------------------------------------------------------------------

  private readonly rootPorts = new Map<string, string>(); // "domain:bus" → root port address
  private reservedAddrs = new Set<string>();

  private bridgeFor(pci: string): string {
    const a = parsePciAddr(pci);
    const hostBridge = `/sys/devices/pci${a.domain.toString(16).padStart(4, '0')}:00`;
    if (a.bus === 0) return hostBridge;
    // one root port per secondary bus, on bus 0 from 00:1c.0 on (then 00:1b.x downwards), skipping the
    // addresses the topology itself uses, like a PCIe root complex
    const key = `${a.domain}:${a.bus}`;
    let portAddr = this.rootPorts.get(key);
    if (!portAddr) {
      for (let i = 0; i < 31 * 8 && !portAddr; i++) {
        const slot = i < 32 ? 0x1c + (i >> 3) : 0x1b - ((i - 32) >> 3);
        const cand = formatPciAddr({ domain: a.domain, bus: 0, dev: slot, fn: i & 7 });
        if (!this.reservedAddrs.has(cand) && !this.devices.has(cand)) portAddr = cand;
      }
      if (!portAddr) throw new Error(`no free root port address on bus 00 for bus ${a.bus.toString(16)}`);
      this.rootPorts.set(key, portAddr);
    }
    if (!this.devices.has(portAddr)) {
      this.devices.set(portAddr, {
        pciAddr: portAddr,
        parentDir: hostBridge,
        vendor: '8086',
        device: '7ab8',
        subsystemVendor: '8086',
        subsystemDevice: '7270',
        classCode: '060400',
        numaNode: -1,
        driver: 'pcieport',
        driverOverride: null,
        iommuGroup: this.nextGroup++,
        netdev: null,
        nic: null,
        pf: null,
        physfn: null,
        vfIndex: -1,
        hwMac: ZERO_MAC,
        baseIfname: null,
        virtioIndex: null,
        linkUp: true,
      });
    }
    return `${hostBridge}/${portAddr}`;
  }

  private randomMac(localAdmin: boolean, oui?: string): string {
    const b = Array.from({ length: 6 }, () => Math.floor(this.rand() * 256));
    if (oui) {
      const o = oui.split(':').map((x) => parseInt(x, 16));
      b[0] = o[0];
      b[1] = o[1];
      b[2] = o[2];
    } else if (localAdmin) {
      b[0] = (b[0] & 0xfc) | 0x02;
    }
    return b.map((x) => x.toString(16).padStart(2, '0')).join(':');
  }

  private addNic(spec: ModelNicSpec): void {
    const nic = getNicModel(spec.model);
    if (!nic) throw new Error(`unknown NIC model "${spec.model}"`);
    const problem = pciAddrProblem(spec.pciAddr);
    if (problem) throw new Error(`invalid PCI address "${spec.pciAddr}": ${problem}`);
    if (this.devices.has(spec.pciAddr)) throw new Error(`duplicate PCI address ${spec.pciAddr}`);
    const oui = nic.vendor === '8086' ? '00:1b:21' : nic.vendor === '15b3' ? '0c:42:a1' : '52:54:00';
    const dev: PciDevice = {
      pciAddr: spec.pciAddr,
      parentDir: this.bridgeFor(spec.pciAddr),
      vendor: nic.vendor,
      device: nic.pfDevice,
      subsystemVendor: nic.subsystemVendor,
      subsystemDevice: nic.subsystemDevice,
      classCode: nic.classCode,
      numaNode: spec.numaNode ?? -1,
      driver: null,
      driverOverride: null,
      iommuGroup: this.nextGroup++,
      netdev: null,
      nic,
      pf: null,
      physfn: null,
      vfIndex: -1,
      hwMac: spec.mac ?? this.randomMac(false, oui),
      baseIfname: spec.ifname,
      virtioIndex: nic.vfDevice === null && nic.pfDriver === 'virtio-pci' ? this.nextVirtio++ : null,
      linkUp: (spec.linkState ?? 'up') === 'up',
    };
    if (nic.vfDevice) {
      const totalVfs = spec.totalVfs ?? nic.totalVfs;
      dev.pf = {
        totalVfs,
        numVfs: 0,
        offset: spec.vfOffset ?? nic.vfOffset,
        stride: spec.vfStride ?? nic.vfStride,
        vfDevice: nic.vfDevice,
        autoprobe: true,
        vfs: [],
        vfAttrs: [],
      };
    }
    this.devices.set(dev.pciAddr, dev);
    this.attachDriver(dev, nic.pfDriver);
    if (dev.netdev && spec.mtu) dev.netdev.mtu = spec.mtu;
    if (dev.pf && spec.numVfs) {
      this.setNumVfs(dev, spec.numVfs);
      if (spec.vfDriver === 'vfio-pci') {
        for (const vf of dev.pf.vfs) {
          if (!vf) continue;
          this.detachDriver(vf);
          vf.driverOverride = 'vfio-pci';
          this.attachDriver(vf, 'vfio-pci');
        }
      }
    }
    this.dirty = true;
  }

  // ---- kernel behaviour ---------------------------------------------------------------------

  private newNetdev(dev: PciDevice, name: string): Netdev {
    return {
      name,
      mac: dev.hwMac,
      mtu: 1500,
      ifindex: this.nextIfindex++,
      adminUp: false,
      carrier: carrierOf(dev),
      present: true,
    };
  }

  private netdevNameFor(dev: PciDevice): string {
    if (this.naming === 'kernel' && dev.physfn) return `eth${this.nextEth++}`;
    return dev.baseIfname ?? `eth${this.nextEth++}`;
  }

  /** probe: the driver creates what it creates (netdev, vfio node) */
  private attachDriver(dev: PciDevice, driver: string): void {
    dev.driver = driver;
    const isNetDriver = dev.nic !== null && driver !== 'vfio-pci' && driver !== 'uio_pci_generic' && driver !== 'igb_uio';
    if (isNetDriver && dev.nic && (driver === dev.nic.pfDriver || driver === dev.nic.vfDriver)) {
      if (dev.physfn) this.holdCarrier(dev, driverLinkTiming[driver]?.vfCarrierMs ?? 0, 'VF netdev created');
      const nd = this.newNetdev(dev, this.netdevNameFor(dev));
      if (dev.physfn) {
        const adminMac = dev.physfn.pf!.vfAttrs[dev.vfIndex]?.mac;
        if (adminMac && adminMac !== ZERO_MAC) nd.mac = adminMac;
      }
      dev.netdev = nd;
      this.netdevChanges.push({ kind: 'add', pciAddr: dev.pciAddr, netdev: { ...nd } });
    }
    this.dirty = true;
  }

  private detachDriver(dev: PciDevice): void {
    if (dev.pf && dev.pf.numVfs > 0) this.setNumVfs(dev, 0); // a PF driver's remove() disables SR-IOV
    if (dev.netdev) {
      this.netdevChanges.push({ kind: 'remove', pciAddr: dev.pciAddr, name: dev.netdev.name });
      dev.netdev = null;
    }
    dev.driver = null;
    this.dirty = true;
  }

  private driverMatches(driver: string, dev: PciDevice): boolean {
    if (dev.driverOverride !== null) return dev.driverOverride === driver;
    const ids = [...(this.drivers.get(driver) ?? []), ...(this.dynIds.get(driver) ?? [])];
    return ids.some((e) => e.vendor === dev.vendor && e.device === dev.device);
  }

  /**
   * Whether a driver may probe the device at all: a VF whose PF has sriov_drivers_autoprobe 0 only with a
   * driver_override (pci_device_can_probe in drivers/pci/pci-driver.c; pci_device_probe answers ENODEV otherwise, so
   * a bind fails with ENODEV, and drivers_probe and new_id leave it unbound).
   */
  private canProbe(dev: PciDevice): boolean {
    return !dev.physfn || dev.physfn.pf!.autoprobe || dev.driverOverride !== null;
  }

  private probe(dev: PciDevice): void {
    if (dev.driver || !this.canProbe(dev)) return;
    for (const drv of this.drivers.keys()) {
      if (this.driverMatches(drv, dev)) {
        this.attachDriver(dev, drv);
        return;
      }
    }
  }

  private setNumVfs(pfDev: PciDevice, n: number): void {
    const pf = pfDev.pf!;
    if (n === 0) {
      for (const vf of pf.vfs) {
        if (!vf) continue;
        if (vf.netdev) this.netdevChanges.push({ kind: 'remove', pciAddr: vf.pciAddr, name: vf.netdev.name });
        this.devices.delete(vf.pciAddr);
      }
      pf.vfs = [];
      pf.vfAttrs = [];
      pf.numVfs = 0;
      this.dirty = true;
      return;
    }
    pf.numVfs = n;
    for (let k = 0; k < n; k++) {
      const addr = vfPciAddr(pfDev.pciAddr, pf.offset, pf.stride, k);
      const vf: PciDevice = {
        pciAddr: addr,
        parentDir: pfDev.parentDir,
        vendor: pfDev.vendor,
        device: pf.vfDevice,
        subsystemVendor: pfDev.subsystemVendor,
        subsystemDevice: pfDev.subsystemDevice,
        classCode: pfDev.classCode,
        numaNode: pfDev.numaNode,
        driver: null,
        driverOverride: null,
        iommuGroup: this.nextGroup++,
        netdev: null,
        nic: pfDev.nic,
        pf: null,
        physfn: pfDev,
        vfIndex: k,
        hwMac: this.randomMac(true),
        baseIfname: pfDev.baseIfname ? `${pfDev.baseIfname}v${k}` : null,
        virtioIndex: null,
        linkUp: true,
      };
      pf.vfs.push(vf);
      pf.vfAttrs.push(defaultVfAttrs());
      this.devices.set(addr, vf);
      if (pf.autoprobe) this.probe(vf);
    }
    this.dirty = true;
  }

  private writeNumVfs(dev: PciDevice, path: string, value: string): void {
    const pf = dev.pf!;
    if (!/^\s*\d+\s*$/.test(value)) throw new SysfsError(path, 'write', 'EINVAL', 'not a number');
    const n = Number(value.trim());
    if (!dev.driver) throw new SysfsError(path, 'write', 'ENOENT', 'no driver bound to device; cannot configure SR-IOV');
    if (n === pf.numVfs) return;
    if (n > pf.totalVfs) throw new SysfsError(path, 'write', 'ERANGE', `${n} VFs requested; only ${pf.totalVfs} supported`);
    if (n !== 0 && pf.numVfs !== 0) throw new SysfsError(path, 'write', 'EBUSY', `${pf.numVfs} VFs already enabled. Disable before enabling ${n} VFs`);
    this.holdCarrier(dev, driverLinkTiming[dev.driver]?.sriovReinitCarrierMs ?? 0, 'PF re-initialised for SR-IOV');
    this.setNumVfs(dev, n);
  }

  private deviceForWrite(path: string, value: string): PciDevice {
    const addr = value.trim();
    const dev = this.devices.get(addr);
    if (!dev) throw new SysfsError(path, 'write', 'ENODEV', `no such device ${addr}`);
    return dev;
  }

  private parseIdLine(path: string, value: string): { vendor: string; device: string } {
    const f = value.trim().split(/\s+/);
    if (f.length < 2 || !f.slice(0, 2).every((x) => /^(0x)?[0-9a-fA-F]{1,4}$/.test(x))) {
      throw new SysfsError(path, 'write', 'EINVAL', 'expected "vendor device" in hex');
    }
    const norm = (x: string) => x.replace(/^0x/, '').toLowerCase().padStart(4, '0');
    return { vendor: norm(f[0]), device: norm(f[1]) };
  }

  // ---- tree ---------------------------------------------------------------------------------

  private treeGen = 0;

  private ensureTree(): void {
    if (!this.dirty) return;
    this.root = this.build();
    this.dirty = false;
    this.treeGen++;
  }

  /** A number that changes whenever the tree's shape (names, kinds, link targets) may have changed. */
  treeGeneration(): number {
    this.ensureTree();
    return this.treeGen;
  }

  /** What is at a canonical path (symlinks not followed anywhere), or undefined; for projections that cache. */
  entryAt(segs: readonly string[]): { kind: 'dir' | 'file' | 'link'; mode: number; target?: string } | undefined {
    this.ensureTree();
    const n = this.lookupExact(segs as string[]);
    if (!n) return undefined;
    if (n.kind === 'dir') return { kind: 'dir', mode: 0o755 };
    if (n.kind === 'link') return { kind: 'link', mode: 0o777, target: n.target };
    return { kind: 'file', mode: n.mode };
  }

  /**
   * The content a read of the file at the canonical path would give now, without recording a read: the errno name
   * prefixed with NUL if the read would fail, undefined if it is not a readable file.
   */
  peek(segs: readonly string[]): string | undefined {
    this.ensureTree();
    const n = this.lookupExact(segs as string[]);
    if (!n || n.kind !== 'file' || !n.read) return undefined;
    try {
      return n.read();
    } catch (e) {
      if (e instanceof SysfsError) return `\0${e.errno}`;
      throw e;
    }
  }

  /** Records a read served from content obtained with peek(), so the trace shows what a process read. */
  noteRead(path: string, value: string): void {
    if (value.startsWith('\0')) this.record({ op: 'read', path, errno: value.slice(1) as ErrnoName });
    else this.record({ op: 'read', path, value });
  }

  /** Canonical paths that have a pending delay (a projection that caches must let the next access reach it). */
  delayedPaths(): string[] {
    return [...this.delays.keys()];
  }

  /** Renders the model as a fresh tree: the fixed bus entries, one directory per driver, then every device. */
  private build(): DirNode {
    const tree = new TreeBuilder();
    this.buildBusEntries(tree);
    for (const drv of [...this.drivers.keys(), 'pcieport']) this.buildDriverDir(tree, drv);
    for (const dev of [...this.devices.values()].sort(byAddr)) this.buildDevice(tree, dev);
    return tree.root;
  }

  /** What exists with no device at all: the bus, class and iommu roots, /dev/vfio/vfio and the bus-wide files. */
  private buildBusEntries(tree: TreeBuilder): void {
    tree.mkdirp('/sys/bus/pci/devices');
    tree.mkdirp('/sys/class/net');
    tree.mkdirp('/sys/kernel/iommu_groups');
    tree.mkdirp('/dev/vfio');
    tree.put('/dev/vfio/vfio', { kind: 'file', mode: 0o666, read: () => '' });
    tree.wo('/sys/bus/pci/drivers_probe', (v) => {
      const p = '/sys/bus/pci/drivers_probe';
      const dev = this.deviceForWrite(p, v);
      this.probe(dev);
    });
    tree.rw('/sys/bus/pci/drivers_autoprobe', () => '1\n', () => undefined);
    tree.wo('/sys/bus/pci/rescan', () => undefined);
  }

  /** /sys/bus/pci/drivers/<drv>: bind, unbind, new_id and remove_id (the bound devices' links come with each device). */
  private buildDriverDir(tree: TreeBuilder, drv: string): void {
    const d = `/sys/bus/pci/drivers/${drv}`;
    tree.mkdirp(d);
    tree.wo(`${d}/bind`, (v) => {
      const dev = this.deviceForWrite(`${d}/bind`, v);
      if (dev.driver) throw new SysfsError(`${d}/bind`, 'write', 'EBUSY', `${dev.pciAddr} is bound to ${dev.driver}`);
      if (!this.driverMatches(drv, dev)) throw new SysfsError(`${d}/bind`, 'write', 'ENODEV', `${drv} does not claim ${dev.pciAddr}`);
      if (!this.canProbe(dev)) throw new SysfsError(`${d}/bind`, 'write', 'ENODEV', `${dev.pciAddr} is a VF of a PF with sriov_drivers_autoprobe 0 and no driver_override`);
      this.attachDriver(dev, drv);
    });
    tree.wo(`${d}/unbind`, (v) => {
      const dev = this.deviceForWrite(`${d}/unbind`, v);
      if (dev.driver !== drv) throw new SysfsError(`${d}/unbind`, 'write', 'ENODEV', `${dev.pciAddr} is not bound to ${drv}`);
      this.detachDriver(dev);
    });
    tree.wo(`${d}/new_id`, (v) => {
      const id = this.parseIdLine(`${d}/new_id`, v);
      const list = this.dynIds.get(drv) ?? [];
      if (list.some((e) => e.vendor === id.vendor && e.device === id.device)) {
        throw new SysfsError(`${d}/new_id`, 'write', 'EEXIST');
      }
      list.push(id);
      this.dynIds.set(drv, list);
      // the kernel attaches the driver to every unbound device the new id matches
      for (const dev of [...this.devices.values()].sort(byAddr)) {
        if (!dev.driver && this.driverMatches(drv, dev) && this.canProbe(dev)) this.attachDriver(dev, drv);
      }
    });
    tree.wo(`${d}/remove_id`, (v) => {
      const id = this.parseIdLine(`${d}/remove_id`, v);
      const list = this.dynIds.get(drv) ?? [];
      const i = list.findIndex((e) => e.vendor === id.vendor && e.device === id.device);
      if (i < 0) throw new SysfsError(`${d}/remove_id`, 'write', 'ENODEV');
      list.splice(i, 1);
      this.dirty = true;
    });
  }

  /** One PCI device (bridge, PF or VF): its directory under its parent and every link that points into it. */
  private buildDevice(tree: TreeBuilder, dev: PciDevice): void {
    const dir = `${dev.parentDir}/${dev.pciAddr}`;
    tree.mkdirp(dir);
    tree.link(`/sys/bus/pci/devices/${dev.pciAddr}`, relativePath('/sys/bus/pci/devices', dir));
    this.buildPciAttrs(tree, dev, dir);
    buildIommuGroup(tree, dev, dir);
    if (dev.driver) buildDriverLinks(tree, dev, dev.driver, dir);
    if (dev.pf) this.buildPfAttrs(tree, dev, dev.pf, dir);
    if (dev.physfn) tree.link(`${dir}/physfn`, `../${dev.physfn.pciAddr}`);
    if (dev.netdev && dev.netdev.present) buildNetdev(tree, dev, dev.netdev, dir);
  }

  /** The attributes every PCI device has: IDs, class, NUMA node, modalias, uevent, driver_override, remove. */
  private buildPciAttrs(tree: TreeBuilder, dev: PciDevice, dir: string): void {
    tree.link(`${dir}/subsystem`, relativePath(dir, '/sys/bus/pci'));
    tree.ro(`${dir}/vendor`, () => `0x${dev.vendor}\n`);
    tree.ro(`${dir}/device`, () => `0x${dev.device}\n`);
    tree.ro(`${dir}/subsystem_vendor`, () => `0x${dev.subsystemVendor}\n`);
    tree.ro(`${dir}/subsystem_device`, () => `0x${dev.subsystemDevice}\n`);
    tree.ro(`${dir}/class`, () => `0x${dev.classCode}\n`);
    tree.ro(`${dir}/numa_node`, () => `${dev.numaNode}\n`);
    tree.ro(`${dir}/modalias`, () => modalias(dev));
    tree.ro(`${dir}/uevent`, () => `${dev.driver ? `DRIVER=${dev.driver}\n` : ''}PCI_CLASS=${dev.classCode.replace(/^0+/, '').toUpperCase()}\nPCI_ID=${dev.vendor.toUpperCase()}:${dev.device.toUpperCase()}\nPCI_SUBSYS_ID=${dev.subsystemVendor.toUpperCase()}:${dev.subsystemDevice.toUpperCase()}\nPCI_SLOT_NAME=${dev.pciAddr}\nMODALIAS=${modalias(dev).trim()}\n`);
    tree.rw(
      `${dir}/driver_override`,
      () => `${dev.driverOverride ?? '(null)'}\n`,
      (v) => {
        const s = v.replace(/\n$/, '');
        dev.driverOverride = s.trim() === '' ? null : s.trim();
      },
    );
    tree.wo(`${dir}/remove`, (v) => {
      if (v.trim() !== '1') return;
      this.removeDevice(dev);
    });
  }

  /** A PF's SR-IOV capability: the sriov_* files and a virtfn<k> link per VF still present. */
  private buildPfAttrs(tree: TreeBuilder, dev: PciDevice, pf: PfState, dir: string): void {
    tree.ro(`${dir}/sriov_totalvfs`, () => `${pf.totalVfs}\n`);
    tree.put(`${dir}/sriov_numvfs`, { kind: 'file', mode: 0o664, read: () => `${pf.numVfs}\n`, write: (v) => this.writeNumVfs(dev, `${dir}/sriov_numvfs`, v) });
    tree.ro(`${dir}/sriov_offset`, () => `${pf.offset}\n`);
    tree.ro(`${dir}/sriov_stride`, () => `${pf.stride}\n`);
    tree.ro(`${dir}/sriov_vf_device`, () => `${pf.vfDevice}\n`);
    tree.ro(`${dir}/sriov_vf_total_msix`, () => '0\n');
    tree.rw(
      `${dir}/sriov_drivers_autoprobe`,
      () => `${pf.autoprobe ? 1 : 0}\n`,
      (v) => {
        const s = v.trim();
        if (s !== '0' && s !== '1') throw new SysfsError(`${dir}/sriov_drivers_autoprobe`, 'write', 'EINVAL');
        pf.autoprobe = s === '1';
      },
    );
    pf.vfs.forEach((vf, k) => {
      if (vf) tree.link(`${dir}/virtfn${k}`, `../${vf.pciAddr}`);
    });
  }

  private removeDevice(dev: PciDevice): void {
    if (dev.pf && dev.pf.numVfs > 0) this.setNumVfs(dev, 0);
    if (dev.netdev) this.netdevChanges.push({ kind: 'remove', pciAddr: dev.pciAddr, name: dev.netdev.name });
    this.devices.delete(dev.pciAddr);
    if (dev.physfn) dev.physfn.pf!.vfs[dev.vfIndex] = null;
    this.dirty = true;
  }

  // ---- path API ----------------------------------------------------------------------------

  /** Follows symlinks in every component except (optionally) the last; returns the canonical path. */
  resolve(path: string, followLast = true): string {
    this.ensureTree();
    const segs = path.split('/').filter(Boolean);
    let resolved: string[] = [];
    let hops = 0;
    while (segs.length) {
      const seg = segs.shift()!;
      if (seg === '.') continue;
      if (seg === '..') {
        resolved.pop();
        continue;
      }
      const here = [...resolved, seg];
      const node = this.lookupExact(here);
      if (!node) throw new SysfsError(path, 'lookup', 'ENOENT');
      if (node.kind === 'link' && (segs.length > 0 || followLast)) {
        if (++hops > 40) throw new SysfsError(path, 'lookup', 'ELOOP');
        segs.unshift(...node.target.split('/').filter(Boolean));
        if (node.target.startsWith('/')) resolved = [];
        continue;
      }
      if (segs.length > 0 && node.kind !== 'dir') throw new SysfsError(path, 'lookup', 'ENOTDIR');
      resolved = here;
    }
    return `/${resolved.join('/')}`;
  }

  private lookupExact(segs: string[]): Node | undefined {
    let cur: Node = this.root;
    for (const s of segs) {
      if (cur.kind !== 'dir') return undefined;
      const n: Node | undefined = cur.children.get(s);
      if (!n) return undefined;
      cur = n;
    }
    return cur;
  }

  /** lstat-like: the node at the path, without following a final symlink */
  private node(path: string): Node {
    const canon = this.resolve(path, false);
    const n = this.lookupExact(canon.split('/').filter(Boolean));
    if (!n) throw new SysfsError(path, 'lookup', 'ENOENT');
    return n;
  }

  /** lstat: does not follow a final symlink */
  lstat(path: string): Stat {
    const n = this.node(path);
    if (n.kind === 'dir') return { kind: 'dir', mode: 0o755, size: 0 };
    if (n.kind === 'link') return { kind: 'link', mode: 0o777, size: n.target.length };
    return { kind: 'file', mode: n.mode, size: 4096 };
  }

  exists(path: string): boolean {
    try {
      this.resolve(path);
      return true;
    } catch {
      return false;
    }
  }

  readdir(path: string): string[] {
    const n = this.node(this.resolve(path));
    if (n.kind !== 'dir') throw new SysfsError(path, 'readdir', 'ENOTDIR');
    return [...n.children.keys()].sort();
  }

  readlink(path: string): string {
    const n = this.node(path);
    if (n.kind !== 'link') throw new SysfsError(path, 'readlink', 'EINVAL');
    this.record({ op: 'readlink', path, value: n.target });
    return n.target;
  }

  read(path: string): string {
    const canon = this.safeResolve(path, 'read');
    const n = this.lookupExact(canon.split('/').filter(Boolean))!;
    if (n.kind === 'dir') return this.fail('read', path, 'EISDIR');
    if (n.kind !== 'file' || !n.read) return this.fail('read', path, 'EACCES');
    try {
      const v = n.read();
      this.record({ op: 'read', path, value: v });
      return v;
    } catch (e) {
      if (e instanceof SysfsError) this.record({ op: 'read', path, errno: e.errno });
      throw e;
    }
  }

  /** A write as a process would do it; throws SysfsError with the kernel's errno. */
  write(path: string, value: string): void {
    const canon = this.safeResolve(path, 'write', value);
    const n = this.lookupExact(canon.split('/').filter(Boolean))!;
    if (n.kind === 'dir') return this.fail('write', path, 'EISDIR', value);
    if (n.kind !== 'file' || !n.write) return this.fail('write', path, 'EACCES', value);
    const fault = this.faults.get(canon);
    if (fault) {
      if (--fault.count <= 0) this.faults.delete(canon);
      this.record({ op: 'fault', path, value, errno: fault.errno });
      throw new SysfsError(path, 'write', fault.errno, 'injected fault');
    }
    try {
      n.write(value);
      this.record({ op: 'write', path, value });
    } catch (e) {
      if (e instanceof SysfsError) {
        this.record({ op: 'write', path, value, errno: e.errno });
        throw new SysfsError(path, 'write', e.errno, e.message);
      }
      throw e;
    }
  }

  private safeResolve(path: string, op: 'read' | 'write', value?: string): string {
    try {
      return this.resolve(path);
    } catch (e) {
      if (e instanceof SysfsError) this.record({ op, path, value, errno: e.errno });
      throw e;
    }
  }

  private fail(op: 'read' | 'write', path: string, errno: ErrnoName, value?: string): never {
    this.record({ op, path, value, errno });
    throw new SysfsError(path, op, errno);
  }

  // ---- trace, faults and the node runtime's hooks ------------------------------------------

  private record(e: Omit<SysfsEvent, 'seq'>): void {
    const ev: SysfsEvent = { seq: ++this.seq, ...e };
    this.events.push(ev);
    if (this.events.length > this.maxEvents) this.events.splice(0, this.events.length - this.maxEvents);
    for (const l of this.listeners) l(ev);
  }

  onEvent(cb: (e: SysfsEvent) => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  eventsSince(seq: number): SysfsEvent[] {
    return this.events.filter((e) => e.seq > seq);
  }

  /** The next `count` writes to the file at `path` fail with `errno`. */
  failWrites(path: string, errno: ErrnoName, count = 1): void {
    const canon = this.resolve(path);
    this.faults.set(canon, { errno, count });
    this.record({ op: 'fault', path: canon, value: `next ${count} write(s) fail with ${errno}` });
  }

  /**
   * The next `count` settings of VF attribute `attr` on PF `pfName` fail with `errno`, as a NIC refuses what its
   * driver does not implement (igb answers `state` with EOPNOTSUPP). Attributes set before it in the same command stay.
   */
  failVfSet(pfName: string, attr: keyof VfAttrs, errno: ErrnoName, count = 1): void {
    this.pfByIfname(pfName);
    this.vfSetFaults.set(`${pfName} ${attr}`, { errno, count });
    this.record({ op: 'fault', path: `/sys/class/net/${pfName}`, value: `next ${count} VF ${attr} setting(s) fail with ${errno}` });
  }

  /** The next `count` operations on `path` are delayed (applied by the serving projection). */
  delay(path: string, delayMs: number, count = 1): void {
    const canon = this.resolve(path);
    this.delays.set(canon, { delayMs, count });
    this.record({ op: 'fault', path: canon, value: `next ${count} operation(s) delayed ${delayMs}ms` });
  }

  /** Consumes one pending delay for `path` (canonical or not); 0 if none. */
  takeDelay(path: string): number {
    let canon: string;
    try {
      canon = this.resolve(path);
    } catch {
      return 0;
    }
    const d = this.delays.get(canon);
    if (!d) return 0;
    if (--d.count <= 0) this.delays.delete(canon);
    return d.delayMs;
  }

  /** Surprise removal of a VF, as a hot-unplug does it. */
  unplug(pciAddr: string): void {
    const dev = this.devices.get(pciAddr);
    if (!dev) throw new SysfsError(`/sys/bus/pci/devices/${pciAddr}`, 'unplug', 'ENODEV');
    this.removeDevice(dev);
    this.record({ op: 'hotplug', path: `/sys/bus/pci/devices/${pciAddr}`, value: 'removed' });
  }

  /** Physical link of a PF or VF (cable pulled / VF link state); a PF's link carries its VFs. */
  setLink(ifnameOrPci: string, up: boolean): void {
    const dev = this.devices.get(ifnameOrPci) ?? this.deviceByIfname(ifnameOrPci);
    if (!dev) throw new SysfsError(`/sys/class/net/${ifnameOrPci}`, 'link', 'ENODEV');
    dev.linkUp = up;
    const touched = dev.pf ? [dev, ...dev.pf.vfs.filter((v): v is PciDevice => v !== null)] : [dev];
    for (const d of touched) this.refreshCarrier(d);
    this.record({ op: 'link', path: `/sys/bus/pci/devices/${dev.pciAddr}`, value: up ? 'up' : 'down' });
  }

  private refreshCarrier(d: PciDevice): void {
    if (!d.netdev) return;
    const carrier = carrierOf(d);
    if (carrier !== d.netdev.carrier) {
      d.netdev.carrier = carrier;
      this.netdevChanges.push({ kind: 'carrier', pciAddr: d.pciAddr, name: d.netdev.name, up: carrier });
    }
  }

  /**
   * Model the drivers' link delays (driverLinkTiming in the NIC catalog): a PF re-initialised by a sriov_numvfs
   * write has no carrier for a while, a new VF netdev has none until its driver brings the link up. `later` runs
   * the end of each delay (and must then let the node runtime apply drainNetdevChanges); `capMs` bounds each delay,
   * so a simulator can keep the order of the states while taking less time, and `floorMs` lengthens a short one, so a
   * device plugin's poll (and its registration of a new resource) always sees the state. Without this call links
   * change at once.
   */
  modelLinkDelays(later: LinkScheduler, capMs = Infinity, floorMs = 0): void {
    this.later = later;
    this.linkDelayCapMs = capMs;
    this.linkDelayFloorMs = floorMs;
  }

  private holdCarrier(dev: PciDevice, ms: number, why: string): void {
    if (!this.later || ms <= 0) return;
    const delay = Math.min(Math.max(ms, this.linkDelayFloorMs), this.linkDelayCapMs);
    dev.carrierHolds = (dev.carrierHolds ?? 0) + 1;
    this.refreshCarrier(dev);
    this.record({ op: 'link', path: `/sys/bus/pci/devices/${dev.pciAddr}`, value: `carrier held off ${delay}ms: ${why}` });
    this.later(delay, () => {
      dev.carrierHolds = Math.max(0, (dev.carrierHolds ?? 1) - 1);
      this.refreshCarrier(dev);
      this.record({ op: 'link', path: `/sys/bus/pci/devices/${dev.pciAddr}`, value: `carrier hold ended: ${why}` });
    });
  }

  deviceByIfname(ifname: string): PciDevice | undefined {
    for (const d of this.devices.values()) if (d.netdev?.name === ifname) return d;
    return undefined;
  }

  /** Netdev add/remove/carrier changes since the last call, for the node runtime to mirror. */
  drainNetdevChanges(): NetdevChange[] {
    const c = this.netdevChanges;
    this.netdevChanges = [];
    return c;
  }

  /** Every netdev the model knows, with the device it belongs to. */
  netdevs(): Array<{ pciAddr: string; netdev: Netdev }> {
    return [...this.devices.values()]
      .filter((d) => d.netdev)
      .sort(byAddr)
      .map((d) => ({ pciAddr: d.pciAddr, netdev: d.netdev! }));
  }

  /** The node runtime reports what the real netdev looks like now (moved away, renamed, MAC/MTU/admin state). */
  updateNetdev(pciAddr: string, patch: Partial<Omit<Netdev, 'ifindex'>> & { ifindex?: number }): void {
    const dev = this.devices.get(pciAddr);
    if (!dev?.netdev) return;
    const before = JSON.stringify(dev.netdev);
    Object.assign(dev.netdev, patch);
    if (JSON.stringify(dev.netdev) !== before) this.dirty = true;
  }

  // ---- VF attributes (netlink on the PF) ----------------------------------------------------

  private pfByIfname(pfName: string): PciDevice {
    const dev = this.deviceByIfname(pfName);
    if (!dev) throw new SysfsError(`/sys/class/net/${pfName}`, 'vf', 'ENODEV', `Cannot find device "${pfName}"`);
    if (!dev.pf) throw new SysfsError(`/sys/class/net/${pfName}`, 'vf', 'EOPNOTSUPP', `${pfName} is not an SR-IOV PF`);
    return dev;
  }

  listVfs(pfName: string): Array<VfAttrs & { index: number; pciAddr: string }> {
    const dev = this.pfByIfname(pfName);
    const pf = dev.pf!;
    const out: Array<VfAttrs & { index: number; pciAddr: string }> = [];
    for (let k = 0; k < pf.numVfs; k++) {
      out.push({ ...pf.vfAttrs[k], index: k, pciAddr: vfPciAddr(dev.pciAddr, pf.offset, pf.stride, k) });
    }
    return out;
  }

  setVf(pfName: string, k: number, patch: VfAttrsPatch): void {
    const dev = this.pfByIfname(pfName);
    const pf = dev.pf!;
    const path = `/sys/class/net/${pfName}`;
    if (!Number.isInteger(k) || k < 0 || k >= pf.numVfs) throw new SysfsError(path, 'vf', 'EINVAL', `VF ${k} does not exist`);
    for (const attr of Object.keys(patch) as Array<keyof VfAttrs>) {
      const f = this.vfSetFaults.get(`${pfName} ${attr}`);
      if (!f) continue;
      if (--f.count <= 0) this.vfSetFaults.delete(`${pfName} ${attr}`);
      this.record({ op: 'vf', path, value: `vf ${k} ${JSON.stringify(patch)}`, errno: f.errno });
      throw new SysfsError(path, 'vf', f.errno, `injected: VF ${attr} refused`);
    }
    const a = pf.vfAttrs[k];
    const next: VfAttrs = { ...a, ...patch };
    if (patch.mac !== undefined) {
      next.mac = patch.mac.toLowerCase();
      if (!MAC_RE.test(next.mac)) throw new SysfsError(path, 'vf', 'EINVAL', `invalid MAC "${patch.mac}"`);
      if (parseInt(next.mac.slice(0, 2), 16) & 1) throw new SysfsError(path, 'vf', 'EINVAL', 'multicast MAC');
    }
    if (next.vlan < 0 || next.vlan > 4095) throw new SysfsError(path, 'vf', 'EINVAL', 'vlan out of range');
    if (next.qos < 0 || next.qos > 7) throw new SysfsError(path, 'vf', 'EINVAL', 'qos out of range');
    if (next.vlan === 0 && patch.vlan !== undefined) next.qos = patch.qos ?? 0;
    if (next.minTxRate < 0 || next.maxTxRate < 0) throw new SysfsError(path, 'vf', 'EINVAL', 'negative rate');
    if (next.maxTxRate !== 0 && next.minTxRate > next.maxTxRate) throw new SysfsError(path, 'vf', 'EINVAL', 'min_tx_rate above max_tx_rate');
    pf.vfAttrs[k] = next;
    const vf = pf.vfs[k];
    // the PF driver pushes an administratively set MAC to the VF's netdev
    if (patch.mac !== undefined && vf?.netdev && next.mac !== ZERO_MAC) {
      vf.netdev.mac = next.mac;
      this.dirty = true;
    }
    if (patch.linkState !== undefined && vf) {
      const up = next.linkState !== 'disable';
      if (vf.linkUp !== up) this.setLink(vf.pciAddr, up);
    }
    this.record({ op: 'vf', path, value: `vf ${k} ${JSON.stringify(patch)}` });
  }

  pfs(): Array<{ ifname: string | null; pciAddr: string; numVfs: number; totalVfs: number }> {
    return [...this.devices.values()]
      .filter((d) => d.pf)
      .sort(byAddr)
      .map((d) => ({ ifname: d.netdev?.name ?? null, pciAddr: d.pciAddr, numVfs: d.pf!.numVfs, totalVfs: d.pf!.totalVfs }));
  }

  /** Every path with its kind and content (links as targets), for snapshots and comparisons. */
  walk(): Array<{ path: string; kind: 'dir' | 'file' | 'link'; mode: number; value?: string }> {
    this.ensureTree();
    const out: Array<{ path: string; kind: 'dir' | 'file' | 'link'; mode: number; value?: string }> = [];
    const visit = (path: string, n: Node) => {
      if (n.kind === 'dir') {
        if (path) out.push({ path, kind: 'dir', mode: 0o755 });
        for (const k of [...n.children.keys()].sort()) visit(`${path}/${k}`, n.children.get(k)!);
      } else if (n.kind === 'link') {
        out.push({ path, kind: 'link', mode: 0o777, value: n.target });
      } else {
        let value: string | undefined;
        if (n.read) {
          try {
            value = n.read();
          } catch {
            value = undefined;
          }
        }
        out.push({ path, kind: 'file', mode: n.mode, value });
      }
    };
    visit('', this.root);
    return out;
  }
}

/** The sysfs tree under construction: directories are made on demand, entries are put at absolute paths. */
class TreeBuilder {
  readonly root: DirNode = { kind: 'dir', children: new Map() };

  mkdirp(path: string): DirNode {
    let cur = this.root;
    for (const seg of path.split('/').filter(Boolean)) {
      let next = cur.children.get(seg);
      if (!next) {
        next = { kind: 'dir', children: new Map() };
        cur.children.set(seg, next);
      }
      if (next.kind !== 'dir') throw new Error(`model bug: ${path} crosses a non-directory`);
      cur = next;
    }
    return cur;
  }

  put(path: string, node: Node): void {
    const i = path.lastIndexOf('/');
    this.mkdirp(path.slice(0, i)).children.set(path.slice(i + 1), node);
  }

  ro(path: string, read: () => string): void {
    this.put(path, { kind: 'file', mode: 0o444, read });
  }

  rw(path: string, read: () => string, write: (v: string) => void): void {
    this.put(path, { kind: 'file', mode: 0o644, read, write });
  }

  wo(path: string, write: (v: string) => void): void {
    this.put(path, { kind: 'file', mode: 0o200, write });
  }

  link(path: string, target: string): void {
    this.put(path, { kind: 'link', target });
  }
}

/** The device's iommu_group link and its entry in /sys/kernel/iommu_groups/<n>. */
function buildIommuGroup(tree: TreeBuilder, dev: PciDevice, dir: string): void {
  const groupDir = `/sys/kernel/iommu_groups/${dev.iommuGroup}`;
  tree.link(`${dir}/iommu_group`, relativePath(dir, groupDir));
  tree.link(`${groupDir}/devices/${dev.pciAddr}`, relativePath(`${groupDir}/devices`, dir));
  tree.ro(`${groupDir}/type`, () => 'DMA\n');
}

/** A bound device's driver link, the driver's link back, and the group's /dev/vfio node under vfio-pci. */
function buildDriverLinks(tree: TreeBuilder, dev: PciDevice, driver: string, dir: string): void {
  const drvDir = `/sys/bus/pci/drivers/${driver}`;
  tree.link(`${dir}/driver`, relativePath(dir, drvDir));
  tree.link(`${drvDir}/${dev.pciAddr}`, relativePath(drvDir, dir));
  if (driver === 'vfio-pci') {
    tree.put(`/dev/vfio/${dev.iommuGroup}`, { kind: 'file', mode: 0o600, read: () => '' });
  }
}

/** The device's netdev under net/ (virtio: under virtioN/net) and its /sys/class/net link. */
function buildNetdev(tree: TreeBuilder, dev: PciDevice, nd: Netdev, dir: string): void {
  const owner = dev.virtioIndex !== null ? `${dir}/virtio${dev.virtioIndex}` : dir;
  const ndDir = `${owner}/net/${nd.name}`;
  tree.mkdirp(ndDir);
  tree.link(`${ndDir}/device`, `../../../${owner.slice(owner.lastIndexOf('/') + 1)}`); // the kernel's own spelling
  tree.link(`/sys/class/net/${nd.name}`, relativePath('/sys/class/net', ndDir));
  tree.ro(`${ndDir}/address`, () => `${nd.mac}\n`);
  tree.ro(`${ndDir}/broadcast`, () => 'ff:ff:ff:ff:ff:ff\n');
  tree.ro(`${ndDir}/mtu`, () => `${nd.mtu}\n`);
  tree.ro(`${ndDir}/ifindex`, () => `${nd.ifindex}\n`);
  tree.ro(`${ndDir}/type`, () => '1\n');
  tree.ro(`${ndDir}/carrier`, () => {
    if (!nd.adminUp) throw new SysfsError(`${ndDir}/carrier`, 'read', 'EINVAL', 'interface is down');
    return `${nd.carrier ? 1 : 0}\n`;
  });
  tree.ro(`${ndDir}/operstate`, () => `${operstate(nd)}\n`);
  tree.ro(`${ndDir}/phys_port_name`, () => {
    throw new SysfsError(`${ndDir}/phys_port_name`, 'read', 'EOPNOTSUPP');
  });
  if (dev.virtioIndex !== null) buildVirtioDevice(tree, owner);
}

/** The virtio device a virtio-net PCI function carries (virtioN/), bound to virtio_net. */
function buildVirtioDevice(tree: TreeBuilder, owner: string): void {
  tree.mkdirp(owner);
  tree.ro(`${owner}/device`, () => '0x0001\n');
  tree.ro(`${owner}/vendor`, () => '0x1af4\n');
  tree.mkdirp('/sys/bus/virtio/drivers/virtio_net');
  tree.link(`${owner}/driver`, relativePath(owner, '/sys/bus/virtio/drivers/virtio_net'));
}

function byAddr(a: PciDevice, b: PciDevice): number {
  return a.pciAddr < b.pciAddr ? -1 : a.pciAddr > b.pciAddr ? 1 : 0;
}

/** the physical link (a VF's needs its PF's too) and no driver link delay in progress */
function carrierOf(d: PciDevice): boolean {
  return (d.physfn ? d.physfn.linkUp && d.linkUp : d.linkUp) && !((d.carrierHolds ?? 0) > 0);
}

function operstate(nd: Netdev): string {
  if (!nd.adminUp) return 'down';
  return nd.carrier ? 'up' : 'down';
}

function modalias(dev: PciDevice): string {
  const u = (s: string) => s.toUpperCase().padStart(8, '0');
  const cls = dev.classCode.toUpperCase();
  return `pci:v${u(dev.vendor)}d${u(dev.device)}sv${u(dev.subsystemVendor)}sd${u(dev.subsystemDevice)}bc${cls.slice(0, 2)}sc${cls.slice(2, 4)}i${cls.slice(4, 6)}\n`;
}

/** Relative symlink target from directory `fromDir` to absolute `to`. */
export function relativePath(fromDir: string, to: string): string {
  const a = fromDir.split('/').filter(Boolean);
  const b = to.split('/').filter(Boolean);
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return [...Array(a.length - i).fill('..'), ...b.slice(i)].join('/') || '.';
}
