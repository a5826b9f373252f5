// Reading a PF and its VFs from sysfs and netlink (ip -j), the way the host backend needs them.
import type { HostSystem } from './system.ts';
import { must } from './system.ts';

export const PCI_ADDR = /^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/;
export const dev = (pci: string, attr = ''): string => `/sys/bus/pci/devices/${pci}${attr ? `/${attr}` : ''}`;
const base = (p: string): string => p.replace(/\/+$/, '').replace(/^.*\//, '');

export class PfError extends Error {
  constructor(
    readonly pf: string,
    message: string,
  ) {
    super(message);
    this.name = 'PfError';
  }
}

export interface PfInfo {
  pciAddr: string;
  /** '' when the PF has no netdev (e.g. bound to vfio-pci) */
  ifname: string;
  driver: string | null;
  totalVfs: number;
  numVfs: number;
}

export interface VfInfo {
  index: number;
  pciAddr: string;
  driver: string | null;
  /** what driver_override holds; null when unset ("(null)") */
  driverOverride: string | null;
  /** netdev in this network namespace, or null */
  ifname: string | null;
  netdevMac: string | null;
}

/** A VF's settings as the PF reports them over netlink (IFLA_VFINFO_LIST). */
export interface VfLink {
  vf: number;
  mac: string;
  vlan: number;
  qos: number;
  spoofchk: boolean | null;
  trust: boolean | null;
  linkState: string | null;
  maxTxRate: number;
  minTxRate: number;
}

export async function driverOf(sys: HostSystem, pci: string): Promise<string | null> {
  return (await sys.exists(dev(pci, 'driver'))) ? base(await sys.readlink(dev(pci, 'driver'))) : null;
}

export async function netdevsOf(sys: HostSystem, pci: string): Promise<string[]> {
  return (await sys.exists(dev(pci, 'net'))) ? sys.list(dev(pci, 'net')) : [];
}

/** PF by netdev name or PCI address; refuses a device without SR-IOV. */
export async function resolvePf(sys: HostSystem, nameOrPci: string): Promise<PfInfo> {
  let pci = nameOrPci.toLowerCase();
  if (/^[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/.test(pci)) pci = `0000:${pci}`;
  if (!PCI_ADDR.test(pci)) {
    const link = `/sys/class/net/${nameOrPci}/device`;
    if (!(await sys.exists(link))) throw new PfError(nameOrPci, `PF ${nameOrPci}: no such network interface or PCI address`);
    pci = base(await sys.readlink(link));
    if (!PCI_ADDR.test(pci)) throw new PfError(nameOrPci, `PF ${nameOrPci}: its device ${pci} is not a PCI function, so it has no SR-IOV`);
  }
  if (!(await sys.exists(dev(pci)))) throw new PfError(nameOrPci, `PF ${nameOrPci}: no PCI device ${pci}`);
  if (!(await sys.exists(dev(pci, 'sriov_totalvfs')))) throw new PfError(nameOrPci, `PF ${nameOrPci} (${pci}) has no SR-IOV capability (no sriov_totalvfs)`);
  const [ifname] = await netdevsOf(sys, pci);
  return {
    pciAddr: pci,
    ifname: ifname ?? '',
    driver: await driverOf(sys, pci),
    totalVfs: Number(await sys.read(dev(pci, 'sriov_totalvfs'))),
    numVfs: Number(await sys.read(dev(pci, 'sriov_numvfs'))),
  };
}

export async function listVfs(sys: HostSystem, pfPci: string): Promise<VfInfo[]> {
  const links = (await sys.list(dev(pfPci))).filter((f) => /^virtfn\d+$/.test(f));
  const out: VfInfo[] = [];
  for (const l of links.sort((a, b) => Number(a.slice(6)) - Number(b.slice(6)))) {
    const pci = base(await sys.readlink(dev(pfPci, l)));
    const ov = (await sys.exists(dev(pci, 'driver_override'))) ? await sys.read(dev(pci, 'driver_override')) : '(null)';
    const [ifname] = await netdevsOf(sys, pci);
    out.push({
      index: Number(l.slice(6)),
      pciAddr: pci,
      driver: await driverOf(sys, pci),
      driverOverride: ov === '(null)' || ov === '' ? null : ov,
      ifname: ifname ?? null,
      netdevMac: ifname ? await sys.read(`/sys/class/net/${ifname}/address`).catch(() => null) : null,
    });
  }
  return out;
}

interface IpVfInfo {
  vf: number;
  address?: string;
  vlan_list?: Array<{ vlan?: number; qos?: number }>;
  rate?: { max_tx?: number; min_tx?: number };
  spoofchk?: boolean;
  trust?: boolean;
  link_state?: string;
}

export async function vfLinks(sys: HostSystem, pfIfname: string): Promise<VfLink[]> {
  if (!pfIfname) return [];
  return parseVfLinks(await must(sys, ['ip', '-j', '-d', 'link', 'show', 'dev', pfIfname]));
}

/** The VFs of the PF in `ip -j -d link show dev PF` output (its `vfinfo_list`), with iproute2's defaults filled. */
export function parseVfLinks(ipJson: string): VfLink[] {
  const j = JSON.parse(ipJson) as Array<{ vfinfo_list?: IpVfInfo[] }>;
  return (j[0]?.vfinfo_list ?? []).map((v) => ({
    vf: v.vf,
    mac: v.address ?? '00:00:00:00:00:00',
    vlan: v.vlan_list?.[0]?.vlan ?? 0,
    qos: v.vlan_list?.[0]?.qos ?? 0,
    spoofchk: v.spoofchk ?? null,
    trust: v.trust ?? null,
    linkState: v.link_state ?? null,
    maxTxRate: v.rate?.max_tx ?? 0,
    minTxRate: v.rate?.min_tx ?? 0,
  }));
}

/** Binds a device to `driver` (null = leave it unbound) through driver_override + drivers_probe, then sets
 * driver_override to `override` (null = clear). */
export async function bindDriver(sys: HostSystem, pci: string, driver: string | null, override: string | null): Promise<void> {
  const cur = await driverOf(sys, pci);
  if (cur !== driver) {
    if (cur) await sys.write(dev(pci, 'driver/unbind'), pci);
    if (driver) {
      await sys.write(dev(pci, 'driver_override'), driver);
      await sys.write('/sys/bus/pci/drivers_probe', pci);
    }
  }
  await sys.write(dev(pci, 'driver_override'), override ?? '\n');
  const now = await driverOf(sys, pci);
  if (now !== driver) throw new PfError(pci, `${pci}: bound to ${now ?? 'no driver'} after binding to ${driver ?? 'no driver'}`);
}

/** Network namespaces by name (ip netns). */
export async function netnsNames(sys: HostSystem): Promise<string[]> {
  const r = await sys.run(['ip', '-j', 'netns', 'list']);
  if (r.exitCode !== 0 || !r.stdout.trim()) return [];
  return (JSON.parse(r.stdout) as Array<{ name: string }>).map((n) => n.name).sort();
}

/** Where a device's netdev is when it is not in this namespace: [netns, ifname], found by its parent PCI device. */
export async function findNetdevInNetns(sys: HostSystem, pci: string): Promise<[string, string] | undefined> {
  for (const ns of await netnsNames(sys)) {
    const r = await sys.run(['ip', '-n', ns, '-j', '-d', 'link', 'show']);
    if (r.exitCode !== 0) continue;
    const hit = (JSON.parse(r.stdout) as Array<{ ifname: string; parentdev?: string }>).find((l) => l.parentdev === pci);
    if (hit) return [ns, hit.ifname];
  }
  return undefined;
}
