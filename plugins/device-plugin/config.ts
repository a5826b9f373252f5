// The upstream SR-IOV network device plugin's config.json format, validated up front
// (docs/reference/device-plugin.md#config-file).
// Two keys are our own additions (healthCheck, allocationPolicy); everything upstream accepts still parses.

export type DeviceType = 'netDevice' | 'accelerator' | 'auxNetDevice';
/** link: carrier of the device and its PF; operstate: healthy iff operstate is up; none: always Healthy (upstream) */
export type HealthCheck = 'auto' | 'link' | 'operstate' | 'none';
export type AllocationPolicy = 'spread' | 'packed';

/** A name or PCI address with an optional VF index set (`ens1f0#0-3`). `vfs` undefined = every VF. */
export interface VfRangeRef {
  ref: string;
  vfs?: ReadonlySet<number>;
  /** as written, for messages */
  text: string;
}

export interface Selector {
  vendors?: string[];
  devices?: string[];
  drivers?: string[];
  pciAddresses?: string[];
  acpiIndexes?: string[];
  pfNames?: VfRangeRef[];
  rootDevices?: VfRangeRef[];
  linkTypes?: string[];
  ddpProfiles?: string[];
  isRdma?: boolean;
  needVhostNet?: boolean;
  vdpaType?: string;
  auxTypes?: string[];
}

export interface ResourceConfig {
  resourceName: string;
  resourcePrefix: string;
  /** `<prefix>/<name>` */
  fullName: string;
  deviceType: DeviceType;
  excludeTopology: boolean;
  selectors: Selector[];
  /** pci address or "*" → extra key/values in the `_INFO` env */
  additionalInfo: Record<string, Record<string, string>>;
  healthCheck: HealthCheck;
  allocationPolicy: AllocationPolicy;
}

export interface PluginConfig {
  resources: ResourceConfig[];
}

/** how much of a value a message quotes */
const QUOTE_MAX = 60;

/** a value as a message quotes it: its JSON, at most QUOTE_MAX characters of a long string, with its length */
export function quote(v: unknown): string {
  if (typeof v === 'string' && v.length > QUOTE_MAX) return `${JSON.stringify(v.slice(0, QUOTE_MAX))}… (${v.length} characters)`;
  const text = JSON.stringify(v) ?? String(v);
  return text.length > QUOTE_MAX + 20 ? `${text.slice(0, QUOTE_MAX)}… (${text.length} characters)` : text;
}

export class ConfigError extends Error {
  readonly resource: string | null;
  readonly field: string;
  readonly source: string | null;
  constructor(resource: string | null, field: string, problem: string, source: string | null = null) {
    const where = resource ? `resource ${quote(resource)} field ${quote(field)}` : `field ${quote(field)}`;
    super(`invalid device plugin config${source ? ` ${source}` : ''}: ${where}: ${problem}`);
    this.name = 'ConfigError';
    this.resource = resource;
    this.field = field;
    this.source = source;
  }
}

export interface ParseConfigOptions {
  /** prefix for resources that do not set one (upstream `--resource-prefix`, default intel.com) */
  defaultPrefix?: string;
  defaultHealthCheck?: HealthCheck;
  defaultAllocationPolicy?: AllocationPolicy;
  /** file name for messages */
  source?: string;
}

const NAME_RE = /^[a-zA-Z0-9_-]+$/;
const PREFIX_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const HEX4_RE = /^[0-9a-fA-F]{4}$/;
const PCI_RE = /^[0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[0-1][0-9a-fA-F]\.[0-7]$/;
const MAX_VF_INDEX = 4095;

const RESOURCE_KEYS = new Set([
  'resourceName',
  'resourcePrefix',
  'deviceType',
  'excludeTopology',
  'selectors',
  'additionalInfo',
  'healthCheck',
  'allocationPolicy',
]);
const SELECTOR_KEYS: Record<DeviceType, ReadonlySet<string>> = {
  netDevice: new Set([
    'vendors',
    'devices',
    'drivers',
    'pciAddresses',
    'acpiIndexes',
    'pfNames',
    'rootDevices',
    'linkTypes',
    'ddpProfiles',
    'isRdma',
    'needVhostNet',
    'vdpaType',
  ]),
  accelerator: new Set(['vendors', 'devices', 'drivers', 'pciAddresses']),
  auxNetDevice: new Set(['vendors', 'devices', 'drivers', 'pfNames', 'rootDevices', 'linkTypes', 'isRdma', 'auxTypes']),
};

/** Parses `0,2-7,9` (0-based, inclusive). Returns an error text instead of throwing. */
export function parseVfRange(s: string): Set<number> | string {
  if (s.trim() === '') return 'empty VF range';
  const out = new Set<number>();
  for (const part of s.split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!m) return `malformed VF range ${quote(s)} (expected e.g. 0-3 or 0,2-7,9)`;
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a) return `malformed VF range ${quote(s)}: ${a}-${b} runs backwards`;
    if (b > MAX_VF_INDEX) return `VF index ${b} in ${quote(s)} is above ${MAX_VF_INDEX}`;
    for (let i = a; i <= b; i++) out.add(i);
  }
  return out;
}

/** `ens1f0#0-3` → {ref: 'ens1f0', vfs: {0,1,2,3}} */
export function parseVfRangeRef(s: string): VfRangeRef | string {
  const i = s.indexOf('#');
  if (i < 0) return { ref: s, text: s };
  const ref = s.slice(0, i);
  if (!ref) return `${quote(s)} has a VF range but no name before "#"`;
  const r = parseVfRange(s.slice(i + 1));
  if (typeof r === 'string') return r;
  return { ref, vfs: r, text: s };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Validates a parsed config.json; throws ConfigError naming the resource and field. */
export function parseConfig(raw: unknown, opts: ParseConfigOptions = {}): PluginConfig {
  const src = opts.source ?? null;
  const defaultPrefix = opts.defaultPrefix ?? 'intel.com';
  if (!isObject(raw)) throw new ConfigError(null, '(root)', 'expected a JSON object with "resourceList"', src);
  for (const k of Object.keys(raw)) {
    if (k !== 'resourceList') throw new ConfigError(null, k, 'unknown key (the top level holds only "resourceList")', src);
  }
  const list = raw.resourceList;
  if (!Array.isArray(list)) throw new ConfigError(null, 'resourceList', 'required, and must be a list of resources', src);
  const seen = new Map<string, number>();
  const resources: ResourceConfig[] = [];
  list.forEach((r, idx) => {
    const label = isObject(r) && typeof r.resourceName === 'string' ? r.resourceName : `resourceList[${idx}]`;
    const fail = (field: string, problem: string): never => {
      throw new ConfigError(label, field, problem, src);
    };
    if (!isObject(r)) fail('(resource)', 'expected an object');
    const res = r as Record<string, unknown>;
    for (const k of Object.keys(res)) if (!RESOURCE_KEYS.has(k)) fail(k, `unknown key (allowed: ${[...RESOURCE_KEYS].join(', ')})`);
    if (typeof res.resourceName !== 'string' || res.resourceName === '') fail('resourceName', 'required, a non-empty string');
    const name = res.resourceName as string;
    if (!NAME_RE.test(name)) fail('resourceName', `${quote(name)} is invalid: use only letters, digits, "_" and "-"`);
    let prefix = defaultPrefix;
    if (res.resourcePrefix !== undefined) {
      if (typeof res.resourcePrefix !== 'string' || !PREFIX_RE.test(res.resourcePrefix)) {
        fail('resourcePrefix', `${quote(res.resourcePrefix)} is not a DNS domain (e.g. "intel.com")`);
      }
      prefix = res.resourcePrefix as string;
    }
    if (prefix === 'kubernetes.io' || prefix.endsWith('.kubernetes.io')) fail('resourcePrefix', `the ${quote(prefix)} domain is reserved`);
    const fullName = `${prefix}/${name}`;
    if (fullName.length - prefix.length - 1 > 63) fail('resourceName', 'longer than 63 characters');
    const prev = seen.get(fullName);
    if (prev !== undefined) fail('resourceName', `duplicate: ${quote(fullName)} is also resourceList[${prev}]`);
    seen.set(fullName, idx);

    let deviceType: DeviceType = 'netDevice';
    if (res.deviceType !== undefined) {
      if (res.deviceType !== 'netDevice' && res.deviceType !== 'accelerator' && res.deviceType !== 'auxNetDevice') {
        fail('deviceType', `${quote(res.deviceType)} is not one of netDevice, accelerator, auxNetDevice`);
      }
      deviceType = res.deviceType as DeviceType;
    }
    if (res.excludeTopology !== undefined && typeof res.excludeTopology !== 'boolean') fail('excludeTopology', 'must be true or false');

    let rawSelectors: unknown[];
    if (res.selectors === undefined) rawSelectors = [{}];
    else if (Array.isArray(res.selectors)) rawSelectors = res.selectors;
    else if (isObject(res.selectors)) rawSelectors = [res.selectors];
    else rawSelectors = fail('selectors', 'must be an object or a list of objects');
    const selectors = rawSelectors.map((s, i) => parseSelector(s, deviceType, rawSelectors.length > 1 || Array.isArray(res.selectors) ? `selectors[${i}]` : 'selectors', fail));

    const additionalInfo: Record<string, Record<string, string>> = {};
    if (res.additionalInfo !== undefined) {
      if (!isObject(res.additionalInfo)) fail('additionalInfo', 'must be an object keyed by PCI address or "*"');
      for (const [k, v] of Object.entries(res.additionalInfo as Record<string, unknown>)) {
        if (k !== '*' && !PCI_RE.test(k)) fail(`additionalInfo.${k}`, 'key must be a PCI address (0000:03:02.1) or "*"');
        if (!isObject(v)) fail(`additionalInfo.${k}`, 'must be an object of strings');
        const inner: Record<string, string> = {};
        for (const [ik, iv] of Object.entries(v as Record<string, unknown>)) {
          if (typeof iv !== 'string') fail(`additionalInfo.${k}.${ik}`, 'must be a string');
          inner[ik] = iv as string;
        }
        additionalInfo[k.toLowerCase()] = inner;
      }
    }
    let healthCheck: HealthCheck = opts.defaultHealthCheck ?? 'auto';
    if (res.healthCheck !== undefined) {
      if (!['auto', 'link', 'operstate', 'none'].includes(res.healthCheck as string)) fail('healthCheck', 'must be one of auto, link, operstate, none');
      healthCheck = res.healthCheck as HealthCheck;
    }
    let allocationPolicy: AllocationPolicy = opts.defaultAllocationPolicy ?? 'spread';
    if (res.allocationPolicy !== undefined) {
      if (res.allocationPolicy !== 'spread' && res.allocationPolicy !== 'packed') fail('allocationPolicy', 'must be "spread" or "packed"');
      allocationPolicy = res.allocationPolicy as AllocationPolicy;
    }
    resources.push({
      resourceName: name,
      resourcePrefix: prefix,
      fullName,
      deviceType,
      excludeTopology: res.excludeTopology === true,
      selectors,
      additionalInfo,
      healthCheck,
      allocationPolicy,
    });
  });
  return { resources };
}

function parseSelector(raw: unknown, deviceType: DeviceType, at: string, fail: (field: string, problem: string) => never): Selector {
  if (!isObject(raw)) return fail(at, 'a selector must be an object');
  const allowed = SELECTOR_KEYS[deviceType];
  const sel: Selector = {};
  const strings = (k: string, check?: (s: string) => string | null): string[] => {
    const v = raw[k];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) return fail(`${at}.${k}`, 'must be a list of strings');
    for (const s of v as string[]) {
      const problem = check?.(s);
      if (problem) fail(`${at}.${k}`, problem);
    }
    return v as string[];
  };
  for (const k of Object.keys(raw)) {
    if (!allowed.has(k)) {
      const known = Object.values(SELECTOR_KEYS).some((set) => set.has(k));
      fail(`${at}.${k}`, known ? `not a selector of deviceType ${deviceType}` : `unknown selector (allowed: ${[...allowed].join(', ')})`);
    }
    switch (k) {
      case 'vendors':
      case 'devices':
        sel[k] = strings(k, (s) => (HEX4_RE.test(s) ? null : `${quote(s)} is not 4 hex digits (e.g. "8086")`)).map((s) => s.toLowerCase());
        break;
      case 'drivers':
      case 'linkTypes':
      case 'ddpProfiles':
      case 'auxTypes':
        sel[k] = strings(k, (s) => (s.trim() ? null : 'empty string'));
        break;
      case 'pciAddresses':
        sel.pciAddresses = strings(k, (s) => (PCI_RE.test(s) ? null : `${quote(s)} is not a PCI address (e.g. "0000:03:02.1")`)).map((s) => s.toLowerCase());
        break;
      case 'acpiIndexes':
        sel.acpiIndexes = strings(k, (s) => (/^\d+$/.test(s) ? null : `${quote(s)} is not a number`));
        break;
      case 'pfNames':
      case 'rootDevices': {
        const refs = strings(k).map((s) => {
          const r = parseVfRangeRef(s);
          if (typeof r === 'string') return fail(`${at}.${k}`, r);
          if (k === 'rootDevices' && !PCI_RE.test(r.ref)) return fail(`${at}.${k}`, `${quote(r.ref)} is not a PCI address (e.g. "0000:86:00.0#0-3")`);
          if (k === 'pfNames' && !r.ref.trim()) return fail(`${at}.${k}`, 'empty name');
          return k === 'rootDevices' ? { ...r, ref: r.ref.toLowerCase() } : r;
        });
        sel[k] = refs;
        break;
      }
      case 'isRdma':
      case 'needVhostNet':
        if (typeof raw[k] !== 'boolean') fail(`${at}.${k}`, 'must be true or false');
        sel[k] = raw[k] as boolean;
        break;
      case 'vdpaType':
        if (typeof raw[k] !== 'string') fail(`${at}.${k}`, 'must be a string');
        sel.vdpaType = raw[k] as string;
        break;
    }
  }
  return sel;
}

/** Reads and validates a config file; messages name the file, resource and field. */
export async function loadConfigFile(path: string, opts: Omit<ParseConfigOptions, 'source'> = {}): Promise<PluginConfig> {
  const { readFile } = await import('node:fs/promises');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new ConfigError(null, '(file)', `cannot read: ${(e as Error).message}`, path);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(null, '(file)', `not valid JSON: ${(e as Error).message}`, path);
  }
  return parseConfig(raw, { ...opts, source: path });
}

// VF device IDs of the NICs in docs/reference/nic-ids.md#pci-ids-and-drivers (so PFs without VFs stay out of the VF resources)
const VF_DEVICE_IDS = ['10ca', '1520', '10ed', '154c', '1889', '1018', '101c'];

/**
 * The config sriov-lab ships and uses when none is given: VFs on a kernel VF driver, VFs on vfio-pci, and virtio-net
 * NICs, so a VF moved between drivers moves between the two SR-IOV resources.
 */
export const defaultConfigJson = {
  resourceList: [
    {
      resourceName: 'sriov_netdevice',
      resourcePrefix: 'intel.com',
      selectors: { vendors: ['8086', '15b3'], devices: VF_DEVICE_IDS, drivers: ['igbvf', 'ixgbevf', 'iavf', 'mlx5_core'] },
    },
    {
      resourceName: 'sriov_dpdk',
      resourcePrefix: 'intel.com',
      selectors: { vendors: ['8086', '15b3'], devices: VF_DEVICE_IDS, drivers: ['vfio-pci'] },
    },
    {
      resourceName: 'virt',
      resourcePrefix: 'kernel.org',
      selectors: { vendors: ['1af4'], drivers: ['virtio-pci'] },
    },
  ],
};
