// The runner's ClusterHandle on an existing cluster: objects through the Kubernetes API (client-node), assertions on
// informer caches kept current by watches, pod exec and logs through the API, and node operations through each
// node's agent (agent.ts) — the same node-rpc methods and faults as the qemu and host backends' agents. What needs the
// simulator (an emulated kubelet's clock, injected sysfs or IPAM failures, a node reboot) is refused with the reason.
import type { KubeConfig, KubernetesObjectApi } from '@kubernetes/client-node';
import type { Attachment, BackendName } from '../../../reports/types.ts';
import { imageRole } from '../../../sim/cluster/images.ts';
import type { NodeSpec } from '../../../sim/topology/topology.ts';
import type { ClusterHandle, ExecResult, Fault, KubeObject, ObjectRef, SysfsResult } from '../../backend.ts';
import { eventsText, kindOf, sysfsReadWith, sysfsWriteWith, textAttachment, type CollectWhat } from '../../cluster/handle.ts';
import type { LabNode, MachineFault } from '../../cluster/lab-cluster.ts';
import type { DevicePluginAction } from '../../scenario/types.ts';
import { agentNamespace } from './agent.ts';
import { apiCode, apiError, apiVersionOf, podExec, podLog, type Kind, type ObjectCaches } from './kube.ts';

/** refused operations name this, so a scenario's author knows where it can run */
const NEEDS_SIM = 'use --backend sim';

export interface ClusterNode extends LabNode {
  /** sriov_numvfs of the node's SR-IOV PFs before the run set them to the topology's: restored at the end */
  baseline: Array<{ pciAddr: string; numVfs: number }>;
}

export interface ClusterHandleParts {
  backend: BackendName;
  kc: KubeConfig;
  objects: KubernetesObjectApi;
  caches: ObjectCaches;
  runId: string;
  nodes: Map<string, ClusterNode>;
  /** the node's kubelet is sriov-lab's emulator (up --bare): it is not restarted from a pod */
  simulated: boolean;
  /** the run's other cleanups (the agents' namespace, the exit hook), after the objects it created are gone */
  teardown: () => Promise<string[]>;
  progress?: (line: string) => void;
}

type Ref = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } };

const DEVICE_PLUGIN_DIR = '/var/lib/kubelet/device-plugins';
const GONE_MS = 120_000;

export class ClusterBackendHandle implements ClusterHandle {
  readonly backend: BackendName;
  readonly nodes: readonly string[];
  /** what apply created (not what it updated), deleted at the end, newest first */
  private readonly created: Ref[] = [];
  private downing: Promise<void> | undefined;

  constructor(private readonly p: ClusterHandleParts) {
    this.backend = p.backend;
    this.nodes = [...p.nodes.keys()];
  }

  private node(name: string): ClusterNode {
    const n = this.p.nodes.get(name);
    if (!n) throw new Error(`node "${name}" is not a node of this run (${this.nodes.join(', ')})`);
    return n;
  }

  async apply(objects: KubeObject[]): Promise<void> {
    for (const o of objects) {
      const what = `apply ${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;
      let created: KubeObject;
      try {
        created = (await this.p.objects.create(o)) as KubeObject;
        this.created.unshift({ apiVersion: o.apiVersion, kind: o.kind, metadata: { name: o.metadata.name, ...(created.metadata?.namespace ? { namespace: created.metadata.namespace } : {}) } });
      } catch (e) {
        if (apiCode(e) !== 409) throw apiError(what, e);
        // it exists: replaced, as `kubectl apply` updates it
        try {
          const cur = (await this.p.objects.read({ apiVersion: o.apiVersion, kind: o.kind, metadata: { name: o.metadata.name, ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}) } })) as KubeObject;
          created = (await this.p.objects.replace({ ...o, metadata: { ...o.metadata, resourceVersion: String(cur.metadata.resourceVersion) } })) as KubeObject;
        } catch (e2) {
          throw apiError(what, e2);
        }
      }
      // the next assertion samples the caches: wait until they hold what the API server answered
      const kind = watchedKind(o.kind);
      const rv = created.metadata?.resourceVersion;
      if (kind) {
        const ns = created.metadata?.namespace as string | undefined;
        await this.p.caches.until(`${what} seen by the watch`, () => {
          const c = this.p.caches.get(kind, o.metadata.name, ns);
          return !!c && (rv === undefined || Number(c.metadata.resourceVersion) >= Number(rv) || c.metadata.resourceVersion === rv);
        }, 30_000).catch(() => undefined);
      }
    }
  }

  async delete(ref: ObjectRef, opts: { waitMs?: number } = {}): Promise<void> {
    const kind = kindOf(ref.kind);
    if (kind !== 'Pod' && kind !== 'NetworkAttachmentDefinition') throw new Error(`delete of ${ref.kind} is not supported`);
    const namespace = ref.namespace ?? 'default';
    await this.deleteAndWait({ apiVersion: apiVersionOf(kind), kind, metadata: { name: ref.name, namespace } }, opts.waitMs ?? GONE_MS);
  }

  /** deletes an object and waits until the watch saw it go (a pod: until its containers stopped and it is removed) */
  private async deleteAndWait(ref: Ref, waitMs: number, gracePeriodSeconds?: number): Promise<void> {
    const what = `delete ${ref.kind} ${ref.metadata.namespace ? `${ref.metadata.namespace}/` : ''}${ref.metadata.name}`;
    const uid = this.p.caches.get(ref.kind as Kind, ref.metadata.name, ref.metadata.namespace)?.metadata.uid;
    try {
      await this.p.objects.delete(ref, undefined, undefined, gracePeriodSeconds);
    } catch (e) {
      throw apiError(what, e);
    }
    const i = this.created.findIndex((c) => c.kind === ref.kind && c.metadata.name === ref.metadata.name && c.metadata.namespace === ref.metadata.namespace);
    if (i >= 0) this.created.splice(i, 1);
    const kind = watchedKind(ref.kind);
    if (kind) await this.p.caches.until(`${what}: gone`, () => this.p.caches.get(kind, ref.metadata.name, ref.metadata.namespace)?.metadata.uid !== uid || !this.p.caches.get(kind, ref.metadata.name, ref.metadata.namespace), waitMs);
  }

  get(ref: ObjectRef): KubeObject | undefined {
    const kind = kindOf(ref.kind);
    return this.p.caches.get(kind, ref.name, kind === 'Node' ? undefined : (ref.namespace ?? 'default'));
  }

  list(kind: string, namespace?: string): KubeObject[] {
    return this.p.caches.list(kindOf(kind), namespace);
  }

  events(ref?: ObjectRef): KubeObject[] {
    const all = this.p.caches.list('Event').sort((a, b) => eventTime(a) - eventTime(b));
    if (!ref) return all;
    const kind = kindOf(ref.kind);
    const ns = kind === 'Node' ? undefined : (ref.namespace ?? 'default');
    return all.filter((e) => {
      const io = (e as { involvedObject?: { kind?: string; name?: string; namespace?: string } }).involvedObject ?? {};
      return io.kind === kind && io.name === ref.name && (ns === undefined || io.namespace === ns);
    });
  }

  async exec(target: { pod: string; namespace?: string } | { node: string }, argv: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<ExecResult> {
    if ('node' in target) return this.node(target.node).api.call('exec', { argv, input: opts.input, timeoutMs: opts.timeoutMs });
    const namespace = target.namespace ?? 'default';
    const pod = this.p.caches.get('Pod', target.pod, namespace) as { spec?: { nodeName?: string; containers?: Array<{ name: string }> }; status?: { phase?: string } } | undefined;
    if (!pod) throw new Error(`pods "${target.pod}" not found`);
    const container = pod.spec?.containers?.[0]?.name;
    if (!pod.spec?.nodeName || !container || pod.status?.phase !== 'Running') throw new Error(`pod ${namespace}/${target.pod} is not running (phase ${pod.status?.phase ?? 'Pending'})`);
    return podExec(this.p.kc, { namespace, pod: target.pod, container }, argv, opts);
  }

  sysfsRead(node: string, path: string): Promise<SysfsResult> {
    return sysfsReadWith((argv) => this.exec({ node }, argv), path);
  }

  sysfsWrite(node: string, path: string, value: string): Promise<SysfsResult> {
    return sysfsWriteWith((argv) => this.exec({ node }, argv), path, value);
  }

  async kubelet(node: string, action: 'restart' | 'stop' | 'start'): Promise<void> {
    if (this.p.simulated) throw new Error(`kubelet ${action} on ${node}: the node's kubelet is sriov-lab's emulator in the process that serves the cluster, which a pod cannot restart (sriov-lab restart kubelet, or ${NEEDS_SIM})`);
    await this.node(node).api.call('kubelet', { action });
    if (action === 'stop') return;
    await this.p.caches.until(`node ${node} Ready after kubelet ${action}`, () => nodeReady(this.p.caches.get('Node', node)), GONE_MS);
  }

  /** the pods of DaemonSets that serve device plugins on a node: those that mount the kubelet's device-plugins dir */
  private devicePluginPods(node: string): KubeObject[] {
    const agents = agentNamespace(this.p.runId);
    return this.p.caches.list('Pod').filter((o) => {
      const pod = o as unknown as PodLite;
      if (pod.spec?.nodeName !== node || pod.metadata.namespace === agents || pod.metadata.deletionTimestamp) return false;
      if (!pod.metadata.ownerReferences?.some((r) => r.kind === 'DaemonSet')) return false;
      const mounts = (pod.spec.volumes ?? []).some((v) => ['/var/lib/kubelet', DEVICE_PLUGIN_DIR].includes((v.hostPath?.path ?? '').replace(/\/+$/, '')));
      const image = (pod.spec.containers ?? []).some((c) => ['device-plugin', 'virt-device-plugin'].includes(imageRole(c.image) ?? ''));
      return mounts || image;
    });
  }

  async devicePlugin(node: string, action: DevicePluginAction): Promise<void> {
    if (action !== 'restart' && action !== 'kill') {
      throw new Error(`device plugin ${action} on ${node}: a DaemonSet's plugin is restarted by deleting its pod; ${action} needs the plugin as the node's own process (${NEEDS_SIM})`);
    }
    const pods = this.devicePluginPods(node);
    if (pods.length === 0) throw new Error(`device plugin ${action} on ${node}: no DaemonSet pod on the node mounts ${DEVICE_PLUGIN_DIR} or runs a device plugin image`);
    for (const pod of pods) {
      const owner = (pod as unknown as PodLite).metadata.ownerReferences!.find((r) => r.kind === 'DaemonSet')!;
      const ns = pod.metadata.namespace!;
      this.p.progress?.(`${node}: device plugin ${action}: deleting pod ${ns}/${pod.metadata.name} of DaemonSet ${owner.name}`);
      await this.deleteAndWait({ apiVersion: 'v1', kind: 'Pod', metadata: { name: pod.metadata.name, namespace: ns } }, GONE_MS, action === 'kill' ? 0 : undefined);
      await this.p.caches.until(`a new pod of DaemonSet ${ns}/${owner.name} running on ${node}`, () =>
        this.p.caches.list('Pod', ns).some((o) => {
          const p = o as unknown as PodLite;
          return p.spec?.nodeName === node && p.metadata.uid !== pod.metadata.uid && p.metadata.ownerReferences?.some((r) => r.uid === owner.uid) && p.status?.phase === 'Running' && !p.metadata.deletionTimestamp;
        }), GONE_MS);
    }
  }

  nodeReboot(node: string): Promise<void> {
    return Promise.reject(new Error(`node reboot of ${node}: sriov-lab does not reboot a node of an existing cluster (--backend kind restarts its node container; ${NEEDS_SIM})`));
  }

  async fault(node: string, fault: Fault): Promise<void> {
    const refused = clusterRefusesFault(fault.kind);
    if (refused) throw new Error(`fault ${fault.kind} on ${node}: ${refused} (${NEEDS_SIM})`);
    await this.node(node).fault(fault as MachineFault);
  }

  advanceClock(ms: number): Promise<void> {
    return Promise.reject(new Error(`advanceClock ${ms}: a real kubelet's clock cannot be advanced (${NEEDS_SIM})`));
  }

  /** the next change the watches see: assertions wait on it rather than poll (the runner's nextChange) */
  nextChange(): Promise<void> {
    return this.p.caches.nextChange();
  }

  settle(): Promise<void> {
    // the API server and the kubelets work on their own: assertions wait for the watch
    return new Promise((r) => setImmediate(r));
  }

  async collect(node: string, what: CollectWhat[]): Promise<Attachment[]> {
    const n = this.node(node);
    const r = await n.api.call('collect', { what: what.filter((w) => w !== 'events' && w !== 'sysfs') });
    const out: Attachment[] = [];
    const text = (name: string, body: string, contentType = 'text/plain') => out.push(textAttachment(node, name, body, contentType));
    for (const w of what) {
      try {
        if (w === 'logs') {
          for (const pod of this.devicePluginPods(node)) {
            const ns = pod.metadata.namespace!;
            for (const c of (pod as unknown as PodLite).spec?.containers ?? []) {
              text(`device-plugin-${pod.metadata.name}-${c.name}.log`, await podLog(this.p.kc, ns, pod.metadata.name, c.name).catch((e: Error) => e.message));
            }
          }
          if (r.errors.logs !== undefined) text('kubelet.log.error.txt', r.errors.logs);
          else text('kubelet.log', r.kubeletLog ?? '');
        } else if (w === 'events') text('events.txt', eventsText(this.events()));
        else if (w === 'sysfs') text('sysfs.txt', await n.sysfsDump());
        else if (r.errors[w] !== undefined) text(`${w}.error.txt`, r.errors[w]);
        else if (w === 'checkpoint') text('kubelet_internal_checkpoint', r.checkpoint ?? '', 'application/json');
        else if (w === 'podResources') text('pod-resources.json', r.podResources ?? '', 'application/json');
        else {
          const unknown: never = w;
          text(`${String(unknown)}.error.txt`, `nothing to collect as ${String(unknown)}`);
        }
      } catch (e) {
        text(`${w}.error.txt`, (e as Error).message);
      }
    }
    return out;
  }

  /**
   * Everything the run made, undone: the objects it created (pods waited for), each node's PFs back to the VF count
   * they had, the agents and their namespace. Every part is tried; the problems are thrown together. A second call
   * (the runner's down and a signal's exit hook) waits for the same cleanup.
   */
  down(): Promise<void> {
    this.downing ??= this.cleanup();
    return this.downing;
  }

  private async cleanup(): Promise<void> {
    const problems: string[] = [];
    for (const ref of [...this.created]) {
      await this.deleteAndWait(ref, GONE_MS).catch((e: Error) => {
        if (apiCode(e) !== 404) problems.push(e.message);
      });
    }
    for (const [name, n] of this.p.nodes) {
      for (const b of n.baseline) {
        await setNumVfs(n, b.pciAddr, b.numVfs).catch((e: Error) => problems.push(`${name}: restoring sriov_numvfs of ${b.pciAddr} to ${b.numVfs}: ${e.message}`));
      }
      await n.stop().catch((e: Error) => problems.push(`${name}: stopping the node agent: ${e.message}`));
    }
    problems.push(...(await this.p.teardown()));
    if (problems.length) throw new Error(`cleanup of run ${this.p.runId} left problems:\n${problems.join('\n')}`);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.down();
  }
}

interface PodLite {
  metadata: { name: string; namespace?: string; uid?: string; deletionTimestamp?: string; ownerReferences?: Array<{ kind: string; name: string; uid: string }> };
  spec?: { nodeName?: string; volumes?: Array<{ hostPath?: { path?: string } }>; containers?: Array<{ name: string; image?: string }> };
  status?: { phase?: string };
}

function watchedKind(kind: string): Kind | undefined {
  try {
    return kindOf(kind);
  } catch {
    return undefined;
  }
}

function eventTime(e: KubeObject): number {
  const o = e as { lastTimestamp?: string; eventTime?: string; firstTimestamp?: string; metadata: { creationTimestamp?: string } };
  return Date.parse(o.lastTimestamp ?? o.eventTime ?? o.firstTimestamp ?? o.metadata.creationTimestamp ?? '') || 0;
}

function nodeReady(n: KubeObject | undefined): boolean {
  const conds = (n as { status?: { conditions?: Array<{ type: string; status: string }> } } | undefined)?.status?.conditions ?? [];
  return conds.some((c) => c.type === 'Ready' && c.status === 'True');
}

/** sriov_numvfs of a PF to `want`, through 0 when it has another non-zero count (as the kernel requires) */
export async function setNumVfs(n: LabNode, pciAddr: string, want: number): Promise<void> {
  const path = `/sys/bus/pci/devices/${pciAddr}/sriov_numvfs`;
  const exec = (argv: string[]) => n.api.call('exec', { argv });
  const cur = await sysfsReadWith(exec, path);
  if (!cur.ok) throw new Error(`${path}: ${cur.message}`);
  const have = Number((cur.value ?? '').trim());
  if (have === want) return;
  for (const v of have !== 0 && want !== 0 ? [0, want] : [want]) {
    const w = await sysfsWriteWith(exec, path, String(v));
    if (!w.ok) throw new Error(`writing ${v} to ${path}: ${w.message}`);
  }
}

/** Checks the topology's NICs are on the node (by PCI address, with its netdev name) and returns its SR-IOV PFs' VF counts. */
export async function checkNodeNics(n: LabNode, spec: NodeSpec, topologyName: string): Promise<Array<{ pciAddr: string; numVfs: number; want?: number }>> {
  const out: Array<{ pciAddr: string; numVfs: number; want?: number }> = [];
  const problems: string[] = [];
  for (const nic of spec.nics) {
    const dev = `/sys/bus/pci/devices/${nic.pciAddr}`;
    const r = await n.api.call('exec', { argv: ['sh', '-c', `test -e ${dev} || { echo "no PCI device ${nic.pciAddr}" >&2; exit 1; }; ls ${dev}/net ${dev}/virtio*/net 2>/dev/null; echo "numvfs=$(cat ${dev}/sriov_numvfs 2>/dev/null)"`] });
    const label = `${nic.model}${nic.ifname ? ` ${nic.ifname}` : ''} (${nic.pciAddr})`;
    if (r.exitCode !== 0) {
      problems.push(`the topology's ${label} is not on node ${spec.name}: ${r.stderr.trim()}`);
      continue;
    }
    const names = r.stdout.split(/\s+/).filter((x) => x && !x.startsWith('numvfs=') && !x.endsWith(':'));
    if (nic.ifname && !names.includes(nic.ifname)) problems.push(`the topology's ${label} is ${names.join(', ') || 'without a netdev'} on node ${spec.name}, not ${nic.ifname}`);
    const m = /numvfs=(\d+)/.exec(r.stdout);
    if (m) out.push({ pciAddr: nic.pciAddr, numVfs: Number(m[1]), ...(nic.numVfs !== undefined ? { want: nic.numVfs } : {}) });
  }
  if (problems.length) throw new Error(`the cluster does not have the hardware of topology ${topologyName}:\n${problems.join('\n')}`);
  return out;
}

/** why a fault the node agent cannot inject on an existing cluster's node is refused (undefined: the agent does it) */
export function clusterRefusesFault(kind: Fault['kind']): string | undefined {
  switch (kind) {
    case 'ipamFail':
      return "it needs the simulator's IPAM, which the cluster's CNI does not have";
    case 'netnsRemove':
    case 'cniPath':
      return "it needs the simulated kubelet's sandboxes, which a real kubelet and container runtime keep to themselves";
    case 'sysfsFailWrites':
    case 'sysfsDelay':
    case 'vfAttrFail':
    case 'pfLink':
    case 'vfLink':
    case 'vfUnplug':
      // the node agent's, as on a real kernel (which refuses the simulator-only ones itself)
      return undefined;
  }
}
