// The emulated control plane of a simulated cluster: object store + scheduler + one NodeAgent (kubelet) per node.
//
// Pod lifecycle (docs/lifecycle.md): created (apiserver defaulting/validation) → Pending in the scheduling queue →
// bound (Scheduled) or Unschedulable (PodScheduled=False, FailedScheduling event; retried when a node changes or a
// pod goes away) → admission by the node's agent (a rejection makes it Failed) → the sandbox (onPodAdmitted hooks:
// network attach) → Running. A failed sandbox keeps the pod Pending (ContainerCreating) with its devices, raises
// FailedCreatePodSandBox and is retried after the pod worker's back-off on the kubelets' clock. Succeeded / Failed
// (completePod, containers) free the devices. Deletion: deletionTimestamp → containers stopped (onPodKill, grace
// period) → the agent's releasePod (devices free, Pending pods retried) → sandbox teardown (onPodReleased: CNI DEL)
// → the object removed. releasePod is called exactly once for every pod the agent was asked to admit.
import type { CoreV1Event, V1Container, V1ContainerState, V1ContainerStatus, V1Node, V1Pod, V1PodCondition, V1Taint } from '@kubernetes/client-node';
import { DaemonSetController } from './daemonset.ts';
import { EventCorrelator } from './events.ts';
import { RealClock } from '../kubelet/clock.ts';
import type { Clock, TimerHandle } from '../kubelet/types.ts';
import type { ContainerReport, ContainerStateLite, PodContainersReport } from './containers.ts';
import type { AdmitResult, ContainerAllocation, ContainerLite, NodeAgent, PodSpecLite, ResourceList } from '../kubelet/types.ts';
import { createRng, type Rng } from '../scheduler/prng.ts';
import { computePodRequests, Scheduler, type PodRequests } from '../scheduler/scheduler.ts';
import { admitPodObject } from '../apiserver/validation.ts';
import { ManifestError, parseManifests, podAdmissionIssues } from './manifest.ts';
import { hexDigits, ObjectStore, StoreError, type AnyObject, type NetworkAttachmentDefinition, type StoreClock } from './store.ts';

export const SCHEDULER_NAME = 'default-scheduler';
export const KUBELET_VERSION = 'v1.34.0';

export interface ClusterOptions {
  /** the run's seed: uids and scheduler tie-breaking derive from it */
  seed?: number | string;
  clock?: StoreClock;
  /**
   * Append kube-scheduler's DefaultPreemption PostFilter text to FailedScheduling messages
   * (" preemption: 0/N nodes are available: N No preemption victims found for incoming pod."), as a real cluster with
   * the default profile prints it. Off by default: the message then ends after the filter reasons.
   */
  preemptionMessage?: boolean;
  /** passed to the scheduler; 0 = adaptive like kube-scheduler */
  percentageOfNodesToScore?: number;
  /**
   * the kubelets' clock: the pod worker's back-off between sandbox attempts runs on it, so a scenario's
   * advanceClock (or a test's ManualClock) reaches the next attempt without waiting; default real time
   */
  kubeletClock?: Clock;
}

/** pod_workers.go: a failed sync is retried after backOffPeriod (kubelet.go, 10 s) jittered by 0.5 (10–15 s) */
export const POD_WORKER_BACKOFF_MS = 10_000;
export const POD_WORKER_BACKOFF_JITTER = 0.5;
/** the grace period of a pod that sets none (core/v1 DefaultTerminationGracePeriodSeconds) */
export const DEFAULT_GRACE_PERIOD_SECONDS = 30;

export interface NodeOptions {
  /** node capacity = allocatable for these three; defaults "8", "32Gi", "110" */
  cpu?: string;
  memory?: string;
  pods?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  taints?: V1Taint[];
  unschedulable?: boolean;
  internalIP?: string;
}

export interface PodAdmittedContext {
  pod: V1Pod;
  nodeName: string;
  allocations: ContainerAllocation[];
}
/** What a hook may add to the pod before it is reported Running. */
export interface PodAdmittedPatch {
  annotations?: Record<string, string>;
  podIP?: string;
}
export type PodAdmittedHook = (ctx: PodAdmittedContext) => Promise<PodAdmittedPatch | void>;
export type PodReleasedHook = (ctx: { pod: V1Pod; nodeName: string }) => Promise<void>;
/** Stops a pod's containers: SIGTERM, then SIGKILL once the grace period is over. */
export type PodKillHook = (ctx: { pod: V1Pod; nodeName: string; gracePeriodSeconds: number }) => Promise<void>;

/** Thrown by an onPodAdmitted hook to fail the pod with a reason of its choosing. */
export class PodStartError extends Error {
  readonly reason: string;
  constructor(reason: string, message: string) {
    super(message);
    this.name = 'PodStartError';
    this.reason = reason;
  }
}

export interface EventSource {
  component: string;
  host?: string;
}

interface PodRecord {
  uid: string;
  namespace: string;
  name: string;
  requests: PodRequests;
  state: 'queued' | 'unschedulable' | 'admitting' | 'running' | 'terminal' | 'deleting';
  nodeName?: string;
  /** passed to agent.admitPod, so releasePod is owed */
  admitted: boolean;
  released: boolean;
  allocations: ContainerAllocation[];
  work?: Promise<void>;
  /** the next sandbox attempt, while the pod worker backs off after a failed one */
  retry?: TimerHandle;
  /** sandbox attempts that failed */
  sandboxFailures: number;
  /** the deletion in progress */
  deleting?: Promise<void>;
  /** the node's newest report of the pod's containers, and the one applied last (for the kubelet's events) */
  containers?: PodContainersReport;
  appliedContainers?: PodContainersReport;
}

/** A node's container state as the API's (dates as Dates). */
function apiState(s: ContainerStateLite): V1ContainerState {
  const out: V1ContainerState = {};
  if (s.running) out.running = { startedAt: new Date(s.running.startedAt) };
  if (s.waiting) out.waiting = { ...s.waiting };
  if (s.terminated) out.terminated = { ...s.terminated, startedAt: new Date(s.terminated.startedAt), finishedAt: new Date(s.terminated.finishedAt) };
  return out;
}

function apiContainerStatus(c: ContainerReport): V1ContainerStatus {
  const running = !!c.state.running;
  return {
    name: c.name,
    image: c.image,
    imageID: '',
    containerID: c.containerID,
    ready: running,
    started: running,
    restartCount: c.restartCount,
    state: apiState(c.state),
    ...(c.lastState.terminated ? { lastState: apiState(c.lastState) } : {}),
  };
}

/** The phase of a pod whose containers all ended, under its restartPolicy; undefined while it is not done. */
export function completedPhase(restartPolicy: string | undefined, containers: ContainerReport[]): 'Succeeded' | 'Failed' | undefined {
  if ((restartPolicy ?? 'Always') === 'Always' || containers.length === 0) return undefined;
  if (!containers.every((c) => c.state.terminated)) return undefined;
  return containers.every((c) => c.state.terminated!.exitCode === 0) ? 'Succeeded' : 'Failed';
}

export interface ApplyResult {
  kind: string;
  namespace?: string;
  name: string;
  action: 'created' | 'configured' | 'unchanged';
}

function quantityString(v: unknown): string {
  return typeof v === 'number' ? String(v) : String(v ?? '');
}

function toLite(c: V1Container): ContainerLite {
  const lite: ContainerLite = { name: c.name, limits: {}, requests: {} };
  for (const [k, v] of Object.entries(c.resources?.limits ?? {})) lite.limits[k] = quantityString(v);
  for (const [k, v] of Object.entries(c.resources?.requests ?? {})) lite.requests[k] = quantityString(v);
  if (c.restartPolicy === 'Always') lite.restartPolicy = 'Always';
  return lite;
}

export function podSpecLite(pod: V1Pod): PodSpecLite {
  return {
    uid: pod.metadata!.uid!,
    name: pod.metadata!.name!,
    namespace: pod.metadata!.namespace ?? 'default',
    initContainers: (pod.spec?.initContainers ?? []).map(toLite),
    containers: (pod.spec?.containers ?? []).map(toLite),
  };
}

/** GetPodQOS: Guaranteed when every container has cpu and memory limits equal to requests, BestEffort with none. */
export function podQosClass(pod: V1Pod): 'Guaranteed' | 'Burstable' | 'BestEffort' {
  const all = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
  let any = false;
  let guaranteed = true;
  for (const c of all) {
    for (const r of ['cpu', 'memory']) {
      const req = c.resources?.requests?.[r];
      const lim = c.resources?.limits?.[r];
      if (req !== undefined || lim !== undefined) any = true;
      if (lim === undefined || (req !== undefined && String(req) !== String(lim))) guaranteed = false;
    }
  }
  return !any ? 'BestEffort' : guaranteed ? 'Guaranteed' : 'Burstable';
}

function addHook<H>(list: H[], hook: H): () => void {
  list.push(hook);
  return () => {
    const i = list.indexOf(hook);
    if (i >= 0) list.splice(i, 1);
  };
}

function condition(type: string, status: 'True' | 'False', at: Date, reason?: string, message?: string): V1PodCondition {
  return { type, status, lastProbeTime: undefined, lastTransitionTime: at, ...(reason ? { reason } : {}), ...(message ? { message } : {}) };
}

function setCondition(list: V1PodCondition[] | undefined, c: V1PodCondition): V1PodCondition[] {
  const out = [...(list ?? [])];
  const i = out.findIndex((x) => x.type === c.type);
  if (i < 0) out.push(c);
  else {
    const keepTime = out[i].status === c.status ? out[i].lastTransitionTime : c.lastTransitionTime;
    out[i] = { ...c, lastTransitionTime: keepTime };
  }
  return out;
}

export class Cluster {
  readonly store: ObjectStore;
  readonly scheduler: Scheduler;
  private readonly opts: ClusterOptions;
  private readonly agents = new Map<string, { agent: NodeAgent; options: NodeOptions; unsubscribe: () => void }>();
  private readonly pods = new Map<string, PodRecord>();
  private activeQ: string[] = [];
  private readonly unschedulableQ = new Set<string>();
  private pumpScheduled = false;
  private readonly inflight = new Set<Promise<void>>();
  private readonly admittedHooks: PodAdmittedHook[] = [];
  private readonly releasedHooks: PodReleasedHook[] = [];
  private readonly killHooks: PodKillHook[] = [];
  private eventSeq = 0;
  /** the correlator's key → event name: a repeat bumps that event's count */
  private readonly eventKeys = new Map<string, string>();
  private readonly correlator = new EventCorrelator();
  readonly kubeletClock: Clock;
  /** deletions nobody awaits (delete with wait: false, the API's deletes): settle() does not wait for them */
  private readonly deletions = new Set<Promise<void>>();
  private readonly rng: Rng;
  /** the pod worker's jitter: a stream of its own, so a back-off does not shift the uids and IDs drawn after it */
  private readonly backoffRng: Rng;
  private readonly unwatch: () => void;
  private readonly daemonSets: DaemonSetController;
  /** errors of background work (admission, release) nobody awaited; settle() rethrows the first */
  private readonly backgroundErrors: unknown[] = [];

  constructor(opts: ClusterOptions = {}) {
    this.opts = opts;
    this.kubeletClock = opts.kubeletClock ?? new RealClock();
    this.store = new ObjectStore({ clock: opts.clock, seed: opts.seed ?? 0 });
    this.scheduler = new Scheduler({ seed: opts.seed ?? 0, percentageOfNodesToScore: opts.percentageOfNodesToScore });
    this.rng = createRng(`cluster:${opts.seed ?? 0}`);
    this.backoffRng = createRng(`pod-worker:${opts.seed ?? 0}`);
    // every node change (kubelet status, apply of labels/taints) reaches the scheduler and retries Pending pods
    this.unwatch = this.store.watch('Node', {
      added: (n) => {
        this.scheduler.upsertNode(n);
        this.requeueUnschedulable();
      },
      modified: (n) => {
        this.scheduler.upsertNode(n);
        this.requeueUnschedulable();
      },
      deleted: (n) => {
        this.scheduler.removeNode(n.metadata!.name!);
      },
    });
    this.daemonSets = new DaemonSetController(this, opts.seed ?? 0);
  }

  private now(): Date {
    return new Date(this.store.clock.now());
  }

  // ---- nodes ----

  /** Joins a node: its object is created from the agent's resources and kept current as they change. */
  addNode(agent: NodeAgent, options: NodeOptions = {}): V1Node {
    const name = agent.nodeName;
    if (this.agents.has(name)) throw new StoreError('AlreadyExists', 'Node', '', name, `nodes ${JSON.stringify(name)} already exists`);
    const index = this.agents.size;
    const node: V1Node = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name,
        labels: {
          'beta.kubernetes.io/arch': 'amd64',
          'beta.kubernetes.io/os': 'linux',
          'kubernetes.io/arch': 'amd64',
          'kubernetes.io/hostname': name,
          'kubernetes.io/os': 'linux',
          ...options.labels,
        },
        annotations: { 'node.alpha.kubernetes.io/ttl': '0', ...options.annotations },
      },
      spec: {
        ...(options.taints?.length ? { taints: options.taints.map((t) => ({ ...t })) } : {}),
        ...(options.unschedulable ? { unschedulable: true } : {}),
      },
      status: {
        ...this.nodeResources(agent, options),
        conditions: [
          {
            type: 'Ready',
            status: 'True',
            reason: 'KubeletReady',
            message: 'kubelet is posting ready status',
            lastHeartbeatTime: this.now(),
            lastTransitionTime: this.now(),
          },
        ],
        addresses: [
          { type: 'InternalIP', address: options.internalIP ?? `172.18.${Math.floor(index / 250)}.${(index % 250) + 2}` },
          { type: 'Hostname', address: name },
        ],
        nodeInfo: {
          machineID: this.hex(32),
          systemUUID: this.hex(32),
          bootID: this.hex(32),
          kernelVersion: 'sriov-lab-sim',
          osImage: 'sriov-lab simulated node',
          containerRuntimeVersion: 'sim://1.0.0',
          kubeletVersion: KUBELET_VERSION,
          kubeProxyVersion: '',
          operatingSystem: 'linux',
          architecture: 'amd64',
        },
        daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      },
    };
    const unsubscribe = agent.onResourcesChanged(() => this.refreshNode(name));
    this.agents.set(name, { agent, options, unsubscribe });
    return this.store.create('Node', node);
  }

  private hex(n: number): string {
    return hexDigits(this.rng, n);
  }

  private nodeResources(agent: NodeAgent, o: NodeOptions): { capacity: ResourceList; allocatable: ResourceList } {
    const base = { cpu: o.cpu ?? '8', memory: o.memory ?? '32Gi', pods: o.pods ?? '110' };
    return { capacity: { ...agent.capacity(), ...base }, allocatable: { ...agent.allocatable(), ...base } };
  }

  /** Re-reads the agent's capacity/allocatable into the node status (called on onResourcesChanged). */
  refreshNode(name: string): void {
    const a = this.agents.get(name);
    if (!a || !this.store.get('Node', '', name)) return;
    const res = this.nodeResources(a.agent, a.options);
    this.store.modify('Node', '', name, (n) => {
      n.status = { ...n.status, capacity: res.capacity, allocatable: res.allocatable };
    });
  }

  agent(nodeName: string): NodeAgent | undefined {
    return this.agents.get(nodeName)?.agent;
  }

  nodeNames(): string[] {
    return [...this.agents.keys()];
  }

  // ---- hooks ----

  /** Runs after the agent admitted a pod and before it is Running (network attach goes here). Returns unregister. */
  onPodAdmitted(hook: PodAdmittedHook): () => void {
    return addHook(this.admittedHooks, hook);
  }

  /**
   * Runs after the agent released a pod that ran its admitted hooks: the sandbox teardown (network detach) goes
   * here. The pod's devices are free by then, as on a real node, where the next pod may be admitted before the
   * old pod's CNI DEL ran.
   */
  onPodReleased(hook: PodReleasedHook): () => void {
    return addHook(this.releasedHooks, hook);
  }

  /** Runs first when a pod that ran its admitted hooks goes: its containers are stopped within the grace period. */
  onPodKill(hook: PodKillHook): () => void {
    return addHook(this.killHooks, hook);
  }

  // ---- events ----

  /**
   * Records an event on an object as the kubelet's event recorder does (events.ts): a repeat of the same
   * (object, type, reason, message, source) bumps its count and lastTimestamp; the tenth distinct message of the
   * same (object, type, reason, source) within 10 minutes, and every one after it, go to one combined event.
   */
  recordEvent(
    obj: { apiVersion?: string; kind?: string; metadata?: { name?: string; namespace?: string; uid?: string; resourceVersion?: string } },
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
    source: EventSource,
  ): CoreV1Event {
    const kind = obj.kind ?? 'Pod';
    const namespace = obj.metadata?.namespace || 'default';
    const now = this.now();
    const correlated = this.correlator.correlate(
      { component: source.component, host: source.host, kind, namespace, name: obj.metadata?.name, uid: obj.metadata?.uid, type, reason },
      message,
      now.getTime(),
    );
    message = correlated.message;
    const dedupKey = correlated.key;
    const existingName = this.eventKeys.get(dedupKey);
    if (existingName && this.store.get('Event', namespace, existingName)) {
      return this.store.modify('Event', namespace, existingName, (e) => {
        e.count = (e.count ?? 1) + 1;
        e.lastTimestamp = now;
        e.message = message;
      });
    }
    const nanos = BigInt(now.getTime()) * 1_000_000n + BigInt(this.eventSeq++ % 1_000_000);
    const eventName = `${obj.metadata?.name}.${nanos.toString(16)}`;
    this.eventKeys.set(dedupKey, eventName);
    return this.store.create('Event', {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: eventName, namespace },
      involvedObject: {
        kind,
        namespace: kind === 'Node' ? undefined : namespace,
        name: obj.metadata?.name,
        uid: obj.metadata?.uid,
        apiVersion: obj.apiVersion ?? 'v1',
        resourceVersion: obj.metadata?.resourceVersion,
      },
      type,
      reason,
      message,
      source: { component: source.component, ...(source.host ? { host: source.host } : {}) },
      reportingComponent: source.component,
      reportingInstance: source.host ?? '',
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    });
  }

  /** Events about one object, oldest first (as `kubectl describe` lists them). */
  eventsFor(kind: string, namespace: string, name: string): CoreV1Event[] {
    return this.store
      .list('Event')
      .filter((e) => e.involvedObject.kind === kind && e.involvedObject.name === name && (kind === 'Node' || e.involvedObject.namespace === namespace))
      .sort((a, b) => (a.lastTimestamp?.getTime() ?? 0) - (b.lastTimestamp?.getTime() ?? 0));
  }

  // ---- apply ----

  /** Creates a pod as the apiserver would (defaults, validation) and queues it for scheduling. */
  createPod(pod: V1Pod): V1Pod {
    const admitted = admitPodObject(pod);
    admitted.status = { phase: 'Pending', qosClass: podQosClass(admitted) };
    const stored = this.store.create('Pod', admitted);
    const uid = stored.metadata!.uid!;
    const rec: PodRecord = {
      uid,
      namespace: stored.metadata!.namespace!,
      name: stored.metadata!.name!,
      requests: computePodRequests(stored),
      state: 'queued',
      admitted: false,
      released: false,
      allocations: [],
      sandboxFailures: 0,
    };
    this.pods.set(uid, rec);
    if (stored.spec?.nodeName) {
      // a pod with spec.nodeName set bypasses the scheduler and goes straight to that node's kubelet
      rec.nodeName = stored.spec.nodeName;
      if (this.store.get('Node', '', rec.nodeName)) this.scheduler.addPod(uid, rec.nodeName, rec.requests);
      this.startAdmission(rec);
    } else {
      this.activeQ.push(uid);
      this.schedulePump();
    }
    return stored;
  }

  /** kubectl apply of one object: create, or update what may change (labels, annotations; NAD spec; node taints). */
  apply(obj: AnyObject): ApplyResult {
    const kind = obj.kind as 'Pod' | 'Node' | 'NetworkAttachmentDefinition';
    const name = obj.metadata?.name ?? '';
    const namespace = kind === 'Node' ? undefined : obj.metadata?.namespace || 'default';
    const cur = this.store.get(kind, namespace ?? '', name);
    if (kind === 'Pod') {
      if (!cur) {
        this.createPod(obj as V1Pod);
        return { kind, namespace, name, action: 'created' };
      }
      const changed = this.mergeMeta(kind, namespace!, name, obj);
      return { kind, namespace, name, action: changed ? 'configured' : 'unchanged' };
    }
    if (kind === 'NetworkAttachmentDefinition') {
      const nad = obj as NetworkAttachmentDefinition;
      if (!cur) {
        this.store.create(kind, { ...nad, metadata: { ...nad.metadata, namespace } });
        return { kind, namespace, name, action: 'created' };
      }
      const old = cur as NetworkAttachmentDefinition;
      const same = JSON.stringify(old.spec ?? {}) === JSON.stringify(nad.spec ?? {});
      const metaChanged = this.mergeMeta(kind, namespace!, name, obj);
      if (!same) this.store.modify(kind, namespace!, name, (d) => void (d.spec = nad.spec));
      return { kind, namespace, name, action: same && !metaChanged ? 'unchanged' : 'configured' };
    }
    // Node
    if (!cur) {
      throw new StoreError(
        'NotFound',
        'Node',
        '',
        name,
        `nodes ${JSON.stringify(name)} not found: a node joins the simulated cluster with its kubelet (topology), not by apply`,
      );
    }
    const node = obj as V1Node;
    const metaChanged = this.mergeMeta('Node', '', name, obj);
    const old = cur as V1Node;
    const specSame =
      JSON.stringify(old.spec?.taints ?? []) === JSON.stringify(node.spec?.taints ?? []) &&
      (old.spec?.unschedulable ?? false) === (node.spec?.unschedulable ?? false);
    if (!specSame) {
      this.store.modify('Node', '', name, (n) => {
        n.spec = { ...n.spec, taints: node.spec?.taints, unschedulable: node.spec?.unschedulable };
        if (!n.spec.taints?.length) delete n.spec.taints;
        if (!n.spec.unschedulable) delete n.spec.unschedulable;
      });
    }
    return { kind, name, action: specSame && !metaChanged ? 'unchanged' : 'configured' };
  }

  private mergeMeta(kind: 'Pod' | 'Node' | 'NetworkAttachmentDefinition', namespace: string, name: string, obj: AnyObject): boolean {
    const cur = this.store.mustGet(kind, namespace, name);
    const labels = { ...cur.metadata?.labels, ...obj.metadata?.labels };
    const annotations = { ...cur.metadata?.annotations, ...obj.metadata?.annotations };
    if (JSON.stringify(labels) === JSON.stringify(cur.metadata?.labels ?? {}) && JSON.stringify(annotations) === JSON.stringify(cur.metadata?.annotations ?? {})) {
      return false;
    }
    this.store.modify(kind, namespace, name, (d) => {
      d.metadata = { ...d.metadata, labels, annotations };
    });
    return true;
  }

  /**
   * Parses and applies a manifest. Every document is checked first (YAML, structure, and pod validation with the
   * apiserver's messages); nothing is applied when any is wrong, and the ManifestError names file, line and field.
   */
  applyManifest(text: string, file: string): ApplyResult[] {
    const docs = parseManifests(text, file);
    const issues = podAdmissionIssues(docs);
    if (issues.length) throw new ManifestError(issues);
    return docs.map((d) => this.apply(d.object));
  }

  /** `kubectl delete -f`: deletes the manifest's objects (pods gracefully). Missing objects are NotFound errors. */
  async deleteManifest(text: string, file: string): Promise<Array<{ kind: string; name: string }>> {
    const out: Array<{ kind: string; name: string }> = [];
    for (const d of parseManifests(text, file)) {
      const name = d.object.metadata?.name ?? '';
      const ns = d.object.metadata?.namespace || 'default';
      if (d.kind === 'Pod') await this.deletePod(ns, name);
      else if (d.kind === 'NetworkAttachmentDefinition') this.store.delete(d.kind, ns, name);
      else throw new StoreError('Invalid', d.kind, '', name, `deleting ${d.kind} objects is not supported by the simulator`);
      out.push({ kind: d.kind, name });
    }
    return out;
  }

  // ---- scheduling ----

  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    queueMicrotask(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private requeueUnschedulable(): void {
    if (this.unschedulableQ.size === 0) return;
    for (const uid of this.unschedulableQ) {
      const rec = this.pods.get(uid);
      if (rec && rec.state === 'unschedulable') {
        rec.state = 'queued';
        this.activeQ.push(uid);
      }
    }
    this.unschedulableQ.clear();
    this.schedulePump();
  }

  /** Drains the active queue: one scheduling cycle per pod, in queue order. */
  private pump(): void {
    while (this.activeQ.length) {
      const batch = this.activeQ;
      this.activeQ = [];
      for (const uid of batch) {
        const rec = this.pods.get(uid);
        if (!rec || rec.state !== 'queued') continue;
        this.scheduleOne(rec);
      }
    }
  }

  private scheduleOne(rec: PodRecord): void {
    const pod = this.store.get('Pod', rec.namespace, rec.name);
    if (!pod || pod.metadata?.uid !== rec.uid) return;
    const result = this.scheduler.schedule(pod, rec.requests);
    const now = this.now();
    if (!result.scheduled) {
      let message = result.error.message;
      if (this.opts.preemptionMessage) {
        const n = result.error.numAllNodes;
        message += ` preemption: 0/${n} nodes are available: ${n} No preemption victims found for incoming pod.`;
      }
      rec.state = 'unschedulable';
      this.unschedulableQ.add(rec.uid);
      const updated = this.store.modify('Pod', rec.namespace, rec.name, (p) => {
        p.status = {
          ...p.status,
          conditions: setCondition(p.status?.conditions, condition('PodScheduled', 'False', now, 'Unschedulable', message)),
        };
      });
      this.recordEvent(updated, 'Warning', 'FailedScheduling', message, { component: SCHEDULER_NAME });
      return;
    }
    const nodeName = result.nodeName;
    this.scheduler.addPod(rec.uid, nodeName, rec.requests); // assume, then bind
    rec.nodeName = nodeName;
    const bound = this.store.modify('Pod', rec.namespace, rec.name, (p) => {
      p.spec = { ...p.spec!, nodeName };
      p.status = { ...p.status, conditions: setCondition(p.status?.conditions, condition('PodScheduled', 'True', now)) };
    });
    this.recordEvent(bound, 'Normal', 'Scheduled', `Successfully assigned ${rec.namespace}/${rec.name} to ${nodeName}`, {
      component: SCHEDULER_NAME,
    });
    this.startAdmission(rec);
  }

  // ---- kubelet side ----

  private track(p: Promise<void>): Promise<void> {
    const wrapped = p.catch((e) => {
      this.backgroundErrors.push(e);
    });
    this.inflight.add(wrapped);
    void wrapped.finally(() => this.inflight.delete(wrapped));
    return wrapped;
  }

  private startAdmission(rec: PodRecord): void {
    rec.state = 'admitting';
    rec.work = this.track(this.admit(rec));
  }

  private async admit(rec: PodRecord): Promise<void> {
    const nodeName = rec.nodeName!;
    const agent = this.agents.get(nodeName)?.agent;
    const pod = this.store.get('Pod', rec.namespace, rec.name);
    if (!pod) return;
    if (!agent) {
      await this.failPod(rec, 'NodeNotFound', `node ${JSON.stringify(nodeName)} has no kubelet`, { rejected: false });
      return;
    }
    rec.admitted = true;
    let result: AdmitResult;
    try {
      result = await agent.admitPod(podSpecLite(pod));
    } catch (e) {
      result = { admitted: false, reason: 'UnexpectedAdmissionError', message: (e as Error).message };
    }
    if (rec.state !== 'admitting') return; // deleted meanwhile
    if (!result.admitted) {
      // kubelet rejectPod: event with the reason/message, status Failed with "Pod was rejected: <message>"
      await this.failPod(rec, result.reason, result.message, { rejected: true });
      return;
    }
    rec.allocations = result.allocations;
    await this.startSandbox(rec);
  }

  /**
   * One attempt at the pod's sandbox (the admitted hooks: netns, CNI ADD of every network), then Running. A failed
   * attempt leaves the pod Pending (ContainerCreating) with its devices still allocated; a Warning
   * FailedCreatePodSandBox event is recorded and the pod worker tries again after its back-off (kubelet.go
   * backOffPeriod, pod_workers.go completeWork), until it succeeds or the pod is deleted.
   */
  private async startSandbox(rec: PodRecord): Promise<void> {
    const nodeName = rec.nodeName!;
    const patch: PodAdmittedPatch = {};
    try {
      for (const hook of [...this.admittedHooks]) {
        const current = this.store.get('Pod', rec.namespace, rec.name);
        if (!current || rec.state !== 'admitting') return;
        const p = await hook({ pod: current, nodeName, allocations: rec.allocations });
        if (p?.annotations) patch.annotations = { ...patch.annotations, ...p.annotations };
        if (p?.podIP) patch.podIP = p.podIP;
      }
    } catch (e) {
      if (rec.state !== 'admitting') return;
      this.sandboxFailed(rec, (e as Error).message, e instanceof PodStartError ? e.reason : 'FailedCreatePodSandBox');
      return;
    }
    if (rec.state !== 'admitting') return;
    rec.state = 'running';
    const now = this.now();
    const node = this.store.get('Node', '', nodeName);
    const hostIP = node?.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
    const updated = this.store.modify('Pod', rec.namespace, rec.name, (p) => {
      if (patch.annotations) p.metadata = { ...p.metadata, annotations: { ...p.metadata?.annotations, ...patch.annotations } };
      let conditions = p.status?.conditions;
      for (const t of ['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled']) {
        conditions = setCondition(conditions, condition(t, 'True', now));
      }
      p.status = {
        ...p.status,
        phase: 'Running',
        conditions,
        ...(hostIP ? { hostIP, hostIPs: [{ ip: hostIP }] } : {}),
        ...(patch.podIP ? { podIP: patch.podIP, podIPs: [{ ip: patch.podIP }] } : {}),
        // a hostNetwork pod has the node's address
        ...(p.spec?.hostNetwork && hostIP ? { podIP: hostIP, podIPs: [{ ip: hostIP }] } : {}),
        startTime: now,
        containerStatuses: (p.spec?.containers ?? []).map((c) => ({
          name: c.name,
          image: c.image ?? '',
          imageID: '',
          containerID: `sim://${this.hex(64)}`,
          ready: true,
          started: true,
          restartCount: 0,
          state: { running: { startedAt: now } },
        })),
      };
    });
    if (rec.containers) {
      this.applyContainers(rec, rec.containers);
      return;
    }
    // a node that runs no processes (a fake agent): every container counts as started
    for (const c of updated.spec?.containers ?? []) this.containerStartedEvents(updated, c.name, c.image ?? '', nodeName);
  }

  /**
   * kuberuntime_manager.go SyncPod: createPodSandbox failed → event, pod stays Pending, the worker retries. A volume
   * that cannot be set up (FailedMount: volumemanager's WaitForAttachAndMount) keeps the pod Pending and retried the
   * same way, with its own event reason and the volume manager's message.
   */
  private sandboxFailed(rec: PodRecord, message: string, reason = 'FailedCreatePodSandBox'): void {
    rec.sandboxFailures++;
    const nodeName = rec.nodeName!;
    const now = this.now();
    const node = this.store.get('Node', '', nodeName);
    const hostIP = node?.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
    const updated = this.store.modify('Pod', rec.namespace, rec.name, (p) => {
      const names = (p.spec?.containers ?? []).map((c) => c.name);
      const unready = `containers with unready status: [${names.join(' ')}]`;
      let conditions = p.status?.conditions;
      conditions = setCondition(conditions, condition('PodReadyToStartContainers', 'False', now));
      conditions = setCondition(conditions, condition('Initialized', 'True', now));
      conditions = setCondition(conditions, condition('Ready', 'False', now, 'ContainersNotReady', unready));
      conditions = setCondition(conditions, condition('ContainersReady', 'False', now, 'ContainersNotReady', unready));
      p.status = {
        ...p.status,
        phase: 'Pending',
        conditions,
        ...(hostIP ? { hostIP, hostIPs: [{ ip: hostIP }] } : {}),
        startTime: p.status?.startTime ?? now,
        containerStatuses: (p.spec?.containers ?? []).map((c) => ({
          name: c.name,
          image: c.image ?? '',
          imageID: '',
          ready: false,
          started: false,
          restartCount: 0,
          state: { waiting: { reason: 'ContainerCreating' } },
        })),
      };
    });
    const text = reason === 'FailedCreatePodSandBox' ? `Failed to create pod sandbox: ${message}` : message;
    this.recordEvent(updated, 'Warning', reason, text, { component: 'kubelet', host: nodeName });
    const delayMs = POD_WORKER_BACKOFF_MS * (1 + POD_WORKER_BACKOFF_JITTER * this.backoffRng.next());
    rec.retry = this.kubeletClock.setTimeout(() => {
      rec.retry = undefined;
      if (rec.state !== 'admitting') return;
      rec.work = this.track(this.startSandbox(rec));
    }, delayMs);
  }

  /** what the kubelet records as a container starts: the image (present: nothing is pulled), created, started */
  private containerStartedEvents(pod: V1Pod, name: string, image: string, host: string): void {
    const source = { component: 'kubelet', host };
    this.recordEvent(pod, 'Normal', 'Pulled', `Container image ${JSON.stringify(image)} already present on machine`, source);
    this.recordEvent(pod, 'Normal', 'Created', `Created container: ${name}`, source);
    this.recordEvent(pod, 'Normal', 'Started', `Started container ${name}`, source);
  }

  /**
   * A node's report of a pod's containers (every change: started, exited, restarted). While the pod is being
   * admitted the newest is kept for when it turns Running; a Running pod takes its statuses and readiness, and
   * becomes Succeeded or Failed once all of its containers ended for good (restartPolicy OnFailure or Never).
   */
  containersReported(r: PodContainersReport): void {
    const rec = this.pods.get(r.uid);
    if (!rec || (rec.containers && rec.containers.seq >= r.seq)) return;
    rec.containers = r;
    if (rec.state === 'running') this.applyContainers(rec, r);
  }

  private applyContainers(rec: PodRecord, r: PodContainersReport): void {
    const before = rec.appliedContainers;
    rec.appliedContainers = r;
    const current = this.store.get('Pod', rec.namespace, rec.name);
    if (!current || current.metadata?.uid !== rec.uid) return;
    const now = this.now();
    const allReady = r.containers.every((c) => c.state.running);
    const updated = this.store.modify('Pod', rec.namespace, rec.name, (p) => {
      let conditions = p.status?.conditions;
      for (const t of ['Ready', 'ContainersReady']) {
        conditions = setCondition(conditions, allReady ? condition(t, 'True', now) : condition(t, 'False', now, 'ContainersNotReady', `containers with unready status: [${r.containers.filter((c) => !c.state.running).map((c) => c.name).join(' ')}]`));
      }
      p.status = { ...p.status, conditions, containerStatuses: r.containers.map(apiContainerStatus) };
    });
    const host = rec.nodeName ?? '';
    for (const c of r.containers) {
      const was = before?.containers.find((b) => b.name === c.name);
      if (c.started && c.containerID !== was?.containerID) this.containerStartedEvents(updated, c.name, c.image, host);
      const backOff = c.state.waiting?.reason === 'CrashLoopBackOff';
      if (backOff && (was?.state.waiting?.reason !== 'CrashLoopBackOff' || was.restartCount !== c.restartCount)) {
        this.recordEvent(updated, 'Warning', 'BackOff', `Back-off restarting failed container ${c.name} in pod ${rec.name}_${rec.namespace}(${rec.uid})`, { component: 'kubelet', host });
      }
    }
    const phase = completedPhase(updated.spec?.restartPolicy, r.containers);
    if (phase) void this.track(this.terminate(rec, phase, r.containers.map(apiContainerStatus)));
  }

  /**
   * The pod becomes Failed. `rejected`: the kubelet refused it (a Warning event, "Pod was rejected: …"), as opposed
   * to a failure before any kubelet saw it; `hooksRan`: its network was attached, so the release hooks tear it down.
   */
  private async failPod(rec: PodRecord, reason: string, message: string, how: { rejected: boolean; hooksRan?: boolean }): Promise<void> {
    const { rejected, hooksRan = false } = how;
    rec.state = 'terminal';
    const pod = this.store.get('Pod', rec.namespace, rec.name);
    if (pod) {
      if (rejected) this.recordEvent(pod, 'Warning', reason, message, { component: 'kubelet', host: rec.nodeName });
      this.store.modify('Pod', rec.namespace, rec.name, (p) => {
        p.status = { ...p.status, phase: 'Failed', reason, message: rejected ? `Pod was rejected: ${message}` : message };
      });
    }
    this.scheduler.removePod(rec.uid);
    this.requeueUnschedulable();
    await this.release(rec, hooksRan);
  }

  /**
   * The kubelet lets a pod go, in its order: containers stopped within the grace period (syncTerminatingPod →
   * killPod), then the pod no longer counts as active, so the device manager's devices are free for the next
   * admission, then the sandbox teardown — the CNI DEL, which may fail or come late without holding anything up.
   * `runHooks`: the pod got as far as its sandbox (attempts included). The scheduler's booking goes here for a pod
   * that turned terminal (kube-scheduler leaves Succeeded and Failed pods out of a node's requests); a pod being
   * deleted keeps it (`keepBooking`) until its object is removed: kube-scheduler counts a Terminating pod's requests
   * until the delete event (kubernetes/kubernetes#96515), so a Pending pod waiting for its device is bound only
   * after the old pod's DEL.
   */
  private async release(rec: PodRecord, runHooks: boolean, gracePeriodSeconds = DEFAULT_GRACE_PERIOD_SECONDS, keepBooking = false): Promise<void> {
    if (rec.released || !rec.admitted || !rec.nodeName) return;
    rec.released = true;
    this.cancelRetry(rec);
    const nodeName = rec.nodeName;
    const pod = this.store.get('Pod', rec.namespace, rec.name);
    if (runHooks && pod) for (const hook of [...this.killHooks]) await hook({ pod, nodeName, gracePeriodSeconds });
    await this.agents.get(nodeName)?.agent.releasePod(rec.uid);
    if (!keepBooking) {
      this.scheduler.removePod(rec.uid);
      this.requeueUnschedulable();
    }
    if (runHooks && pod) for (const hook of [...this.releasedHooks]) await hook({ pod, nodeName });
  }

  private cancelRetry(rec: PodRecord): void {
    if (!rec.retry) return;
    this.kubeletClock.clearTimeout(rec.retry);
    rec.retry = undefined;
  }

  /**
   * The node's kubelet failed a pod on its own (e.g. re-admission after a node reboot): the pod becomes Failed with
   * the kubelet's reason and "Pod was rejected: <message>", its network is torn down and its devices released.
   */
  async podRejectedByNode(uid: string, reason: string, message: string): Promise<void> {
    const rec = this.pods.get(uid);
    if (!rec || rec.state === 'terminal' || rec.state === 'deleting') return;
    const hooksRan = rec.state === 'running';
    await this.track(this.failPod(rec, reason, message, { rejected: true, hooksRan }));
  }

  /** Ends a Running pod's containers: Succeeded (exit 0) or Failed; devices are released and Pending pods retried. */
  async completePod(namespace: string, name: string, phase: 'Succeeded' | 'Failed', exitCode = phase === 'Succeeded' ? 0 : 1): Promise<V1Pod> {
    const pod = this.store.mustGet('Pod', namespace, name);
    const rec = this.pods.get(pod.metadata!.uid!);
    if (!rec || rec.state !== 'running') {
      throw new StoreError('Invalid', 'Pod', namespace, name, `pod ${namespace}/${name} is not Running (phase ${pod.status?.phase ?? 'Pending'})`);
    }
    const updated = this.markTerminal(rec, phase, (p) =>
      (p.status?.containerStatuses ?? []).map((c) => ({
        ...c,
        ready: false,
        started: false,
        state: {
          terminated: {
            exitCode,
            reason: exitCode === 0 ? 'Completed' : 'Error',
            startedAt: c.state?.running?.startedAt,
            finishedAt: this.now(),
            containerID: c.containerID,
          },
        },
      })),
    );
    await this.track(this.release(rec, true));
    return updated;
  }

  /** The pod's containers all ended for good: the pod is terminal, its devices are released. */
  private async terminate(rec: PodRecord, phase: 'Succeeded' | 'Failed', statuses: V1ContainerStatus[]): Promise<void> {
    if (rec.state !== 'running') return;
    this.markTerminal(rec, phase, () => statuses);
    await this.release(rec, true);
  }

  private markTerminal(rec: PodRecord, phase: 'Succeeded' | 'Failed', statuses: (p: V1Pod) => V1ContainerStatus[]): V1Pod {
    rec.state = 'terminal';
    const now = this.now();
    const updated = this.store.modify('Pod', rec.namespace, rec.name, (p) => {
      let conditions = p.status?.conditions;
      for (const t of ['PodReadyToStartContainers', 'Ready', 'ContainersReady']) {
        conditions = setCondition(conditions, condition(t, 'False', now, t === 'PodReadyToStartContainers' ? undefined : 'PodCompleted'));
      }
      p.status = {
        ...p.status,
        phase,
        conditions,
        containerStatuses: statuses(p),
      };
    });
    this.scheduler.removePod(rec.uid);
    this.requeueUnschedulable();
    return updated;
  }

  /**
   * Graceful delete, in the real order: deletionTimestamp (now + the grace period) and deletionGracePeriodSeconds
   * set → containers stopped → devices free on the node → sandbox teardown (CNI DEL; a failure is the
   * node's to retry) → the object removed. `wait: false` returns once the deletion is requested, as
   * `kubectl delete --wait=false` does; the rest goes on in the background (settle() does not wait for it, so the
   * steps after it can observe Terminating and what follows). `gracePeriodSeconds` overrides the pod's
   * terminationGracePeriodSeconds (default 30), as `kubectl delete --grace-period` does.
   */
  async deletePod(namespace: string, name: string, opts: { gracePeriodSeconds?: number; wait?: boolean } = {}): Promise<void> {
    const pod = this.store.mustGet('Pod', namespace, name);
    const uid = pod.metadata!.uid!;
    const rec = this.pods.get(uid);
    let work = rec?.deleting;
    if (!work) {
      work = this.deletion(pod, rec, opts.gracePeriodSeconds);
      if (rec) rec.deleting = work;
    }
    if (opts.wait === false) {
      const tracked = work.catch((e: unknown) => {
        this.backgroundErrors.push(e);
      });
      this.deletions.add(tracked);
      void tracked.finally(() => this.deletions.delete(tracked));
      return;
    }
    await this.track(work);
  }

  private async deletion(pod: V1Pod, rec: PodRecord | undefined, gracePeriodSeconds: number | undefined): Promise<void> {
    const namespace = pod.metadata!.namespace ?? 'default';
    const name = pod.metadata!.name!;
    const uid = pod.metadata!.uid!;
    if (rec) {
      const hooksRan = rec.state === 'running' || rec.state === 'admitting';
      const wasAdmitting = rec.state === 'admitting';
      rec.state = 'deleting';
      this.unschedulableQ.delete(uid);
      this.cancelRetry(rec);
      if (rec.nodeName) {
        const grace = Math.max(0, gracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? DEFAULT_GRACE_PERIOD_SECONDS);
        this.store.modify('Pod', namespace, name, (p) => {
          p.metadata = { ...p.metadata, deletionTimestamp: new Date(this.now().getTime() + grace * 1000), deletionGracePeriodSeconds: grace };
        });
        // an attempt in flight (CNI ADD running) cannot be interrupted: it ends first, then is torn down
        if (wasAdmitting && rec.work) await rec.work;
        try {
          await this.release(rec, hooksRan, grace, true);
        } catch (e) {
          // the kubelet logs what failed and goes on: the object is removed all the same
          this.backgroundErrors.push(e);
        }
      }
    }
    if (this.store.get('Pod', namespace, name)?.metadata?.uid === uid) this.store.delete('Pod', namespace, name);
    this.pods.delete(uid);
    this.scheduler.removePod(uid);
    this.requeueUnschedulable();
  }

  /** Resolves when the deletions that were not waited for (wait: false) are done. */
  async deletionsDone(): Promise<void> {
    while (this.deletions.size) await Promise.all([...this.deletions]);
  }

  /** Resolves when no scheduling or admission work is left; rethrows the first error of unawaited background work. */
  async settle(): Promise<void> {
    for (;;) {
      await new Promise<void>((r) => setImmediate(r));
      if (this.pumpScheduled || this.activeQ.length) continue;
      if (this.inflight.size) {
        await Promise.all([...this.inflight]);
        continue;
      }
      break;
    }
    if (this.backgroundErrors.length) throw this.backgroundErrors.shift();
  }

  /** The allocations the agent returned for a pod (empty before admission). */
  allocationsOf(namespace: string, name: string): ContainerAllocation[] {
    const pod = this.store.get('Pod', namespace, name);
    return (pod && this.pods.get(pod.metadata!.uid!)?.allocations) ?? [];
  }

  /** Stops listening to the agents. The agents themselves belong to the caller. */
  close(): void {
    for (const rec of this.pods.values()) this.cancelRetry(rec);
    for (const a of this.agents.values()) a.unsubscribe();
    this.unwatch();
    this.daemonSets.close();
  }
}
