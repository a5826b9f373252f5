// What sysfs says about a PCI device: its driver, its netdevs (as seen from this network namespace), and for a VF
// its PF and VF index. The root is injectable (default /sys) so tests can use a temporary tree.
import { readdirSync, readFileSync, readlinkSync, realpathSync, existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { CNI_CODES, CniError } from './errors.ts';

export const DPDK_DRIVERS = ['vfio-pci', 'uio_pci_generic', 'igb_uio'] as const;

export interface PciInfo {
  pciAddr: string;
  /** bound driver, undefined when none */
  driver?: string;
  /** netdev names under <dev>/net, sorted */
  netdevs: string[];
  vf?: { pfPciAddr: string; pfNetdev: string; index: number };
}

export type VfMode = 'kernel' | 'dpdk';

function tryReaddir(p: string): string[] {
  try {
    return readdirSync(p).sort();
  } catch {
    return [];
  }
}

function tryReadlink(p: string): string | undefined {
  try {
    return readlinkSync(p);
  } catch {
    return undefined;
  }
}

export class Sysfs {
  constructor(readonly root = '/sys') {}

  devicePath(pciAddr: string): string {
    return join(this.root, 'bus/pci/devices', pciAddr);
  }

  exists(pciAddr: string): boolean {
    return existsSync(this.devicePath(pciAddr));
  }

  /** netdevs of a PCI device; a virtio-net netdev sits one level down, under <pci>/virtioN/net */
  netdevs(pciAddr: string): string[] {
    const dev = this.devicePath(pciAddr);
    const out = tryReaddir(join(dev, 'net'));
    for (const e of tryReaddir(dev)) if (/^virtio\d+$/.test(e)) out.push(...tryReaddir(join(dev, e, 'net')));
    return out;
  }

  driver(pciAddr: string): string | undefined {
    const l = tryReadlink(join(this.devicePath(pciAddr), 'driver'));
    return l ? basename(l) : undefined;
  }

  /**
   * Throws a CNI error naming the device when it is not there. With `pfNetdev: 'later'` a VF's PF netdev is left
   * empty for pfNetdev() to find: listing a device's netdevs is the dearest sysfs read (under the simulation's
   * sysfs it looks at the real links), and the caller may know the names to look up instead.
   */
  describe(pciAddr: string, opts: { requireVf: boolean; pfNetdev?: 'list' | 'later' }): PciInfo {
    const dev = this.devicePath(pciAddr);
    if (!existsSync(dev)) {
      throw new CniError(CNI_CODES.failed, `PCI device ${pciAddr} not found`, `${dev} does not exist: check the deviceID (was sriov_numvfs reset, e.g. by a reboot?)`);
    }
    const info: PciInfo = { pciAddr, driver: this.driver(pciAddr), netdevs: this.netdevs(pciAddr) };
    const physfn = tryReadlink(join(dev, 'physfn'));
    if (!physfn) {
      if (opts.requireVf) throw new CniError(CNI_CODES.failed, `${pciAddr} is not an SR-IOV VF`, `${dev}/physfn is missing: "deviceID" must be a VF's PCI address, not a PF's`);
      return info;
    }
    const pfPciAddr = basename(physfn);
    const pfDir = this.devicePath(pfPciAddr);
    let index = -1;
    for (const e of tryReaddir(pfDir)) {
      const m = /^virtfn(\d+)$/.exec(e);
      if (m && basename(tryReadlink(join(pfDir, e)) ?? '') === pciAddr) {
        index = Number(m[1]);
        break;
      }
    }
    if (index < 0) throw new CniError(CNI_CODES.failed, `cannot find the VF index of ${pciAddr}`, `no ${pfDir}/virtfnN links to it`);
    info.vf = { pfPciAddr, pfNetdev: opts.pfNetdev === 'later' ? '' : this.pfNetdev(pfPciAddr, pciAddr, []), index };
    return info;
  }

  /**
   * The netdev of a VF's PF: the first of `candidates` (by name) that is one of the PF's netdevs, looked up by
   * name; else the first of the PF's netdevs, listed.
   */
  pfNetdev(pfPciAddr: string, vfPciAddr: string, candidates: readonly string[]): string {
    for (const c of [...candidates].sort()) if (this.hasNetdev(pfPciAddr, c)) return c;
    const pfDir = this.devicePath(pfPciAddr);
    const pfNetdevs = tryReaddir(join(pfDir, 'net'));
    if (pfNetdevs.length === 0) {
      throw new CniError(CNI_CODES.failed, `the PF ${pfPciAddr} of VF ${vfPciAddr} has no netdev`, `${pfDir}/net is empty: VF settings are applied through the PF's netdev, bind the PF to its kernel driver`);
    }
    return pfNetdevs[0];
  }

  /** Whether `name` is a netdev of the device (a lookup, no listing). */
  hasNetdev(pciAddr: string, name: string): boolean {
    return !name.includes('/') && name !== '' && existsSync(join(this.devicePath(pciAddr), 'net', name));
  }

  /** The PCI address of VF `index` of a PF (its virtfnN link), if there is one. */
  virtfn(pfPciAddr: string, index: number): string | undefined {
    const l = tryReadlink(join(this.devicePath(pfPciAddr), `virtfn${index}`));
    return l ? basename(l) : undefined;
  }

  /** Kernel mode when the VF has a netdev here, DPDK mode when a userspace driver holds it
   * (docs/reference/sriov-cni.md#kernel-or-dpdk-mode). */
  vfMode(info: PciInfo): VfMode {
    if (info.netdevs.length > 0) return 'kernel';
    if (info.driver && (DPDK_DRIVERS as readonly string[]).includes(info.driver)) return 'dpdk';
    throw new CniError(
      CNI_CODES.failed,
      `VF ${info.pciAddr} has no netdev and is not bound to a DPDK driver`,
      `its driver is ${info.driver ?? 'none'}: bind it to its VF driver for a kernel interface, or to one of ${DPDK_DRIVERS.join(', ')} for DPDK mode`,
    );
  }

  netdevAttr(ifname: string, attr: string): string | undefined {
    try {
      return readFileSync(join(this.root, 'class/net', ifname, attr), 'utf8').trim();
    } catch {
      return undefined;
    }
  }

  /** The PCI address behind a netdev in this namespace, if it has one. */
  pciOfNetdev(ifname: string): string | undefined {
    let real: string;
    try {
      real = realpathSync(join(this.root, 'class/net', ifname, 'device'));
    } catch {
      return undefined;
    }
    // the device may be a child of the PCI function (virtio0 under 0000:00:05.0): take the nearest PCI address
    return real
      .split('/')
      .reverse()
      .find((c) => /^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/.test(c));
  }

  netdevNames(): string[] {
    return tryReaddir(join(this.root, 'class/net'));
  }
}
