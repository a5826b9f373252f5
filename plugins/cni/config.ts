// The runtime's input (CNI_* environment + network configuration on stdin), validated before anything is touched,
// with messages that say which field is wrong and what would be accepted.
import { CNI_CODES, CniError } from './errors.ts';
import { requireSupportedVersion, versionAllows, type CniVersion, parseResult, type CniResult } from './version.ts';

export const COMMANDS = ['ADD', 'DEL', 'CHECK', 'VERSION', 'STATUS', 'GC'] as const;
export type CniCommand = (typeof COMMANDS)[number];

export interface CniEnv {
  command: CniCommand;
  containerId: string;
  netns: string;
  ifname: string;
  /** CNI_ARGS as key/value pairs */
  args: Record<string, string>;
  argsRaw: string;
  path: string[];
}

export type SriovMode = 'sriov' | 'host-device';

export interface VfSettings {
  vlan?: number;
  vlanQoS?: number;
  vlanProto?: '802.1Q' | '802.1ad';
  /** admin MAC of the VF as set on the PF */
  mac?: string;
  spoofchk?: boolean;
  trust?: boolean;
  linkState?: 'auto' | 'enable' | 'disable';
  minTxRate?: number;
  maxTxRate?: number;
}

export interface IpamConf {
  type: string;
  [k: string]: unknown;
}

export interface NetConf {
  cniVersion: CniVersion;
  name: string;
  type: string;
  mode: SriovMode;
  /** sriov: the VF; host-device: the device's PCI address when selected that way */
  pciAddr?: string;
  /** host-device: select by netdev name */
  device?: string;
  /** host-device: select by MAC */
  hwaddr?: string;
  /** VF settings (sriov mode) */
  vf: VfSettings;
  /** MAC for the pod interface after precedence (runtimeConfig.mac > CNI_ARGS MAC > mac) */
  mac?: string;
  mtu?: number;
  ipam?: IpamConf;
  logLevel: LogLevel;
  logFile?: string;
  prevResult?: CniResult;
  /** GC: attachments the runtime still uses */
  validAttachments?: Array<{ containerID: string; ifname: string }>;
  /** the configuration exactly as received, for delegates */
  raw: Record<string, unknown>;
}

export type LogLevel = 'panic' | 'error' | 'warning' | 'info' | 'debug';
const LOG_LEVELS: readonly LogLevel[] = ['panic', 'error', 'warning', 'info', 'debug'];

const SRIOV_TYPES = ['sriov'];
const HOST_DEVICE_TYPES = ['ehost-device', 'host-device'];

const PCI_RE = /^(?:([0-9a-fA-F]{4}):)?([0-9a-fA-F]{2}):([0-9a-fA-F]{2})\.([0-7])$/;
const MAC_RE = /^[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5}$/;
const IFNAME_MAX = 15;

/** "0000:01:10.0"; accepts the short "01:10.0" form */
export function normalizePciAddr(v: string): string | null {
  const m = PCI_RE.exec(v.trim());
  if (!m) return null;
  return `${(m[1] ?? '0000').toLowerCase()}:${m[2].toLowerCase()}:${m[3].toLowerCase()}.${m[4]}`;
}

export function normalizeMac(v: string): string | null {
  return MAC_RE.test(v) ? v.toLowerCase() : null;
}

function invalid(field: string, msg: string): CniError {
  return new CniError(CNI_CODES.invalidConfig, `invalid network configuration: "${field}" ${msg}`);
}

export function validIfname(name: string): string | null {
  if (name === '') return 'is empty';
  if (name.length > IFNAME_MAX) return `is longer than ${IFNAME_MAX} characters`;
  if (name === '.' || name === '..') return 'may not be "." or ".."';
  if (/[/:\s]/.test(name)) return 'may not contain "/", ":" or whitespace';
  return null;
}

/** Reads CNI_* from the environment; which ones are required depends on the command (spec §"Parameters"). */
export function parseEnv(env: NodeJS.ProcessEnv): CniEnv {
  const command = env.CNI_COMMAND ?? '';
  if (!(COMMANDS as readonly string[]).includes(command)) {
    throw new CniError(CNI_CODES.invalidEnv, command ? `unknown CNI_COMMAND "${command}"` : 'CNI_COMMAND is not set', `expected one of ${COMMANDS.join(', ')}`);
  }
  const cmd = command as CniCommand;
  const need = (name: string, when: boolean) => {
    const v = env[name] ?? '';
    if (when && v === '') throw new CniError(CNI_CODES.invalidEnv, `${name} is required for ${cmd}`);
    return v;
  };
  const attach = cmd === 'ADD' || cmd === 'DEL' || cmd === 'CHECK';
  const containerId = need('CNI_CONTAINERID', attach);
  if (containerId && !/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(containerId)) {
    throw new CniError(CNI_CODES.invalidEnv, `CNI_CONTAINERID "${containerId}" is not valid`, 'it must start with a letter or digit and contain only letters, digits, "_", "." and "-"');
  }
  const netns = need('CNI_NETNS', cmd === 'ADD' || cmd === 'CHECK');
  const ifname = need('CNI_IFNAME', attach);
  if (ifname) {
    const why = validIfname(ifname);
    if (why) throw new CniError(CNI_CODES.invalidEnv, `CNI_IFNAME "${ifname}" ${why}`);
  }
  const argsRaw = env.CNI_ARGS ?? '';
  const args: Record<string, string> = {};
  for (const kv of argsRaw.split(';')) {
    if (!kv) continue;
    const i = kv.indexOf('=');
    if (i <= 0) throw new CniError(CNI_CODES.invalidEnv, `CNI_ARGS entry "${kv}" is not KEY=VALUE`);
    args[kv.slice(0, i)] = kv.slice(i + 1);
  }
  const path = (env.CNI_PATH ?? '').split(':').filter(Boolean);
  return { command: cmd, containerId, netns, ifname, args, argsRaw, path };
}

function optInt(raw: Record<string, unknown>, key: string, min: number, max: number): number | undefined {
  const v = raw[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw invalid(key, `must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
  return v;
}

function optOnOff(raw: Record<string, unknown>, key: string): boolean | undefined {
  const v = raw[key];
  if (v === undefined || v === null || v === '') return undefined;
  if (v === 'on' || v === true) return true;
  if (v === 'off' || v === false) return false;
  throw invalid(key, `must be "on" or "off", got ${JSON.stringify(v)}`);
}

function optString(raw: Record<string, unknown>, key: string): string | undefined {
  const v = raw[key];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw invalid(key, `must be a string, got ${JSON.stringify(v)}`);
  return v;
}

/** Fields each mode accepts beyond the common ones; anything else that is clearly for the other mode is code 2. */
const SRIOV_ONLY = ['vlan', 'vlanQoS', 'vlanProto', 'spoofchk', 'trust', 'link_state', 'min_tx_rate', 'max_tx_rate'];
const HOST_DEVICE_ONLY = ['device', 'hwaddr', 'kernelpath'];

export function parseNetConf(stdin: string, env: CniEnv): NetConf {
  let raw: unknown;
  try {
    raw = JSON.parse(stdin);
  } catch (e) {
    throw new CniError(CNI_CODES.decode, 'cannot decode the network configuration on stdin', (e as Error).message);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new CniError(CNI_CODES.decode, 'the network configuration on stdin is not a JSON object');
  const r = raw as Record<string, unknown>;
  const cniVersion = requireSupportedVersion(r.cniVersion);
  if (!versionAllows(cniVersion, env.command)) {
    throw new CniError(CNI_CODES.incompatibleVersion, `${env.command} is not defined for cniVersion ${cniVersion}`, env.command === 'CHECK' ? 'CHECK needs cniVersion 0.4.0 or later' : `${env.command} needs cniVersion 1.1.0`);
  }
  const name = optString(r, 'name');
  if (!name) throw invalid('name', 'is required: the network name');
  const type = optString(r, 'type');
  if (!type) throw invalid('type', 'is required');
  let mode: SriovMode;
  if (SRIOV_TYPES.includes(type)) mode = 'sriov';
  else if (HOST_DEVICE_TYPES.includes(type)) mode = 'host-device';
  else throw invalid('type', `"${type}" is not handled by this plugin: use "sriov", "ehost-device" or "host-device"`);

  const logLevel = (optString(r, 'logLevel') ?? 'info') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) throw invalid('logLevel', `must be one of ${LOG_LEVELS.join(', ')}`);
  const conf: NetConf = { cniVersion, name, type, mode, vf: {}, logLevel, logFile: optString(r, 'logFile'), raw: r };

  const runtime = (typeof r.runtimeConfig === 'object' && r.runtimeConfig !== null ? r.runtimeConfig : {}) as Record<string, unknown>;
  // Multus injects both deviceID and pciBusID
  const pciRaw = optString(r, 'deviceID') ?? optString(r, 'pciBusID') ?? optString(runtime, 'deviceID');
  for (const k of ['deviceID', 'pciBusID'] as const) {
    const v = optString(r, k);
    if (v !== undefined && normalizePciAddr(v) === null) throw invalid(k, `"${v}" is not a PCI address like 0000:01:10.0`);
  }
  if (pciRaw !== undefined) {
    const p = normalizePciAddr(pciRaw);
    if (!p) throw invalid('deviceID', `"${pciRaw}" is not a PCI address like 0000:01:10.0`);
    conf.pciAddr = p;
    const other = optString(r, 'pciBusID');
    if (optString(r, 'deviceID') && other && normalizePciAddr(other) !== p) throw invalid('pciBusID', `"${other}" differs from "deviceID" "${pciRaw}": give one device`);
  }

  // MAC precedence: runtimeConfig.mac > CNI_ARGS MAC > mac
  const macSources: Array<[string, unknown]> = [
    ['runtimeConfig.mac', runtime.mac],
    ['CNI_ARGS MAC', env.args.MAC],
    ['mac', r.mac],
  ];
  for (const [field, v] of macSources) {
    if (v === undefined || v === null || v === '') continue;
    const m = typeof v === 'string' ? normalizeMac(v) : null;
    if (!m) throw invalid(field, `${JSON.stringify(v)} is not a MAC address like 02:00:00:00:00:01`);
    if (parseInt(m.slice(0, 2), 16) & 1) throw invalid(field, `${m} is a multicast address; use a unicast MAC (even first octet)`);
    conf.mac ??= m;
  }
  conf.mtu = optInt(r, 'mtu', 68, 65535);

  if (mode === 'sriov') {
    for (const k of HOST_DEVICE_ONLY) if (r[k] !== undefined) throw new CniError(CNI_CODES.unsupportedField, `"${k}" is a host-device field; type "sriov" selects its VF by "deviceID"`);
    if (!conf.pciAddr) {
      throw invalid('deviceID', 'is required: the VF PCI address (Multus injects it from the NetworkAttachmentDefinition\'s k8s.v1.cni.cncf.io/resourceName; check that annotation)');
    }
    const vf = conf.vf;
    vf.vlan = optInt(r, 'vlan', 0, 4094) ?? 0;
    vf.vlanQoS = optInt(r, 'vlanQoS', 0, 7);
    const proto = optString(r, 'vlanProto');
    if (proto !== undefined) {
      const p = proto.toLowerCase();
      if (p !== '802.1q' && p !== '802.1ad') throw invalid('vlanProto', `must be "802.1q" or "802.1ad", got "${proto}"`);
      vf.vlanProto = p === '802.1q' ? '802.1Q' : '802.1ad';
    }
    if (vf.vlan === 0 && (vf.vlanQoS ?? 0) !== 0) throw invalid('vlanQoS', 'needs a non-zero "vlan": a QoS priority is carried in a VLAN tag');
    if (vf.vlan === 0 && vf.vlanProto === '802.1ad') throw invalid('vlanProto', '"802.1ad" needs a non-zero "vlan"');
    vf.spoofchk = optOnOff(r, 'spoofchk');
    vf.trust = optOnOff(r, 'trust');
    const ls = optString(r, 'link_state');
    if (ls !== undefined) {
      if (ls !== 'auto' && ls !== 'enable' && ls !== 'disable') throw invalid('link_state', `must be "auto", "enable" or "disable", got "${ls}"`);
      vf.linkState = ls;
    }
    vf.minTxRate = optInt(r, 'min_tx_rate', 0, 1_000_000);
    vf.maxTxRate = optInt(r, 'max_tx_rate', 0, 1_000_000);
    if (vf.minTxRate !== undefined && vf.maxTxRate !== undefined && vf.maxTxRate !== 0 && vf.minTxRate > vf.maxTxRate) {
      throw invalid('min_tx_rate', `(${vf.minTxRate} Mbps) is above "max_tx_rate" (${vf.maxTxRate} Mbps)`);
    }
    if (conf.mac) vf.mac = conf.mac;
  } else {
    for (const k of SRIOV_ONLY) if (r[k] !== undefined) throw new CniError(CNI_CODES.unsupportedField, `"${k}" is an SR-IOV VF setting; use type "sriov" to configure VFs`);
    if (r.kernelpath !== undefined) throw new CniError(CNI_CODES.unsupportedField, '"kernelpath" is not supported; select the device by "deviceID"/"pciBusID", "device" or "hwaddr"');
    conf.device = optString(r, 'device');
    if (conf.device !== undefined) {
      const why = validIfname(conf.device);
      if (why) throw invalid('device', why);
    }
    const hw = optString(r, 'hwaddr');
    if (hw !== undefined) {
      conf.hwaddr = normalizeMac(hw) ?? undefined;
      if (!conf.hwaddr) throw invalid('hwaddr', `"${hw}" is not a MAC address`);
    }
    const chosen = [conf.pciAddr && 'deviceID/pciBusID', conf.device && 'device', conf.hwaddr && 'hwaddr'].filter(Boolean);
    if (chosen.length === 0 && (env.command === 'ADD' || env.command === 'CHECK')) {
      throw invalid('device', 'none of "device", "hwaddr", "pciBusID" or "deviceID" is set: name the host device to move into the pod');
    }
    if (chosen.length > 1) throw invalid(String(chosen[1]), `conflicts with ${chosen[0]}: select the device one way only`);
  }

  if (r.ipam !== undefined && r.ipam !== null) {
    const ipam = r.ipam as Record<string, unknown>;
    if (typeof ipam !== 'object' || Array.isArray(ipam)) throw invalid('ipam', 'must be an object');
    if (Object.keys(ipam).length > 0) {
      if (typeof ipam.type !== 'string' || !ipam.type || /[/\0]/.test(ipam.type)) throw invalid('ipam.type', 'must name an IPAM plugin in CNI_PATH, e.g. "host-local"');
      conf.ipam = ipam as IpamConf;
    }
  }
  if (r.prevResult !== undefined && r.prevResult !== null) conf.prevResult = parseResult(r.prevResult, 'prevResult');
  if (env.command === 'GC') {
    const va = r['cni.dev/valid-attachments'];
    if (va !== undefined && !Array.isArray(va)) throw invalid('cni.dev/valid-attachments', 'must be a list of {containerID, ifname}');
    conf.validAttachments = ((va ?? []) as Array<Record<string, unknown>>).map((a) => ({ containerID: String(a.containerID ?? ''), ifname: String(a.ifname ?? '') }));
  }
  return conf;
}
