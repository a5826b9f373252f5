// VF settings through the PF with iproute2: read them from `ip -j link show <pf>` (vfinfo_list), change them with
// `ip link set dev <pf> vf <N> …`, and put back exactly the ones an attachment changed.
import { CNI_CODES, CniError } from './errors.ts';
import type { Runner } from './exec.ts';
import type { VfSettings } from './config.ts';
import type { VfInfoJson } from './netdev.ts';

export const ZERO_MAC = '00:00:00:00:00:00';

/** The settings `ip` reports for one VF, in config terms. */
export function vfSettingsOf(v: VfInfoJson): Required<VfSettings> {
  const vl = v.vlan_list?.[0] ?? {};
  const proto = (vl.protocol ?? '802.1Q').toLowerCase() === '802.1ad' ? '802.1ad' : '802.1Q';
  const ls = v.link_state === 'enable' || v.link_state === 'disable' ? v.link_state : 'auto';
  return {
    mac: (v.address ?? v.mac ?? ZERO_MAC).toLowerCase(),
    vlan: vl.vlan ?? v.vlan ?? 0,
    vlanQoS: vl.qos ?? v.qos ?? 0,
    vlanProto: proto,
    spoofchk: v.spoofchk ?? true,
    trust: v.trust ?? false,
    linkState: ls,
    minTxRate: v.rate?.min_tx ?? 0,
    maxTxRate: v.rate?.max_tx ?? v.tx_rate ?? 0,
  };
}

type Key = keyof VfSettings;
const VLAN_KEYS: Key[] = ['vlan', 'vlanQoS', 'vlanProto'];
const RATE_KEYS: Key[] = ['minTxRate', 'maxTxRate'];

/** The settings among `wanted` that differ from `current` (VLAN and rate groups travel together). */
export function settingsToChange(wanted: VfSettings, current: Required<VfSettings>): VfSettings {
  const out: VfSettings = {};
  const set = out as Record<Key, unknown>;
  const want = wanted as Record<Key, unknown>;
  const cur = current as Record<Key, unknown>;
  const differs = (k: Key) => want[k] !== undefined && want[k] !== cur[k];
  const wantedVlan = { vlan: wanted.vlan ?? current.vlan, vlanQoS: wanted.vlanQoS ?? 0, vlanProto: wanted.vlanProto ?? '802.1Q' };
  if (wanted.vlan !== undefined && (wantedVlan.vlan !== current.vlan || wantedVlan.vlanQoS !== current.vlanQoS || (wantedVlan.vlan !== 0 && wantedVlan.vlanProto !== current.vlanProto))) {
    Object.assign(out, wantedVlan);
  }
  if (RATE_KEYS.some(differs)) {
    out.minTxRate = wanted.minTxRate ?? current.minTxRate;
    out.maxTxRate = wanted.maxTxRate ?? current.maxTxRate;
  }
  for (const k of ['mac', 'spoofchk', 'trust', 'linkState'] as Key[]) if (differs(k)) set[k] = want[k];
  return out;
}

/** The current values of the keys in `changed`: what DEL must put back. */
export function originalsFor(changed: VfSettings, current: Required<VfSettings>): VfSettings {
  const out: VfSettings = {};
  for (const k of Object.keys(changed) as Key[]) (out as Record<Key, unknown>)[k] = current[k];
  if (VLAN_KEYS.some((k) => k in changed)) Object.assign(out, { vlan: current.vlan, vlanQoS: current.vlanQoS, vlanProto: current.vlanProto });
  return out;
}

/** `vf N mac … vlan … qos … proto … spoofchk … trust … state … min_tx_rate … max_tx_rate …` */
export function vfSetArgs(index: number, s: VfSettings): string[] {
  const a = ['vf', String(index)];
  if (s.mac !== undefined) a.push('mac', s.mac);
  if (s.vlan !== undefined) {
    a.push('vlan', String(s.vlan));
    if (s.vlan !== 0) {
      a.push('qos', String(s.vlanQoS ?? 0));
      if (s.vlanProto === '802.1ad') a.push('proto', '802.1ad');
    }
  }
  if (s.spoofchk !== undefined) a.push('spoofchk', s.spoofchk ? 'on' : 'off');
  if (s.trust !== undefined) a.push('trust', s.trust ? 'on' : 'off');
  if (s.linkState !== undefined) a.push('state', s.linkState);
  if (s.minTxRate !== undefined) a.push('min_tx_rate', String(s.minTxRate));
  if (s.maxTxRate !== undefined) a.push('max_tx_rate', String(s.maxTxRate));
  return a;
}

export function applyVfSettings(runner: Runner, pf: string, index: number, s: VfSettings): void {
  if (Object.keys(s).length === 0) return;
  runner.ip(['link', 'set', 'dev', pf, ...vfSetArgs(index, s)]);
}

/**
 * Puts settings back: one command when the kernel takes it, else one command per group (MAC, VLAN, rates, spoofchk,
 * trust, link state) so that a group the driver refuses does not keep the others from being restored — the kernel
 * applies a `vf N …` command attribute by attribute and stops at the first error. Throws the groups that failed.
 */
export function restoreVfSettings(runner: Runner, pf: string, index: number, s: VfSettings): void {
  try {
    applyVfSettings(runner, pf, index, s);
    return;
  } catch {
    /* go group by group */
  }
  const groups: VfSettings[] = [];
  if (s.mac !== undefined) groups.push({ mac: s.mac });
  if (s.vlan !== undefined) groups.push({ vlan: s.vlan, vlanQoS: s.vlanQoS, vlanProto: s.vlanProto });
  if (s.minTxRate !== undefined || s.maxTxRate !== undefined) groups.push({ minTxRate: s.minTxRate, maxTxRate: s.maxTxRate });
  if (s.spoofchk !== undefined) groups.push({ spoofchk: s.spoofchk });
  if (s.trust !== undefined) groups.push({ trust: s.trust });
  if (s.linkState !== undefined) groups.push({ linkState: s.linkState });
  const failed: string[] = [];
  for (const g of groups) {
    try {
      applyVfSettings(runner, pf, index, g);
    } catch (e) {
      failed.push(`${Object.keys(g).filter((k) => (g as Record<string, unknown>)[k] !== undefined).join('/')}: ${(e as Error).message}`);
    }
  }
  if (failed.length) throw new CniError(CNI_CODES.failed, `could not restore VF ${index} settings on ${pf}`, failed.join('; '));
}

export function findVfInfo(list: VfInfoJson[] | undefined, pf: string, index: number): VfInfoJson {
  const v = list?.find((x) => x.vf === index);
  if (!v) throw new CniError(CNI_CODES.failed, `${pf} does not report VF ${index}`, `\`ip -j link show dev ${pf}\` has no vfinfo_list entry for it: does the PF driver support VF netlink?`);
  return v;
}

/** Differences between what an attachment applied and what the PF reports now, as "key: want X, have Y". */
export function vfMismatches(applied: VfSettings, current: Required<VfSettings>): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(applied) as Array<[Key, unknown]>) {
    if (k === 'vlanProto' && (applied.vlan ?? current.vlan) === 0) continue;
    if (current[k] !== v) out.push(`${k}: want ${String(v)}, have ${String(current[k])}`);
  }
  return out;
}
