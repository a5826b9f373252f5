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
import { Document, isScalar } from 'yaml';
import type { LineCounter } from 'yaml';
import { getNicModel, nicModelNames } from '../nics/catalog.ts';
import type { NicModel } from '../nics/catalog.ts';
import { formatPciAddr, fromRoutingId, parsePciAddr, pciAddrProblem, routingId } from './pci.ts';
import type { PciAddr } from './pci.ts';
import { YamlIssuesError, parseYamlDocument, quoteShort, sortIssues, suggestion, syntaxIssues, unparsableIssue } from '../yaml-issues.ts';
import type { Pos, YamlIssue } from '../yaml-issues.ts';
import { opt, req } from '../shape/shape.ts';
import type { FieldShape, Shape, Walked } from '../shape/shape.ts';
import { Walker, yamlDialect } from '../shape/walker.ts';
import type { Dialect } from '../shape/walker.ts';

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
  /**
   * a lightweight node: the kernel model, the kubelet's device manager and the device plugin's view of the devices in
   * the harness's process, with no network namespace, FUSE sysfs or CNI (large clusters for scheduling)
   */
  lightweight: boolean;
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
  /** this entry stands for that many nodes, named <name>-0 … <name>-<replicas-1> */
  replicas?: number;
  lightweight?: boolean;
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

/** a topology file as written */
interface TopologyFile {
  apiVersion: typeof TOPOLOGY_API_VERSION;
  kind: typeof TOPOLOGY_KIND;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: { nodes: NodeSpecInput[] };
}

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
/** node indexes go into derived MACs as two bytes */
export const MAX_NODES = 65536;
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
  if (name.length >= IFNAMSIZ) return `${quoteShort(name)} is ${name.length} characters; Linux allows at most ${IFNAMSIZ - 1}`;
  if (name === '.' || name === '..') return `${quoteShort(name)} is not allowed`;
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) return `"${name}" may only contain letters, digits, "_", "." and "-"`;
  return undefined;
}

/** The derived MAC: 02:<node index hi>:<node index lo>:<bus>:<dev<<3|fn>:<domain & ff>. */
export function defaultMac(nodeIndex: number, addr: PciAddr): string {
  const b = [0x02, (nodeIndex >> 8) & 0xff, nodeIndex & 0xff, addr.bus, (addr.dev << 3) | addr.fn, addr.domain & 0xff];
  return b.map((x) => x.toString(16).padStart(2, '0')).join(':');
}

// ---- shapes: what a topology file may hold (the walker checks it, schema.ts writes the JSON Schema from it) ----

// Kubernetes quantity (resource.Quantity) grammar, as the API server accepts it.
const QUANTITY_RE = /^[+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?[0-9]+)?$/;
const DNS_LABEL_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
const LABEL_NAME_RE = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
/** DDDD:BB:DD.F with the device at most 1f (pciAddrProblem says which part is wrong) */
const PCI_ADDR_PATTERN = '^[0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[01][0-9a-fA-F]\\.[0-7]$';
/** six hex bytes, the first one even (unicast); macProblem says which part is wrong */
const MAC_PATTERN = '^[0-9a-fA-F][02468aceACE](:[0-9a-fA-F]{2}){5}$';

function quantityProblem(s: string): string | undefined {
  return QUANTITY_RE.test(s) ? undefined : `"${s}" is not a Kubernetes quantity (e.g. "4", "500m", "16Gi")`;
}

function dnsSubdomainProblem(s: string): string | undefined {
  if (s.length === 0) return 'must not be empty';
  if (s.length > 253) return `${quoteShort(s)} is longer than 253 characters`;
  if (!s.split('.').every((l) => l.length <= 63 && DNS_LABEL_RE.test(l))) {
    return `${quoteShort(s)} is not a DNS-1123 subdomain (lower-case letters, digits, "-" and ".", starting and ending alphanumeric)`;
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
    return `label key ${quoteShort(k)}: the name part must be 1-63 characters of letters, digits, "-", "_", ".", starting and ending alphanumeric`;
  }
  return undefined;
}

function labelValueProblem(v: string): string | undefined {
  if (v === '') return undefined;
  if (v.length > 63 || !LABEL_NAME_RE.test(v)) {
    return `label value ${quoteShort(v)} must be at most 63 characters of letters, digits, "-", "_", ".", starting and ending alphanumeric`;
  }
  return undefined;
}

function macProblem(s: string): string | undefined {
  if (!/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(s)) return `"${s}" is not a MAC address (expected six hex bytes, e.g. 02:00:00:00:00:01)`;
  const mac = s.toLowerCase();
  if (parseInt(mac.slice(0, 2), 16) & 1) return `${mac} is a multicast address; a NIC needs a unicast one (first byte even)`;
  if (mac === '00:00:00:00:00:00') return 'the all-zero MAC is not a valid station address';
  return undefined;
}

/** a DNS-1123 subdomain; `what` starts its message ("node name ") */
const dnsName = (what: string, desc?: string): Shape => ({
  t: 'string',
  desc,
  pattern: DNS_SUBDOMAIN_PATTERN,
  maxLength: 253,
  check: (s) => {
    const p = dnsSubdomainProblem(s);
    return p === undefined ? undefined : `${what}${p}`;
  },
});
const quantity = (desc: string, dflt: string): Shape => ({ t: 'string', desc, numbers: true, pattern: QUANTITY_RE.source, check: quantityProblem, default: dflt });
const oneOf = (values: readonly string[], desc?: string, dflt?: string): Shape => ({ t: 'string', desc, enum: values, default: dflt });
/** a label without a value is "" */
const labelsShape: Shape = { t: 'map', keyCheck: labelKeyProblem, values: { t: 'string', nullAs: '', check: labelValueProblem } };
const annotationsShape: Shape = { t: 'map', values: { t: 'string', nullAs: '' } };
const vfCount = (min: number, desc: string, dflt?: number): Shape => ({ t: 'integer', desc, min, max: 0xffff, default: dflt });

const taintFields = {
  key: req({ t: 'string', check: (k) => labelKeyProblem(k)?.replace(/^label key/, 'taint key') }),
  value: opt({ t: 'string', check: (v) => labelValueProblem(v)?.replace(/^label value/, 'taint value') }),
  effect: req(oneOf(taintEffects)),
} satisfies Record<keyof TaintInput, FieldShape>;

const nicFields = {
  model: req({
    t: 'string',
    desc: 'NIC catalog short name',
    enum: nicModelNames(),
    check: (s) => (getNicModel(s) ? undefined : `unknown NIC model ${quoteShort(s)}${suggestion(s, nicModelNames())}; known: ${nicModelNames().join(', ')}`),
  }),
  pciAddr: req({
    t: 'string',
    desc: 'DDDD:BB:DD.F, unique on the node',
    pattern: PCI_ADDR_PATTERN,
    check: (s) => {
      const p = pciAddrProblem(s);
      return p === undefined ? undefined : `${quoteShort(s)} is not a PCI address: ${p}`;
    },
  }),
  ifname: opt({
    t: 'string',
    desc: 'default: ens<bus>f<fn> / enp<bus>s<dev>f<fn> (predictable naming) or eth<N> in PCI order (kernel naming)',
    pattern: '^[A-Za-z0-9_.-]+$',
    maxLength: IFNAMSIZ - 1,
    check: ifnameProblem,
  }),
  numVfs: opt(vfCount(0, 'VFs created at start (≤ totalVfs)', NIC_DEFAULTS.numVfs)),
  totalVfs: opt(vfCount(0, 'sriov_totalvfs override (default: the catalog’s)')),
  vfOffset: opt(vfCount(1, 'First VF Offset override (default: the catalog’s)')),
  vfStride: opt(vfCount(1, 'VF Stride override (default: the catalog’s)')),
  numaNode: opt({ t: 'integer', min: -1, max: 1023, default: NIC_DEFAULTS.numaNode }),
  vfDriver: opt(oneOf(vfDriverChoices, 'driver of the VFs created at start', NIC_DEFAULTS.vfDriver)),
  linkState: opt(oneOf(linkStates, undefined, NIC_DEFAULTS.linkState)),
  mac: opt({ t: 'string', pattern: MAC_PATTERN, check: macProblem }),
  mtu: opt({ t: 'integer', min: MTU_MIN, max: MTU_MAX, default: NIC_DEFAULTS.mtu }),
} satisfies Record<keyof NicSpecInput, FieldShape>;

const nodeFields = {
  name: req(dnsName('node name ', 'Kubernetes node name (DNS-1123 subdomain), unique; with replicas, the prefix of <name>-<i>')),
  replicas: opt({ t: 'integer', desc: 'this entry stands for that many identical nodes, named <name>-0 … <name>-<replicas-1>', min: 1, max: MAX_NODES }),
  lightweight: opt({
    t: 'boolean',
    desc: 'kernel model, device manager and the device plugin’s view in process; no network namespace, FUSE or CNI (pods get devices and run without networking)',
    default: false,
  }),
  numaNodes: opt({ t: 'integer', min: 1, max: 1024, default: NODE_DEFAULTS.numaNodes }),
  cpu: opt(quantity('node CPU capacity (Kubernetes quantity)', NODE_DEFAULTS.cpu)),
  memory: opt(quantity('node memory capacity (Kubernetes quantity)', NODE_DEFAULTS.memory)),
  pods: opt({ t: 'integer', min: 0, max: 100000, default: NODE_DEFAULTS.pods }),
  labels: opt(labelsShape),
  taints: opt({ t: 'array', items: { t: 'ref', name: 'taint' } }),
  kubeletRegistration: opt({
    t: 'array',
    desc: 'how the kubelet emulator accepts device plugins',
    items: oneOf(kubeletRegistrations),
    minItems: 1,
    tooFew: `must list at least one of ${kubeletRegistrations.join(', ')}`,
    uniqueItems: true,
    default: [...NODE_DEFAULTS.kubeletRegistration],
  }),
  netdevNaming: opt(oneOf(netdevNamings, undefined, NODE_DEFAULTS.netdevNaming)),
  nics: req({ t: 'array', items: { t: 'ref', name: 'nic' } }),
} satisfies Record<keyof NodeSpecInput, FieldShape>;

/** the shapes topology files (and scenarios' inline `nodes`) refer to by name */
export const topologyDefinitions: Record<string, Shape> = {
  node: { t: 'object', fields: nodeFields },
  taint: { t: 'object', fields: taintFields },
  nic: { t: 'object', fields: nicFields },
};

export const topologyShape: Shape = {
  t: 'object',
  fields: {
    apiVersion: req({
      t: 'string',
      const: TOPOLOGY_API_VERSION,
      check: (s) => (s === TOPOLOGY_API_VERSION ? undefined : `${quoteShort(s)} is not supported; use ${TOPOLOGY_API_VERSION}`),
    }),
    kind: req({ t: 'string', const: TOPOLOGY_KIND }),
    metadata: req({ t: 'object', fields: { name: req(dnsName('')), labels: opt(labelsShape), annotations: opt(annotationsShape) } }),
    spec: req({
      t: 'object',
      fields: { nodes: req({ t: 'array', items: { t: 'ref', name: 'node' }, minItems: 1, tooFew: 'a topology needs at least one node' }) },
    }),
  },
};

/** topology field paths are plain: spec.nodes[0].labels.example.com/role */
const topologyDialect: Dialect = { ...yamlDialect, join: (path, key) => (path ? `${path}.${key}` : key) };

// ---- the walk, then the rules across fields ----

interface Ctx {
  w: Walker;
}

/** reports at `at`, or at the field's nearest position when the value is not in the file */
function report(ctx: Ctx, at: Pos | undefined, field: string, message: string): void {
  ctx.w.report(field, message, at);
}

interface NicDraft {
  path: string;
  self: Pos | undefined;
  where: Partial<Record<keyof NicSpecInput, Pos>>;
  model?: NicModel;
  addr?: PciAddr;
  input: Partial<NicSpecInput>;
  valid: boolean;
}

function nicDraft(ctx: Ctx, nic: Walked<NicSpecInput> | undefined, path: string): NicDraft {
  const w = ctx.w;
  const where: NicDraft['where'] = {};
  for (const k of Object.keys(nicFields) as (keyof NicSpecInput)[]) {
    const at = w.positions.get(`${path}.${k}`);
    if (at) where[k] = at;
  }
  const d: NicDraft = { path, self: w.positions.get(path), where, input: {}, valid: nic !== undefined && w.issuesUnder(path) === 0 };
  if (!nic) return d;
  const { model, pciAddr, mac, ...rest } = nic;
  d.input = rest;
  if (model !== undefined) {
    d.model = getNicModel(model);
    d.input.model = model;
  }
  if (pciAddr !== undefined) {
    d.addr = parsePciAddr(pciAddr);
    d.input.pciAddr = formatPciAddr(d.addr);
  }
  if (mac !== undefined) d.input.mac = mac.toLowerCase();
  return d;
}

interface NodeDraft {
  path: string;
  input: Partial<Omit<NodeSpecInput, 'nics' | 'taints' | 'kubeletRegistration'>> & { taints?: Taint[]; kubeletRegistration?: KubeletRegistration[] };
  nics: NicDraft[];
}

/** the valid taints; a second taint with the same key and effect is reported */
function readTaints(ctx: Ctx, taints: Walked<TaintInput[]>, path: string): Taint[] {
  const out: Taint[] = [];
  const seen = new Map<string, number>();
  taints.forEach((t, i) => {
    const q = `${path}[${i}]`;
    if (!t || t.key === undefined || t.effect === undefined || ctx.w.issuesUnder(q) > 0) return;
    const id = `${t.key}:${t.effect}`;
    const prev = seen.get(id);
    if (prev !== undefined) {
      report(ctx, ctx.w.positions.get(q), q, `duplicate taint ${t.key}:${t.effect} (also ${path}[${prev}])`);
      return;
    }
    seen.set(id, i);
    out.push({ key: t.key, value: t.value ?? '', effect: t.effect });
  });
  return out;
}

function nodeDraft(ctx: Ctx, node: Walked<NodeSpecInput>, path: string): NodeDraft {
  const { nics, taints, kubeletRegistration, labels, ...rest } = node;
  return {
    path,
    input: {
      ...rest,
      // a walked map holds only its valid entries
      labels: labels as Record<string, string> | undefined,
      taints: taints && readTaints(ctx, taints, `${path}.taints`),
      kubeletRegistration: kubeletRegistration && [...new Set(kubeletRegistration.filter((k): k is KubeletRegistration => k !== undefined))],
    },
    nics: (nics ?? []).map((nic, i) => nicDraft(ctx, nic, `${path}.nics[${i}]`)),
  };
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
          report(ctx, n.where[k], `${n.path}.${k}`, `model ${m.name} has no SR-IOV; remove ${k}`);
          n.valid = false;
        }
      }
      if (n.input.vfDriver === 'vfio-pci') {
        report(ctx, n.where.vfDriver, `${n.path}.vfDriver`, `model ${m.name} has no SR-IOV, so it has no VFs to bind`);
        n.valid = false;
      }
    }
    const numVfs = n.input.numVfs ?? NIC_DEFAULTS.numVfs;
    if (m && sriov && numVfs > totalVfs) {
      const src = n.input.totalVfs !== undefined ? 'totalVfs' : `the ${m.name} sriov_totalvfs`;
      report(ctx, n.where.numVfs, `${n.path}.numVfs`, `${numVfs} VFs requested but ${src} is ${totalVfs}`);
      n.valid = false;
    }
    const numaNode = n.input.numaNode ?? NIC_DEFAULTS.numaNode;
    if (numaNode >= numaNodes) {
      report(ctx, n.where.numaNode, `${n.path}.numaNode`, `NUMA node ${numaNode} does not exist: the node has numaNodes: ${numaNodes} (use -1..${numaNodes - 1})`);
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
      report(ctx, n.where.pciAddr, `${n.path}.pciAddr`, `duplicate PCI address ${n.input.pciAddr} (also ${nics[prev.nic].path})`);
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
        report(ctx, n.where.pciAddr, `${n.path}.pciAddr`,
          `VF ${k} would fall past bus ff (offset ${g.vfOffset}, stride ${g.vfStride}, totalVfs ${g.totalVfs}); use a lower bus or fewer VFs`);
        n.valid = false;
        return;
      }
      const key = `${n.addr.domain}:${rid}`;
      const prev = byAddr.get(key);
      if (prev && prev.nic !== i) {
        const at = formatPciAddr(fromRoutingId(n.addr.domain, rid));
        report(ctx, n.where.pciAddr, `${n.path}.pciAddr`,
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
    lightweight: d.input.lightweight ?? false,
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
  const w = ctx.w;
  const root = w.deref(w.doc.contents);
  if (root === null || (isScalar(root) && root.value === null)) {
    // an empty file or one of comments only has no node to point at: its first line, as for a scenario
    const at = w.pos(root);
    report(ctx, at.line > 0 || !w.lc ? at : { line: 1, column: 1 }, '', `empty document; expected apiVersion: ${TOPOLOGY_API_VERSION}, kind: ${TOPOLOGY_KIND}, metadata and spec`);
    return undefined;
  }
  const file = w.walk(root, topologyShape, '') as Walked<TopologyFile> | undefined;
  const items = file?.spec?.nodes;
  if (!items) return undefined;

  const drafts = items.map((n, i) => (n === undefined ? undefined : nodeDraft(ctx, n, `spec.nodes[${i}]`)));
  // an entry with replicas stands for nodes <name>-0 … <name>-<replicas-1>: resolved once, then copied with its own
  // name and derived MACs (node index = position in the expanded list), so a problem is reported once, not per replica
  const expanded: Array<{ d: NodeDraft; name: string; replica: number }> = [];
  for (const d of drafts) {
    if (!d) continue;
    const n = d.input.name;
    const replicas = d.input.replicas;
    // a node whose name is invalid is still resolved once, for the problems of its other fields
    if (replicas === undefined || n === undefined) {
      expanded.push({ d, name: n ?? '', replica: -1 });
      continue;
    }
    if (n !== undefined && `${n}-${replicas - 1}`.length > 253) {
      report(ctx, w.positions.get(`${d.path}.name`), `${d.path}.name`, `${quoteShort(`${n}-${replicas - 1}`)} (the last replica's name) is longer than 253 characters`);
      continue;
    }
    d.nics.forEach((nic) => {
      if (replicas > 1 && nic.where.mac) {
        report(ctx, nic.where.mac, `${nic.path}.mac`, `a node with replicas: ${replicas} cannot give a NIC one MAC (every replica would have it); leave mac out to derive one per replica`);
        nic.valid = false;
      }
    });
    for (let r = 0; r < replicas; r++) expanded.push({ d, name: `${n}-${r}`, replica: r });
  }
  if (expanded.length > MAX_NODES) {
    report(ctx, w.positions.get('spec.nodes'), 'spec.nodes', `${expanded.length} nodes with replicas expanded; at most ${MAX_NODES} (derived MACs hold the node index in two bytes)`);
    return undefined;
  }
  const names = new Map<string, string>();
  for (const { d, name, replica } of expanded) {
    const where = replica < 0 ? d.path : `${d.path} (replica ${replica})`;
    if (d.input.name === undefined) continue;
    const prev = names.get(name);
    if (prev) report(ctx, w.positions.get(`${d.path}.name`), `${d.path}.name`, `duplicate node name ${quoteShort(name)} (also ${prev})`);
    else names.set(name, where);
  }
  const resolvedOnce = new Map<NodeDraft, NodeSpec>();
  const nodes: NodeSpec[] = [];
  const nodeDrafts: NodeDraft[] = [];
  expanded.forEach(({ d, name, replica }, i) => {
    nodeDrafts.push(d);
    const first = resolvedOnce.get(d);
    if (!first) {
      const spec = resolveNode(ctx, d, i);
      resolvedOnce.set(d, spec);
      nodes.push(replica < 0 ? spec : { ...spec, name });
      return;
    }
    nodes.push({
      ...first,
      name,
      labels: { ...first.labels },
      nics: first.nics.map((nic, j) => ({ ...nic, mac: d.nics[j].input.mac ?? (d.nics[j].addr ? defaultMac(i, d.nics[j].addr!) : nic.mac) })),
    });
  });
  // MACs must be unique across the topology: nodes share pod networks
  const macs = new Map<string, string>();
  nodeDrafts.forEach((d, i) => {
    d.nics.forEach((nic, j) => {
      const mac = nodes[i]?.nics[j].mac;
      // an invalid mac was reported already, and its derived stand-in must not raise a second, confusing error
      // (a derived MAC only counts for an otherwise valid NIC: a duplicate PCI address already says it all)
      if (!mac || (nic.where.mac ? nic.input.mac === undefined : !nic.valid)) return;
      const prev = macs.get(mac);
      if (prev) {
        if (prev !== nic.path) report(ctx, nic.where.mac ?? nic.self, `${nic.path}.mac`, `duplicate MAC ${mac} (also ${prev})`);
      } else macs.set(mac, nic.path);
    });
  });
  if (drafts.some((d) => d === undefined)) return undefined;
  return { name: file.metadata?.name ?? '', nodes };
}

function finish(ctx: Ctx, result: Topology | undefined): Topology {
  const { w } = ctx;
  if (w.issues.length > 0 || !result) {
    const issues = sortIssues(w.issues, w.file);
    throw new TopologyError(w.file, issues.length ? issues : [{ file: w.file, line: 0, column: 0, field: '', message: 'invalid topology' }]);
  }
  return result;
}

function walker(file: string, doc: Document, lc: LineCounter | null): Ctx {
  return { w: new Walker(file, doc, lc, { defs: topologyDefinitions, dialect: topologyDialect }) };
}

// ---- public API ----

/** Parse and validate a topology file's text. Throws TopologyError listing every problem. */
export function parseTopology(text: string, file = '<topology>'): Topology {
  const notText = unparsableIssue(file, text);
  const { doc, lc } = parseYamlDocument(notText ? '' : text);
  const ctx = walker(file, doc, lc);
  if (notText) {
    ctx.w.issues.push(notText);
    return finish(ctx, undefined);
  }
  if (doc.errors.length > 0) {
    ctx.w.issues.push(...syntaxIssues(file, doc.errors, lc));
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
  const ctx = walker(source, doc, null);
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
