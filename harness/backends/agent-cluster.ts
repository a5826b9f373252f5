// The cluster of the backends whose nodes run the node agent (harness/node/node-agent.ts) on a real kernel — `qemu`
// (one guest per node) and `host` (this machine): the control plane (object store, scheduler) here, each node's
// kubelet emulator, device plugin, sandboxes and CNI in its agent, reached over node-rpc. A NodeProvider starts the
// machines and their agents; everything here is the same for both.
import type { V1Pod } from '@kubernetes/client-node';
import { Cluster, PodStartError } from '../../sim/cluster/cluster.ts';
import type { NadLite } from '../../sim/cluster/node-runtime.ts';
import { nodeOptionsOf, podFailedByNode, traceKubeletEvent, watchClusterTrace, type SimTraceEvent } from '../../sim/cluster/sim-cluster.ts';
import type { AdmitResult, NodeAgent, PodSpecLite, ResourceList } from '../../sim/kubelet/types.ts';
import type { NodeSpec } from '../../sim/topology/topology.ts';
import type { Attachment, BackendName } from '../../reports/types.ts';
import type { BackendUpOptions, ExecResult, Fault } from '../backend.ts';
import { NodeRpcClient, type Methods, type Resources } from '../node/node-rpc.ts';
import { StoreBackedHandle, textAttachment, type CollectWhat } from './store-handle.ts';
import type { DevicePluginAction } from '../scenario/types.ts';

/** The host side of a node's kubelet: resources as the agent last reported them, admission over RPC. */
class RemoteNodeAgent implements NodeAgent {
  private res: Resources;
  private readonly listeners = new Set<() => void>();
  constructor(
    readonly nodeName: string,
    private readonly rpc: NodeRpcClient,
    initial: Resources,
  ) {
    this.res = initial;
    rpc.on('resources', (r) => {
      this.res = r;
      for (const l of this.listeners) l();
    });
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

  admitPod(pod: PodSpecLite): Promise<AdmitResult> {
    return this.rpc.call('admitPod', { pod });
  }
  async releasePod(podUid: string): Promise<void> {
    await this.rpc.call('releasePod', { uid: podUid });
  }
}

/** start-up: a plugin that has not registered after running this long has nothing to serve (yet) */
const PLUGIN_ALIVE_MS = 8000;
const PLUGIN_READY_TIMEOUT_MS = 60_000;
/** then the node's resources must stay the same this long (registrations of its other resources), at most the limit */
const ADVERTISE_QUIET_MS = 2000;
const ADVERTISE_TIMEOUT_MS = 20_000;

export interface AgentNode {
  spec: NodeSpec;
  rpc: NodeRpcClient;
  hello: Methods['hello']['result'];
  /** stops the agent and whatever machine it runs on */
  stop(): Promise<void>;
}

/**
 * Waits for a started node agent to answer on 127.0.0.1:port; on failure the error carries the tail of its log. The
 * node it returns stops the agent (shutdown over node-rpc), then the machine with `stopMachine`.
 */
export async function connectAgent(spec: NodeSpec, port: number, timeoutMs: number, agentLog: () => Promise<string>, stopMachine: () => Promise<void>): Promise<AgentNode> {
  const { client, hello } = await NodeRpcClient.connect(spec.name, port, timeoutMs).catch(async (e: Error) => {
    const log = await agentLog().catch(() => '');
    throw new Error(`${e.message}\n--- node agent log ---\n${log.split('\n').slice(-20).join('\n')}`);
  });
  return {
    spec,
    rpc: client,
    hello,
    stop: async () => {
      await client.call('shutdown', {}, 10_000).catch(() => undefined);
      client.close();
      await stopMachine();
    },
  };
}

export interface NodeProvider {
  /** once, before the nodes (artefacts, claims) */
  prepare?(opts: BackendUpOptions): Promise<void>;
  /** a machine for this node with its agent answering */
  startNode(spec: NodeSpec, index: number, opts: BackendUpOptions): Promise<AgentNode>;
  /** once, after every node stopped (restore what was claimed) */
  finish?(): Promise<void>;
}

/** Starts the nodes through a provider (in parallel), joins them to one control plane; stops all on failure. */
export class AgentCluster {
  readonly cluster: Cluster;
  readonly nodes = new Map<string, AgentNode>();
  private readonly agents = new Map<string, RemoteNodeAgent>();
  private readonly unsubscribe: Array<() => void> = [];
  private stopped = false;

  private constructor(
    private readonly provider: NodeProvider,
    private readonly opts: BackendUpOptions,
  ) {
    this.cluster = new Cluster({ seed: opts.seed });
  }

  static async start(provider: NodeProvider, opts: BackendUpOptions): Promise<AgentCluster> {
    const c = new AgentCluster(provider, opts);
    try {
      await c.boot();
    } catch (e) {
      await c.stop().catch(() => undefined);
      throw e;
    }
    return c;
  }

  private trace(e: SimTraceEvent): void {
    this.opts.trace(e);
  }

  private async boot(): Promise<void> {
    const { topology } = this.opts;
    await this.provider.prepare?.(this.opts);
    this.unsubscribe.push(...watchClusterTrace(this.cluster, (e) => this.trace(e)));
    const booted = await Promise.allSettled(topology.nodes.map((spec, index) => this.provider.startNode(spec, index, this.opts)));
    for (const b of booted) if (b.status === 'fulfilled') this.nodes.set(b.value.spec.name, b.value);
    const failed = booted.find((b): b is PromiseRejectedResult => b.status === 'rejected');
    if (failed) throw failed.reason as Error;
    // nodes join the cluster in topology order
    for (const [index, spec] of topology.nodes.entries()) {
      const n = this.nodes.get(spec.name)!;
      const agent = new RemoteNodeAgent(spec.name, n.rpc, n.hello);
      this.agents.set(spec.name, agent);
      this.cluster.addNode(agent, nodeOptionsOf(spec, index));
      this.unsubscribe.push(
        n.rpc.on('kubelet', (e) => traceKubeletEvent(e, this.cluster, (t) => this.trace(t))),
        n.rpc.on('runtime', (e) => this.trace(e)),
        n.rpc.on('podStatus', podFailedByNode(this.cluster)),
      );
    }
    // like a DaemonSet's pod becoming ready: the device plugin registered (or found nothing to serve), and what it
    // advertises has settled
    await Promise.all(
      topology.nodes.map(async (spec) => {
        const r = await this.mustNode(spec.name).rpc.call('devicePluginReady', { aliveMs: PLUGIN_ALIVE_MS, timeoutMs: PLUGIN_READY_TIMEOUT_MS }, PLUGIN_READY_TIMEOUT_MS + 10_000);
        if (!r.running) this.opts.progress?.(`${spec.name}: the device plugin is not running`);
        else if (!r.registered) this.opts.progress?.(`${spec.name}: the device plugin registered nothing in ${(r.waitedMs / 1000).toFixed(1)} s (no devices to serve yet?); going on`);
        else await this.agents.get(spec.name)!.settled(ADVERTISE_QUIET_MS, ADVERTISE_TIMEOUT_MS);
      }),
    );
    this.cluster.onPodAdmitted(async ({ pod, nodeName }) => {
      try {
        return await this.mustNode(nodeName).rpc.call('podStarted', { pod, nads: this.nads() });
      } catch (e) {
        const err = e as Error & { remote?: { reason?: string } };
        if (err.name === 'PodStartError') throw new PodStartError(err.remote?.reason ?? 'FailedCreatePodSandBox', err.message);
        throw e;
      }
    });
    this.cluster.onPodReleased(async ({ pod, nodeName }) => {
      await this.nodes.get(nodeName)?.rpc.call('podStopped', { pod: pod as V1Pod });
    });
  }

  /** the NADs a pod's networks annotation may name, from the store (the agent has no store) */
  private nads(): Record<string, NadLite> {
    const out: Record<string, NadLite> = {};
    for (const n of this.cluster.store.list('NetworkAttachmentDefinition')) out[`${n.metadata?.namespace ?? 'default'}/${n.metadata?.name}`] = n as unknown as NadLite;
    return out;
  }

  mustNode(name: string): AgentNode {
    const n = this.nodes.get(name);
    if (!n) throw new Error(`no node "${name}" (nodes: ${[...this.nodes.keys()].join(', ')})`);
    return n;
  }

  async settle(): Promise<void> {
    await this.cluster.settle();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const u of this.unsubscribe) u();
    await Promise.all([...this.nodes.values()].map((n) => n.stop().catch(() => undefined)));
    this.nodes.clear();
    this.cluster.close();
    await this.provider.finish?.();
  }
}

export class AgentClusterHandle extends StoreBackedHandle {
  readonly nodes: readonly string[];
  constructor(
    readonly backend: BackendName,
    private readonly qc: AgentCluster,
  ) {
    super(qc.cluster);
    this.nodes = [...qc.nodes.keys()];
  }

  settle(): Promise<void> {
    return this.qc.settle();
  }

  async exec(target: { pod: string; namespace?: string } | { node: string }, argv: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<ExecResult> {
    if ('pod' in target) {
      const ns = target.namespace ?? 'default';
      const pod = this.cluster.store.get('Pod', ns, target.pod);
      if (!pod) throw new Error(`pods "${target.pod}" not found`);
      if (!pod.spec?.nodeName) throw new Error(`pod ${ns}/${target.pod} is not running (phase ${pod.status?.phase ?? 'Pending'})`);
      return this.qc.mustNode(pod.spec.nodeName).rpc.call('execInPod', { pod, argv, input: opts.input, timeoutMs: opts.timeoutMs });
    }
    return this.qc.mustNode(target.node).rpc.call('exec', { argv, input: opts.input, timeoutMs: opts.timeoutMs });
  }

  async kubelet(node: string, action: 'restart' | 'stop' | 'start'): Promise<void> {
    await this.qc.mustNode(node).rpc.call('kubelet', { action });
    await this.settle();
  }

  async devicePlugin(node: string, action: DevicePluginAction): Promise<void> {
    await this.qc.mustNode(node).rpc.call('devicePlugin', { action });
  }

  async nodeReboot(node: string): Promise<void> {
    // the node's software reboots (plugin killed, kubelet back with an empty device manager); the guest kernel stays
    // up, so VFs keep their state as after a reboot with the same sriov_numvfs configuration
    await this.qc.mustNode(node).rpc.call('reboot', {});
    await this.settle();
  }

  async fault(node: string, fault: Fault): Promise<void> {
    const n = this.qc.mustNode(node);
    const sh = async (cmd: string) => {
      const r = await n.rpc.call('exec', { argv: ['sh', '-c', cmd] });
      if (r.exitCode !== 0) throw new Error(`fault ${fault.kind} on ${node}: ${cmd}: ${r.stderr.trim()}`);
    };
    switch (fault.kind) {
      case 'pfLink':
        await sh(`/usr/sbin/ip link set dev ${fault.pf} ${fault.up ? 'up' : 'down'}`);
        break;
      case 'vfLink': {
        // a VF's link through the PF, as an operator forces it (igb answers "Operation not supported")
        const vfs = fault.vf === undefined ? `$(ls -d /sys/class/net/${fault.pf}/device/virtfn* | sed 's/.*virtfn//')` : String(fault.vf);
        await sh(`for v in ${vfs}; do /usr/sbin/ip link set dev ${fault.pf} vf $v state ${fault.up ? 'auto' : 'disable'} || exit 1; done`);
        break;
      }
      case 'vfUnplug':
        await sh(`echo 1 > /sys/bus/pci/devices/${fault.pciAddr}/remove`);
        break;
      case 'ipamFail':
        await n.rpc.call('setIpamFailure', { count: fault.count ?? 1, message: fault.message ?? 'injected IPAM failure' });
        break;
      case 'sysfsFailWrites':
      case 'sysfsDelay':
        throw new Error(`fault ${fault.kind} needs the simulated sysfs: a real kernel cannot be told to fail or delay a write (use --backend sim)`);
      default: {
        // a new Fault kind must be handled (or refused with its reason) here: this stops compiling until it is
        const unknown: never = fault;
        throw new Error(`fault ${(unknown as Fault).kind} is not implemented on a real kernel`);
      }
    }
  }

  async advanceClock(ms: number): Promise<void> {
    await Promise.all([...this.qc.nodes.values()].map((n) => n.rpc.call('advanceClock', { ms })));
    await this.settle();
  }

  async collect(node: string, what: CollectWhat[]): Promise<Attachment[]> {
    const n = this.qc.mustNode(node);
    const out: Attachment[] = [];
    const r = await n.rpc.call('collect', { what });
    if (r.pluginLog !== undefined) out.push(textAttachment(node, 'device-plugin.log', r.pluginLog));
    if (r.kubeletLog !== undefined) out.push(textAttachment(node, 'kubelet.log', r.kubeletLog));
    if (r.checkpoint !== undefined) out.push(textAttachment(node, 'kubelet_internal_checkpoint', r.checkpoint, 'application/json'));
    if (r.podResources !== undefined) out.push(textAttachment(node, 'pod-resources.json', r.podResources, 'application/json'));
    if (what.includes('events')) out.push(this.eventsAttachment(node));
    if (what.includes('sysfs')) {
      const dump = await n.rpc.call('exec', {
        argv: ['sh', '-c', 'for d in /sys/bus/pci/devices/*; do [ -e $d/sriov_totalvfs ] || [ -e $d/physfn ] || continue; for f in vendor device sriov_numvfs sriov_totalvfs driver_override; do [ -f $d/$f ] && echo "$d/$f = $(cat $d/$f)"; done; [ -L $d/driver ] && echo "$d/driver -> $(readlink $d/driver)"; [ -d $d/net ] && echo "$d/net = $(ls $d/net)"; done'],
      });
      out.push(textAttachment(node, 'sysfs.txt', dump.stdout));
    }
    for (const [w, msg] of Object.entries(r.errors)) out.push(textAttachment(node, `${w}.error.txt`, msg));
    return out;
  }

  async down(): Promise<void> {
    await this.qc.stop();
  }
}

