// The simulated cluster put together: per node a simulated machine (netns + FUSE sysfs), an emulated kubelet, the
// device plugin under test running unmodified inside the node (DaemonSet-like), pod sandboxes with a default network,
// and the Multus-style attach of NetworkAttachmentDefinitions through the CNI plugins inside the node.
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster, type NodeOptions } from './cluster.ts';
import { NodeRuntime, type NadLite } from './node-runtime.ts';
import { Kubelet, SkewClock, type KubeletEvent, type PodStatusLite } from '../kubelet/index.ts';
import { startNode, modelOptionsFor, newRunId, type StartedNode } from '../node/node.ts';
import type { NodeSpec, Topology } from '../topology/topology.ts';
import { toJsonValue, type PodPhase, type TraceEvent } from '../trace.ts';

/** The trace events of a simulated cluster: the run's trace contract itself (sim/trace.ts). */
export type SimTraceEvent = TraceEvent;

export interface SimClusterOptions {
  topology: Topology;
  seed: number;
  workDir: string;
  /** argv of the device plugin run inside every node (unmodified); default the bundled one */
  devicePluginArgv?: string[];
  /** content of /etc/pcidp/config.json in every node; default the bundled plugin's default config */
  devicePluginConfig: unknown;
  /** CNI binaries installed in /opt/cni/bin of every node: type name → executable path on the host */
  cniPlugins: Record<string, string>;
  /** directory of reference CNI plugins (host-local, bridge, host-device, …) */
  referenceCniDir?: string;
  trace?: (e: SimTraceEvent) => void;
  progress?: (line: string) => void;
}

export interface SimNode {
  spec: NodeSpec;
  index: number;
  node: StartedNode;
  /** kubelet, device plugin, sandboxes and CNI of the node */
  runtime: NodeRuntime;
  readonly kubelet: Kubelet;
  readonly plugin: ChildProcess | null;
  readonly pluginLog: string[];
  readonly kubeletLog: string[];
  sysfsSeq: number;
}

export class SimClusterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SimClusterError';
  }
}

export class SimCluster implements AsyncDisposable {
  readonly cluster: Cluster;
  readonly nodes = new Map<string, SimNode>();
  readonly clock = new SkewClock();
  private readonly opts: SimClusterOptions;
  private readonly runId = newRunId();
  private readonly unsubscribe: Array<() => void> = [];
  private sysfsPoll: NodeJS.Timeout | null = null;
  private stopped = false;
  private nodeRoot: string | null = null;

  private constructor(opts: SimClusterOptions) {
    this.opts = opts;
    this.cluster = new Cluster({ seed: opts.seed });
  }

  private trace(e: SimTraceEvent): void {
    this.opts.trace?.(e);
  }

  static async start(opts: SimClusterOptions): Promise<SimCluster> {
    const sc = new SimCluster(opts);
    try {
      await sc.boot();
    } catch (e) {
      await sc.stop().catch(() => undefined);
      throw e;
    }
    return sc;
  }

  private async boot(): Promise<void> {
    const { topology } = this.opts;
    mkdirSync(this.opts.workDir, { recursive: true });
    // node roots live under a short path of their own: the kubelet dials plugin sockets by their host path, and a unix
    // socket path must stay under 108 bytes however deep the caller's work directory is
    const workDir = mkdtempSync(join(tmpdir(), 'sl-'));
    this.nodeRoot = workDir;
    this.unsubscribe.push(...watchClusterTrace(this.cluster, (e) => this.trace(e)));
    let index = 0;
    for (const spec of topology.nodes) {
      this.opts.progress?.(`starting node ${spec.name} (${spec.nics.map((n) => `${n.model} ${n.ifname}`).join(', ')})`);
      const node = await startNode({
        name: spec.name,
        runId: this.runId,
        workDir,
        model: modelOptionsFor(spec, this.opts.seed),
        log: (l) => this.trace({ kind: 'log', atMs: Date.now(), node: spec.name, source: 'harness', level: 'debug', message: l }),
      });
      const runtime = new NodeRuntime({
        nodeName: spec.name,
        index,
        machine: { hostPath: (p) => node.hostPath(p), spawn: (a, o) => node.spawn(a, o), exec: (a, o) => node.exec(a, o), netnsPrefix: node.netns },
        clock: this.clock,
        seed: `${this.opts.seed}/${spec.name}`,
        registrationModes: spec.kubeletRegistration,
        devicePluginArgv: this.opts.devicePluginArgv ?? [],
        devicePluginConfig: this.opts.devicePluginConfig,
        cniPlugins: this.opts.cniPlugins,
        referenceCniDir: this.opts.referenceCniDir,
        event: (e) => this.trace(e),
      });
      const sn: SimNode = {
        spec,
        index: index++,
        node,
        runtime,
        sysfsSeq: 0,
        get kubelet() {
          return runtime.kubelet;
        },
        get plugin() {
          return runtime.plugin;
        },
        pluginLog: runtime.pluginLog,
        kubeletLog: runtime.kubeletLog,
      };
      this.nodes.set(spec.name, sn);
      const kubelet = runtime.kubelet;
      this.unsubscribe.push(kubelet.onEvent((e) => traceKubeletEvent(e, this.cluster, (t) => this.trace(t))));
      this.unsubscribe.push(kubelet.onPodStatusChanged(podFailedByNode(this.cluster)));
      await runtime.start();
      this.cluster.addNode(kubelet, nodeOptionsOf(spec, sn.index));
      runtime.startDevicePlugin();
    }
    this.cluster.onPodAdmitted(async ({ pod, nodeName }) =>
      this.mustNode(nodeName).runtime.podStarted(pod, (ns, name) => this.cluster.store.get('NetworkAttachmentDefinition', ns, name) as NadLite | undefined),
    );
    this.cluster.onPodReleased(async ({ pod, nodeName }) => this.nodes.get(nodeName)?.runtime.podStopped(pod));
    this.sysfsPoll = setInterval(() => void this.pollSysfs(), 200);
    this.sysfsPoll.unref();
  }

  startDevicePlugin(sn: SimNode): void {
    sn.runtime.startDevicePlugin();
  }

  stopDevicePlugin(sn: SimNode, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    return sn.runtime.stopDevicePlugin(signal);
  }

  /** The pod's network namespace path on the host, for exec. */
  podNetns(namespace: string, name: string): string | undefined {
    const pod = this.cluster.store.get('Pod', namespace, name);
    const nodeName = pod?.spec?.nodeName;
    return pod && nodeName ? this.nodes.get(nodeName)?.runtime.podNetns(pod.metadata!.uid!) : undefined;
  }

  /** Runs a command in a pod: the node's mount view, the pod's network namespace, the container's device env. */
  async execInPod(namespace: string, name: string, argv: string[], opts: { input?: string; timeoutMs?: number } = {}) {
    const pod = this.cluster.store.get('Pod', namespace, name);
    if (!pod) throw new SimClusterError(`pods "${name}" not found`);
    const nodeName = pod.spec?.nodeName;
    if (!nodeName || !this.mustNode(nodeName).runtime.podNetns(pod.metadata!.uid!)) throw new SimClusterError(`pod ${namespace}/${name} is not running (phase ${pod.status?.phase ?? 'Pending'})`);
    return this.mustNode(nodeName).runtime.execInPod(pod, argv, opts);
  }

  // ---- faults ---------------------------------------------------------------------------------

  setIpamFailure(nodeName: string, count: number, message: string): void {
    this.mustNode(nodeName).runtime.setIpamFailure(count, message);
  }

  mustNode(name: string): SimNode {
    const sn = this.nodes.get(name);
    if (!sn) throw new SimClusterError(`no node "${name}" (nodes: ${[...this.nodes.keys()].join(', ')})`);
    return sn;
  }

  // ---- trace ---------------------------------------------------------------------------------

  /** Pulls the sysfs servers' events into the trace. */
  async pollSysfs(): Promise<void> {
    for (const sn of this.nodes.values()) {
      try {
        const { events = [] } = await sn.node.sysfs.control.request({ op: 'events', since: sn.sysfsSeq });
        for (const e of events) {
          sn.sysfsSeq = Math.max(sn.sysfsSeq, e.seq);
          this.trace({ kind: 'sysfs', atMs: Date.now(), node: sn.spec.name, op: e.op, path: e.path, value: e.value, errno: e.errno });
        }
      } catch {
        /* the server is stopping */
      }
    }
  }

  async settle(): Promise<void> {
    await this.cluster.settle();
    await this.pollSysfs();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.sysfsPoll) clearInterval(this.sysfsPoll);
    for (const u of this.unsubscribe) u();
    for (const sn of this.nodes.values()) await sn.runtime.stop();
    this.cluster.close();
    for (const sn of this.nodes.values()) await sn.node.stop();
    this.nodes.clear();
    if (this.nodeRoot) rmSync(this.nodeRoot, { recursive: true, force: true });
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
    taints: spec.taints.map((t) => ({ key: t.key, value: t.value, effect: t.effect })),
    internalIP: `172.18.0.${index + 2}`,
  };
}

/** A pod a node's kubelet fails by itself (re-admission after a reboot) is failed in the cluster too. */
export function podFailedByNode(cluster: Cluster): (st: PodStatusLite) => void {
  return (st) => {
    if (st.phase === 'Failed' && st.reason) void cluster.podRejectedByNode(st.uid, st.reason, st.message ?? '');
  };
}

/** A kubelet event as trace events of the run (the resource event carries what the scheduler has allocated). */
export function traceKubeletEvent(e: KubeletEvent, cluster: Cluster, trace: (e: SimTraceEvent) => void): void {
  if (e.kind === 'grpc') {
    trace({
      kind: 'grpc',
      atMs: Date.now(),
      node: e.node,
      direction: e.direction === 'out' ? 'to-plugin' : 'to-kubelet',
      method: e.method,
      request: e.request === undefined ? undefined : toJsonValue(e.request),
      response: e.response === undefined && e.message === undefined ? undefined : toJsonValue(e.response ?? e.message),
      stream: e.message !== undefined ? 'message' : undefined,
      status: e.error ? { code: 2, name: 'UNKNOWN', details: e.error } : undefined,
    });
  } else if (e.kind === 'resources') {
    const allocated = cluster.scheduler.requested(e.node)?.scalar.get(e.resource) ?? 0;
    trace({ kind: 'resource', atMs: Date.now(), node: e.node, resource: e.resource, capacity: e.capacity, allocatable: e.allocatable, allocated });
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
export function watchClusterTrace(cluster: Cluster, trace: (e: SimTraceEvent) => void): Array<() => void> {
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
