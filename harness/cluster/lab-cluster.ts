// The one cluster assembly of every backend: the control plane here (object store, scheduler of sim/cluster) and the
// nodes from a NodeProvider — simulated nodes in this process (sim), QEMU guests (qemu), this machine (host). Each
// node is reached only through the node interface (NodeApi: node-rpc's methods and notifications), served in-process
// by a simulated node and over TCP by a node agent; the provider adds what only it can do — start and stop the
// machine, inject faults into it, dump its sysfs. The runner's handle over it is handle.ts.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { Cluster, PodStartError, type NodeOptions } from '../../sim/cluster/cluster.ts';
import { ApiServer, type ApiServerOptions } from '../../sim/apiserver/server.ts';
import type { NadLite, NodeApiAccess } from '../../sim/cluster/node-runtime.ts';
import type { ConfigMapLite } from '../../sim/cluster/volumes.ts';
import type { PodIo } from '../../sim/apiserver/pod-io.ts';
import { SkewClock, type KubeletEvent, type PodStatusLite } from '../../sim/kubelet/index.ts';
import type { AdmitResult, NodeAgent, PodSpecLite, ResourceList } from '../../sim/kubelet/types.ts';
import type { NodeSpec } from '../../sim/topology/topology.ts';
import { toJsonValue, type PodPhase, type TraceEvent } from '../../sim/trace.ts';
import type { BackendName } from '../../reports/types.ts';
import type { BackendUpOptions, Fault } from '../backend.ts';
import type { Methods, NodeApi, NodeEvents, NodeNotification, Resources } from '../node/node-rpc.ts';
import { LIGHTWEIGHT_ANNOTATION, LIGHTWEIGHT_NOTE, LightNodeProvider, type LightNode } from '../backends/light.ts';
import { defaultDevicePluginConfig } from '../plugins.ts';

/** the faults of the node's machine, which its provider injects; the rest are the node runtime's (handle.ts) */
export type MachineFault = Exclude<Fault, { kind: 'ipamFail' | 'netnsRemove' | 'cniPath' }>;

/** A node as its provider started it: the node interface, and the machine's own part. */
export interface LabNode {
  readonly spec: NodeSpec;
  readonly api: NodeApi;
  readonly hello: Methods['hello']['result'];
  /** injects a fault into the machine (sysfs, links, PCI); a provider that cannot throws with the reason */
  fault(fault: MachineFault): Promise<void>;
  /** the SR-IOV devices' sysfs as text, for a catch collector */
  sysfsDump(): Promise<string>;
  /** brings the machine's own events (the simulated sysfs's) into the trace; after an exec, a fault, a settle */
  sync?(): Promise<void>;
  /** stops the node's software, then its machine */
  stop(): Promise<void>;
}

export interface NodeProvider<N extends LabNode = LabNode> {
  readonly backend: BackendName;
  /**
   * wait for every node's device plugin at start-up, like a DaemonSet's pod becoming ready (real kernels, where a
   * scenario's first step must not race the plugin's first ListAndWatch); simulated nodes leave it to the scenario
   */
  readonly awaitDevicePlugins: boolean;
  /** once, before the nodes (artefacts, claims) */
  prepare?(opts: BackendUpOptions): Promise<void>;
  /** a machine for this node with its node interface answering; its notifications go to `events` from the start */
  startNode(spec: NodeSpec, index: number, opts: BackendUpOptions, events: NodeEvents): Promise<N>;
  /** once, after every node stopped (restore what was claimed, remove work directories) */
  finish?(): Promise<void>;
  /**
   * the node reaches the cluster's API server from inside (a relay, a kubeconfig under /etc/cni/net.d/multus.d/),
   * which a real Multus needs (`--multus`); a provider without it cannot run Multus
   */
  connectApi?(node: N, access: Omit<NodeApiAccess, 'relayArgv'>): Promise<void>;
}

export class LabClusterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LabClusterError';
  }
}

/** The control plane's view of a node's kubelet: resources as the node last reported them, admission over its API. */
class NodeProxy implements NodeAgent {
  private res: Resources = { capacity: {}, allocatable: {} };
  private reported = false;
  private readonly listeners = new Set<() => void>();
  api: NodeApi | null = null;
  constructor(readonly nodeName: string) {}

  /** a `resources` notification */
  update(r: Resources): void {
    this.res = r;
    this.reported = true;
    for (const l of this.listeners) l();
  }
  /**
   * The node's hello: its resources count unless a notification came first — every change is notified, so the
   * newest notification is as new as the hello or newer
   */
  greeted(api: NodeApi, hello: Resources): void {
    this.api = api;
    if (!this.reported) this.res = { capacity: hello.capacity, allocatable: hello.allocatable };
  }
  resources(): Resources {
    return this.res;
  }
  capacity(): ResourceList {
    return { ...this.res.capacity };
  }
  allocatable(): ResourceList {
    return { ...this.res.allocatable };
  }
  onResourcesChanged(cb: () => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }
  /** Resolves once the node's resources stayed the same for quietMs (true), or after timeoutMs (false). */
  settled(quietMs: number, timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      let quiet: NodeJS.Timeout | undefined;
      const arm = () => {
        if (quiet) clearTimeout(quiet);
        quiet = setTimeout(() => done(true), quietMs);
      };
      const off = this.onResourcesChanged(arm);
      const deadline = setTimeout(() => done(false), timeoutMs);
      const done = (ok: boolean) => {
        if (quiet) clearTimeout(quiet);
        clearTimeout(deadline);
        off();
        resolve(ok);
      };
      arm();
    });
  }
  private mustApi(): NodeApi {
    if (!this.api) throw new LabClusterError(`node ${this.nodeName} has not started`);
    return this.api;
  }
  admitPod(pod: PodSpecLite): Promise<AdmitResult> {
    return this.mustApi().call('admitPod', { pod });
  }
  async releasePod(podUid: string): Promise<void> {
    await this.mustApi().call('releasePod', { uid: podUid });
  }
}

/** start-up: a plugin that has not registered after running this long has nothing to serve (yet) */
const PLUGIN_ALIVE_MS = 8000;
const PLUGIN_READY_TIMEOUT_MS = 60_000;
/** then the node's resources must stay the same this long (registrations of its other resources), at most the limit */
const ADVERTISE_QUIET_MS = 2000;
const ADVERTISE_TIMEOUT_MS = 20_000;

/**
 * Capacity, allocatable and allocated of each extended resource of each node, traced whenever one of them changes:
 * what a kubelet reports, and what the scheduler allocates or frees as pods come and go (without the latter, a
 * report's resource chart showed "allocated 0" all through a scenario whose pods held two VFs).
 */
class ResourceSampler {
  private readonly last = new Map<string, string>();
  private readonly pending = new Set<string>();
  private timer: NodeJS.Immediate | null = null;
  constructor(
    private readonly cluster: Cluster,
    private readonly resources: (node: string) => Resources | undefined,
    private readonly trace: (e: TraceEvent) => void,
  ) {}

  /** a kubelet's report of one resource: always traced */
  reported(node: string, resource: string, capacity: number, allocatable: number): void {
    this.emit(node, resource, capacity, allocatable, true);
  }

  /** a pod of this node changed: sampled once the scheduler has booked it (on the next turn of the loop) */
  podChanged(node: string | undefined): void {
    if (!node) return;
    this.pending.add(node);
    this.timer ??= setImmediate(() => this.flush());
  }

  /** samples the nodes whose pods changed, now */
  flush(): void {
    if (this.timer) clearImmediate(this.timer);
    this.timer = null;
    const nodes = [...this.pending];
    this.pending.clear();
    for (const node of nodes) {
      const r = this.resources(node);
      if (!r) continue;
      const names = new Set([...Object.keys(r.capacity), ...Object.keys(r.allocatable)].filter((n) => n.includes('/')));
      for (const name of names) this.emit(node, name, Number(r.capacity[name] ?? 0), Number(r.allocatable[name] ?? 0), false);
    }
  }

  stop(): void {
    if (this.timer) clearImmediate(this.timer);
    this.timer = null;
    this.pending.clear();
  }

  private emit(node: string, resource: string, capacity: number, allocatable: number, always: boolean): void {
    const allocated = this.cluster.scheduler.requested(node)?.scalar.get(resource) ?? 0;
    const key = `${node}\0${resource}`;
    const value = `${capacity}/${allocatable}/${allocated}`;
    if (!always && this.last.get(key) === value) return;
    this.last.set(key, value);
    this.trace({ kind: 'resource', atMs: Date.now(), node, resource, capacity, allocatable, allocated });
  }
}

/** Starts the nodes through a provider (in parallel), joins them to one control plane; stops all on failure. */
export class LabCluster<N extends LabNode = LabNode> implements AsyncDisposable {
  readonly cluster: Cluster;
  /** the provider's started nodes, in topology order */
  readonly nodes = new Map<string, N>();
  /** the lightweight nodes (`lightweight: true` in the topology), started in this process whatever the provider */
  readonly lightNodes = new Map<string, LightNode>();
  private readonly light: LightNodeProvider;
  private readonly proxies = new Map<string, NodeProxy>();
  private readonly unsubscribe: Array<() => void> = [];
  private readonly sampler: ResourceSampler;
  private stopped = false;
  /** the control plane's side of the kubelets' clock (the pod workers' back-off): advanced with the nodes' */
  readonly clock = new SkewClock();
  /** the Kubernetes API over this cluster's store, once serveApi() started it */
  api: ApiServer | undefined;
  private apiStarting: Promise<ApiServer> | undefined;
  /** the API server's unix socket's own directory (`--multus`), when the work directory's path is too long for it */
  private apiSocketDir: string | undefined;

  private constructor(
    readonly provider: NodeProvider<N>,
    private readonly opts: BackendUpOptions,
  ) {
    this.cluster = new Cluster({ seed: opts.seed, kubeletClock: this.clock });
    this.light = new LightNodeProvider({ seed: opts.seed, devicePluginConfig: opts.devicePlugin.config ?? defaultDevicePluginConfig() });
    this.sampler = new ResourceSampler(this.cluster, (node) => this.proxies.get(node)?.resources(), (e) => this.trace(e));
  }

  get backend(): BackendName {
    return this.provider.backend;
  }

  static async start<N extends LabNode>(provider: NodeProvider<N>, opts: BackendUpOptions): Promise<LabCluster<N>> {
    const c = new LabCluster(provider, opts);
    try {
      await c.boot();
    } catch (e) {
      await c.stop().catch(() => undefined);
      throw e;
    }
    return c;
  }

  private trace(e: TraceEvent): void {
    this.opts.trace(e);
  }

  /** a node's notifications: resources to its proxy, kubelet and runtime events to the trace, failed pods to the store */
  private eventsOf(proxy: NodeProxy): NodeEvents {
    return (n: NodeNotification) => {
      switch (n.event) {
        case 'resources':
          proxy.update(n.data);
          break;
        case 'kubelet':
          if (n.data.kind === 'resources') this.sampler.reported(n.data.node, n.data.resource, n.data.capacity, n.data.allocatable);
          else traceKubeletEvent(n.data, (t) => this.trace(t));
          break;
        case 'runtime':
          this.trace(n.data);
          break;
        case 'podStatus':
          podFailedByNode(this.cluster)(n.data);
          break;
        case 'containers':
          this.cluster.containersReported(n.data);
          break;
        default: {
          const unknown: never = n;
          throw new LabClusterError(`unknown node notification ${(unknown as NodeNotification).event}`);
        }
      }
    };
  }

  private async boot(): Promise<void> {
    const { topology } = this.opts;
    await this.provider.prepare?.(this.opts);
    this.unsubscribe.push(...watchClusterTrace(this.cluster, (e) => this.trace(e)));
    this.unsubscribe.push(
      this.cluster.store.watch('Pod', {
        added: (p) => this.sampler.podChanged(p.spec?.nodeName),
        modified: (p) => this.sampler.podChanged(p.spec?.nodeName),
        deleted: (p) => this.sampler.podChanged(p.spec?.nodeName),
      }),
    );
    const lightCount = topology.nodes.filter((n) => n.lightweight).length;
    if (lightCount) this.opts.progress?.(`starting ${lightCount} lightweight node(s) (${LIGHTWEIGHT_NOTE.replace(/^lightweight: /, '')})`);
    const started = await Promise.allSettled(
      topology.nodes.map(async (spec, index): Promise<N | LightNode> => {
        const proxy = new NodeProxy(spec.name);
        this.proxies.set(spec.name, proxy);
        const node = spec.lightweight ? await this.light.startNode(spec, this.eventsOf(proxy)) : await this.provider.startNode(spec, index, this.opts, this.eventsOf(proxy));
        proxy.greeted(node.api, node.hello);
        return node;
      }),
    );
    // nodes join the cluster in topology order
    for (const s of started) {
      if (s.status !== 'fulfilled') continue;
      if ('lightweight' in s.value) this.lightNodes.set(s.value.spec.name, s.value);
      else this.nodes.set(s.value.spec.name, s.value);
    }
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason as Error;
    for (const [index, spec] of topology.nodes.entries()) this.cluster.addNode(this.proxies.get(spec.name)!, nodeOptionsOf(spec, index));
    if (lightCount) this.opts.progress?.(`${lightCount} lightweight node(s) up`);
    const full = topology.nodes.filter((spec) => !spec.lightweight);
    if (this.provider.awaitDevicePlugins) await Promise.all(full.map((spec) => this.devicePluginReady(spec.name)));
    if (this.opts.multus) await this.connectNodesToApi();
    this.cluster.onPodAdmitted(async ({ pod, nodeName }) => {
      try {
        return await this.labNode(nodeName).api.call('podStarted', { pod, nads: this.nads(), configMaps: this.configMapsOf(pod) });
      } catch (e) {
        if (e instanceof PodStartError) throw e;
        const err = e as Error & { remote?: { reason?: string } };
        if (err.name === 'PodStartError') throw new PodStartError(err.remote?.reason ?? 'FailedCreatePodSandBox', err.message);
        throw e;
      }
    });
    this.cluster.onPodKill(async ({ pod, nodeName, gracePeriodSeconds }) => {
      await this.nodes.get(nodeName)?.api.call('stopContainers', { pod, gracePeriodSeconds }, (gracePeriodSeconds + 30) * 1000);
    });
    this.cluster.onPodReleased(async ({ pod, nodeName }) => {
      await (this.nodes.get(nodeName) ?? this.lightNodes.get(nodeName))?.api.call('podStopped', { pod: pod as V1Pod });
    });
  }

  /**
   * `--multus`: the API server starts with the nodes, and also listens on a unix socket that each node's relay
   * forwards its own 127.0.0.1:<port> to; each node gets a kubeconfig for it (and Multus its config).
   */
  private async connectNodesToApi(): Promise<void> {
    const connect = this.provider.connectApi?.bind(this.provider);
    if (!connect) throw new LabClusterError(`--multus: the ${this.provider.backend} backend cannot run Multus on its nodes (the sim backend can)`);
    if (this.lightNodes.size) throw new LabClusterError(`--multus: lightweight nodes (${[...this.lightNodes.keys()].join(', ')}) have no CNI to run Multus`);
    this.opts.progress?.('starting the Kubernetes API for Multus (a relay in every node)');
    const api = await this.serveApi({ log: (l) => this.trace({ kind: 'log', atMs: Date.now(), source: 'harness', level: 'error', message: `API server: ${l}` }) });
    // in the cluster's work directory, which `down` removes even after a crash; a unix socket's path has to stay under
    // 108 bytes, and a simulated node has /run, /dev, /etc, /opt and /var/lib of its own, so a work directory that is
    // deep or under those gets a short one of the temp directory instead
    mkdirSync(this.opts.workDir, { recursive: true });
    let socketPath = join(this.opts.workDir, 'api.sock');
    if (Buffer.byteLength(socketPath) > 100 || /^\/(run|dev|etc|opt|var\/run|var\/lib)(\/|$)/.test(socketPath)) {
      this.apiSocketDir = mkdtempSync(join(tmpdir(), 'sl-api-'));
      socketPath = join(this.apiSocketDir, 'api.sock');
    }
    await api.listenUnix(socketPath);
    const kubeconfig = api.kubeconfig();
    await Promise.all([...this.nodes.values()].map((n) => connect(n, { port: api.port, socketPath, kubeconfig })));
  }

  /** the device plugin registered (or found nothing to serve), and what it advertises has settled */
  private async devicePluginReady(name: string): Promise<void> {
    const r = await this.mustNode(name).api.call('devicePluginReady', { aliveMs: PLUGIN_ALIVE_MS, timeoutMs: PLUGIN_READY_TIMEOUT_MS }, PLUGIN_READY_TIMEOUT_MS + 10_000);
    if (!r.running) this.opts.progress?.(`${name}: the device plugin is not running`);
    else if (!r.registered) this.opts.progress?.(`${name}: the device plugin registered nothing in ${(r.waitedMs / 1000).toFixed(1)} s (no devices to serve yet?); going on`);
    else await this.proxies.get(name)!.settled(ADVERTISE_QUIET_MS, ADVERTISE_TIMEOUT_MS);
  }

  /** the NADs a pod's networks annotation may name, from the store (a node has no store) */
  private nads(): Record<string, NadLite> {
    const out: Record<string, NadLite> = {};
    for (const n of this.cluster.store.list('NetworkAttachmentDefinition')) out[`${n.metadata?.namespace ?? 'default'}/${n.metadata?.name}`] = n as NadLite;
    return out;
  }

  /** the ConfigMaps a pod's volumes name, from the store (data and binaryData only) */
  private configMapsOf(pod: V1Pod): Record<string, ConfigMapLite> {
    const out: Record<string, ConfigMapLite> = {};
    const ns = pod.metadata?.namespace ?? 'default';
    for (const v of pod.spec?.volumes ?? []) {
      const cm = v.configMap?.name ? this.cluster.store.get('ConfigMap', ns, v.configMap.name) : undefined;
      if (cm) out[`${ns}/${cm.metadata!.name}`] = { data: cm.data, binaryData: cm.binaryData };
    }
    return out;
  }

  /** a node of the provider (its machine: a netns, a VM, this host) */
  mustNode(name: string): N {
    const n = this.nodes.get(name);
    if (n) return n;
    if (this.lightNodes.has(name)) throw new LabClusterError(`node "${name}" is lightweight (no network namespace, no CNI, no processes): this needs a full node`);
    throw new LabClusterError(`no node "${name}" (nodes: ${this.nodeNames().join(', ')})`);
  }

  /** any node, full or lightweight: what the node interface and faults need */
  labNode(name: string): LabNode {
    const n = this.nodes.get(name) ?? this.lightNodes.get(name);
    if (!n) throw new LabClusterError(`no node "${name}" (nodes: ${this.nodeNames().join(', ')})`);
    return n;
  }

  /** every node's name, in topology order */
  nodeNames(): string[] {
    return this.opts.topology.nodes.map((n) => n.name).filter((n) => this.nodes.has(n) || this.lightNodes.has(n));
  }

  /** every node, full and lightweight, in topology order */
  allNodes(): LabNode[] {
    return this.nodeNames().map((n) => this.labNode(n));
  }

  /** brings every node's machine events into the trace */
  async sync(): Promise<void> {
    for (const n of this.nodes.values()) await n.sync?.();
  }

  /** lets queued work settle (scheduling, admission, attach), then the machines' events */
  async settle(): Promise<void> {
    await this.cluster.settle();
    this.sampler.flush();
    await this.sync();
  }

  /** Serves the Kubernetes API over this cluster (once; later calls return the same server). */
  async serveApi(opts: Omit<ApiServerOptions, 'cluster'> = {}): Promise<ApiServer> {
    if (this.stopped) throw new LabClusterError('the cluster is stopped');
    this.apiStarting ??= ApiServer.start({ ...opts, cluster: this.cluster, podIo: this.podIo() }).then((a) => (this.api = a));
    return this.apiStarting;
  }

  /** pods/log and pods/exec of the API server: calls to the pod's node */
  private podIo(): PodIo {
    const api = (pod: V1Pod) => this.labNode(pod.spec?.nodeName ?? '').api;
    // a long poll holds its call open: the call's own limit is past the longest wait
    const limit = (waitMs: number) => waitMs + 30_000;
    return {
      readLog: (pod, container, o) => api(pod).call('containerLog', { uid: pod.metadata!.uid!, container, ...o }, limit(o.waitMs ?? 0)),
      execStart: async (pod, container, argv, o) => (await api(pod).call('execStart', { pod, container, argv, ...o })).id,
      execInput: async (pod, id, data, close) => {
        await api(pod).call('execInput', { id, data, close });
      },
      execRead: (pod, id, waitMs) => api(pod).call('execRead', { id, waitMs }, limit(waitMs)),
      execKill: async (pod, id) => {
        await api(pod).call('execKill', { id });
      },
    };
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.apiStarting?.then((a) => a.close()).catch(() => undefined);
    if (this.apiSocketDir) rmSync(this.apiSocketDir, { recursive: true, force: true });
    for (const u of this.unsubscribe) u();
    this.sampler.stop();
    await Promise.all([...this.nodes.values(), ...this.lightNodes.values()].map((n) => n.stop().catch(() => undefined)));
    this.nodes.clear();
    this.lightNodes.clear();
    this.cluster.close();
    await this.provider.finish?.();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}

/** The Node object of a topology node: its capacity, labels and taints, an InternalIP in kind's range by its index. */
export function nodeOptionsOf(spec: NodeSpec, index: number): NodeOptions {
  return {
    cpu: spec.cpu,
    memory: spec.memory,
    pods: String(spec.pods),
    labels: { 'kubernetes.io/hostname': spec.name, 'kubernetes.io/os': 'linux', ...spec.labels },
    annotations: spec.lightweight ? { [LIGHTWEIGHT_ANNOTATION]: LIGHTWEIGHT_NOTE } : undefined,
    taints: spec.taints.map((t) => ({ key: t.key, value: t.value, effect: t.effect })),
    // kind's 172.18.0.0/16, by index: 172.18.0.2 …, then 172.18.1.0 … for large clusters
    internalIP: `172.18.${Math.floor((index + 2) / 256)}.${(index + 2) % 256}`,
  };
}

/** A pod a node's kubelet fails by itself (re-admission after a reboot) is failed in the cluster too. */
function podFailedByNode(cluster: Cluster): (st: PodStatusLite) => void {
  return (st) => {
    if (st.phase === 'Failed' && st.reason) void cluster.podRejectedByNode(st.uid, st.reason, st.message ?? '');
  };
}

/** A kubelet event as trace events of the run (its resource reports go through the ResourceSampler). */
function traceKubeletEvent(e: KubeletEvent, trace: (e: TraceEvent) => void): void {
  if (e.kind === 'grpc') {
    trace({
      kind: 'grpc',
      atMs: Date.now(),
      node: e.node,
      direction: e.direction === 'out' ? 'to-plugin' : 'to-kubelet',
      method: e.method,
      ...(e.socket ? { socket: e.socket } : {}),
      request: e.request === undefined ? undefined : toJsonValue(e.request),
      response: e.response === undefined && e.message === undefined ? undefined : toJsonValue(e.response ?? e.message),
      stream: e.message !== undefined ? 'message' : undefined,
      status: e.error ? { code: 2, name: 'UNKNOWN', details: e.error } : undefined,
    });
  } else if (e.kind === 'registration') {
    trace({ kind: 'log', atMs: Date.now(), node: e.node, source: 'kubelet', level: e.ok ? 'info' : 'warn', message: `registration of ${e.resource} (${e.mode}, ${e.endpoint}): ${e.ok ? 'ok' : e.error}` });
  } else if (e.kind === 'lifecycle') {
    trace({ kind: 'log', atMs: Date.now(), node: e.node, source: 'kubelet', level: 'info', message: `${e.what}${e.detail ? `: ${e.detail}` : ''}` });
  }
}

const PHASES: readonly PodPhase[] = ['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown'];
/** a Pod's status.phase as the trace has it (the API types it as any string) */
function phaseOf(phase: string | undefined): PodPhase {
  if (phase === undefined) return 'Pending';
  return PHASES.find((p) => p === phase) ?? 'Unknown';
}

/** Pod phase changes and scheduling outcomes of the object store as trace events; returns the unsubscribers. */
function watchClusterTrace(cluster: Cluster, trace: (e: TraceEvent) => void): Array<() => void> {
  const phases = new Map<string, PodPhase>();
  return [
    cluster.store.watch('Pod', {
      added: (p) => {
        phases.set(p.metadata!.uid!, phaseOf(p.status?.phase));
        trace({ kind: 'pod', atMs: Date.now(), pod: `${p.metadata!.namespace}/${p.metadata!.name}`, to: phaseOf(p.status?.phase) });
      },
      modified: (p) => {
        const uid = p.metadata!.uid!;
        const to = phaseOf(p.status?.phase);
        const from = phases.get(uid);
        if (from !== to) {
          phases.set(uid, to);
          trace({ kind: 'pod', atMs: Date.now(), node: p.spec?.nodeName, pod: `${p.metadata!.namespace}/${p.metadata!.name}`, from, to, reason: p.status?.reason, message: p.status?.message });
        }
      },
      deleted: (p) => phases.delete(p.metadata!.uid!),
    }),
    cluster.store.watch('Event', {
      added: (ev) => {
        const pod = `${ev.involvedObject?.namespace ?? 'default'}/${ev.involvedObject?.name}`;
        if (ev.reason === 'Scheduled') trace({ kind: 'scheduler', atMs: Date.now(), pod, result: 'bound', nodeName: /to (\S+)$/.exec(ev.message ?? '')?.[1], message: ev.message });
        else if (ev.reason === 'FailedScheduling') trace({ kind: 'scheduler', atMs: Date.now(), pod, result: 'unschedulable', message: ev.message });
      },
    }),
  ];
}
