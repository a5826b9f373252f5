// VF netlink as iproute2 6.1 speaks it: parsing `ip link set DEV vf N …` the way iplink.c does (same
// messages, same exit codes) and rendering VF info the way ipaddress.c print_vfinfo does (text and JSON).
// This kernel has no SR-IOV, so the simulated node answers these itself; fidelity to the real tool is the point.
// Pure functions only: no I/O, so the ip wrapper and the tests share them.
import type { VfAttrs, VfAttrsPatch, VfLinkState, VlanProto } from '../kernel/types.ts';

/** A command line iproute2 rejects before talking to the kernel: what it prints to stderr and its exit status. */
export class IpCliError extends Error {
  /** exact stderr text, newlines included */
  readonly stderr: string;
  readonly exitCode: number;
  constructor(stderr: string, exitCode: number) {
    super(stderr.trimEnd());
    this.name = 'IpCliError';
    this.stderr = stderr;
    this.exitCode = exitCode;
  }
}

// iproute2's helpers: invarg() and incomplete_command() exit(-1) (status 255); the caller-side parse failures
// (bad lladdr, bad on/off, bad min/max rate) return -1 up to main, which exits 1.
const invarg = (msg: string, arg: string): IpCliError => new IpCliError(`Error: argument "${arg}" is wrong: ${msg}\n`, 255);
const incomplete = (): IpCliError => new IpCliError('Command line is not complete. Try option "help"\n', 255);

/** iproute2's matches(): true when `prefix` is a (possibly empty) prefix of `word`. */
export function matches(prefix: string, word: string): boolean {
  return word.startsWith(prefix);
}

const isSpace = (c: string): boolean => c === ' ' || (c >= '\t' && c <= '\r');

/** strtoul/strtol with base 0 over the whole string; null when C would leave trailing garbage or read nothing. */
function strtoBase0(arg: string): { negative: boolean; magnitude: bigint } | null {
  let i = 0;
  while (i < arg.length && isSpace(arg[i])) i++;
  let negative = false;
  if (arg[i] === '+' || arg[i] === '-') {
    negative = arg[i] === '-';
    i++;
  }
  let base = 10;
  if (arg[i] === '0' && (arg[i + 1] === 'x' || arg[i + 1] === 'X') && /[0-9a-fA-F]/.test(arg[i + 2] ?? '')) {
    base = 16;
    i += 2;
  } else if (arg[i] === '0') {
    base = 8;
  }
  const digits = arg.slice(i);
  const re = base === 16 ? /^[0-9a-fA-F]+$/ : base === 8 ? /^[0-7]+$/ : /^[0-9]+$/;
  if (!re.test(digits)) return null;
  const magnitude = digits.split('').reduce((acc, d) => acc * BigInt(base) + BigInt(parseInt(d, base)), 0n);
  return { negative, magnitude };
}

const ULONG_MAX = 2n ** 64n - 1n;
const UINT_MAX = 2n ** 32n - 1n;

/** get_unsigned(): strtoul base 0, rejecting garbage, overflow and anything above UINT_MAX (so "-1" fails). */
export function getUnsigned(arg: string): number | null {
  const r = strtoBase0(arg);
  if (!r) return null;
  if (r.magnitude > ULONG_MAX) return null;
  const v = r.negative && r.magnitude !== 0n ? 2n ** 64n - r.magnitude : r.magnitude;
  return v > UINT_MAX ? null : Number(v);
}

/** get_integer(): strtol base 0 within INT_MIN..INT_MAX. */
export function getInteger(arg: string): number | null {
  const r = strtoBase0(arg);
  if (!r) return null;
  const v = r.negative ? -r.magnitude : r.magnitude;
  return v > 2147483647n || v < -2147483648n ? null : Number(v);
}

// ETH_P_* names iproute2 6.1 knows (lib/ll_proto.c), compared case-insensitively. Only 802.1Q and 802.1ad are
// valid for a VF VLAN; the others matter for which error is printed.
const LL_PROTO_NAMES: ReadonlyArray<[string, number]> = [
  ['loop', 0x0060], ['pup', 0x0200], ['pupat', 0x0201], ['ip', 0x0800], ['x25', 0x0805], ['arp', 0x0806],
  ['bpq', 0x08ff], ['ieeepup', 0x0a00], ['ieeepupat', 0x0a01], ['dec', 0x6000], ['dna_dl', 0x6001],
  ['dna_rc', 0x6002], ['dna_rt', 0x6003], ['lat', 0x6004], ['diag', 0x6005], ['cust', 0x6006], ['sca', 0x6007],
  ['rarp', 0x8035], ['atalk', 0x809b], ['aarp', 0x80f3], ['ipx', 0x8137], ['ipv6', 0x86dd], ['ppp_disc', 0x8863],
  ['ppp_ses', 0x8864], ['atmmpoa', 0x884c], ['atmfate', 0x8884], ['802_3', 0x0001], ['ax25', 0x0002],
  ['all', 0x0003], ['802_2', 0x0004], ['snap', 0x0005], ['ddcmp', 0x0006], ['wan_ppp', 0x0007], ['ppp_mp', 0x0008],
  ['localtalk', 0x0009], ['can', 0x000c], ['ppptalk', 0x0010], ['tr_802_2', 0x0011], ['mobitex', 0x0015],
  ['control', 0x0016], ['irda', 0x0017], ['econet', 0x0018], ['tipc', 0x88ca], ['aoe', 0x88a2],
  ['802.1Q', 0x8100], ['802.1ad', 0x88a8], ['mpls_uc', 0x8847], ['mpls_mc', 0x8848], ['teb', 0x6558],
  ['LLDP', 0x88cc], ['ipv4', 0x0800],
];
const ETH_P_8021Q = 0x8100;
const ETH_P_8021AD = 0x88a8;

function llProtoA2n(arg: string): number | null {
  const lower = arg.toLowerCase();
  const named = LL_PROTO_NAMES.find(([n]) => n.toLowerCase() === lower);
  if (named) return named[1];
  const v = getUnsigned(arg);
  return v === null || v > 0xffff ? null : v;
}

/** ll_addr_a2n() for an Ethernet address; returns the bytes or the error iproute2 prints (exit 1). */
function parseLladdr(arg: string, addrLen: number): number[] | IpCliError {
  const bad = (part: string): IpCliError => new IpCliError(`"${part}" is invalid lladdr.\n`, 1);
  if (arg.includes('.')) {
    // an IPv4-looking lladdr: 4 bytes, which never fits an Ethernet VF
    const parts = arg.split('.');
    if (parts.length !== 4 || parts.some((p) => getUnsigned(p) === null || (getUnsigned(p) as number) > 255)) return bad(arg);
    return lengthCheck(parts.map((p) => getUnsigned(p) as number), addrLen);
  }
  const bytes: number[] = [];
  let rest: string | null = arg;
  while (rest !== null && bytes.length < 32) {
    const colon: number = rest.indexOf(':');
    const part: string = colon >= 0 ? rest.slice(0, colon) : rest;
    rest = colon >= 0 ? rest.slice(colon + 1) : null;
    // sscanf("%x") reads a leading hex number and ignores what follows it
    const m = /^\s*[+-]?(?:0[xX])?([0-9a-fA-F]+)/.exec(part);
    if (!m) return bad(part);
    const v = parseInt(m[1], 16);
    if (/^\s*-/.test(part) || v > 255) return bad(part);
    bytes.push(v);
  }
  return lengthCheck(bytes, addrLen);
}

function lengthCheck(bytes: number[], addrLen: number): number[] | IpCliError {
  if (addrLen > 0 && bytes.length !== addrLen) {
    return new IpCliError(`Invalid address length ${bytes.length} - must be ${addrLen} bytes\n`, 1);
  }
  return bytes;
}

function parseOnOff(key: string, arg: string): boolean | IpCliError {
  if (arg === 'on') return true;
  if (arg === 'off') return false;
  return new IpCliError(`Error: argument of "${key}" must be one of "off", "on", not "${arg}"\n`, 1);
}

/**
 * One netlink attribute of IFLA_VF_INFO, in the order the kernel applies them (do_setvfinfo): mac, vlan,
 * legacy tx rate, min/max rate, spoofchk, link state, rss query, trust, node/port GUID. The kernel stops at the
 * first attribute that fails, leaving the earlier ones applied.
 */
export type VfOp =
  | { attr: 'mac'; mac: string }
  | { attr: 'vlan'; vlan: number; qos: number; vlanProto: VlanProto }
  | { attr: 'txRate'; maxTxRate: number }
  | { attr: 'rate'; minTxRate: number; maxTxRate: number }
  | { attr: 'spoofchk'; on: boolean }
  | { attr: 'linkState'; linkState: VfLinkState }
  | { attr: 'queryRss'; on: boolean }
  | { attr: 'trust'; on: boolean }
  | { attr: 'nodeGuid' | 'portGuid'; guid: string };

const KERNEL_ORDER: ReadonlyArray<VfOp['attr']> = ['mac', 'vlan', 'txRate', 'rate', 'spoofchk', 'linkState', 'queryRss', 'trust', 'nodeGuid', 'portGuid'];

/** The attributes sent for one `vf N …` group, sorted in kernel order (later duplicates win, as in nla_parse). */
export interface VfRequest {
  vf: number;
  ops: VfOp[];
}

export interface VfSetCommand {
  dev: string;
  vfs: VfRequest[];
  /** the other `ip link set` arguments (mtu, up, …), without `dev NAME` and without the vf groups */
  rest: string[];
}

export interface ParseVfOptions {
  /** hardware address length of the device (6 for Ethernet); 0 skips the check as iproute2 does for unknown devices */
  addrLen?: number;
  /**
   * the VF's current rates, as iproute2 fetches them (ipaddr_get_vf_rate) when only one of min/max is given;
   * undefined when the PF has no such VF
   */
  currentRates?: (vf: number) => { minTxRate: number; maxTxRate: number } | undefined;
}

// `ip link set` keywords that take one value, so a value that happens to read "vf" is not taken for a VF group.
const LINK_SET_ONE_ARG = new Set([
  'name', 'mtu', 'txqueuelen', 'txqlen', 'qlen', 'address', 'broadcast', 'brd', 'peer', 'netns', 'link-netns',
  'link-netnsid', 'master', 'group', 'mode', 'state', 'numtxqueues', 'numrxqueues', 'addrgenmode', 'alias',
  'index', 'xdp', 'xdpgeneric', 'xdpdrv', 'xdpoffload', 'gso_max_size', 'gso_max_segs', 'gro_max_size',
  'arp', 'multicast', 'allmulticast', 'promisc', 'trailers', 'dynamic', 'carrier', 'protodown', 'protodown_reason',
]);
const LINK_SET_NO_ARG = new Set(['up', 'down', 'nomaster', 'noxdp']);

/**
 * Parse the arguments of `ip link set` (what follows `set`) as iproute2 6.1 does when they contain `vf`.
 * Returns null when there is no VF group (not ours to handle), the command, or the IpCliError iproute2 prints.
 */
export function parseLinkSetVf(args: readonly string[], opts: ParseVfOptions = {}): VfSetCommand | IpCliError | null {
  const addrLen = opts.addrLen ?? 6;
  let dev: string | null = null;
  const vfs: VfRequest[] = [];
  const rest: string[] = [];
  let i = 0;
  let sawVf = false;
  while (i < args.length) {
    const a = args[i];
    if (a === 'vf') {
      sawVf = true;
      i++;
      if (i >= args.length) return incomplete();
      const vf = getInteger(args[i]);
      if (vf === null) return invarg('Invalid "vf" value\n', args[i]);
      if (dev === null) return new IpCliError('Error: argument "dev" is required\n', 255);
      const r = parseVfGroup(args, i, vf, addrLen, opts);
      if (r instanceof IpCliError) return r;
      vfs.push(r.request);
      i = r.next;
      continue;
    }
    if (a === 'type') {
      // everything after `type` belongs to the link kind
      rest.push(...args.slice(i));
      break;
    }
    if (LINK_SET_ONE_ARG.has(a)) {
      rest.push(...args.slice(i, i + 2));
      i += 2;
      continue;
    }
    if (dev !== null || LINK_SET_NO_ARG.has(a)) {
      // the rest goes to the real ip, which reports its own errors (a second device name is "a garbage")
      rest.push(a);
      i++;
      continue;
    }
    if (a === 'dev') {
      i++;
      if (i >= args.length) return incomplete();
    }
    dev = args[i];
    i++;
  }
  if (!sawVf) return null;
  if (dev === null) return new IpCliError('Error: argument "dev" is required\n', 255);
  return { dev, vfs, rest };
}

function parseVfGroup(
  args: readonly string[],
  vfIndex: number,
  vf: number,
  addrLen: number,
  opts: ParseVfOptions,
): { request: VfRequest; next: number } | IpCliError {
  // iplink_parse_vf first scans every remaining argument for the new rate API
  let newRateApi = false;
  let overrideLegacyRate = false;
  for (const a of args.slice(vfIndex + 1)) {
    if (matches(a, 'max_tx_rate')) {
      newRateApi = true;
      overrideLegacyRate = true;
    } else if (matches(a, 'min_tx_rate')) {
      newRateApi = true;
    }
  }
  const ops = new Map<VfOp['attr'], VfOp>();
  let minTx = -1;
  let maxTx = -1;
  // i is the last consumed argument (the VF number to start with)
  let i = vfIndex;
  const next = (): string | undefined => (i + 1 < args.length ? args[++i] : undefined);
  let consumed = 0;
  while (i + 1 < args.length) {
    const a = args[i + 1];
    let v: string | undefined;
    if (matches(a, 'mac')) {
      i++;
      if ((v = next()) === undefined) return incomplete();
      const bytes = parseLladdr(v, addrLen);
      if (bytes instanceof IpCliError) return bytes;
      ops.set('mac', { attr: 'mac', mac: bytes.map((b) => b.toString(16).padStart(2, '0')).join(':') });
    } else if (matches(a, 'vlan')) {
      i++;
      if ((v = next()) === undefined) return incomplete();
      const vlan = getUnsigned(v);
      if (vlan === null || vlan >= 4096) return invarg('Invalid "vlan" value\n', v);
      let qos = 0;
      let proto = ETH_P_8021Q;
      if (i + 1 < args.length && matches(args[i + 1], 'qos')) {
        i++;
        if ((v = next()) === undefined) return incomplete();
        const q = getUnsigned(v);
        if (q === null) return invarg('Invalid "qos" value\n', v);
        qos = q;
      }
      if (i + 1 < args.length && matches(args[i + 1], 'proto')) {
        i++;
        if ((v = next()) === undefined) return incomplete();
        const p = llProtoA2n(v);
        if (p === null) return invarg('protocol is invalid\n', v);
        if (p !== ETH_P_8021Q && p !== ETH_P_8021AD) {
          return invarg('Invalid "vlan protocol" value - supported 802.1Q, 802.1ad\n', v);
        }
        proto = p;
      }
      ops.set('vlan', { attr: 'vlan', vlan, qos, vlanProto: proto === ETH_P_8021AD ? '802.1ad' : '802.1Q' });
    } else if (matches(a, 'rate')) {
      i++;
      if ((v = next()) === undefined) return incomplete();
      const rate = getUnsigned(v);
      if (rate === null) return invarg('Invalid "rate" value\n', v);
      if (!newRateApi) ops.set('txRate', { attr: 'txRate', maxTxRate: rate });
      else if (!overrideLegacyRate) maxTx = rate;
    } else if (matches(a, 'max_tx_rate')) {
      i++;
      if ((v = next()) === undefined) return incomplete();
      const r = getUnsigned(v);
      if (r === null) return invarg('Invalid "max tx rate" value\n', v);
      maxTx = r;
    } else if (matches(a, 'min_tx_rate')) {
      i++;
      if ((v = next()) === undefined) return incomplete();
      const r = getUnsigned(v);
      if (r === null) return invarg('Invalid "min tx rate" value\n', v);
      minTx = r;
    } else if (matches(a, 'spoofchk') || matches(a, 'query_rss') || matches(a, 'trust')) {
      const key = matches(a, 'spoofchk') ? 'spoofchk' : matches(a, 'query_rss') ? 'query_rss' : 'trust';
      i++;
      if ((v = next()) === undefined) return incomplete();
      const on = parseOnOff(key, v);
      if (on instanceof IpCliError) return on;
      const attr = key === 'spoofchk' ? 'spoofchk' : key === 'trust' ? 'trust' : 'queryRss';
      ops.set(attr, { attr, on });
    } else if (matches(a, 'state')) {
      i++;
      if ((v = next()) === undefined) return incomplete();
      const state: VfLinkState | null = matches(v, 'auto') ? 'auto' : matches(v, 'enable') ? 'enable' : matches(v, 'disable') ? 'disable' : null;
      if (state === null) return invarg('Invalid "state" value\n', v);
      ops.set('linkState', { attr: 'linkState', linkState: state });
    } else if (matches(a, 'node_guid') || matches(a, 'port_guid')) {
      const attr = matches(a, 'node_guid') ? 'nodeGuid' : 'portGuid';
      i++;
      if ((v = next()) === undefined) return incomplete();
      if (!/^([0-9a-fA-F]{1,2}:){7}[0-9a-fA-F]{1,2}$/.test(v)) return invarg('Invalid GUID format\n', v);
      ops.set(attr, { attr, guid: v });
    } else {
      break;
    }
    consumed++;
  }
  if (newRateApi) {
    if (minTx === -1 || maxTx === -1) {
      const cur = opts.currentRates?.(vf);
      if (!cur) return new IpCliError(`Cannot find VF ${vf}\n`, 1);
      if (minTx === -1) minTx = cur.minTxRate;
      if (maxTx === -1) maxTx = cur.maxTxRate;
    }
    if (maxTx && minTx > maxTx) {
      return new IpCliError(`Invalid min_tx_rate ${minTx} - must be <= max_tx_rate ${maxTx}\n`, 1);
    }
    ops.set('rate', { attr: 'rate', minTxRate: minTx, maxTxRate: maxTx });
  }
  if (consumed === 0) return incomplete();
  const sorted = KERNEL_ORDER.flatMap((k) => (ops.has(k) ? [ops.get(k) as VfOp] : []));
  return { request: { vf, ops: sorted }, next: i + 1 };
}

/**
 * The model's view of one attribute: the VfAttrsPatch it changes, or null for attributes the simulated
 * Ethernet NICs do not implement (rss query, InfiniBand GUIDs), which the kernel answers with EOPNOTSUPP.
 */
export function vfOpToPatch(op: VfOp): VfAttrsPatch | null {
  switch (op.attr) {
    case 'mac':
      return { mac: op.mac };
    case 'vlan':
      return { vlan: op.vlan, qos: op.qos, vlanProto: op.vlanProto };
    case 'txRate':
      return { maxTxRate: op.maxTxRate };
    case 'rate':
      return { minTxRate: op.minTxRate, maxTxRate: op.maxTxRate };
    case 'spoofchk':
      return { spoofchk: op.on };
    case 'linkState':
      return { linkState: op.linkState };
    case 'trust':
      return { trust: op.on };
    case 'queryRss':
    case 'nodeGuid':
    case 'portGuid':
      return null;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Rendering (ipaddress.c print_vfinfo)

export interface VfView extends VfAttrs {
  index: number;
}

export interface VfRenderOptions {
  /** the PF's link type as `ip` names it (ll_type_n2a): "ether" for Ethernet */
  linkType?: string;
  broadcast?: string;
  /**
   * IFLA_VF_RSS_QUERY_EN as the driver reports it: null when the driver does not report it (igb, i40e, ice),
   * in which case iproute2 prints nothing; a boolean for drivers that do (ixgbe, mlx5)
   */
  queryRss?: boolean | null;
  /** `ip -s`: the VF's counters (IFLA_VF_STATS), which the simulated NICs keep at zero */
  stats?: boolean;
}

// print_num() without -h: the count left-aligned in `width` columns, then a space
const num = (width: number, n: number): string => `${String(n).padEnd(width)} `;

/**
 * One VF as `ip link show` prints it in text, without the separator before it. With `stats` the counters follow
 * on further lines, separated by "\n" (iproute2's _SL_; the caller swaps it for "\\" in oneline mode).
 */
export function renderVfText(vf: VfView, opts: VfRenderOptions = {}): string {
  const linkType = opts.linkType ?? 'ether';
  const brd = opts.broadcast ?? 'ff:ff:ff:ff:ff:ff';
  let s = `    vf ${vf.index}     link/${linkType} ${vf.mac.toLowerCase()} brd ${brd}`;
  if (vf.vlan) s += `, vlan ${vf.vlan}`;
  if (vf.qos) s += `, qos ${vf.qos}`;
  if (vf.vlanProto === '802.1ad') s += `, vlan protocol ${vf.vlanProto}`;
  // the kernel reports the legacy IFLA_VF_TX_RATE as the max rate
  if (vf.maxTxRate) s += `, tx rate ${vf.maxTxRate} (Mbps)`;
  if (vf.maxTxRate) s += `, max_tx_rate ${vf.maxTxRate}Mbps`;
  if (vf.minTxRate) s += `, min_tx_rate ${vf.minTxRate}Mbps`;
  s += vf.spoofchk ? ', spoof checking on' : ', spoof checking off';
  s += `, link-state ${vf.linkState}`;
  s += vf.trust ? ', trust on' : ', trust off';
  if (opts.queryRss !== undefined && opts.queryRss !== null) s += opts.queryRss ? ', query_rss on' : ', query_rss off';
  if (opts.stats) {
    s += '\n    RX: bytes  packets  mcast   bcast   dropped \n    ' + num(10, 0) + num(8, 0) + num(7, 0) + num(7, 0) + num(7, 0);
    s += '\n    TX: bytes  packets   dropped \n    ' + num(10, 0) + num(8, 0) + num(7, 0);
  }
  return s;
}

/** One `vfinfo_list` entry of `ip -j link show`, keys in iproute2's order. */
export function vfInfoJson(vf: VfView, opts: VfRenderOptions = {}): Record<string, unknown> {
  const vlanInfo: Record<string, unknown> = {};
  if (vf.vlan) vlanInfo.vlan = vf.vlan;
  if (vf.qos) vlanInfo.qos = vf.qos;
  if (vf.vlanProto === '802.1ad') vlanInfo.protocol = vf.vlanProto;
  const o: Record<string, unknown> = {
    vf: vf.index,
    link_type: opts.linkType ?? 'ether',
    address: vf.mac.toLowerCase(),
    broadcast: opts.broadcast ?? 'ff:ff:ff:ff:ff:ff',
    // the kernel always nests exactly one IFLA_VF_VLAN_INFO in IFLA_VF_VLAN_LIST
    vlan_list: [vlanInfo],
  };
  if (vf.maxTxRate) o.tx_rate = vf.maxTxRate;
  o.rate = { max_tx: vf.maxTxRate, min_tx: vf.minTxRate };
  o.spoofchk = vf.spoofchk;
  o.link_state = vf.linkState;
  o.trust = vf.trust;
  if (opts.queryRss !== undefined && opts.queryRss !== null) o.query_rss_en = opts.queryRss;
  if (opts.stats) {
    o.stats = { rx: { bytes: 0, packets: 0, multicast: 0, broadcast: 0, dropped: 0 }, tx: { tx_bytes: 0, tx_packets: 0, dropped: 0 } };
  }
  return o;
}

/**
 * Serialise like iproute2's json_writer: compact (`{"a":1,"b":[1,2]}`) or pretty (4-space indent per depth,
 * `[ … ]` arrays with elements joined by "," on one line, objects broken over lines). `depth` is the writer's
 * nesting depth where the value starts, so a fragment can be spliced into real `ip -j -p` output.
 */
export function iprouteJson(value: unknown, pretty: boolean, depth = 0): string {
  const eol = (d: number): string => (pretty ? `\n${' '.repeat(4 * d)}` : '');
  if (Array.isArray(value)) {
    if (value.length === 0) return pretty ? '[ ]' : '[]';
    const items = value.map((v) => iprouteJson(v, pretty, depth + 1)).join(',');
    return pretty ? `[ ${items} ]` : `[${items}]`;
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 0) return '{}';
    const body = entries
      .map(([k, v]) => `${eol(depth + 1)}${JSON.stringify(k)}:${pretty ? ' ' : ''}${iprouteJson(v, pretty, depth + 1)}`)
      .join(',');
    return `{${body}${eol(depth)}}`;
  }
  return JSON.stringify(value);
}

// What a CNI prints when it asked the kernel itself for VF netlink and found no VF: upstream sriov-cni's
// FillOriginalVfInfo ("failed to get original vf information: failed to find vf 0") and its setters
// ("failed to set vf 0 vlan: …"), and the netlink library's calls named in a wrapped error.
const VF_NETLINK_FAILURES = [/failed to get original vf information/i, /failed to find vf \d+/i, /failed to set vf \d+/i, /\bLinkSetVf[A-Za-z]*\b/];

/**
 * The note a CNI failure on the simulator gets when its message shows that the plugin programs VFs over netlink
 * itself: the simulated kernel answers VF netlink only through `ip`. Undefined for any other failure.
 */
export function vfNetlinkHint(message: string): string | undefined {
  if (!VF_NETLINK_FAILURES.some((re) => re.test(message))) return undefined;
  return (
    'this plugin programs VFs over netlink itself, and the simulated kernel answers VF netlink only through `ip` ' +
    '(ip link set PF vf N …, ip link show): run it with --backend qemu, on a real kernel with igb VFs'
  );
}
