// Topology files: which simulated nodes exist and which NICs each one has.
//
//   # yaml-language-server: $schema=../../scenarios/topologies/topology.schema.json
//   apiVersion: sriov-lab.dev/v1alpha1
//   kind: Topology
//   metadata: { name: default }
//   spec:
//     nodes:
//       - name: node1
//         nics:
//           - { model: intel-i350, pciAddr: "0000:01:00.0" }
//
// parseTopology/loadTopology validate the whole file, collect every problem (file:line:column: field: message) and
// return a Topology in which every optional field is filled in, so consumers never re-derive a default.
//
// Defaults that are derived rather than constant:
// - ifname, netdevNaming 'predictable' (systemd-style, all numbers decimal):
//     domain 0, device 0, bus ≥ 1   → ens<bus>f<fn>              (the card is taken to sit in hotplug slot <bus>)
//     domain 0, otherwise           → enp<bus>s<dev>f<fn>
//     domain ≠ 0                    → enP<domain>p<bus>s<dev>f<fn>
//   e.g. 0000:01:00.1 → ens1f1, 0000:00:05.0 → enp0s5f0, 0000:3b:00.0 → ens59f0.
//   VFs then take <pf ifname>v<k> (the kernel model names them; this module only reserves those names).
// - ifname, netdevNaming 'kernel': the NICs without an explicit ifname get eth0, eth1, … in PCI address order (the
//   kernel's probe order), skipping names given explicitly on that node.
// - mac: 02:<node index, 2 bytes>:<bus>:<dev<<3|fn>:<domain low byte> — locally administered, unique per topology.
// - totalVfs, vfOffset, vfStride: from the NIC catalog (sim/nics/catalog.ts) unless overridden.

import { readFileSync } from 'node:fs';
import { Document, isMap, isScalar, isSeq } from 'yaml';
import type { LineCounter } from 'yaml';
import type { Node as YamlNode } from 'yaml';
import { getNicModel, nicModelNames } from '../nics/catalog.ts';
import type { NicModel } from '../nics/catalog.ts';
import { formatPciAddr, fromRoutingId, parsePciAddr, pciAddrProblem, routingId } from './pci.ts';
import type { PciAddr } from './pci.ts';
import { YamlIssuesError, deref as derefNode, describeNode as describe, nodePos, parseYamlDocument, sortIssues, suggestion, syntaxIssues } from '../yaml-issues.ts';
import type { YamlIssue } from '../yaml-issues.ts';

export { formatPciAddr, parsePciAddr, pciAddrProblem, routingId, fromRoutingId, vfPciAddr, PciAddrError } from './pci.ts';
export type { PciAddr } from './pci.ts';

export const TOPOLOGY_API_VERSION = 'sriov-lab.dev/v1alpha1';
export const TOPOLOGY_KIND = 'Topology';

export type KubeletRegistration = 'kubelet.sock' | 'plugins_registry';
export type NetdevNaming = 'predictable' | 'kernel';
export type VfDriverChoice = 'default' | 'vfio-pci';
export type LinkState = 'up' | 'down';
export type TaintEffect = 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';

export interface Taint {
  key: string;
  value: string;
  effect: TaintEffect;
}

// ---- resolved shapes (what parseTopology returns; every field present) ----

export interface NicSpec {
  /** NIC catalog short name, e.g. "intel-i350" */
  model: string;
  /** canonical lower-case DDDD:BB:DD.F */
  pciAddr: string;
  ifname: string;
  /** VFs created at start */
  numVfs: number;
  /** sriov_totalvfs (0 for a NIC without SR-IOV) */
  totalVfs: number;
  /** SR-IOV First VF Offset and VF Stride (routing-ID units) */
  vfOffset: number;
  vfStride: number;
  /** -1 = no NUMA affinity, as sysfs numa_node reports it */
  numaNode: number;
  /** the driver the VFs created at start are bound to: the model's VF driver, or vfio-pci */
  vfDriver: VfDriverChoice;
  linkState: LinkState;
  /** lower-case aa:bb:cc:dd:ee:ff */
  mac: string;
  mtu: number;
}

export interface NodeSpec {
  name: string;
  numaNodes: number;
  /** Kubernetes quantity, node capacity */
  cpu: string;
  memory: string;
  pods: number;
  labels: Record<string, string>;
  taints: Taint[];
  /** how the kubelet emulator accepts device plugins */
  kubeletRegistration: KubeletRegistration[];
  netdevNaming: NetdevNaming;
  nics: NicSpec[];
}

export interface Topology {
  /** metadata.name */
  name: string;
  nodes: NodeSpec[];
}

// ---- input shapes (the file's spec; what resolveTopology accepts) ----

export interface NicSpecInput {
  model: string;
  pciAddr: string;
  ifname?: string;
  numVfs?: number;
  totalVfs?: number;
  vfOffset?: number;
  vfStride?: number;
  numaNode?: number;
  vfDriver?: VfDriverChoice;
  linkState?: LinkState;
  mac?: string;
  mtu?: number;
}

export interface TaintInput {
  key: string;
  value?: string;
  effect: TaintEffect;
}

export interface NodeSpecInput {
  name: string;
  numaNodes?: number;
  cpu?: string;
  memory?: string;
  pods?: number;
  labels?: Record<string, string>;
  taints?: TaintInput[];
  kubeletRegistration?: KubeletRegistration[];
  netdevNaming?: NetdevNaming;
  nics: NicSpecInput[];
}

export interface TopologyInput {
  name?: string;
  nodes: NodeSpecInput[];
}

// Key lists drive unknown-key rejection; `satisfies` + the exhaustiveness checks below keep them equal to the types,
// and schema.test.ts keeps the JSON Schema equal to them.
export const topologyKeys = ['apiVersion', 'kind', 'metadata', 'spec'] as const;
export const metadataKeys = ['name', 'labels', 'annotations'] as const;
export const specKeys = ['nodes'] as const;
export const nodeKeys = [
  'name', 'numaNodes', 'cpu', 'memory', 'pods', 'labels', 'taints', 'kubeletRegistration', 'netdevNaming', 'nics',
] as const satisfies readonly (keyof NodeSpecInput)[];
export const nicKeys = [
  'model', 'pciAddr', 'ifname', 'numVfs', 'totalVfs', 'vfOffset', 'vfStride', 'numaNode', 'vfDriver', 'linkState', 'mac',
  'mtu',
] as const satisfies readonly (keyof NicSpecInput)[];
export const taintKeys = ['key', 'value', 'effect'] as const satisfies readonly (keyof TaintInput)[];
type Exhaustive<T extends never> = T;
export type _NodeKeysComplete = Exhaustive<Exclude<keyof NodeSpecInput, (typeof nodeKeys)[number]>>;
export type _NicKeysComplete = Exhaustive<Exclude<keyof NicSpecInput, (typeof nicKeys)[number]>>;
export type _TaintKeysComplete = Exhaustive<Exclude<keyof TaintInput, (typeof taintKeys)[number]>>;

export const kubeletRegistrations: readonly KubeletRegistration[] = ['kubelet.sock', 'plugins_registry'];
export const netdevNamings: readonly NetdevNaming[] = ['predictable', 'kernel'];
export const vfDriverChoices: readonly VfDriverChoice[] = ['default', 'vfio-pci'];
export const linkStates: readonly LinkState[] = ['up', 'down'];
export const taintEffects: readonly TaintEffect[] = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'];

export const NODE_DEFAULTS = {
  numaNodes: 1,
  cpu: '8',
  memory: '16Gi',
  pods: 110,
  kubeletRegistration: ['kubelet.sock', 'plugins_registry'] as KubeletRegistration[],
  netdevNaming: 'predictable' as NetdevNaming,
};
export const NIC_DEFAULTS = {
  numVfs: 0,
  numaNode: -1,
  vfDriver: 'default' as VfDriverChoice,
  linkState: 'up' as LinkState,
  mtu: 1500,
};
export const MTU_MIN = 68;
export const MTU_MAX = 9702;
export const IFNAMSIZ = 16;

// ---- errors ----

/** a problem in a topology file: file:line:column (0:0 without source text), field path, message */
export type TopologyIssue = YamlIssue;

export { formatIssue } from '../yaml-issues.ts';

export class TopologyError extends YamlIssuesError {
  constructor(file: string, issues: TopologyIssue[]) {
    super(file, issues, 'topology');
    this.name = 'TopologyError';
  }
}

// ---- naming ----

/** The predictable (systemd-style) name for a NIC at this address; see the rule at the top of this file. */
export function predictableIfname(addr: PciAddr): string {
  if (addr.domain !== 0) return `enP${addr.domain}p${addr.bus}s${addr.dev}f${addr.fn}`;
  if (addr.dev === 0 && addr.bus >= 1) return `ens${addr.bus}f${addr.fn}`;
  return `enp${addr.bus}s${addr.dev}f${addr.fn}`;
}

/** Why `name` cannot be a Linux interface name, or undefined. */
export function ifnameProblem(name: string): string | undefined {
  if (name.length === 0) return 'must not be empty';
  if (name.length >= IFNAMSIZ) return `"${name}" is ${name.length} characters; Linux allows at most ${IFNAMSIZ - 1}`;
  if (name === '.' || name === '..') return `"${name}" is not allowed`;
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) return `"${name}" may only contain letters, digits, "_", "." and "-"`;
  return undefined;
}

/** The derived MAC: 02:<node index hi>:<node index lo>:<bus>:<dev<<3|fn>:<domain & ff>. */
export function defaultMac(nodeIndex: number, addr: PciAddr): string {
  const b = [0x02, (nodeIndex >> 8) & 0xff, nodeIndex & 0xff, addr.bus, (addr.dev << 3) | addr.fn, addr.domain & 0xff];
  return b.map((x) => x.toString(16).padStart(2, '0')).join(':');
}

// ---- validation machinery ----

interface Ctx {
  file: string;
  doc: Document;
  lc: LineCounter | null;
  issues: TopologyIssue[];
}

function report(ctx: Ctx, node: YamlNode | null | undefined, field: string, message: string): void {
  ctx.issues.push({ file: ctx.file, ...nodePos(ctx.lc, node), field, message });
}

function deref(ctx: Ctx, node: unknown): YamlNode | null {
  return derefNode(ctx.doc, node);
}

function isNull(node: YamlNode | null): boolean {
  return node === null || (isScalar(node) && node.value === null);
}

interface Field {
  key: YamlNode;
  value: YamlNode | null;
}

/** A mapping's fields; reports a non-mapping and unknown keys. Null values count as absent. */
function fields(ctx: Ctx, node: YamlNode | null, path: string, known: readonly string[]): Map<string, Field> | undefined {
  if (!isMap(node)) {
    report(ctx, node, path, `expected a mapping, got ${describe(node)}`);
    return undefined;
  }
  const out = new Map<string, Field>();
  for (const pair of node.items) {
    const key = deref(ctx, pair.key);
    if (!isScalar(key) || typeof key.value !== 'string') {
      report(ctx, key, path, `keys must be strings, got ${describe(key)}`);
      continue;
    }
    const name = key.value;
    const sub = path ? `${path}.${name}` : name;
    if (!known.includes(name)) {
      report(ctx, key, sub, `unknown field "${name}"${suggestion(name, known)}; known: ${known.join(', ')}`);
      continue;
    }
    const value = deref(ctx, pair.value);
    if (isNull(value) || out.has(name)) continue; // duplicates are reported by the YAML parser
    out.set(name, { key, value });
  }
  return out;
}

function required(ctx: Ctx, f: Map<string, Field>, mapNode: YamlNode | null, path: string, name: string): Field | undefined {
  const v = f.get(name);
  if (!v) report(ctx, mapNode, `${path ? `${path}.` : ''}${name}`, 'required field is missing');
  return v;
}

function str(ctx: Ctx, node: YamlNode | null, path: string): string | undefined {
  if (isScalar(node) && typeof node.value === 'string') return node.value;
  report(ctx, node, path, `expected a string, got ${describe(node)}`);
  return undefined;
}

function int(ctx: Ctx, node: YamlNode | null, path: string, min: number, max: number): number | undefined {
  if (!isScalar(node) || typeof node.value !== 'number' || !Number.isInteger(node.value)) {
    report(ctx, node, path, `expected an integer, got ${describe(node)}`);
    return undefined;
  }
  if (node.value < min || node.value > max) {
    report(ctx, node, path, `${node.value} is out of range ${min}..${max}`);
    return undefined;
  }
  return node.value;
}

function oneOf<T extends string>(ctx: Ctx, node: YamlNode | null, path: string, allowed: readonly T[]): T | undefined {
  const s = str(ctx, node, path);
  if (s === undefined) return undefined;
  if ((allowed as readonly string[]).includes(s)) return s as T;
  report(ctx, node, path, `"${s}" is not one of ${allowed.join(', ')}${suggestion(s, allowed)}`);
  return undefined;
}

// Kubernetes quantity (resource.Quantity) grammar, as the API server accepts it.
const QUANTITY_RE = /^[+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?[0-9]+)?$/;

function quantity(ctx: Ctx, node: YamlNode | null, path: string): string | undefined {
  if (isScalar(node) && typeof node.value === 'number' && Number.isFinite(node.value) && node.value >= 0) {
    return String(node.value);
  }
  const s = str(ctx, node, path);
  if (s === undefined) return undefined;
  if (!QUANTITY_RE.test(s)) {
    report(ctx, node, path, `"${s}" is not a Kubernetes quantity (e.g. "4", "500m", "16Gi")`);
    return undefined;
  }
  return s;
}

const DNS_LABEL_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_NAME_RE = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

function dnsSubdomainProblem(s: string): string | undefined {
  if (s.length === 0) return 'must not be empty';
  if (s.length > 253) return `"${s}" is longer than 253 characters`;
  if (!s.split('.').every((l) => l.length <= 63 && DNS_LABEL_RE.test(l))) {
    return `"${s}" is not a DNS-1123 subdomain (lower-case letters, digits, "-" and ".", starting and ending alphanumeric)`;
  }
  return undefined;
}

function labelKeyProblem(k: string): string | undefined {
  const slash = k.lastIndexOf('/');
  const prefix = slash >= 0 ? k.slice(0, slash) : undefined;
  const name = slash >= 0 ? k.slice(slash + 1) : k;
  if (prefix !== undefined) {
    const p = dnsSubdomainProblem(prefix);
    if (p) return `label key prefix ${p}`;
  }
  if (name.length === 0 || name.length > 63 || !LABEL_NAME_RE.test(name)) {
    return `label key "${k}": the name part must be 1-63 characters of letters, digits, "-", "_", ".", starting and ending alphanumeric`;
  }
  return undefined;
}

function labelValueProblem(v: string): string | undefined {
  if (v === '') return undefined;
  if (v.length > 63 || !LABEL_NAME_RE.test(v)) {
    return `label value "${v}" must be at most 63 characters of letters, digits, "-", "_", ".", starting and ending alphanumeric`;
  }
  return undefined;
}

function stringMap(ctx: Ctx, node: YamlNode | null, path: string, checkLabels: boolean): Record<string, string> | undefined {
  if (!isMap(node)) {
    report(ctx, node, path, `expected a mapping, got ${describe(node)}`);
    return undefined;
  }
  const out: Record<string, string> = {};
  let ok = true;
  for (const pair of node.items) {
    const key = deref(ctx, pair.key);
    if (!isScalar(key) || typeof key.value !== 'string') {
      report(ctx, key, path, `keys must be strings, got ${describe(key)}`);
      ok = false;
      continue;
    }
    const sub = `${path}.${key.value}`;
    const value = deref(ctx, pair.value);
    const v = isNull(value) ? '' : str(ctx, value, sub);
    if (v === undefined) {
      ok = false;
      continue;
    }
    if (checkLabels) {
      const kp = labelKeyProblem(key.value);
      if (kp) {
        report(ctx, key, sub, kp);
        ok = false;
      }
      const vp = labelValueProblem(v);
      if (vp) {
        report(ctx, value, sub, vp);
        ok = false;
      }
    }
    out[key.value] = v;
  }
  return ok ? out : undefined;
}

function seq(ctx: Ctx, node: YamlNode | null, path: string): (YamlNode | null)[] | undefined {
  if (!isSeq(node)) {
    report(ctx, node, path, `expected a list, got ${describe(node)}`);
    return undefined;
  }
  return node.items.map((i) => deref(ctx, i));
}

// ---- the spec walk ----

interface NicDraft {
  path: string;
  self: YamlNode | null;
  where: Partial<Record<(typeof nicKeys)[number], YamlNode | null>>;
  model?: NicModel;
  addr?: PciAddr;
  input: Partial<NicSpecInput>;
  valid: boolean;
}

function readNic(ctx: Ctx, node: YamlNode | null, path: string): NicDraft {
  const d: NicDraft = { path, self: node, where: {}, input: {}, valid: true };
  const f = fields(ctx, node, path, nicKeys);
  if (!f) {
    d.valid = false;
    return d;
  }
  const before = ctx.issues.length;
  for (const [k, v] of f) d.where[k as (typeof nicKeys)[number]] = v.value;
  const p = (k: string) => `${path}.${k}`;

  const model = required(ctx, f, node, path, 'model');
  if (model) {
    const name = str(ctx, model.value, p('model'));
    if (name !== undefined) {
      d.model = getNicModel(name);
      if (d.model) d.input.model = name;
      else report(ctx, model.value, p('model'), `unknown NIC model "${name}"; known: ${nicModelNames().join(', ')}`);
    }
  }
  const pci = required(ctx, f, node, path, 'pciAddr');
  if (pci) {
    const s = str(ctx, pci.value, p('pciAddr'));
    if (s !== undefined) {
      const problem = pciAddrProblem(s);
      if (problem) report(ctx, pci.value, p('pciAddr'), `"${s}" is not a PCI address: ${problem}`);
      else {
        d.addr = parsePciAddr(s);
        d.input.pciAddr = formatPciAddr(d.addr);
      }
    }
  }
  const opt = <K extends keyof NicSpecInput>(k: K, read: (n: YamlNode | null, path: string) => NicSpecInput[K] | undefined) => {
    const v = f.get(k);
    if (v) d.input[k] = read(v.value, p(k));
  };
  opt('ifname', (n, q) => {
    const s = str(ctx, n, q);
    if (s === undefined) return undefined;
    const problem = ifnameProblem(s);
    if (problem) report(ctx, n, q, problem);
    return problem ? undefined : s;
  });
  opt('numVfs', (n, q) => int(ctx, n, q, 0, 0xffff));
  opt('totalVfs', (n, q) => int(ctx, n, q, 0, 0xffff));
  opt('vfOffset', (n, q) => int(ctx, n, q, 1, 0xffff));
  opt('vfStride', (n, q) => int(ctx, n, q, 1, 0xffff));
  opt('numaNode', (n, q) => int(ctx, n, q, -1, 1023));
  opt('vfDriver', (n, q) => oneOf(ctx, n, q, vfDriverChoices));
  opt('linkState', (n, q) => oneOf(ctx, n, q, linkStates));
  opt('mac', (n, q) => {
    const s = str(ctx, n, q);
    if (s === undefined) return undefined;
    if (!/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(s)) {
      report(ctx, n, q, `"${s}" is not a MAC address (expected six hex bytes, e.g. 02:00:00:00:00:01)`);
      return undefined;
    }
    const mac = s.toLowerCase();
    if (parseInt(mac.slice(0, 2), 16) & 1) {
      report(ctx, n, q, `${mac} is a multicast address; a NIC needs a unicast one (first byte even)`);
      return undefined;
    }
    if (mac === '00:00:00:00:00:00') {
      report(ctx, n, q, 'the all-zero MAC is not a valid station address');
      return undefined;
    }
    return mac;
  });
  opt('mtu', (n, q) => int(ctx, n, q, MTU_MIN, MTU_MAX));
  if (ctx.issues.length > before) d.valid = false;
  return d;
}

interface NodeDraft {
  path: string;
  self: YamlNode | null;
  nameNode: YamlNode | null;
  numaNodesNode: YamlNode | null;
  input: Partial<Omit<NodeSpecInput, 'nics' | 'taints'>> & { taints?: Taint[] };
  nics: NicDraft[];
}

function readTaints(ctx: Ctx, node: YamlNode | null, path: string): Taint[] | undefined {
  const items = seq(ctx, node, path);
  if (!items) return undefined;
  const out: Taint[] = [];
  const seen = new Map<string, number>();
  items.forEach((item, i) => {
    const q = `${path}[${i}]`;
    const f = fields(ctx, item, q, taintKeys);
    if (!f) return;
    const k = required(ctx, f, item, q, 'key');
    const e = required(ctx, f, item, q, 'effect');
    const key = k ? str(ctx, k.value, `${q}.key`) : undefined;
    if (key !== undefined) {
      const problem = labelKeyProblem(key);
      if (problem) report(ctx, k!.value, `${q}.key`, problem.replace(/^label key/, 'taint key'));
    }
    const vf = f.get('value');
    const value = vf ? str(ctx, vf.value, `${q}.value`) : '';
    if (vf && value !== undefined) {
      const problem = labelValueProblem(value);
      if (problem) report(ctx, vf.value, `${q}.value`, problem.replace(/^label value/, 'taint value'));
    }
    const effect = e ? oneOf(ctx, e.value, `${q}.effect`, taintEffects) : undefined;
    if (key === undefined || value === undefined || effect === undefined) return;
    const id = `${key}:${effect}`;
    const prev = seen.get(id);
    if (prev !== undefined) {
      report(ctx, item, q, `duplicate taint ${key}:${effect} (also ${path}[${prev}])`);
      return;
    }
    seen.set(id, i);
    out.push({ key, value, effect });
  });
  return out;
}

function readNode(ctx: Ctx, node: YamlNode | null, path: string): NodeDraft | undefined {
  const f = fields(ctx, node, path, nodeKeys);
  if (!f) return undefined;
  const d: NodeDraft = { path, self: node, nameNode: null, numaNodesNode: null, input: {}, nics: [] };
  const p = (k: string) => `${path}.${k}`;
  const name = required(ctx, f, node, path, 'name');
  if (name) {
    d.nameNode = name.value;
    const s = str(ctx, name.value, p('name'));
    const problem = s === undefined ? undefined : dnsSubdomainProblem(s);
    if (problem) report(ctx, name.value, p('name'), `node name ${problem}`);
    else if (s !== undefined) d.input.name = s;
  }
  const get = (k: string) => f.get(k);
  if (get('numaNodes')) {
    d.numaNodesNode = get('numaNodes')!.value;
    d.input.numaNodes = int(ctx, d.numaNodesNode, p('numaNodes'), 1, 1024);
  }
  if (get('cpu')) d.input.cpu = quantity(ctx, get('cpu')!.value, p('cpu'));
  if (get('memory')) d.input.memory = quantity(ctx, get('memory')!.value, p('memory'));
  if (get('pods')) d.input.pods = int(ctx, get('pods')!.value, p('pods'), 0, 100000);
  if (get('labels')) d.input.labels = stringMap(ctx, get('labels')!.value, p('labels'), true);
  if (get('taints')) d.input.taints = readTaints(ctx, get('taints')!.value, p('taints'));
  if (get('netdevNaming')) d.input.netdevNaming = oneOf(ctx, get('netdevNaming')!.value, p('netdevNaming'), netdevNamings);
  if (get('kubeletRegistration')) {
    const q = p('kubeletRegistration');
    const items = seq(ctx, get('kubeletRegistration')!.value, q);
    if (items) {
      const out: KubeletRegistration[] = [];
      items.forEach((item, i) => {
        const v = oneOf(ctx, item, `${q}[${i}]`, kubeletRegistrations);
        if (v === undefined) return;
        if (out.includes(v)) report(ctx, item, `${q}[${i}]`, `"${v}" is listed twice`);
        else out.push(v);
      });
      if (items.length === 0) report(ctx, get('kubeletRegistration')!.value, q, `must list at least one of ${kubeletRegistrations.join(', ')}`);
      d.input.kubeletRegistration = out;
    }
  }
  const nics = required(ctx, f, node, path, 'nics');
  if (nics) {
    const items = seq(ctx, nics.value, p('nics'));
    if (items) d.nics = items.map((item, i) => readNic(ctx, item, `${p('nics')}[${i}]`));
  }
  return d;
}

/** Cross-field checks and defaults of one node. Returns the resolved node (meaningful only if no issue was added). */
function resolveNode(ctx: Ctx, d: NodeDraft, nodeIndex: number): NodeSpec {
  const numaNodes = d.input.numaNodes ?? NODE_DEFAULTS.numaNodes;
  const naming = d.input.netdevNaming ?? NODE_DEFAULTS.netdevNaming;
  const nics = d.nics;

  // per-NIC geometry
  const geometry = nics.map((n) => {
    const m = n.model;
    const sriov = m !== undefined && m.vfDevice !== null;
    const totalVfs = n.input.totalVfs ?? m?.totalVfs ?? 0;
    if (m && !sriov) {
      for (const k of ['totalVfs', 'numVfs', 'vfOffset', 'vfStride'] as const) {
        const v = n.input[k];
        if (v !== undefined && v !== 0) {
          report(ctx, n.where[k] ?? null, `${n.path}.${k}`, `model ${m.name} has no SR-IOV; remove ${k}`);
          n.valid = false;
        }
      }
      if (n.input.vfDriver === 'vfio-pci') {
        report(ctx, n.where.vfDriver ?? null, `${n.path}.vfDriver`, `model ${m.name} has no SR-IOV, so it has no VFs to bind`);
        n.valid = false;
      }
    }
    const numVfs = n.input.numVfs ?? NIC_DEFAULTS.numVfs;
    if (m && sriov && numVfs > totalVfs) {
      const src = n.input.totalVfs !== undefined ? 'totalVfs' : `the ${m.name} sriov_totalvfs`;
      report(ctx, n.where.numVfs ?? null, `${n.path}.numVfs`, `${numVfs} VFs requested but ${src} is ${totalVfs}`);
      n.valid = false;
    }
    const numaNode = n.input.numaNode ?? NIC_DEFAULTS.numaNode;
    if (numaNode >= numaNodes) {
      report(ctx, n.where.numaNode ?? null, `${n.path}.numaNode`, `NUMA node ${numaNode} does not exist: the node has numaNodes: ${numaNodes} (use -1..${numaNodes - 1})`);
      n.valid = false;
    }
    return {
      totalVfs: sriov ? totalVfs : 0,
      vfOffset: sriov ? (n.input.vfOffset ?? m!.vfOffset) : 0,
      vfStride: sriov ? (n.input.vfStride ?? m!.vfStride) : 0,
      numVfs,
      numaNode,
    };
  });

  // PCI address space: PFs and every VF slot a PF could populate (up to totalVfs)
  type Owner = { nic: number; vf: number }; // vf -1 = the PF itself
  const byAddr = new Map<string, Owner>(); // key: domain:rid
  const ownerText = (o: Owner, addr: string) =>
    o.vf < 0 ? `the PF ${nics[o.nic].path} (${addr})` : `VF ${o.vf} of ${nics[o.nic].path} (${addr})`;
  nics.forEach((n, i) => {
    if (!n.addr) return;
    const key = `${n.addr.domain}:${routingId(n.addr)}`;
    const prev = byAddr.get(key);
    if (prev && prev.vf < 0) {
      report(ctx, n.where.pciAddr ?? null, `${n.path}.pciAddr`, `duplicate PCI address ${n.input.pciAddr} (also ${nics[prev.nic].path})`);
      n.valid = false;
    } else if (!prev) byAddr.set(key, { nic: i, vf: -1 });
  });
  nics.forEach((n, i) => {
    const g = geometry[i];
    if (!n.addr || g.totalVfs === 0) return;
    const base = routingId(n.addr);
    for (let k = 0; k < g.totalVfs; k++) {
      const rid = base + g.vfOffset + k * g.vfStride;
      if (rid > 0xffff) {
        report(ctx, n.where.pciAddr ?? null, `${n.path}.pciAddr`,
          `VF ${k} would fall past bus ff (offset ${g.vfOffset}, stride ${g.vfStride}, totalVfs ${g.totalVfs}); use a lower bus or fewer VFs`);
        n.valid = false;
        return;
      }
      const key = `${n.addr.domain}:${rid}`;
      const prev = byAddr.get(key);
      if (prev && prev.nic !== i) {
        const at = formatPciAddr(fromRoutingId(n.addr.domain, rid));
        report(ctx, n.where.pciAddr ?? null, `${n.path}.pciAddr`,
          `VF ${k} of this PF would be at ${at}, which is ${ownerText(prev, at)} (offset ${g.vfOffset}, stride ${g.vfStride}, totalVfs ${g.totalVfs})`);
        n.valid = false;
        return;
      }
      byAddr.set(key, { nic: i, vf: k });
    }
  });

  // interface names
  const ifnames: (string | undefined)[] = nics.map((n) => n.input.ifname);
  if (naming === 'predictable') {
    nics.forEach((n, i) => {
      if (ifnames[i] === undefined && n.addr) ifnames[i] = predictableIfname(n.addr);
    });
  } else {
    const taken = new Set(ifnames.filter((x): x is string => x !== undefined));
    const order = nics
      .map((n, i) => ({ n, i }))
      .filter(({ n, i }) => ifnames[i] === undefined && n.addr)
      .sort((a, b) => a.n.addr!.domain - b.n.addr!.domain || routingId(a.n.addr!) - routingId(b.n.addr!));
    let next = 0;
    for (const { i } of order) {
      while (taken.has(`eth${next}`)) next++;
      ifnames[i] = `eth${next++}`;
    }
  }
  const seenIf = new Map<string, number>();
  nics.forEach((n, i) => {
    const name = ifnames[i];
    if (name === undefined) return;
    const prev = seenIf.get(name);
    if (prev !== undefined) {
      const how = n.input.ifname === undefined ? ` (derived from ${n.input.pciAddr}; set ifname to choose another)` : '';
      report(ctx, n.where.ifname ?? n.where.pciAddr ?? n.self, `${n.path}.ifname`, `duplicate interface name ${name}${how} (also ${nics[prev].path})`);
      n.valid = false;
    } else seenIf.set(name, i);
  });
  if (naming === 'predictable') {
    // VF netdevs will be named <pf>v<k>; a NIC may not take one of those names
    nics.forEach((n, i) => {
      const m = /^(.+)v(\d+)$/.exec(ifnames[i] ?? '');
      if (!m) return;
      const pf = seenIf.get(m[1]);
      if (pf !== undefined && pf !== i && Number(m[2]) < geometry[pf].totalVfs) {
        report(ctx, n.where.ifname ?? n.self, `${n.path}.ifname`, `${ifnames[i]} is the name VF ${m[2]} of ${nics[pf].path} (${m[1]}) will get`);
        n.valid = false;
      }
    });
  }

  return {
    name: d.input.name ?? '',
    numaNodes,
    cpu: d.input.cpu ?? NODE_DEFAULTS.cpu,
    memory: d.input.memory ?? NODE_DEFAULTS.memory,
    pods: d.input.pods ?? NODE_DEFAULTS.pods,
    labels: d.input.labels ?? {},
    taints: d.input.taints ?? [],
    kubeletRegistration: d.input.kubeletRegistration ?? [...NODE_DEFAULTS.kubeletRegistration],
    netdevNaming: naming,
    nics: nics.map((n, i) => ({
      model: n.input.model ?? '',
      pciAddr: n.input.pciAddr ?? '',
      ifname: ifnames[i] ?? '',
      numVfs: geometry[i].numVfs,
      totalVfs: geometry[i].totalVfs,
      vfOffset: geometry[i].vfOffset,
      vfStride: geometry[i].vfStride,
      numaNode: geometry[i].numaNode,
      vfDriver: n.input.vfDriver ?? NIC_DEFAULTS.vfDriver,
      linkState: n.input.linkState ?? NIC_DEFAULTS.linkState,
      mac: n.input.mac ?? (n.addr ? defaultMac(nodeIndex, n.addr) : ''),
      mtu: n.input.mtu ?? NIC_DEFAULTS.mtu,
    })),
  };
}

function validateDocument(ctx: Ctx): Topology | undefined {
  const root = deref(ctx, ctx.doc.contents);
  if (isNull(root)) {
    report(ctx, root, '', `empty document; expected apiVersion: ${TOPOLOGY_API_VERSION}, kind: ${TOPOLOGY_KIND}, metadata and spec`);
    return undefined;
  }
  const top = fields(ctx, root, '', topologyKeys);
  if (!top) return undefined;
  const api = required(ctx, top, root, '', 'apiVersion');
  if (api) {
    const s = str(ctx, api.value, 'apiVersion');
    if (s !== undefined && s !== TOPOLOGY_API_VERSION) report(ctx, api.value, 'apiVersion', `"${s}" is not supported; use ${TOPOLOGY_API_VERSION}`);
  }
  const kind = required(ctx, top, root, '', 'kind');
  if (kind) {
    const s = str(ctx, kind.value, 'kind');
    if (s !== undefined && s !== TOPOLOGY_KIND) report(ctx, kind.value, 'kind', `"${s}" is not ${TOPOLOGY_KIND}`);
  }
  let name = '';
  const meta = required(ctx, top, root, '', 'metadata');
  if (meta) {
    const mf = fields(ctx, meta.value, 'metadata', metadataKeys);
    if (mf) {
      const n = required(ctx, mf, meta.value, 'metadata', 'name');
      if (n) {
        const s = str(ctx, n.value, 'metadata.name');
        const problem = s === undefined ? undefined : dnsSubdomainProblem(s);
        if (problem) report(ctx, n.value, 'metadata.name', problem);
        else if (s !== undefined) name = s;
      }
      for (const k of ['labels', 'annotations'] as const) {
        const v = mf.get(k);
        if (v) stringMap(ctx, v.value, `metadata.${k}`, k === 'labels');
      }
    }
  }
  const spec = required(ctx, top, root, '', 'spec');
  if (!spec) return undefined;
  const sf = fields(ctx, spec.value, 'spec', specKeys);
  if (!sf) return undefined;
  const nodesField = required(ctx, sf, spec.value, 'spec', 'nodes');
  if (!nodesField) return undefined;
  const items = seq(ctx, nodesField.value, 'spec.nodes');
  if (!items) return undefined;
  if (items.length === 0) report(ctx, nodesField.value, 'spec.nodes', 'a topology needs at least one node');

  const drafts = items.map((item, i) => readNode(ctx, item, `spec.nodes[${i}]`));
  const names = new Map<string, string>();
  for (const d of drafts) {
    const n = d?.input.name;
    if (!d || n === undefined) continue;
    const prev = names.get(n);
    if (prev) report(ctx, d.nameNode, `${d.path}.name`, `duplicate node name "${n}" (also ${prev})`);
    else names.set(n, d.path);
  }
  const nodes = drafts.map((d, i) => (d ? resolveNode(ctx, d, i) : undefined));

  // MACs must be unique across the topology: nodes share pod networks
  const macs = new Map<string, string>();
  drafts.forEach((d, i) => {
    d?.nics.forEach((nic, j) => {
      const mac = nodes[i]?.nics[j].mac;
      // an invalid mac was reported already, and its derived stand-in must not raise a second, confusing error
      // (a derived MAC only counts for an otherwise valid NIC: a duplicate PCI address already says it all)
      if (!mac || (nic.where.mac ? nic.input.mac === undefined : !nic.valid)) return;
      const prev = macs.get(mac);
      if (prev) {
        report(ctx, nic.where.mac ?? nic.self, `${nic.path}.mac`, `duplicate MAC ${mac} (also ${prev})`);
      } else macs.set(mac, nic.path);
    });
  });
  if (nodes.some((n) => n === undefined)) return undefined;
  return { name, nodes: nodes as NodeSpec[] };
}

function finish(ctx: Ctx, result: Topology | undefined): Topology {
  if (ctx.issues.length > 0 || !result) {
    const issues = sortIssues(ctx.issues, ctx.file);
    throw new TopologyError(ctx.file, issues.length ? issues : [{ file: ctx.file, line: 0, column: 0, field: '', message: 'invalid topology' }]);
  }
  return result;
}

// ---- public API ----

/** Parse and validate a topology file's text. Throws TopologyError listing every problem. */
export function parseTopology(text: string, file = '<topology>'): Topology {
  const { doc, lc } = parseYamlDocument(text);
  const ctx: Ctx = { file, doc, lc, issues: [] };
  if (doc.errors.length > 0) {
    ctx.issues.push(...syntaxIssues(file, doc.errors, lc));
    return finish(ctx, undefined);
  }
  return finish(ctx, validateDocument(ctx));
}

/** Read and parse a topology file. Throws TopologyError (also when the file cannot be read). */
export function loadTopology(file: string): Topology {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new TopologyError(file, [{ file, line: 0, column: 0, field: '', message: `cannot read the topology file: ${err.code ?? ''} ${err.message}`.trim() }]);
  }
  return parseTopology(text, file);
}

/** Validate and resolve a topology built in code (same rules as a file; issues carry no line numbers). */
export function resolveTopology(input: TopologyInput, source = '<topology>'): Topology {
  const doc = new Document({
    apiVersion: TOPOLOGY_API_VERSION,
    kind: TOPOLOGY_KIND,
    metadata: { name: input.name ?? 'inline' },
    spec: { nodes: input.nodes },
  });
  const ctx: Ctx = { file: source, doc, lc: null, issues: [] };
  return finish(ctx, validateDocument(ctx));
}

/** The topology used when none is given: node1 with an I350 PF ens1f0 (no VFs) and a virtio-net NIC eth1. */
export function defaultTopology(): Topology {
  return resolveTopology(
    {
      name: 'default',
      nodes: [
        {
          name: 'node1',
          nics: [
            { model: 'intel-i350', pciAddr: '0000:01:00.0', ifname: 'ens1f0', numVfs: 0 },
            { model: 'virtio-net', pciAddr: '0000:00:05.0', ifname: 'eth1' },
          ],
        },
      ],
    },
    '<default topology>',
  );
}

/** Look a NIC's catalog entry up (every NicSpec of a resolved Topology has one). */
export function nicModelOf(nic: NicSpec): NicModel {
  const m = getNicModel(nic.model);
  if (!m) throw new Error(`NIC model "${nic.model}" is not in the catalog`);
  return m;
}
