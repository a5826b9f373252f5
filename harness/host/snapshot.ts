// A full picture of what the host backend may change, for before/after comparisons: each PF's sysfs (numvfs,
// driver) and netlink VF settings, each VF's driver, override, netdev name, MAC and MTU, every link in this network
// namespace (name, MAC, MTU, flags), addresses, routes and the named network namespaces.
import { dev, listVfs, resolvePf, vfLinks, type VfInfo, type VfLink } from './nic.ts';
import type { HostSystem } from './system.ts';

export interface HostSnapshot {
  pfs: Array<{ pciAddr: string; ifname: string; driver: string | null; numVfs: number; totalVfs: number; vfs: Array<VfInfo & { mtu: number | null }>; vfLinks: VfLink[] }>;
  links: Array<{ ifname: string; address: string; mtu: number; flags: string[]; parentdev: string | null }>;
  addresses: Array<{ ifname: string; local: string; prefixlen: number }>;
  routes: string[];
  netns: string[];
}

interface IpLink {
  ifname: string;
  address?: string;
  mtu: number;
  flags: string[];
  parentdev?: string;
  addr_info?: Array<{ local: string; prefixlen: number; scope: string }>;
}

async function ipJson<T>(sys: HostSystem, argv: string[]): Promise<T[]> {
  const r = await sys.run(argv);
  if (r.exitCode !== 0 || !r.stdout.trim()) return [];
  return JSON.parse(r.stdout) as T[];
}

export async function snapshotHost(sys: HostSystem, pfNames: string[]): Promise<HostSnapshot> {
  const pfs: HostSnapshot['pfs'] = [];
  for (const name of pfNames) {
    const pf = await resolvePf(sys, name);
    const vfs = await listVfs(sys, pf.pciAddr);
    pfs.push({
      pciAddr: pf.pciAddr,
      ifname: pf.ifname,
      driver: pf.driver,
      numVfs: Number(await sys.read(dev(pf.pciAddr, 'sriov_numvfs'))),
      totalVfs: pf.totalVfs,
      vfs: await Promise.all(vfs.map(async (v) => ({ ...v, mtu: v.ifname ? Number(await sys.read(`/sys/class/net/${v.ifname}/mtu`)) : null }))),
      vfLinks: await vfLinks(sys, pf.ifname),
    });
  }
  const links = (await ipJson<IpLink>(sys, ['ip', '-j', '-d', 'link', 'show']))
    // carrier comes and goes with the (emulated) wire, not with what we did
    .map((l) => ({ ifname: l.ifname, address: l.address ?? '', mtu: l.mtu, flags: l.flags.filter((f) => f !== 'LOWER_UP' && f !== 'NO-CARRIER').sort(), parentdev: l.parentdev ?? null }))
    .sort((a, b) => a.ifname.localeCompare(b.ifname));
  const addresses = (await ipJson<IpLink>(sys, ['ip', '-j', 'addr', 'show']))
    .flatMap((l) => (l.addr_info ?? []).filter((a) => a.scope !== 'link').map((a) => ({ ifname: l.ifname, local: a.local, prefixlen: a.prefixlen })))
    .sort((a, b) => `${a.ifname} ${a.local}`.localeCompare(`${b.ifname} ${b.local}`));
  const routes: string[] = [];
  for (const fam of ['-4', '-6']) {
    const r = await sys.run(['ip', fam, 'route', 'show', 'table', 'all']);
    routes.push(...r.stdout.split('\n').map((l) => l.trim()).filter((l) => l && !/\bfe80::|ff00::\/8|linkdown/.test(l)));
  }
  const ns = await sys.run(['ip', 'netns', 'list']);
  return { pfs, links, addresses, routes: routes.sort(), netns: ns.stdout.split('\n').map((l) => l.split(' ')[0]).filter(Boolean).sort() };
}
