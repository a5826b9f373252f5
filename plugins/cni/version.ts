// CNI spec versions and result conversion. Internally a result has the 1.1.0 shape; it is written out in the
// version the network configuration asked for, and a delegate's result is read from whatever version it speaks.
import { CNI_CODES, CniError } from './errors.ts';

export const SUPPORTED_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;
export type CniVersion = (typeof SUPPORTED_VERSIONS)[number];
export const LATEST_VERSION: CniVersion = '1.1.0';

export interface CniInterface {
  name: string;
  mac?: string;
  /** 1.1.0 */
  mtu?: number;
  sandbox?: string;
  /** 1.1.0 */
  socketPath?: string;
  /** 1.1.0 */
  pciID?: string;
}
export interface CniIpConfig {
  /** CIDR, e.g. 10.1.0.5/24 */
  address: string;
  gateway?: string;
  /** index into interfaces */
  interface?: number;
}
export interface CniRoute {
  dst: string;
  gw?: string;
  /** 1.1.0 */
  mtu?: number;
  advmss?: number;
  priority?: number;
  table?: number;
  scope?: number;
}
export interface CniDns {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}
export interface CniResult {
  interfaces?: CniInterface[];
  ips?: CniIpConfig[];
  routes?: CniRoute[];
  dns?: CniDns;
}

function parts(v: string): number[] | null {
  const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(v);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : null;
}

/** <0, 0, >0 like a comparator; throws on malformed versions. */
export function compareVersions(a: string, b: string): number {
  const pa = parts(a);
  const pb = parts(b);
  if (!pa || !pb) throw new CniError(CNI_CODES.incompatibleVersion, `malformed CNI version "${pa ? b : a}"`);
  for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return pa[i] - pb[i];
  return 0;
}

export function isSupportedVersion(v: unknown): v is CniVersion {
  return typeof v === 'string' && (SUPPORTED_VERSIONS as readonly string[]).includes(v);
}

export function requireSupportedVersion(v: unknown): CniVersion {
  if (typeof v !== 'string' || v === '') {
    throw new CniError(CNI_CODES.invalidConfig, 'network configuration has no "cniVersion"', `set "cniVersion" to one of ${SUPPORTED_VERSIONS.join(', ')}`);
  }
  if (!isSupportedVersion(v)) {
    throw new CniError(CNI_CODES.incompatibleVersion, 'incompatible CNI versions', `config is "${v}", plugin supports ${JSON.stringify(SUPPORTED_VERSIONS)}`);
  }
  return v;
}

/** Commands each version knows; CHECK arrived in 0.4.0, STATUS and GC in 1.1.0. */
export function versionAllows(version: CniVersion, command: string): boolean {
  if (command === 'CHECK') return compareVersions(version, '0.4.0') >= 0;
  if (command === 'STATUS' || command === 'GC') return compareVersions(version, '1.1.0') >= 0;
  return true;
}

function ipFamily(cidr: string): '4' | '6' {
  return cidr.includes(':') ? '6' : '4';
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** Reads a result of any supported version (0.3.x/0.4.0 carry "version" on IPs; 1.x do not). */
export function parseResult(raw: unknown, from = 'result'): CniResult {
  if (!isObject(raw)) throw new CniError(CNI_CODES.decode, `${from} is not a JSON object`);
  if ('ip4' in raw || 'ip6' in raw) {
    throw new CniError(CNI_CODES.incompatibleVersion, `${from} uses the 0.2.0 result format (ip4/ip6)`, 'use a delegate that speaks CNI 0.3.0 or later');
  }
  const out: CniResult = {};
  if (Array.isArray(raw.interfaces)) {
    out.interfaces = raw.interfaces.filter(isObject).map((i) => {
      const r: CniInterface = { name: String(i.name ?? '') };
      if (typeof i.mac === 'string') r.mac = i.mac;
      if (typeof i.mtu === 'number') r.mtu = i.mtu;
      if (typeof i.sandbox === 'string') r.sandbox = i.sandbox;
      if (typeof i.socketPath === 'string') r.socketPath = i.socketPath;
      if (typeof i.pciID === 'string') r.pciID = i.pciID;
      return r;
    });
  }
  if (Array.isArray(raw.ips)) {
    out.ips = raw.ips.filter(isObject).map((ip) => {
      if (typeof ip.address !== 'string') throw new CniError(CNI_CODES.decode, `${from}: an IP entry has no "address"`);
      const r: CniIpConfig = { address: ip.address };
      if (typeof ip.gateway === 'string') r.gateway = ip.gateway;
      if (typeof ip.interface === 'number') r.interface = ip.interface;
      return r;
    });
  }
  if (Array.isArray(raw.routes)) {
    out.routes = raw.routes.filter(isObject).map((rt) => {
      if (typeof rt.dst !== 'string') throw new CniError(CNI_CODES.decode, `${from}: a route has no "dst"`);
      const r: CniRoute = { dst: rt.dst };
      if (typeof rt.gw === 'string') r.gw = rt.gw;
      for (const k of ['mtu', 'advmss', 'priority', 'table', 'scope'] as const) if (typeof rt[k] === 'number') r[k] = rt[k] as number;
      return r;
    });
  }
  if (isObject(raw.dns)) {
    const d = raw.dns;
    const dns: CniDns = {};
    if (Array.isArray(d.nameservers)) dns.nameservers = d.nameservers.map(String);
    if (typeof d.domain === 'string') dns.domain = d.domain;
    if (Array.isArray(d.search)) dns.search = d.search.map(String);
    if (Array.isArray(d.options)) dns.options = d.options.map(String);
    out.dns = dns;
  }
  return out;
}

/** Writes a result in the given version's shape, dropping what that version does not define. */
export function convertResult(r: CniResult, version: CniVersion): Record<string, unknown> {
  const v11 = version === '1.1.0';
  const v1 = compareVersions(version, '1.0.0') >= 0;
  const out: Record<string, unknown> = { cniVersion: version };
  if (r.interfaces && r.interfaces.length) {
    out.interfaces = r.interfaces.map((i) => {
      const o: Record<string, unknown> = { name: i.name };
      if (i.mac !== undefined) o.mac = i.mac;
      if (v11 && i.mtu !== undefined) o.mtu = i.mtu;
      if (i.sandbox !== undefined) o.sandbox = i.sandbox;
      if (v11 && i.socketPath !== undefined) o.socketPath = i.socketPath;
      if (v11 && i.pciID !== undefined) o.pciID = i.pciID;
      return o;
    });
  }
  if (r.ips && r.ips.length) {
    out.ips = r.ips.map((ip) => {
      const o: Record<string, unknown> = {};
      if (!v1) o.version = ipFamily(ip.address);
      if (ip.interface !== undefined) o.interface = ip.interface;
      o.address = ip.address;
      if (ip.gateway !== undefined) o.gateway = ip.gateway;
      return o;
    });
  }
  if (r.routes && r.routes.length) {
    out.routes = r.routes.map((rt) => {
      const o: Record<string, unknown> = { dst: rt.dst };
      if (rt.gw !== undefined) o.gw = rt.gw;
      if (v11) for (const k of ['mtu', 'advmss', 'priority', 'table', 'scope'] as const) if (rt[k] !== undefined) o[k] = rt[k];
      return o;
    });
  }
  if (r.dns && Object.keys(r.dns).length) out.dns = { ...r.dns };
  else if (!v1) out.dns = {};
  return out;
}

/** The newest version in `theirs` that is not newer than `wanted` (for delegates that lag behind). */
export function negotiateVersion(wanted: CniVersion, theirs: readonly string[]): string | undefined {
  const ok = theirs.filter((v) => parts(v) && compareVersions(v, wanted) <= 0 && compareVersions(v, '0.3.0') >= 0);
  ok.sort(compareVersions);
  return ok[ok.length - 1];
}
