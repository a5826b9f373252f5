// An emulation of kube-scheduler's default profile as far as extended resources and DaemonSet-like placement need it:
// filters NodeUnschedulable → TaintToleration → NodeAffinity (nodeSelector, required node affinity) → NodeResourcesFit
// (pods, cpu, memory, extended resources), scores LeastAllocated + BalancedAllocation on cpu/memory with the
// scheduler's non-zero defaults, and picks among the best nodes with a seeded PRNG (reservoir sampling, as selectHost
// does). Like the real one it searches only a share of the nodes once enough feasible ones are found
// (percentageOfNodesToScore, adaptive) and rotates the start index between cycles.
//
// Per-node requested sums are kept incrementally (addPod/removePod), never recomputed from the pod list.
//
// Messages (kube-scheduler, pkg/scheduler): FitError.Error() = "0/%v nodes are available:" + " <sorted '<count>
// <reason>' joined by ', '>." ; reasons: NodeResourcesFit "Insufficient <resource>" and "Too many pods",
// NodeAffinity ErrReasonPod "node(s) didn't match Pod's node affinity/selector", TaintToleration
// "node(s) had untolerated taint {<key>: <value>}" (1.25–1.34 wording), NodeUnschedulable "node(s) were unschedulable".
import type { V1Node, V1NodeSelectorRequirement, V1NodeSelectorTerm, V1Pod, V1Taint, V1Toleration } from '@kubernetes/client-node';
import { createRng, type Rng } from './prng.ts';
import { parseQuantity, quantityMilliValue, quantityValue } from './quantity.ts';

export const REASON_UNSCHEDULABLE_NODE = 'node(s) were unschedulable';
export const REASON_NODE_AFFINITY = "node(s) didn't match Pod's node affinity/selector";
export const REASON_TOO_MANY_PODS = 'Too many pods';
export const insufficient = (resource: string): string => `Insufficient ${resource}`;
export const untoleratedTaint = (t: V1Taint): string => `node(s) had untolerated taint {${t.key}: ${t.value ?? ''}}`;

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
  };
}

interface NodeInfo {
  name: string;
  labels: Record<string, string>;
  /** NoSchedule/NoExecute taints only: the ones the filter looks at */
  taints: V1Taint[];
  unschedulable: boolean;
  allocMilliCpu: number;
  allocMemory: number;
  allocPods: number;
  allocScalar: Map<string, number>;
  reqMilliCpu: number;
  reqMemory: number;
  reqScalar: Map<string, number>;
  nonZeroMilliCpu: number;
  nonZeroMemory: number;
  podCount: number;
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

// module-level, not a closure in score(): the hot loop must not allocate a function per node
function least(used: number, cap: number): number {
  return cap === 0 || used > cap ? 0 : Math.floor(((cap - used) * 100) / cap);
}

const TAINT_EFFECTS_FILTERED = new Set(['NoSchedule', 'NoExecute']);
const UNSCHEDULABLE_TAINT: V1Taint = { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' };

function amountOf(raw: string | undefined, milli: boolean): number {
  if (raw === undefined) return 0;
  const q = parseQuantity(raw);
  return milli ? quantityMilliValue(q) : quantityValue(q);
}

export class Scheduler {
  private readonly nodes: NodeInfo[] = [];
  private readonly byName = new Map<string, NodeInfo>();
  /** pods counted on nodes: uid → (node, requests) */
  private readonly assigned = new Map<string, { node: NodeInfo; requests: PodRequests }>();
  private readonly rng: Rng;
  private readonly percentageOfNodesToScore: number;
  private nextStartNodeIndex = 0;

  constructor(opts: SchedulerOptions) {
    this.rng = createRng(opts.seed);
    this.percentageOfNodesToScore = opts.percentageOfNodesToScore ?? 0;
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
        labels: {},
        taints: [],
        unschedulable: false,
        allocMilliCpu: 0,
        allocMemory: 0,
        allocPods: 0,
        allocScalar: new Map(),
        reqMilliCpu: 0,
        reqMemory: 0,
        reqScalar: new Map(),
        nonZeroMilliCpu: 0,
        nonZeroMemory: 0,
        podCount: 0,
      };
      this.byName.set(name, info);
      this.nodes.push(info);
    }
    info.labels = { ...(node.metadata?.labels ?? {}) };
    info.taints = (node.spec?.taints ?? []).filter((t) => TAINT_EFFECTS_FILTERED.has(t.effect));
    info.unschedulable = node.spec?.unschedulable === true;
    const alloc = node.status?.allocatable ?? {};
    info.allocMilliCpu = amountOf(alloc.cpu, true);
    info.allocMemory = amountOf(alloc.memory, false);
    info.allocPods = amountOf(alloc.pods, false);
    info.allocScalar = new Map();
    for (const [k, v] of Object.entries(alloc)) if (k !== 'cpu' && k !== 'memory' && k !== 'pods') info.allocScalar.set(k, amountOf(v, false));
  }

  removeNode(name: string): void {
    const info = this.byName.get(name);
    if (!info) return;
    this.byName.delete(name);
    this.nodes.splice(this.nodes.indexOf(info), 1);
    for (const [uid, a] of this.assigned) if (a.node === info) this.assigned.delete(uid);
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
    for (const [k, v] of requests.scalar) node.reqScalar.set(k, (node.reqScalar.get(k) ?? 0) + v);
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
    for (const [k, v] of requests.scalar) node.reqScalar.set(k, (node.reqScalar.get(k) ?? 0) - v);
    return true;
  }

  /** Requested sums on a node, for tests and `describe node`. */
  requested(nodeName: string): { milliCpu: number; memory: number; pods: number; scalar: ReadonlyMap<string, number> } | undefined {
    const n = this.byName.get(nodeName);
    return n && { milliCpu: n.reqMilliCpu, memory: n.reqMemory, pods: n.podCount, scalar: n.reqScalar };
  }

  /** Filter: undefined when the pod fits, else the failing plugin's reasons. */
  private filter(pod: V1Pod, req: PodRequests, node: NodeInfo, tolerations: readonly V1Toleration[]): string[] | undefined {
    const placement = placementReason(pod, tolerations, node);
    if (placement) return [placement];
    let reasons: string[] | undefined;
    if (node.podCount + 1 > node.allocPods) (reasons ??= []).push(REASON_TOO_MANY_PODS);
    if (req.milliCpu > 0 && req.milliCpu > node.allocMilliCpu - node.reqMilliCpu) (reasons ??= []).push('Insufficient cpu');
    if (req.memory > 0 && req.memory > node.allocMemory - node.reqMemory) (reasons ??= []).push('Insufficient memory');
    for (const [r, v] of req.scalar) {
      if (v > (node.allocScalar.get(r) ?? 0) - (node.reqScalar.get(r) ?? 0)) (reasons ??= []).push(insufficient(r));
    }
    return reasons;
  }

  /** LeastAllocated + BalancedAllocation on cpu/memory (weights 1), with the non-zero request defaults. */
  private score(req: PodRequests, node: NodeInfo): number {
    const cpu = node.nonZeroMilliCpu + req.nonZeroMilliCpu;
    const mem = node.nonZeroMemory + req.nonZeroMemory;
    const leastAllocated = Math.floor((least(cpu, node.allocMilliCpu) + least(mem, node.allocMemory)) / 2);
    const fc = node.allocMilliCpu ? Math.min(cpu / node.allocMilliCpu, 1) : 1;
    const fm = node.allocMemory ? Math.min(mem / node.allocMemory, 1) : 1;
    const balanced = Math.floor((1 - Math.abs(fc - fm) / 2) * 100);
    return leastAllocated + balanced;
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
    const start = this.nextStartNodeIndex;
    let best: NodeInfo | undefined;
    let bestScore = -1;
    let ties = 0;
    let feasible = 0;
    let processed = 0;
    let failures: Map<string, number> | undefined;
    for (; processed < all && feasible < want; processed++) {
      const node = this.nodes[(start + processed) % all];
      const reasons = this.filter(pod, requests, node, tolerations);
      if (reasons) {
        failures ??= new Map();
        for (const r of reasons) failures.set(r, (failures.get(r) ?? 0) + 1);
        continue;
      }
      feasible++;
      const s = this.score(requests, node);
      if (s > bestScore) {
        best = node;
        bestScore = s;
        ties = 1;
      } else if (s === bestScore) {
        ties++;
        if (this.rng.intn(ties) === 0) best = node;
      }
    }
    this.nextStartNodeIndex = (start + processed) % all;
    if (!best) return { scheduled: false, error: new FitError(all, failures ?? new Map()) };
    return { scheduled: true, nodeName: best.name, feasibleNodes: feasible, evaluatedNodes: processed };
  }
}
