// An emulation of kube-scheduler's default profile as far as extended resources and DaemonSet-like placement need it:
// filters NodeUnschedulable → TaintToleration → NodeAffinity (nodeSelector, required node affinity) → NodeResourcesFit
// (pods, cpu, memory, extended resources) → PodTopologySpread (DoNotSchedule constraints); scores with the default
// profile's plugins and weights (score.ts): NodeResourcesFit LeastAllocated (or MostAllocated) on cpu/memory with the
// scheduler's non-zero defaults (extended resources too when configured, as NodeResourcesFitArgs allows),
// BalancedAllocation on the requests, TaintToleration (PreferNoSchedule), NodeAffinity (preferred terms) and
// PodTopologySpread (ScheduleAnyway constraints); and picks among the best nodes with a seeded PRNG (reservoir
// sampling, as selectHost does). Like the real one it searches only a share of the nodes once enough feasible ones
// are found (percentageOfNodesToScore, adaptive), rotates the start index between cycles, and scores nothing when a
// single node is feasible. The system default spread constraints select pods through Services, ReplicaSets and
// StatefulSets, which this cluster does not serve, so only a pod's own constraints count.
//
// Per-node requested sums are kept incrementally (addPod/removePod), never recomputed from the pod list.
//
// Messages (kube-scheduler, pkg/scheduler): FitError.Error() = "0/%v nodes are available:" + " <sorted '<count>
// <reason>' joined by ', '>." ; reasons: NodeResourcesFit "Insufficient <resource>" and "Too many pods",
// NodeAffinity ErrReasonPod "node(s) didn't match Pod's node affinity/selector", TaintToleration
// "node(s) had untolerated taint {<key>: <value>}" (1.25–1.34 wording), NodeUnschedulable "node(s) were unschedulable",
// PodTopologySpread "node(s) didn't match pod topology spread constraints" (and " (missing required label)").
import type {
  V1LabelSelector,
  V1Node,
  V1NodeSelectorRequirement,
  V1NodeSelectorTerm,
  V1Pod,
  V1PreferredSchedulingTerm,
  V1Taint,
  V1Toleration,
  V1TopologySpreadConstraint,
} from '@kubernetes/client-node';
import { createRng, type Rng } from './prng.ts';
import { parseQuantity, quantityMilliValue, quantityValue } from './quantity.ts';
import {
  balancedScore,
  leastRequestedScore,
  mostRequestedScore,
  DEFAULT_SCORE_WEIGHTS,
  DEFAULT_SCORING,
  defaultNormalizeScore,
  MAX_NODE_SCORE,
  normalizeSpreadScores,
  resourceScore,
  SCORE_PLUGINS,
  spreadScoreForCount,
  topologyNormalizingWeight,
  type ScorePlugin,
  type ScoringConfig,
} from './score.ts';

export const REASON_UNSCHEDULABLE_NODE = 'node(s) were unschedulable';
export const REASON_NODE_AFFINITY = "node(s) didn't match Pod's node affinity/selector";
export const REASON_TOO_MANY_PODS = 'Too many pods';
export const insufficient = (resource: string): string => `Insufficient ${resource}`;
export const untoleratedTaint = (t: V1Taint): string => `node(s) had untolerated taint {${t.key}: ${t.value ?? ''}}`;
export const REASON_TOPOLOGY_SPREAD = "node(s) didn't match pod topology spread constraints";
export const REASON_TOPOLOGY_LABEL = `${REASON_TOPOLOGY_SPREAD} (missing required label)`;
const HOSTNAME_LABEL = 'kubernetes.io/hostname';

// scoring defaults for containers without requests (pkg/scheduler/util: DefaultMilliCPURequest, DefaultMemoryRequest)
const DEFAULT_MILLI_CPU_REQUEST = 100;
const DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024;

/** What a pod asks of a node, computed once per pod (resourcehelper.PodRequests semantics). */
export interface PodRequests {
  milliCpu: number;
  memory: number;
  /** extended resources and anything else that is not cpu/memory, as integers */
  scalar: Map<string, number>;
  /** cpu/memory with the scoring defaults applied to containers that request none */
  nonZeroMilliCpu: number;
  nonZeroMemory: number;
  /** `scalar` as two arrays, for the filter's hot loop */
  scalarNames: string[];
  scalarAmounts: number[];
  /** the pod's namespace and labels: what spread constraints of later pods count it by */
  namespace: string;
  labels: Readonly<Record<string, string>>;
}

type Amounts = Map<string, number>;

function containerAmounts(requests: Record<string, string> | undefined, nonZero: boolean): Amounts {
  const out: Amounts = new Map();
  for (const [name, raw] of Object.entries(requests ?? {})) {
    const q = parseQuantity(String(raw));
    out.set(name, name === 'cpu' ? quantityMilliValue(q) : quantityValue(q));
  }
  if (nonZero) {
    if (!out.get('cpu')) out.set('cpu', DEFAULT_MILLI_CPU_REQUEST);
    if (!out.get('memory')) out.set('memory', DEFAULT_MEMORY_REQUEST);
  }
  return out;
}

function addInto(acc: Amounts, x: Amounts): void {
  for (const [k, v] of x) acc.set(k, (acc.get(k) ?? 0) + v);
}
function maxInto(acc: Amounts, x: Amounts): void {
  for (const [k, v] of x) if (v > (acc.get(k) ?? 0)) acc.set(k, v);
}

function podAmounts(pod: V1Pod, nonZero: boolean): Amounts {
  const reqs: Amounts = new Map();
  for (const c of pod.spec?.containers ?? []) addInto(reqs, containerAmounts(c.resources?.requests, nonZero));
  // init containers run one at a time, except restartable (sidecar) ones, which keep running alongside the rest
  const sidecars: Amounts = new Map();
  const initMax: Amounts = new Map();
  for (const c of pod.spec?.initContainers ?? []) {
    const own = containerAmounts(c.resources?.requests, nonZero);
    if (c.restartPolicy === 'Always') {
      addInto(reqs, own);
      addInto(sidecars, own);
      maxInto(initMax, sidecars);
    } else {
      const tmp: Amounts = new Map(own);
      addInto(tmp, sidecars);
      maxInto(initMax, tmp);
    }
  }
  maxInto(reqs, initMax);
  if (pod.spec?.overhead) addInto(reqs, containerAmounts(pod.spec.overhead as Record<string, string>, false));
  return reqs;
}

export function computePodRequests(pod: V1Pod): PodRequests {
  const reqs = podAmounts(pod, false);
  const nz = podAmounts(pod, true);
  const scalar = new Map<string, number>();
  for (const [k, v] of reqs) if (k !== 'cpu' && k !== 'memory' && v > 0) scalar.set(k, v);
  return {
    milliCpu: reqs.get('cpu') ?? 0,
    memory: reqs.get('memory') ?? 0,
    scalar,
    nonZeroMilliCpu: nz.get('cpu') ?? 0,
    nonZeroMemory: nz.get('memory') ?? 0,
    scalarNames: [...scalar.keys()],
    scalarAmounts: [...scalar.values()],
    namespace: pod.metadata?.namespace ?? 'default',
    labels: { ...(pod.metadata?.labels ?? {}) },
  };
}

interface NodeInfo {
  name: string;
  /** the node's place in Scheduler.nodes, and so its row in Scheduler.rows */
  index: number;
  labels: Record<string, string>;
  /** NoSchedule/NoExecute taints only: the ones the filter looks at */
  taints: V1Taint[];
  /** PreferNoSchedule taints: the ones TaintToleration scores */
  preferTaints: V1Taint[];
  unschedulable: boolean;
  allocMilliCpu: number;
  allocMemory: number;
  allocPods: number;
  allocScalar: Map<string, number>;
  reqMilliCpu: number;
  reqMemory: number;
  reqScalar: Map<string, number>;
  /** allocScalar and reqScalar by the scheduler's slot of each extended resource (0 where absent): the filter's reads */
  allocScalarAt: number[];
  reqScalarAt: number[];
  nonZeroMilliCpu: number;
  nonZeroMemory: number;
  podCount: number;
  /** the pods counted on the node (uid → requests), for spread constraints */
  pods: Map<string, PodRequests>;
}

/** Why a pod fits no node: counts per reason over all nodes, and the message kube-scheduler prints. */
export class FitError extends Error {
  readonly numAllNodes: number;
  readonly reasons: ReadonlyMap<string, number>;
  constructor(numAllNodes: number, reasons: Map<string, number>) {
    super(fitErrorMessage(numAllNodes, reasons));
    this.name = 'FitError';
    this.numAllNodes = numAllNodes;
    this.reasons = reasons;
  }
}

export function fitErrorMessage(numAllNodes: number, reasons: ReadonlyMap<string, number>): string {
  let msg = `0/${numAllNodes} nodes are available:`;
  // Go's sort.Strings over "<count> <reason>": byte order, so "10 …" sorts before "2 …" exactly as upstream
  const parts = [...reasons].map(([r, n]) => `${n} ${r}`).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (parts.length) msg += ` ${parts.join(', ')}.`;
  return msg;
}

export type ScheduleResult =
  | { scheduled: true; nodeName: string; feasibleNodes: number; evaluatedNodes: number }
  | { scheduled: false; error: FitError };

export interface SchedulerOptions {
  /** the run's seed: tie-breaking among equally scored nodes derives from it */
  seed: number | string;
  /** 0 = adaptive (the default of kube-scheduler); 100 = always look at every node */
  percentageOfNodesToScore?: number;
  /** NodeResourcesFit's scoring strategy and the resources it and BalancedAllocation score (default: cpu, memory) */
  scoring?: Partial<ScoringConfig>;
  /** score plugin weights (default: the default profile's) */
  weights?: Partial<Record<ScorePlugin, number>>;
}

/** one feasible node's scores: each plugin's after normalization (before weighting), and the weighted total */
export interface NodeScore {
  nodeName: string;
  plugins: Record<ScorePlugin, number>;
  total: number;
}

function tolerates(tolerations: readonly V1Toleration[], taint: V1Taint): boolean {
  return tolerations.some((t) => {
    if (t.effect && t.effect !== taint.effect) return false;
    if (t.key && t.key !== taint.key) return false;
    if (!t.key && t.operator !== 'Exists') return false;
    if (t.operator === 'Exists') return true;
    return (t.value ?? '') === (taint.value ?? '');
  });
}

function matchRequirement(req: V1NodeSelectorRequirement, value: string | undefined): boolean {
  const values = req.values ?? [];
  switch (req.operator) {
    case 'In':
      return value !== undefined && values.includes(value);
    case 'NotIn':
      return value === undefined || !values.includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
    case 'Gt':
    case 'Lt': {
      if (value === undefined || values.length !== 1) return false;
      const a = Number.parseInt(value, 10);
      const b = Number.parseInt(values[0], 10);
      if (Number.isNaN(a) || Number.isNaN(b)) return false;
      return req.operator === 'Gt' ? a > b : a < b;
    }
    default:
      return false;
  }
}

function matchTerm(term: V1NodeSelectorTerm, node: Pick<NodeInfo, 'name' | 'labels'>): boolean {
  const exprs = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  if (exprs.length === 0 && fields.length === 0) return false; // an empty term matches nothing
  for (const e of exprs) if (!matchRequirement(e, node.labels[e.key])) return false;
  for (const f of fields) if (!matchRequirement(f, f.key === 'metadata.name' ? node.name : undefined)) return false;
  return true;
}

type Placement = Pick<NodeInfo, 'name' | 'labels' | 'taints' | 'unschedulable'>;

/** The filters before NodeResourcesFit (NodeUnschedulable, TaintToleration, NodeAffinity): the first failing reason. */
function placementReason(pod: V1Pod, tolerations: readonly V1Toleration[], node: Placement): string | undefined {
  if (node.unschedulable && !tolerates(tolerations, UNSCHEDULABLE_TAINT)) return REASON_UNSCHEDULABLE_NODE;
  for (const t of node.taints) if (!tolerates(tolerations, t)) return untoleratedTaint(t);
  const selector = pod.spec?.nodeSelector;
  if (selector) for (const k in selector) if (node.labels[k] !== selector[k]) return REASON_NODE_AFFINITY;
  const terms = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  if (terms && !terms.some((t) => matchTerm(t, node))) return REASON_NODE_AFFINITY;
  return undefined;
}

/**
 * Whether a pod could be placed on a node, resources aside: what the DaemonSet controller asks of each node
 * (nodeShouldRunDaemonPod) before it creates the node's pod, with the scheduler's own filters.
 */
export function fitsPlacement(pod: V1Pod, node: V1Node): boolean {
  const info: Placement = {
    name: node.metadata?.name ?? '',
    labels: node.metadata?.labels ?? {},
    taints: (node.spec?.taints ?? []).filter((t) => TAINT_EFFECTS_FILTERED.has(t.effect)),
    unschedulable: node.spec?.unschedulable ?? false,
  };
  return placementReason(pod, pod.spec?.tolerations ?? [], info) === undefined;
}

const TAINT_EFFECTS_FILTERED = new Set(['NoSchedule', 'NoExecute']);
const UNSCHEDULABLE_TAINT: V1Taint = { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' };

function amountOf(raw: string | undefined, milli: boolean): number {
  if (raw === undefined) return 0;
  const q = parseQuantity(raw);
  return milli ? quantityMilliValue(q) : quantityValue(q);
}


/** metav1.LabelSelector against labels: every matchLabels entry and every matchExpression holds ({} matches all). */
export function labelSelectorMatches(sel: V1LabelSelector, labels: Readonly<Record<string, string>>): boolean {
  for (const k in sel.matchLabels ?? {}) if (labels[k] !== sel.matchLabels![k]) return false;
  for (const e of sel.matchExpressions ?? []) {
    const v = labels[e.key];
    const values = e.values ?? [];
    switch (e.operator) {
      case 'In':
        if (v === undefined || !values.includes(v)) return false;
        break;
      case 'NotIn':
        if (v !== undefined && values.includes(v)) return false;
        break;
      case 'Exists':
        if (v === undefined) return false;
        break;
      case 'DoesNotExist':
        if (v !== undefined) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

/** a pod's topology spread constraint, ready to count with */
interface SpreadConstraint {
  maxSkew: number;
  topologyKey: string;
  /** null: the constraint has no labelSelector and so matches no pod */
  selector: V1LabelSelector | null;
  minDomains: number;
  honorAffinity: boolean;
  honorTaints: boolean;
  /** the incoming pod matches its own selector */
  selfMatch: number;
}

function spreadConstraints(pod: V1Pod, req: PodRequests, when: 'DoNotSchedule' | 'ScheduleAnyway'): SpreadConstraint[] {
  const out: SpreadConstraint[] = [];
  for (const c of (pod.spec?.topologySpreadConstraints ?? []) as V1TopologySpreadConstraint[]) {
    if (c.whenUnsatisfiable !== when) continue;
    let selector: V1LabelSelector | null = c.labelSelector ?? null;
    // matchLabelKeys: the incoming pod's values of those keys join the selector (keys it lacks are left out)
    const keys = (c.matchLabelKeys ?? []).filter((k) => req.labels[k] !== undefined);
    if (selector && keys.length) {
      selector = { ...selector, matchExpressions: [...(selector.matchExpressions ?? []), ...keys.map((k) => ({ key: k, operator: 'In', values: [req.labels[k]] }))] };
    }
    out.push({
      maxSkew: c.maxSkew,
      topologyKey: c.topologyKey,
      selector,
      minDomains: c.minDomains ?? 1,
      honorAffinity: (c.nodeAffinityPolicy ?? 'Honor') === 'Honor',
      honorTaints: c.nodeTaintsPolicy === 'Honor',
      selfMatch: selector && labelSelectorMatches(selector, req.labels) ? 1 : 0,
    });
  }
  return out;
}

function hasAllKeys(node: NodeInfo, cs: readonly SpreadConstraint[]): boolean {
  for (const c of cs) if (node.labels[c.topologyKey] === undefined) return false;
  return true;
}

/** pods on the node in the namespace that the selector matches */
function countMatching(node: NodeInfo, c: SpreadConstraint, namespace: string): number {
  if (!c.selector) return 0;
  let n = 0;
  for (const p of node.pods.values()) if (p.namespace === namespace && labelSelectorMatches(c.selector, p.labels)) n++;
  return n;
}

/** what the node inclusion policies let count: required node affinity (honored by default) and taints (ignored) */
function nodeCounts(pod: V1Pod, tolerations: readonly V1Toleration[], node: NodeInfo, c: SpreadConstraint): boolean {
  if (c.honorAffinity && !matchesNodeAffinity(pod, node)) return false;
  if (c.honorTaints) for (const t of node.taints) if (!tolerates(tolerations, t)) return false;
  return true;
}

/** per constraint: topology value → matching pods over every node that counts */
function domainCounts(pod: V1Pod, req: PodRequests, nodes: readonly NodeInfo[], cs: readonly SpreadConstraint[], only?: ReadonlyArray<Set<string>>): Array<Map<string, number>> {
  const tolerations = pod.spec?.tolerations ?? [];
  const counts = cs.map((_, i) => new Map<string, number>(only ? [...only[i]].map((v) => [v, 0]) : []));
  for (const node of nodes) {
    if (!hasAllKeys(node, cs)) continue;
    cs.forEach((c, i) => {
      if (!nodeCounts(pod, tolerations, node, c)) return;
      const v = node.labels[c.topologyKey];
      if (only && !only[i].has(v)) return;
      counts[i].set(v, (counts[i].get(v) ?? 0) + countMatching(node, c, req.namespace));
    });
  }
  return counts;
}

/** PodTopologySpread's PreFilter state: counts per domain and the smallest count per DoNotSchedule constraint */
interface HardSpread {
  constraints: SpreadConstraint[];
  counts: Array<Map<string, number>>;
  minMatch: number[];
}

function hardSpread(pod: V1Pod, req: PodRequests, nodes: readonly NodeInfo[]): HardSpread | undefined {
  const constraints = spreadConstraints(pod, req, 'DoNotSchedule');
  if (!constraints.length) return undefined;
  const counts = domainCounts(pod, req, nodes, constraints);
  const minMatch = constraints.map((c, i) => {
    if (counts[i].size < c.minDomains) return 0;
    let min = Number.MAX_SAFE_INTEGER;
    for (const n of counts[i].values()) if (n < min) min = n;
    return min;
  });
  return { constraints, counts, minMatch };
}

function spreadReason(s: HardSpread, node: NodeInfo): string | undefined {
  for (let i = 0; i < s.constraints.length; i++) {
    const c = s.constraints[i];
    const v = node.labels[c.topologyKey];
    if (v === undefined) return REASON_TOPOLOGY_LABEL;
    if ((s.counts[i].get(v) ?? 0) + c.selfMatch - s.minMatch[i] > c.maxSkew) return REASON_TOPOLOGY_SPREAD;
  }
  return undefined;
}

/** the pod has a node selector or required node affinity */
function hasPlacement(pod: V1Pod): boolean {
  return !!(pod.spec?.nodeSelector || pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution);
}

function matchesNodeAffinity(pod: V1Pod, node: Pick<NodeInfo, 'name' | 'labels'>): boolean {
  const selector = pod.spec?.nodeSelector;
  if (selector) for (const k in selector) if (node.labels[k] !== selector[k]) return false;
  const terms = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  return !terms || terms.some((t) => matchTerm(t, node));
}

/** tolerations TaintToleration's score looks at: effect PreferNoSchedule or none */
function preferTolerations(tolerations: readonly V1Toleration[]): V1Toleration[] {
  return tolerations.filter((t) => !t.effect || t.effect === 'PreferNoSchedule');
}

const emptyPluginScores = (): Record<ScorePlugin, number> => ({
  NodeResourcesFit: 0,
  NodeResourcesBalancedAllocation: 0,
  TaintToleration: 0,
  NodeAffinity: 0,
  PodTopologySpread: 0,
});

// local bindings: the per-node loop calls them without going through the module namespace
const leastScore = leastRequestedScore;
const mostScore = mostRequestedScore;

type ResourceKind = { kind: 'cpu' } | { kind: 'memory' } | { kind: 'scalar'; name: string };
const kindOf = (name: string): ResourceKind => (name === 'cpu' ? { kind: 'cpu' } : name === 'memory' ? { kind: 'memory' } : { kind: 'scalar', name });

/**
 * requested (node's sum + the pod's) and allocatable of each scored resource, into the scratch arrays: cpu/memory
 * with the non-zero defaults when `nonZero` (NodeResourcesFit), as requested otherwise (BalancedAllocation); an
 * extended resource the pod does not ask for gets allocatable 0, which leaves it out
 */
function fillAmounts(kinds: readonly ResourceKind[], req: PodRequests, node: NodeInfo, nonZero: boolean, requested: number[], allocatable: number[]): void {
  for (let i = 0; i < kinds.length; i++) {
    const k = kinds[i];
    if (k.kind === 'cpu') {
      allocatable[i] = node.allocMilliCpu;
      requested[i] = nonZero ? node.nonZeroMilliCpu + req.nonZeroMilliCpu : node.reqMilliCpu + req.milliCpu;
    } else if (k.kind === 'memory') {
      allocatable[i] = node.allocMemory;
      requested[i] = nonZero ? node.nonZeroMemory + req.nonZeroMemory : node.reqMemory + req.memory;
    } else {
      const own = req.scalar.get(k.name) ?? 0;
      allocatable[i] = own === 0 ? 0 : (node.allocScalar.get(k.name) ?? 0);
      requested[i] = own === 0 ? 0 : (node.reqScalar.get(k.name) ?? 0) + own;
    }
  }
}

// The numbers the filter and the default scoring read, one row of a Float64Array per node (Scheduler.rows, in the order
// of Scheduler.nodes): a cycle reads a few hundred consecutive rows instead of as many node objects scattered over the
// heap, which at 10,000 nodes made the cycle wait on memory. The node objects stay the truth; a row is rewritten
// from its node whenever the node or the pods counted on it change.
/** 1 when the placement filters must look at the node (cordoned, or NoSchedule/NoExecute taints), else 0 */
const R_PLACEMENT = 0;
/** allocatable pods − pods counted */
const R_PODS_FREE = 1;
/** allocatable − requested, cpu (milli) and memory */
const R_CPU_FREE = 2;
const R_MEM_FREE = 3;
const R_ALLOC_CPU = 4;
const R_ALLOC_MEM = 5;
/** requested with the scoring defaults (NodeResourcesFit), and as requested (BalancedAllocation) */
const R_NZ_CPU = 6;
const R_NZ_MEM = 7;
const R_REQ_CPU = 8;
const R_REQ_MEM = 9;
/** PreferNoSchedule taints */
const R_PREFER_TAINTS = 10;
/** then per extended resource slot: allocatable − requested */
const R_SCALAR = 11;

export class Scheduler {
  private readonly nodes: NodeInfo[] = [];
  /** the nodes' rows (R_* fields), `stride` numbers each; capacity grows by doubling */
  private rows = new Float64Array(0);
  private stride = R_SCALAR;
  /** feasible nodes of the current cycle (indexes into nodes) and their totals; reused, grown by doubling */
  private feasibleIdx = new Int32Array(0);
  private totalsArr = new Float64Array(0);
  private readonly byName = new Map<string, NodeInfo>();
  /** pods counted on nodes: uid → (node, requests) */
  private readonly assigned = new Map<string, { node: NodeInfo; requests: PodRequests }>();
  private readonly rng: Rng;
  private readonly percentageOfNodesToScore: number;
  private readonly weights: Record<ScorePlugin, number>;
  private readonly most: boolean;
  private readonly fitKinds: ResourceKind[];
  private readonly fitWeights: number[];
  private readonly balancedKinds: ResourceKind[];
  // scratch arrays of one cycle, reused: the hot loop allocates nothing per node
  private readonly fitReq: number[];
  private readonly fitAlloc: number[];
  private readonly balReq: number[];
  private readonly balAlloc: number[];
  /** a slot per extended resource any node or counted pod has: index into NodeInfo.allocScalarAt/reqScalarAt */
  private readonly scalarSlots = new Map<string, number>();
  /** the slots of the pod's scalarNames in the current cycle (-1: no node has it nor any pod asks for it) */
  private readonly slotBuf: number[] = [];
  private readonly totalsBuf: number[] = [];
  /** scoring is the default one (cpu and memory, equal weights): the per-node loop takes a shortcut */
  private readonly cpuMem: boolean;
  private nextStartNodeIndex = 0;

  constructor(opts: SchedulerOptions) {
    this.rng = createRng(opts.seed);
    this.percentageOfNodesToScore = opts.percentageOfNodesToScore ?? 0;
    this.weights = { ...DEFAULT_SCORE_WEIGHTS, ...opts.weights };
    const scoring = { ...DEFAULT_SCORING, ...opts.scoring };
    this.most = scoring.strategy === 'MostAllocated';
    this.fitKinds = scoring.fitResources.map((r) => kindOf(r.name));
    this.fitWeights = scoring.fitResources.map((r) => r.weight);
    this.balancedKinds = scoring.balancedResources.map((r) => kindOf(r.name));
    const isCpuMem = (rs: readonly { name: string; weight: number }[]) => rs.length === 2 && rs[0].name === 'cpu' && rs[1].name === 'memory' && rs[0].weight === rs[1].weight;
    this.cpuMem = isCpuMem(scoring.fitResources) && isCpuMem(scoring.balancedResources);
    this.fitReq = new Array<number>(this.fitKinds.length).fill(0);
    this.fitAlloc = new Array<number>(this.fitKinds.length).fill(0);
    this.balReq = new Array<number>(this.balancedKinds.length).fill(0);
    this.balAlloc = new Array<number>(this.balancedKinds.length).fill(0);
  }

  get nodeCount(): number {
    return this.nodes.length;
  }

  /** Adds or refreshes a node from its object (labels, taints, unschedulable, status.allocatable). */
  upsertNode(node: V1Node): void {
    const name = node.metadata?.name;
    if (!name) throw new Error('node without metadata.name');
    let info = this.byName.get(name);
    if (!info) {
      info = {
        name,
        index: this.nodes.length,
        labels: {},
        taints: [],
        preferTaints: [],
        unschedulable: false,
        allocMilliCpu: 0,
        allocMemory: 0,
        allocPods: 0,
        allocScalar: new Map(),
        reqMilliCpu: 0,
        reqMemory: 0,
        reqScalar: new Map(),
        allocScalarAt: new Array<number>(this.scalarSlots.size).fill(0),
        reqScalarAt: new Array<number>(this.scalarSlots.size).fill(0),
        nonZeroMilliCpu: 0,
        nonZeroMemory: 0,
        podCount: 0,
        pods: new Map(),
      };
      this.byName.set(name, info);
      this.nodes.push(info);
    }
    info.labels = { ...(node.metadata?.labels ?? {}) };
    info.taints = (node.spec?.taints ?? []).filter((t) => TAINT_EFFECTS_FILTERED.has(t.effect));
    info.preferTaints = (node.spec?.taints ?? []).filter((t) => t.effect === 'PreferNoSchedule');
    info.unschedulable = node.spec?.unschedulable === true;
    const alloc = node.status?.allocatable ?? {};
    info.allocMilliCpu = amountOf(alloc.cpu, true);
    info.allocMemory = amountOf(alloc.memory, false);
    info.allocPods = amountOf(alloc.pods, false);
    info.allocScalar = new Map();
    info.allocScalarAt.fill(0);
    for (const [k, v] of Object.entries(alloc)) {
      if (k === 'cpu' || k === 'memory' || k === 'pods') continue;
      const amount = amountOf(v, false);
      info.allocScalar.set(k, amount);
      info.allocScalarAt[this.scalarSlot(k)] = amount;
    }
    this.writeRow(info);
  }

  /** Rewrites a node's row from the node (the rows grow when the node is past their end). */
  private writeRow(n: NodeInfo): void {
    const w = this.stride;
    if ((n.index + 1) * w > this.rows.length) {
      const grown = new Float64Array(Math.max(16, this.nodes.length, (n.index + 1) * 2) * w);
      grown.set(this.rows);
      this.rows = grown;
    }
    const r = this.rows;
    const o = n.index * w;
    r[o + R_PLACEMENT] = n.unschedulable || n.taints.length > 0 ? 1 : 0;
    r[o + R_PODS_FREE] = n.allocPods - n.podCount;
    r[o + R_CPU_FREE] = n.allocMilliCpu - n.reqMilliCpu;
    r[o + R_MEM_FREE] = n.allocMemory - n.reqMemory;
    r[o + R_ALLOC_CPU] = n.allocMilliCpu;
    r[o + R_ALLOC_MEM] = n.allocMemory;
    r[o + R_NZ_CPU] = n.nonZeroMilliCpu;
    r[o + R_NZ_MEM] = n.nonZeroMemory;
    r[o + R_REQ_CPU] = n.reqMilliCpu;
    r[o + R_REQ_MEM] = n.reqMemory;
    r[o + R_PREFER_TAINTS] = n.preferTaints.length;
    for (let s = 0; s < n.allocScalarAt.length; s++) r[o + R_SCALAR + s] = n.allocScalarAt[s] - n.reqScalarAt[s];
  }

  /** Every row anew, with the current stride (a new extended resource slot, a node gone). */
  private rebuildRows(): void {
    this.stride = R_SCALAR + this.scalarSlots.size;
    this.rows = new Float64Array(Math.max(16, this.nodes.length) * this.stride);
    for (const n of this.nodes) this.writeRow(n);
  }

  /** The slot of an extended resource, made (0 on every node) the first time a node or a counted pod names it. */
  private scalarSlot(name: string): number {
    let slot = this.scalarSlots.get(name);
    if (slot === undefined) {
      slot = this.scalarSlots.size;
      this.scalarSlots.set(name, slot);
      for (const n of this.nodes) {
        n.allocScalarAt.push(0);
        n.reqScalarAt.push(0);
      }
      this.rebuildRows();
    }
    return slot;
  }

  /** The slots of the pod's extended resources into slotBuf, for this cycle's filter. */
  private podSlots(req: PodRequests): number[] {
    const slots = this.slotBuf;
    slots.length = req.scalarNames.length;
    for (let i = 0; i < slots.length; i++) slots[i] = this.scalarSlots.get(req.scalarNames[i]) ?? -1;
    return slots;
  }

  removeNode(name: string): void {
    const info = this.byName.get(name);
    if (!info) return;
    this.byName.delete(name);
    const at = info.index;
    this.nodes.splice(at, 1);
    for (let i = at; i < this.nodes.length; i++) this.nodes[i].index = i;
    // the rows after it move up one
    this.rows.copyWithin(at * this.stride, (at + 1) * this.stride, (this.nodes.length + 1) * this.stride);
    for (const uid of info.pods.keys()) this.assigned.delete(uid);
  }

  /** Counts a pod on a node (an assumed or bound pod). Idempotent per uid. */
  addPod(uid: string, nodeName: string, requests: PodRequests): void {
    if (this.assigned.has(uid)) return;
    const node = this.byName.get(nodeName);
    if (!node) throw new Error(`cannot account pod ${uid} on unknown node ${nodeName}`);
    this.assigned.set(uid, { node, requests });
    node.reqMilliCpu += requests.milliCpu;
    node.reqMemory += requests.memory;
    node.nonZeroMilliCpu += requests.nonZeroMilliCpu;
    node.nonZeroMemory += requests.nonZeroMemory;
    node.podCount++;
    node.pods.set(uid, requests);
    for (const [k, v] of requests.scalar) {
      node.reqScalar.set(k, (node.reqScalar.get(k) ?? 0) + v);
      node.reqScalarAt[this.scalarSlot(k)] += v;
    }
    this.writeRow(node);
  }

  /** Stops counting a pod (deleted, or terminal: kube-scheduler's cache drops Succeeded/Failed pods). */
  removePod(uid: string): boolean {
    const a = this.assigned.get(uid);
    if (!a) return false;
    this.assigned.delete(uid);
    const { node, requests } = a;
    node.reqMilliCpu -= requests.milliCpu;
    node.reqMemory -= requests.memory;
    node.nonZeroMilliCpu -= requests.nonZeroMilliCpu;
    node.nonZeroMemory -= requests.nonZeroMemory;
    node.podCount--;
    node.pods.delete(uid);
    for (const [k, v] of requests.scalar) {
      node.reqScalar.set(k, (node.reqScalar.get(k) ?? 0) - v);
      node.reqScalarAt[this.scalarSlot(k)] -= v;
    }
    this.writeRow(node);
    return true;
  }

  /** Requested sums on a node, for tests and `describe node`. */
  requested(nodeName: string): { milliCpu: number; memory: number; pods: number; scalar: ReadonlyMap<string, number> } | undefined {
    const n = this.byName.get(nodeName);
    return n && { milliCpu: n.reqMilliCpu, memory: n.reqMemory, pods: n.podCount, scalar: n.reqScalar };
  }

  /**
   * Filter: undefined when the pod fits, else the failing plugin's reasons. `placement`: the pod has a node selector
   * or required node affinity (else only the node's taints and unschedulable need the placement filters).
   */
  private filter(pod: V1Pod, req: PodRequests, slots: readonly number[], node: NodeInfo, tolerations: readonly V1Toleration[], spread: HardSpread | undefined, placement: boolean): string[] | undefined {
    if (placement || node.unschedulable || node.taints.length > 0) {
      const why = placementReason(pod, tolerations, node);
      if (why) return [why];
    }
    let reasons: string[] | undefined;
    if (node.podCount + 1 > node.allocPods) (reasons ??= []).push(REASON_TOO_MANY_PODS);
    if (req.milliCpu > 0 && req.milliCpu > node.allocMilliCpu - node.reqMilliCpu) (reasons ??= []).push('Insufficient cpu');
    if (req.memory > 0 && req.memory > node.allocMemory - node.reqMemory) (reasons ??= []).push('Insufficient memory');
    for (let i = 0; i < slots.length; i++) {
      const slot = slots[i];
      const free = slot < 0 ? 0 : node.allocScalarAt[slot] - node.reqScalarAt[slot];
      if (req.scalarAmounts[i] > free) (reasons ??= []).push(insufficient(req.scalarNames[i]));
    }
    if (reasons || !spread) return reasons;
    const s = spreadReason(spread, node);
    return s ? [s] : undefined;
  }

  /** NodeResourcesFit's score: the strategy over the configured resources, cpu/memory with the non-zero defaults. */
  private fitScore(req: PodRequests, node: NodeInfo): number {
    fillAmounts(this.fitKinds, req, node, true, this.fitReq, this.fitAlloc);
    return resourceScore(this.fitReq, this.fitAlloc, this.fitWeights, this.most);
  }

  /** BalancedAllocation's score, on the requests as they are (no non-zero defaults). */
  private balancedScore(req: PodRequests, node: NodeInfo): number {
    fillAmounts(this.balancedKinds, req, node, false, this.balReq, this.balAlloc);
    return balancedScore(this.balReq, this.balAlloc);
  }

  /**
   * Every score plugin over the feasible nodes: per node each plugin's normalized score (0..100) and the weighted
   * total, in the order of `feasible`.
   */
  private scoreFeasible(pod: V1Pod, req: PodRequests, feasible: readonly NodeInfo[], perPlugin: boolean): { totals: number[]; plugins?: Array<Record<ScorePlugin, number>> } {
    const n = feasible.length;
    const w = this.weights;
    const totals = this.totalsBuf;
    totals.length = n;
    const plugins = perPlugin ? feasible.map(emptyPluginScores) : undefined;
    const add = (p: ScorePlugin, scores: readonly number[]) => {
      for (let i = 0; i < n; i++) {
        totals[i] += scores[i] * w[p];
        if (plugins) plugins[i][p] = scores[i];
      }
    };
    for (let i = 0; i < n; i++) {
      const node = feasible[i];
      let fit: number;
      let bal: number;
      if (this.cpuMem && node.allocMilliCpu > 0 && node.allocMemory > 0) {
        // the same arithmetic as fitScore/balancedScore for cpu and memory with equal weights, without the arrays
        const ac = node.allocMilliCpu;
        const am = node.allocMemory;
        const cpu = node.nonZeroMilliCpu + req.nonZeroMilliCpu;
        const mem = node.nonZeroMemory + req.nonZeroMemory;
        fit = this.most ? Math.floor((mostScore(cpu, ac) + mostScore(mem, am)) / 2) : Math.floor((leastScore(cpu, ac) + leastScore(mem, am)) / 2);
        const fc = Math.min((node.reqMilliCpu + req.milliCpu) / ac, 1);
        const fm = Math.min((node.reqMemory + req.memory) / am, 1);
        bal = Math.trunc((1 - Math.abs((fc - fm) / 2)) * 100);
      } else {
        fit = this.fitScore(req, node);
        bal = this.balancedScore(req, node);
      }
      totals[i] = fit * w.NodeResourcesFit + bal * w.NodeResourcesBalancedAllocation;
      if (plugins) {
        plugins[i].NodeResourcesFit = fit;
        plugins[i].NodeResourcesBalancedAllocation = bal;
      }
    }
    // TaintToleration: PreferNoSchedule taints the pod does not tolerate, fewest best (none anywhere: 100 each)
    let anyPrefer = false;
    for (let i = 0; i < n && !anyPrefer; i++) anyPrefer = feasible[i].preferTaints.length > 0;
    if (anyPrefer) {
      const tols = preferTolerations(pod.spec?.tolerations ?? []);
      const taints = feasible.map((node) => {
        let c = 0;
        for (const t of node.preferTaints) if (!tolerates(tols, t)) c++;
        return c;
      });
      defaultNormalizeScore(taints, true);
      add('TaintToleration', taints);
    } else {
      for (let i = 0; i < n; i++) {
        totals[i] += MAX_NODE_SCORE * w.TaintToleration;
        if (plugins) plugins[i].TaintToleration = MAX_NODE_SCORE;
      }
    }
    // NodeAffinity: the weights of the preferred terms the node matches
    const preferred = (pod.spec?.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []) as V1PreferredSchedulingTerm[];
    if (preferred.length) {
      const aff = feasible.map((node) => preferred.reduce((s, t) => (t.weight !== 0 && matchTerm(t.preference, node) ? s + t.weight : s), 0));
      defaultNormalizeScore(aff, false);
      add('NodeAffinity', aff);
    }
    // PodTopologySpread: ScheduleAnyway constraints; skipped (no score at all) without them
    const soft = spreadConstraints(pod, req, 'ScheduleAnyway');
    if (soft.length) add('PodTopologySpread', this.spreadScores(pod, req, feasible, soft));
    return { totals, plugins };
  }

  private spreadScores(pod: V1Pod, req: PodRequests, feasible: readonly NodeInfo[], cs: readonly SpreadConstraint[]): number[] {
    const ignored = feasible.map((node) => !hasAllKeys(node, cs));
    const domains = cs.map(() => new Set<string>());
    let counted = 0;
    feasible.forEach((node, j) => {
      if (ignored[j]) return;
      counted++;
      cs.forEach((c, i) => domains[i].add(node.labels[c.topologyKey]));
    });
    const weights = cs.map((c, i) => topologyNormalizingWeight(c.topologyKey === HOSTNAME_LABEL ? counted : domains[i].size));
    // domain counts over every node that counts, for the domains of the feasible nodes (a node's own count for hostname)
    const hostnameFree = cs.map((c, i) => (c.topologyKey === HOSTNAME_LABEL ? new Set<string>() : domains[i]));
    const counts = domainCounts(pod, req, this.nodes, cs, hostnameFree);
    const scores = feasible.map((node) => {
      let s = 0;
      cs.forEach((c, i) => {
        const v = node.labels[c.topologyKey];
        if (v === undefined) return;
        const cnt = c.topologyKey === HOSTNAME_LABEL ? countMatching(node, c, req.namespace) : (counts[i].get(v) ?? 0);
        s += spreadScoreForCount(cnt, c.maxSkew, weights[i]);
      });
      return Math.round(s);
    });
    normalizeSpreadScores(scores, ignored);
    return scores;
  }

  /**
   * The scores kube-scheduler would give each node that passes the filters (all nodes searched): per plugin after
   * normalization, and the weighted total. For tests, and to explain a placement.
   */
  scoreNodes(pod: V1Pod, requests: PodRequests = computePodRequests(pod)): NodeScore[] {
    const tolerations = pod.spec?.tolerations ?? [];
    const spread = hardSpread(pod, requests, this.nodes);
    const slots = this.podSlots(requests);
    const feasible = this.nodes.filter((node) => !this.filter(pod, requests, slots, node, tolerations, spread, hasPlacement(pod)));
    const { totals, plugins } = this.scoreFeasible(pod, requests, feasible, true);
    return feasible.map((node, i) => ({ nodeName: node.name, plugins: plugins![i], total: totals[i] }));
  }

  private numFeasibleNodesToFind(numAllNodes: number): number {
    // pkg/scheduler/schedule_one.go: minFeasibleNodesToFind = 100, minFeasibleNodesPercentageToFind = 5,
    // adaptive percentage = 50 - numAllNodes/125
    if (numAllNodes < 100 || this.percentageOfNodesToScore >= 100) return numAllNodes;
    let pct = this.percentageOfNodesToScore;
    if (pct <= 0) pct = Math.max(50 - Math.floor(numAllNodes / 125), 5);
    const n = Math.floor((numAllNodes * pct) / 100);
    return n < 100 ? 100 : n;
  }

  /** One scheduling cycle for a pod. Does not account the pod: call addPod with the chosen node to assume it. */
  schedule(pod: V1Pod, requests: PodRequests = computePodRequests(pod)): ScheduleResult {
    const all = this.nodes.length;
    if (all === 0) return { scheduled: false, error: new FitError(0, new Map()) };
    const want = this.numFeasibleNodesToFind(all);
    const tolerations = pod.spec?.tolerations ?? [];
    const spread = hardSpread(pod, requests, this.nodes);
    const placement = hasPlacement(pod);
    const slots = this.podSlots(requests);
    if (this.feasibleIdx.length < all) this.feasibleIdx = new Int32Array(Math.max(all, this.feasibleIdx.length * 2));
    const feasible = this.feasibleIdx;
    // without a selector, required affinity or DoNotSchedule spread, a node without cordon or taints passes the
    // filters when its row has room for the requests; any other node (or one without room, for its reasons) goes
    // through filter()
    const rowsOnly = !placement && !spread;
    const rows = this.rows;
    const stride = this.stride;
    const cpu = requests.milliCpu;
    const mem = requests.memory;
    const amounts = requests.scalarAmounts;
    let index = this.nextStartNodeIndex % all;
    let processed = 0;
    let found = 0;
    let failures: Map<string, number> | undefined;
    for (; processed < all && found < want; processed++) {
      const i = index;
      if (++index === all) index = 0;
      if (rowsOnly) {
        const o = i * stride;
        let fits = rows[o + R_PLACEMENT] === 0 && rows[o + R_PODS_FREE] >= 1 && !(cpu > 0 && cpu > rows[o + R_CPU_FREE]) && !(mem > 0 && mem > rows[o + R_MEM_FREE]);
        for (let k = 0; fits && k < slots.length; k++) fits = !(amounts[k] > (slots[k] < 0 ? 0 : rows[o + R_SCALAR + slots[k]]));
        if (fits) {
          feasible[found++] = i;
          continue;
        }
      }
      const reasons = this.filter(pod, requests, slots, this.nodes[i], tolerations, spread, placement);
      if (reasons) {
        failures ??= new Map();
        for (const r of reasons) failures.set(r, (failures.get(r) ?? 0) + 1);
        continue;
      }
      feasible[found++] = i;
    }
    this.nextStartNodeIndex = (this.nextStartNodeIndex + processed) % all;
    if (found === 0) return { scheduled: false, error: new FitError(all, failures ?? new Map()) };
    // a single feasible node is taken without scoring, as schedulePod does
    if (found === 1) return { scheduled: true, nodeName: this.nodes[feasible[0]].name, feasibleNodes: 1, evaluatedNodes: processed };
    let totals: ArrayLike<number>;
    if (this.rowScoring(pod, feasible, found)) totals = this.scoreRows(requests, feasible, found);
    else {
      const nodes: NodeInfo[] = [];
      for (let k = 0; k < found; k++) nodes.push(this.nodes[feasible[k]]);
      totals = this.scoreFeasible(pod, requests, nodes, false).totals;
    }
    // selectHost: the highest total; ties broken by reservoir sampling
    let best = 0;
    let ties = 1;
    for (let i = 1; i < found; i++) {
      if (totals[i] > totals[best]) {
        best = i;
        ties = 1;
      } else if (totals[i] === totals[best]) {
        ties++;
        if (this.rng.intn(ties) === 0) best = i;
      }
    }
    return { scheduled: true, nodeName: this.nodes[feasible[best]].name, feasibleNodes: found, evaluatedNodes: processed };
  }

  /**
   * The pod and the feasible nodes leave only NodeResourcesFit and BalancedAllocation on cpu and memory (equal
   * weights) to tell nodes apart: no preferred node affinity, no ScheduleAnyway spread, no PreferNoSchedule taint on
   * any feasible node (TaintToleration then gives each 100). scoreRows then gives the totals scoreFeasible would.
   */
  private rowScoring(pod: V1Pod, feasible: Int32Array, found: number): boolean {
    if (!this.cpuMem) return false;
    if (pod.spec?.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution?.length) return false;
    if (pod.spec?.topologySpreadConstraints?.some((c) => c.whenUnsatisfiable === 'ScheduleAnyway')) return false;
    for (let k = 0; k < found; k++) if (this.rows[feasible[k] * this.stride + R_PREFER_TAINTS] > 0) return false;
    return true;
  }

  /** scoreFeasible's totals from the rows, for the pods and nodes rowScoring admits. */
  private scoreRows(req: PodRequests, feasible: Int32Array, found: number): Float64Array {
    if (this.totalsArr.length < found) this.totalsArr = new Float64Array(Math.max(found, this.totalsArr.length * 2));
    const totals = this.totalsArr;
    const w = this.weights;
    const rows = this.rows;
    const stride = this.stride;
    const taints = MAX_NODE_SCORE * w.TaintToleration;
    for (let k = 0; k < found; k++) {
      const o = feasible[k] * stride;
      const ac = rows[o + R_ALLOC_CPU];
      const am = rows[o + R_ALLOC_MEM];
      let fit: number;
      let bal: number;
      if (ac > 0 && am > 0) {
        // the arithmetic of scoreFeasible's cpu/memory shortcut
        const cpu = rows[o + R_NZ_CPU] + req.nonZeroMilliCpu;
        const mem = rows[o + R_NZ_MEM] + req.nonZeroMemory;
        fit = this.most ? Math.floor((mostScore(cpu, ac) + mostScore(mem, am)) / 2) : Math.floor((leastScore(cpu, ac) + leastScore(mem, am)) / 2);
        const fc = Math.min((rows[o + R_REQ_CPU] + req.milliCpu) / ac, 1);
        const fm = Math.min((rows[o + R_REQ_MEM] + req.memory) / am, 1);
        bal = Math.trunc((1 - Math.abs((fc - fm) / 2)) * 100);
      } else {
        const node = this.nodes[feasible[k]];
        fit = this.fitScore(req, node);
        bal = this.balancedScore(req, node);
      }
      totals[k] = fit * w.NodeResourcesFit + bal * w.NodeResourcesBalancedAllocation + taints;
    }
    return totals;
  }
}

export { SCORE_PLUGINS };
