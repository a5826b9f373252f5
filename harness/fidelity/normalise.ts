// Values that differ between two runs for reasons that say nothing about fidelity (kernel-chosen or random: MACs,
// vfio group numbers, container ids, pod UIDs, netns paths, veth names, times) are replaced by placeholders.
// A placeholder keeps identity within one run of one scenario on one backend. A MAC is named by what owns it
// (`<mac:pod/dpdk-pod/eth0>`, `<mac:vf 0000:01:10.2>`: claimMac), so an extra MAC seen on one backend does not
// rename the others; other values (and a MAC nothing claims) are numbered in order of appearance: the first becomes
// <kind#1>, the second distinct one <kind#2>, and the first again is <kind#1> again. So "the VF's MAC came back to
// what it was" still compares equal across backends, while the random values themselves do not. The table in
// docs/fidelity.md lists every rule; keep the two in step.
import type { JsonValue } from '../../reports/types.ts';

export type PlaceholderKind = 'mac' | 'group' | 'container' | 'uid' | 'netns' | 'veth' | 'ip';

export interface NormaliseRule {
  kind: PlaceholderKind;
  /** what the rule matches, for docs and tests */
  example: string;
  re: RegExp;
  /** the part of the match that is replaced (default: all of it) */
  group?: number;
  /** literal values that carry meaning and are kept */
  keep?: (raw: string) => boolean;
}

const MAC = /\b(?:[0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}\b/g;
const MAC_ONLY = /^(?:[0-9a-f]{2}:){5}[0-9a-f]{2}$/;
/** all-zero and broadcast MACs carry meaning: kept as they are */
const keepMac = (m: string): boolean => /^(00:){5}00$/i.test(m) || /^(ff:){5}ff$/i.test(m);

/** in the order they are applied */
export const NORMALISE_RULES: readonly NormaliseRule[] = [
  { kind: 'container', example: '03b9a5b1…6012 (64 hex digits)', re: /\b[0-9a-f]{64}\b/g },
  { kind: 'uid', example: '823b7710-b78c-479b-b5d4-2bbb50bb8a63', re: /\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/g },
  { kind: 'netns', example: '/run/netns/slm1m0-node1-71bba461, /proc/123/ns/net', re: /(?:\/var)?\/run\/netns\/[A-Za-z0-9._-]+|\/proc\/\d+\/ns\/net/g },
  { kind: 'group', example: '/dev/vfio/12 (the 12)', re: /\/dev\/vfio\/(\d+)\b/g, group: 1 },
  { kind: 'veth', example: 'veth02e0e6af', re: /\bveth[0-9a-f]{8}\b/g },
  {
    kind: 'mac',
    example: '1a:dd:dd:97:81:2a (not 00:00:00:00:00:00 or ff:ff:ff:ff:ff:ff)',
    re: MAC,
    keep: keepMac,
  },
];

/** keys dropped from JSON before comparing: times and durations */
export const DROPPED_KEYS: ReadonlySet<string> = new Set(['atMs', 'startMs', 'durationMs', 'startedAt', 'timestamp', 'creationTimestamp']);

export interface TextNormaliser {
  text(s: string): string;
}

/** leaves text as it is (to collect first and normalise later in a canonical order) */
export const asIs: TextNormaliser = { text: (s) => s };

/** How strongly a claim names a MAC: a pod's interface before a VF's vfinfo line (the lower wins). */
export const MAC_OWNER_RANK = { podInterface: 0, vf: 1 } as const;

/** One per (scenario, backend) run: the placeholder numbering and the MACs' owners live here. */
export class Normaliser implements TextNormaliser {
  private readonly seen = new Map<PlaceholderKind, Map<string, string>>();
  private readonly claims = new Map<string, { owner: string; rank: number }>();
  private readonly ownerUses = new Map<string, number>();

  /**
   * `owner` (e.g. "pod/dpdk-pod/eth0", "vf 0000:01:10.2") holds the MAC `raw`. Of all claims on a MAC the lowest
   * rank wins, then the smallest owner, so the name does not depend on the order of the claims. Claims must come
   * before the first placeholder of that MAC is handed out.
   */
  claimMac(raw: string, owner: string, rank: number): void {
    const key = raw.toLowerCase();
    if (!MAC_ONLY.test(key) || keepMac(key)) return;
    const c = this.claims.get(key);
    if (!c || rank < c.rank || (rank === c.rank && owner < c.owner)) this.claims.set(key, { owner, rank });
  }

  placeholder(kind: PlaceholderKind, raw: string): string {
    let m = this.seen.get(kind);
    if (!m) this.seen.set(kind, (m = new Map()));
    const key = kind === 'mac' ? raw.toLowerCase() : raw;
    let p = m.get(key);
    if (!p) {
      const owner = kind === 'mac' ? this.claims.get(key)?.owner : undefined;
      if (owner !== undefined) {
        // an owner that held two MACs over the run (a pod created again) names the second one "#2"
        const uses = (this.ownerUses.get(owner) ?? 0) + 1;
        this.ownerUses.set(owner, uses);
        p = `<mac:${owner}${uses > 1 ? `#${uses}` : ''}>`;
      } else {
        p = `<${kind}#${[...m.values()].filter((v) => v.startsWith(`<${kind}#`)).length + 1}>`;
      }
      m.set(key, p);
    }
    return p;
  }

  text(s: string): string {
    let out = s;
    for (const rule of NORMALISE_RULES) {
      out = out.replace(rule.re, (match: string, ...rest: unknown[]) => {
        if (rule.keep?.(match)) return match;
        if (rule.group === undefined) return this.placeholder(rule.kind, match);
        const part = rest[rule.group - 1] as string;
        return match.replace(part, this.placeholder(rule.kind, part));
      });
    }
    return out;
  }
}

/**
 * A JSON value as flat `path → value` pairs (`a.b[0].c`), strings normalised, dropped keys left out. A string that
 * holds a JSON object or array (a CNI result, an _INFO env variable) is flattened in place.
 */
export function flattenJson(value: JsonValue | undefined, n: TextNormaliser, prefix = ''): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const walk = (v: JsonValue | undefined, path: string): void => {
    if (v === undefined) return;
    if (v === null || typeof v === 'number' || typeof v === 'boolean') {
      out.push([path, String(v)]);
      return;
    }
    if (typeof v === 'string') {
      const t = v.trim();
      if ((t.startsWith('{') && t.endsWith('}')) || (t.startsWith('[') && t.endsWith(']'))) {
        try {
          walk(JSON.parse(t) as JsonValue, path);
          return;
        } catch {
          // not JSON after all: compared as text
        }
      }
      out.push([path, n.text(v)]);
      return;
    }
    if (Array.isArray(v)) {
      if (v.length === 0) out.push([path, '[]']);
      v.forEach((x, i) => walk(x, `${path}[${i}]`));
      return;
    }
    const keys = Object.keys(v).filter((k) => !DROPPED_KEYS.has(k)).sort();
    if (keys.length === 0) out.push([path, '{}']);
    for (const k of keys) walk(v[k], path ? `${path}.${k}` : k);
  };
  walk(value, prefix);
  return out;
}
