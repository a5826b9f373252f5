// Selector matching and pool building: within a selector every field must match (each field is any-of);
// a resource takes the union of its selectors; a device goes to the first resource (in config order) that selects it.
import type { ResourceConfig, Selector, VfRangeRef, PluginConfig } from './config.ts';
import type { HostDevice } from './sysfs.ts';

export interface MatchContext {
  /** /dev/vhost-net and /dev/net/tun exist on the host */
  vhostNetAvailable: boolean;
}

const CLASS_OF: Record<ResourceConfig['deviceType'], string> = { netDevice: '02', accelerator: '12', auxNetDevice: '02' };

function rangeMatch(refs: VfRangeRef[], key: string | null, vfIndex: number): boolean {
  if (key === null) return false;
  return refs.some((r) => r.ref === key && (r.vfs === undefined || r.vfs.has(vfIndex)));
}

/** Does one selector take this device? */
export function selectorMatches(sel: Selector, dev: HostDevice, ctx: MatchContext): boolean {
  if (sel.vendors && !sel.vendors.includes(dev.vendor)) return false;
  if (sel.devices && !sel.devices.includes(dev.device)) return false;
  if (sel.drivers && !sel.drivers.includes(dev.driver)) return false;
  if (sel.pciAddresses && !sel.pciAddresses.includes(dev.pciAddr)) return false;
  if (sel.acpiIndexes && (dev.acpiIndex === null || !sel.acpiIndexes.includes(dev.acpiIndex))) return false;
  if (sel.pfNames && !(dev.isVf && rangeMatch(sel.pfNames, dev.pfName, dev.vfIndex))) return false;
  if (sel.rootDevices && !(dev.isVf && rangeMatch(sel.rootDevices, dev.pfAddr, dev.vfIndex))) return false;
  if (sel.linkTypes && (dev.linkType === null || !sel.linkTypes.includes(dev.linkType))) return false;
  if (sel.isRdma !== undefined && sel.isRdma !== dev.isRdma) return false;
  if (sel.needVhostNet === true && !ctx.vhostNetAvailable) return false;
  // DDP profiles, vDPA and auxiliary devices need hardware tools this plugin does not drive: they match nothing
  if (sel.ddpProfiles || sel.vdpaType !== undefined || sel.auxTypes) return false;
  return true;
}

export function resourceMatches(res: ResourceConfig, dev: HostDevice, ctx: MatchContext): boolean {
  if (dev.baseClass !== CLASS_OF[res.deviceType]) return false;
  if (res.deviceType === 'auxNetDevice') return false;
  return res.selectors.some((s) => selectorMatches(s, dev, ctx));
}

/** fullName → devices, in config order; every configured resource has an entry (possibly empty). */
export function buildPools(config: PluginConfig, devices: HostDevice[], ctx: MatchContext): Map<string, HostDevice[]> {
  const pools = new Map<string, HostDevice[]>();
  for (const r of config.resources) pools.set(r.fullName, []);
  const sorted = [...devices].sort((a, b) => (a.pciAddr < b.pciAddr ? -1 : a.pciAddr > b.pciAddr ? 1 : 0));
  const taken = new Set<string>();
  for (const r of config.resources) {
    const pool = pools.get(r.fullName)!;
    for (const sel of r.selectors) {
      for (const d of sorted) {
        if (taken.has(d.pciAddr) || d.baseClass !== CLASS_OF[r.deviceType] || r.deviceType === 'auxNetDevice') continue;
        if (selectorMatches(sel, d, ctx)) {
          taken.add(d.pciAddr);
          pool.push(d);
        }
      }
    }
    pool.sort((a, b) => (a.pciAddr < b.pciAddr ? -1 : a.pciAddr > b.pciAddr ? 1 : 0));
  }
  return pools;
}
