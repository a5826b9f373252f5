// Guard rails: the host backend refuses a PF that looks in use, unless forced. A PF is in use when it carries the
// default route or an address (the machine's own network would go with it), or when one of its VFs is: its netdev
// is in another network namespace, is up, or has an address, or its vfio group is open in some process.
import { dev, findNetdevInNetns, listVfs, type PfInfo } from './nic.ts';
import type { HostSystem } from './system.ts';

export class GuardError extends Error {
  constructor(
    readonly pf: string,
    readonly reasons: string[],
  ) {
    super(`refusing to touch PF ${pf}:\n${reasons.map((r) => `  - ${r}`).join('\n')}\nchoose another PF with --pf, or pass --force if you are sure nothing on this machine depends on it`);
    this.name = 'GuardError';
  }
}

interface IpRoute {
  dst: string;
  dev?: string;
  nexthops?: Array<{ dev?: string }>;
}
interface IpAddr {
  ifname: string;
  operstate?: string;
  flags?: string[];
  addr_info?: Array<{ local: string; prefixlen: number; scope: string; family: string }>;
}

async function json<T>(sys: HostSystem, argv: string[]): Promise<T[]> {
  const r = await sys.run(argv);
  if (r.exitCode !== 0 || !r.stdout.trim()) return [];
  return JSON.parse(r.stdout) as T[];
}

/** Which processes hold a file open (scans /proc/<pid>/fd). */
async function openers(sys: HostSystem, path: string): Promise<string[]> {
  const out: string[] = [];
  for (const pid of (await sys.list('/proc').catch(() => [])).filter((p) => /^\d+$/.test(p))) {
    const fds = await sys.list(`/proc/${pid}/fd`).catch(() => [] as string[]);
    for (const fd of fds) {
      const target = await sys.readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
      if (target === path) {
        const comm = await sys.read(`/proc/${pid}/comm`).catch(() => '?');
        out.push(`pid ${pid} (${comm})`);
        break;
      }
    }
  }
  return out;
}

/** Every reason not to touch this PF (empty: safe). */
export async function pfProblems(sys: HostSystem, pf: PfInfo): Promise<string[]> {
  const reasons: string[] = [];
  if (pf.ifname) {
    for (const fam of ['-4', '-6']) {
      for (const r of await json<IpRoute>(sys, ['ip', fam, '-j', 'route', 'show', 'default'])) {
        const devs = [r.dev, ...(r.nexthops ?? []).map((n) => n.dev)];
        if (devs.includes(pf.ifname)) reasons.push(`${pf.ifname} carries the default route (${fam === '-4' ? 'IPv4' : 'IPv6'})`);
      }
    }
    for (const l of await json<IpAddr>(sys, ['ip', '-j', 'addr', 'show', 'dev', pf.ifname])) {
      for (const a of l.addr_info ?? []) if (a.scope === 'global') reasons.push(`${pf.ifname} has the address ${a.local}/${a.prefixlen}`);
    }
  }
  for (const vf of await listVfs(sys, pf.pciAddr)) {
    const name = `VF ${vf.index} (${vf.pciAddr})`;
    if (vf.driver === 'vfio-pci') {
      const group = (await sys.readlink(dev(vf.pciAddr, 'iommu_group')).catch(() => '')).replace(/^.*\//, '');
      const who = group ? await openers(sys, `/dev/vfio/${group}`) : [];
      if (who.length) reasons.push(`${name} is bound to vfio-pci and /dev/vfio/${group} is open in ${who.join(', ')}`);
      continue;
    }
    if (vf.driver && !vf.ifname) {
      const where = await findNetdevInNetns(sys, vf.pciAddr);
      if (where) reasons.push(`${name}'s netdev ${where[1]} is in network namespace ${where[0]}`);
      continue;
    }
    if (vf.ifname) {
      for (const l of await json<IpAddr>(sys, ['ip', '-j', 'addr', 'show', 'dev', vf.ifname])) {
        if (l.flags?.includes('UP')) reasons.push(`${name}'s netdev ${vf.ifname} is up`);
        for (const a of l.addr_info ?? []) if (a.scope === 'global') reasons.push(`${name}'s netdev ${vf.ifname} has the address ${a.local}/${a.prefixlen}`);
      }
    }
  }
  return reasons;
}

export async function checkPf(sys: HostSystem, pf: PfInfo, opts: { force?: boolean } = {}): Promise<string[]> {
  const reasons = await pfProblems(sys, pf);
  if (reasons.length && !opts.force) throw new GuardError(pf.ifname ? `${pf.ifname} (${pf.pciAddr})` : pf.pciAddr, reasons);
  return reasons;
}
