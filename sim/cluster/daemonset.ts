// The DaemonSet controller of the control plane (pkg/controller/daemon), driven by the store: every change of a
// DaemonSet, a node or a pod reconciles the DaemonSets it concerns. A DaemonSet has one pod on each node its
// template may be placed on (nodeSelector, required node affinity, tolerations against the node's NoSchedule and
// NoExecute taints — the scheduler's own filters). Like the upstream controller it names pods `<ds>-<5 chars>`, owns
// them by a controller ownerReference, pins each to its node with a required node affinity on `metadata.name` and
// leaves binding to the scheduler; it deletes pods that failed, sit on a node they no longer fit, duplicate another,
// or come from an older template (RollingUpdate, at most rollingUpdate.maxUnavailable nodes at a time), and creates
// the missing ones again. Deleting a DaemonSet deletes its
// pods (the garbage collector's background deletion). Its status counts what the controller found.
import type { V1DaemonSet, V1DaemonSetStatus, V1Node, V1NodeSelectorTerm, V1Pod, V1Toleration } from '@kubernetes/client-node';
import { generatedName } from '../apiserver/validation.ts';
import { createRng, type Rng } from '../scheduler/prng.ts';
import { fitsPlacement } from '../scheduler/scheduler.ts';
import type { Cluster } from './cluster.ts';

export const DAEMONSET_CONTROLLER = 'daemonset-controller';
/** the label the controller marks each pod with the DaemonSet's generation it was made from */
export const TEMPLATE_GENERATION_LABEL = 'pod-template-generation';

/** util.AddOrUpdateDaemonPodTolerations: a daemon pod stays through the node conditions that evict other pods. */
function daemonTolerations(hostNetwork: boolean): V1Toleration[] {
  const t = (key: string, effect: string): V1Toleration => ({ key: `node.kubernetes.io/${key}`, operator: 'Exists', effect });
  return [
    t('not-ready', 'NoExecute'),
    t('unreachable', 'NoExecute'),
    t('disk-pressure', 'NoSchedule'),
    t('memory-pressure', 'NoSchedule'),
    t('pid-pressure', 'NoSchedule'),
    t('unschedulable', 'NoSchedule'),
    ...(hostNetwork ? [t('network-unavailable', 'NoSchedule')] : []),
  ];
}

function podReady(p: V1Pod): boolean {
  return p.status?.phase === 'Running' && (p.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

/** The node a daemon pod is for: its binding, or before that the node its affinity names (util.GetTargetNodeName). */
export function targetNodeName(pod: V1Pod): string | undefined {
  if (pod.spec?.nodeName) return pod.spec.nodeName;
  for (const term of pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? []) {
    for (const f of term.matchFields ?? []) if (f.key === 'metadata.name' && f.operator === 'In' && f.values?.length === 1) return f.values[0];
  }
  return undefined;
}

/** The DaemonSet's pod for one node, as the controller creates it (without a name). */
export function daemonPodFor(ds: V1DaemonSet, nodeName: string): V1Pod {
  const template = structuredClone(ds.spec?.template ?? {});
  const spec = template.spec ?? { containers: [] };
  const pin: V1NodeSelectorTerm = { matchFields: [{ key: 'metadata.name', operator: 'In', values: [nodeName] }] };
  // util.ReplaceDaemonSetPodNodeNameNodeAffinity: the node's name replaces whatever required terms the template had
  const nodeAffinity = { ...spec.affinity?.nodeAffinity, requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [pin] } };
  const tolerations = [...(spec.tolerations ?? [])];
  for (const d of daemonTolerations(spec.hostNetwork === true)) if (!tolerations.some((x) => x.key === d.key && x.effect === d.effect)) tolerations.push(d);
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      ...template.metadata,
      namespace: ds.metadata?.namespace,
      labels: { ...template.metadata?.labels, [TEMPLATE_GENERATION_LABEL]: String(ds.metadata?.generation ?? 1) },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'DaemonSet', name: ds.metadata!.name!, uid: ds.metadata!.uid!, controller: true, blockOwnerDeletion: true }],
    },
    spec: { ...spec, affinity: { ...spec.affinity, nodeAffinity }, tolerations },
  };
}

/**
 * updateStrategy.rollingUpdate.maxUnavailable as a number of nodes: an integer, or a percentage of the nodes that
 * should run the pod rounded up (intstr.GetScaledValueFromIntOrPercent with roundUp, as the controller scales it);
 * at least 1 while any node should run one (the apiserver refuses 0 with maxSurge 0).
 */
export function maxUnavailableOf(ds: V1DaemonSet, desired: number): number {
  const raw = ds.spec?.updateStrategy?.rollingUpdate?.maxUnavailable ?? 1;
  let n: number;
  if (typeof raw === 'number') n = raw;
  else {
    const m = /^(\d+)%$/.exec(String(raw));
    n = m ? Math.ceil((Number(m[1]) * desired) / 100) : Number(raw);
  }
  if (!Number.isFinite(n) || n < 0) n = 1;
  return desired > 0 ? Math.max(n, 1) : n;
}

/**
 * The rolling update's choice (the controller's rollingUpdate with maxSurge 0): each node's pod is new and counted
 * unavailable until it is ready, or old — an old pod that is not ready is replaced at once (and counts as
 * unavailable), a ready one is a candidate; candidates are replaced while fewer than maxUnavailable nodes are.
 */
class Rollout {
  unavailable = 0;
  private readonly replaceNow: V1Pod[] = [];
  private readonly candidates: V1Pod[] = [];

  consider(pod: V1Pod, generation: string): void {
    const ready = podReady(pod);
    if (pod.metadata?.labels?.[TEMPLATE_GENERATION_LABEL] === generation) {
      if (!ready) this.unavailable += 1;
    } else if (!ready) {
      this.replaceNow.push(pod);
      this.unavailable += 1;
    } else this.candidates.push(pod);
  }

  toDelete(maxUnavailable: number): V1Pod[] {
    const room = Math.max(0, Math.min(maxUnavailable - this.unavailable, this.candidates.length));
    return [...this.replaceNow, ...this.candidates.slice(0, room)];
  }
}

function ownedBy(pod: V1Pod, uid: string | undefined): boolean {
  return !!uid && (pod.metadata?.ownerReferences ?? []).some((o) => o.controller && o.uid === uid);
}

export class DaemonSetController {
  private readonly dirty = new Set<string>();
  private scheduled = false;
  /** uids of pods this controller asked the cluster to delete, until they are gone */
  private readonly deleting = new Set<string>();
  private readonly unwatch: Array<() => void> = [];
  private readonly rng: Rng;

  constructor(
    private readonly cluster: Cluster,
    seed: number | string = 0,
  ) {
    this.rng = createRng(`daemonset:${seed}`);
    const store = cluster.store;
    const all = () => {
      for (const ds of store.list('DaemonSet')) this.enqueue(ds);
    };
    this.unwatch.push(
      store.watch('DaemonSet', {
        added: (ds) => this.enqueue(ds),
        modified: (ds) => this.enqueue(ds),
        deleted: (ds) => this.orphaned(ds),
      }),
      store.watch('Node', { added: all, modified: all, deleted: all }),
      store.watch('Pod', {
        added: (p) => this.podChanged(p),
        modified: (p) => this.podChanged(p),
        deleted: (p) => {
          this.deleting.delete(p.metadata?.uid ?? '');
          this.podChanged(p);
        },
      }),
    );
  }

  close(): void {
    for (const u of this.unwatch.splice(0)) u();
  }

  private podChanged(p: V1Pod): void {
    const ref = (p.metadata?.ownerReferences ?? []).find((o) => o.controller && o.kind === 'DaemonSet');
    if (!ref) return;
    const ds = this.cluster.store.get('DaemonSet', p.metadata?.namespace ?? 'default', ref.name);
    if (ds) this.enqueue(ds);
  }

  private enqueue(ds: V1DaemonSet): void {
    this.dirty.add(`${ds.metadata?.namespace}/${ds.metadata?.name}`);
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      const keys = [...this.dirty];
      this.dirty.clear();
      for (const k of keys) {
        const [ns, name] = k.split('/');
        this.sync(ns, name);
      }
    });
  }

  private deletePod(pod: V1Pod, ds?: V1DaemonSet): void {
    const uid = pod.metadata!.uid!;
    if (this.deleting.has(uid)) return;
    this.deleting.add(uid);
    if (ds) this.cluster.recordEvent(ds, 'Normal', 'SuccessfulDelete', `Deleted pod: ${pod.metadata!.name}`, { component: DAEMONSET_CONTROLLER });
    this.cluster.deletePod(pod.metadata!.namespace!, pod.metadata!.name!).catch(() => this.deleting.delete(uid));
  }

  /** The garbage collector: the pods of a deleted DaemonSet go with it. */
  private orphaned(ds: V1DaemonSet): void {
    for (const p of this.cluster.store.list('Pod', ds.metadata?.namespace)) if (ownedBy(p, ds.metadata?.uid)) this.deletePod(p);
  }

  private sync(namespace: string, name: string): void {
    const store = this.cluster.store;
    const ds = store.get('DaemonSet', namespace, name);
    if (!ds || ds.metadata?.deletionTimestamp) return;
    const generation = String(ds.metadata?.generation ?? 1);
    const rolling = (ds.spec?.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate';
    const nodes = new Map<string, V1Node>(store.list('Node').map((n) => [n.metadata!.name!, n]));
    const byNode = new Map<string, V1Pod[]>();
    for (const p of store.list('Pod', namespace)) {
      if (!ownedBy(p, ds.metadata?.uid) || p.metadata?.deletionTimestamp || this.deleting.has(p.metadata!.uid!)) continue;
      const node = targetNodeName(p) ?? '';
      byNode.set(node, [...(byNode.get(node) ?? []), p]);
    }
    const status: V1DaemonSetStatus = {
      currentNumberScheduled: 0,
      desiredNumberScheduled: 0,
      numberMisscheduled: 0,
      numberReady: 0,
      updatedNumberScheduled: 0,
      numberAvailable: 0,
      observedGeneration: ds.metadata?.generation ?? 1,
    };
    const rollout = new Rollout();
    for (const [nodeName, pods] of byNode) {
      if (nodes.has(nodeName)) continue;
      for (const p of pods) this.deletePod(p, ds); // its node is gone
    }
    for (const [nodeName, node] of nodes) {
      const wanted = daemonPodFor(ds, nodeName);
      const should = fitsPlacement(wanted, node);
      let pods = byNode.get(nodeName) ?? [];
      if (!should) {
        if (pods.length) status.numberMisscheduled! += 1;
        for (const p of pods) this.deletePod(p, ds);
        continue;
      }
      status.desiredNumberScheduled += 1;
      const failed = pods.filter((p) => p.status?.phase === 'Failed' || p.status?.phase === 'Succeeded');
      for (const p of failed) this.deletePod(p, ds);
      pods = pods.filter((p) => !failed.includes(p));
      // the oldest pod stays, duplicates go
      pods.sort((a, b) => (a.metadata?.creationTimestamp?.getTime() ?? 0) - (b.metadata?.creationTimestamp?.getTime() ?? 0));
      for (const p of pods.slice(1)) this.deletePod(p, ds);
      let pod: V1Pod | undefined = pods[0];
      if (!pod && failed.length === 0) pod = this.createPod(ds, wanted);
      if (!pod) {
        rollout.unavailable += 1; // the failed one is being deleted; its replacement comes when it is gone
        continue;
      }
      if (rolling) rollout.consider(pod, generation);
      status.currentNumberScheduled += 1;
      if (pod.metadata?.labels?.[TEMPLATE_GENERATION_LABEL] === generation) status.updatedNumberScheduled! += 1;
      if (podReady(pod)) {
        status.numberReady += 1;
        status.numberAvailable! += 1;
      }
    }
    // RollingUpdate: old pods go at most maxUnavailable at a time (those unavailable anyway go at once)
    for (const p of rollout.toDelete(maxUnavailableOf(ds, status.desiredNumberScheduled))) {
      this.deletePod(p, ds);
      status.currentNumberScheduled -= 1;
      if (podReady(p)) {
        status.numberReady -= 1;
        status.numberAvailable! -= 1;
      }
    }
    const unavailable = status.desiredNumberScheduled - (status.numberAvailable ?? 0);
    if (unavailable > 0) status.numberUnavailable = unavailable;
    const cur = store.get('DaemonSet', namespace, name);
    if (cur && JSON.stringify(cur.status ?? {}) !== JSON.stringify(status)) {
      store.modify('DaemonSet', namespace, name, (d) => {
        d.status = status;
      });
    }
  }

  private createPod(ds: V1DaemonSet, pod: V1Pod): V1Pod | undefined {
    const store = this.cluster.store;
    let name = generatedName(`${ds.metadata!.name}-`, (n) => this.rng.intn(n));
    while (store.get('Pod', ds.metadata!.namespace!, name)) name = generatedName(`${ds.metadata!.name}-`, (n) => this.rng.intn(n));
    pod.metadata = { ...pod.metadata, name, generateName: `${ds.metadata!.name}-` };
    try {
      const created = this.cluster.createPod(pod);
      this.cluster.recordEvent(ds, 'Normal', 'SuccessfulCreate', `Created pod: ${name}`, { component: DAEMONSET_CONTROLLER });
      return created;
    } catch (e) {
      this.cluster.recordEvent(ds, 'Warning', 'FailedCreate', `Error creating: ${(e as Error).message}`, { component: DAEMONSET_CONTROLLER });
      return undefined;
    }
  }
}
