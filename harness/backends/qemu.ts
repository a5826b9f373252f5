// The `qemu` backend: one VM per topology node (QEMU's igb for SR-IOV PFs, virtio-net for virtio NICs, a real guest
// kernel), the node side — kubelet emulator, device plugin under test, pod sandboxes, CNI — running in the guest as
// the node agent (harness/qemu/node-agent.ts), and the cluster brain (object store, scheduler, runner) here on the
// host, talking to each agent over node-rpc through the VM's management NIC.
import { createServer } from 'node:net';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { caps } from '../../sim/caps.ts';
import { Cluster, PodStartError } from '../../sim/cluster/cluster.ts';
import type { NadLite } from '../../sim/cluster/node-runtime.ts';
import { traceKubeletEvent, watchClusterTrace, type SimTraceEvent } from '../../sim/cluster/sim-cluster.ts';
import type { AdmitResult, NodeAgent, PodSpecLite, ResourceList } from '../../sim/kubelet/types.ts';
import { getNicModel } from '../../sim/nics/catalog.ts';
import type { NodeSpec } from '../../sim/topology/topology.ts';
import type { Attachment, KernelInfo } from '../../reports/types.ts';
import type { Backend, BackendUpOptions, ClusterHandle, ExecResult, Fault, Requirement } from '../backend.ts';
import { BUNDLED_CNI_TYPES, DEVICE_PLUGIN_CONFIG_PATH, defaultDevicePluginConfig, pluginsUnderTest, writeShim } from '../plugins.ts';
import type { BackendRunInfo } from '../runner/runner.ts';
import { buildGuestArtefacts } from '../qemu/artefacts.ts';
import { PROJECT_DIR, startVm, type Vm } from '../qemu/vm.ts';
import { NODE_AGENT_PORT, NodeRpcClient, type NodeAgentConfig, type Resources } from '../qemu/node-rpc.ts';
import { StoreBackedHandle, textAttachment, type CollectWhat } from './store-handle.ts';

const NODE = '/usr/bin/node';
const dist = (name: string) => join(PROJECT_DIR, 'dist', `${name}.mjs`);

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
  admitPod(pod: PodSpecLite): Promise<AdmitResult> {
    return this.rpc.call('admitPod', { pod });
  }
  async releasePod(podUid: string): Promise<void> {
    await this.rpc.call('releasePod', { uid: podUid });
  }
}

interface QemuNode {
  spec: NodeSpec;
  vm: Vm;
  rpc: NodeRpcClient;
  kernelRelease: string;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (a && typeof a === 'object' ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

/** Builds the artefacts, boots one VM per node and starts its agent; everything started is stopped on failure. */
export class QemuCluster {
  readonly cluster: Cluster;
  readonly nodes = new Map<string, QemuNode>();
  private readonly unsubscribe: Array<() => void> = [];
  private workDir = '';
  private stopped = false;

  private constructor(private readonly opts: BackendUpOptions) {
    this.cluster = new Cluster({ seed: opts.seed });
  }

  static async start(opts: BackendUpOptions): Promise<QemuCluster> {
    const qc = new QemuCluster(opts);
    try {
      await qc.boot();
    } catch (e) {
      await qc.stop().catch(() => undefined);
      throw e;
    }
    return qc;
  }

  private trace(e: SimTraceEvent): void {
    this.opts.trace(e as never);
  }

  private async boot(): Promise<void> {
    const { topology, progress } = this.opts;
    for (const f of ['sriov-lab-node-agent', 'sriov-lab-cni', 'sriov-lab-device-plugin']) {
      if (!existsSync(dist(f))) throw new Error(`${dist(f)} is missing: run \`npm run build\` (the guest runs the bundles)`);
    }
    mkdirSync(this.opts.workDir, { recursive: true });
    // shared with every guest at the same path: agent configs, CNI shims
    this.workDir = mkdtempSync(join(this.opts.workDir, 'qemu-'));
    const artefacts = await buildGuestArtefacts({ onProgress: progress });
    this.unsubscribe.push(...watchClusterTrace(this.cluster, (e) => this.trace(e)));
    // the guests boot in parallel; nodes join the cluster in topology order
    const booted = await Promise.allSettled(topology.nodes.map(async (spec, index) => this.bootNode(spec, index, artefacts)));
    const failed = booted.find((b): b is PromiseRejectedResult => b.status === 'rejected');
    if (failed) throw failed.reason as Error;
    for (const b of booted) if (b.status === 'fulfilled') this.nodes.set(b.value.node.spec.name, b.value.node);
    for (const [index, spec] of topology.nodes.entries()) {
      const qn = this.nodes.get(spec.name)!;
      const agent = booted[index].status === 'fulfilled' ? booted[index].value.agent : undefined;
      this.cluster.addNode(agent!, {
        cpu: spec.cpu,
        memory: spec.memory,
        pods: String(spec.pods),
        labels: { 'kubernetes.io/hostname': spec.name, 'kubernetes.io/os': 'linux', ...spec.labels },
        taints: spec.taints.map((t) => ({ key: t.key, value: t.value, effect: t.effect })),
        internalIP: `172.18.0.${index + 2}`,
      });
      this.unsubscribe.push(
        qn.rpc.on('kubelet', (e) => traceKubeletEvent(e, this.cluster, (t) => this.trace(t))),
        qn.rpc.on('runtime', (e) => this.trace(e)),
        qn.rpc.on('podStatus', (st) => {
          if (st.phase === 'Failed' && st.reason) void this.cluster.podRejectedByNode(st.uid, st.reason, st.message ?? '');
        }),
      );
    }
    this.cluster.onPodAdmitted(async ({ pod, nodeName }) => {
      try {
        return await this.mustNode(nodeName).rpc.call('podStarted', { pod, nads: this.nadsFor(pod) });
      } catch (e) {
        const err = e as Error & { remote?: { reason?: string } };
        if (err.name === 'PodStartError') throw new PodStartError(err.remote?.reason ?? 'FailedCreatePodSandBox', err.message);
        throw e;
      }
    });
    this.cluster.onPodReleased(async ({ pod, nodeName }) => {
      await this.nodes.get(nodeName)?.rpc.call('podStopped', { pod });
    });
  }

  /** the NADs the pod's networks annotation may name, from the store (the agent has no store) */
  private nadsFor(pod: V1Pod): Record<string, NadLite> {
    const out: Record<string, NadLite> = {};
    for (const n of this.cluster.store.list('NetworkAttachmentDefinition')) {
      out[`${n.metadata?.namespace ?? 'default'}/${n.metadata?.name}`] = n as unknown as NadLite;
    }
    void pod;
    return out;
  }

  private async bootNode(spec: NodeSpec, index: number, artefacts: Awaited<ReturnType<typeof buildGuestArtefacts>>): Promise<{ node: QemuNode; agent: RemoteNodeAgent }> {
    const { progress } = this.opts;
    const port = await freePort();
    const vm = await startVm({
      name: `${spec.name}-${process.pid}`,
      node: spec,
      artefacts,
      shares: [{ hostPath: this.workDir }, ...this.userShares()],
      mgmt: { hostForwards: [{ hostPort: port, guestPort: NODE_AGENT_PORT }] },
      onProgress: (l) => progress?.(`${spec.name}: ${l}`),
    });
    try {
      // the topology's NICs: QEMU's igb stands for every SR-IOV model (the catalog's 82576), virtio stays virtio
      for (const nic of vm.nics) {
        if (nic.model && nic.model !== 'intel-82576' && getNicModel(nic.model)?.totalVfs) {
          progress?.(`${spec.name}: ${nic.model} ${nic.topologyIfname ?? ''} is QEMU's igb (Intel 82576) in the guest: its IDs and VF layout are the 82576's`);
        }
      }
      // what a node's pods need of the kernel: veth pairs and the bridge of the default network
      await vm.run(['sh', '-c', 'modprobe veth && modprobe bridge'], { where: 'guest' });
      for (const nic of spec.nics) {
        const g = vm.nics.find((n) => n.topologyPciAddr === nic.pciAddr);
        if (!g || !nic.numVfs) continue;
        const dev = `/sys/bus/pci/devices/${g.pciAddr}`;
        await vm.writeFile(`${dev}/sriov_numvfs`, String(nic.numVfs));
        if (nic.vfDriver === 'vfio-pci') {
          // the topology's VFs that start on vfio-pci, bound the way operators do it
          await vm.run(['sh', '-c', `for v in ${dev}/virtfn*; do a=$(basename $(readlink $v)); [ -e $v/driver ] && echo $a > $v/driver/unbind; echo vfio-pci > $v/driver_override; echo $a > /sys/bus/pci/drivers_probe; echo > $v/driver_override; done`], { where: 'guest' });
        }
      }
      const cfg: NodeAgentConfig = {
        nodeName: spec.name,
        index,
        seed: `${this.opts.seed}/${spec.name}`,
        port: NODE_AGENT_PORT,
        registrationModes: spec.kubeletRegistration,
        devicePluginArgv: this.opts.devicePlugin.argv ?? [NODE, dist('sriov-lab-device-plugin'), '--config-file', DEVICE_PLUGIN_CONFIG_PATH],
        devicePluginConfig: this.opts.devicePlugin.config ?? defaultDevicePluginConfig(),
        cniPlugins: this.cniPlugins(),
        renames: vm.nics.filter((n) => n.topologyIfname).map((n) => ({ pciAddr: n.pciAddr, ifname: n.topologyIfname! })),
        predictableVfNames: spec.netdevNaming !== 'kernel',
      };
      const cfgPath = join(this.workDir, `${spec.name}.agent.json`);
      writeFileSync(cfgPath, `${JSON.stringify(cfg, null, 2)}\n`);
      progress?.(`${spec.name}: starting the node agent (kubelet emulator, device plugin) in the guest`);
      await vm.spawn([NODE, dist('sriov-lab-node-agent'), cfgPath], { logPath: '/var/log/node-agent.log' });
      const { client, hello } = await NodeRpcClient.connect(spec.name, port, 120_000).catch(async (e: Error) => {
        const log = await vm.readFile('/var/log/node-agent.log').catch(() => '');
        throw new Error(`${e.message}\n--- node agent log ---\n${String(log).split('\n').slice(-20).join('\n')}`);
      });
      progress?.(`${spec.name}: node agent up (guest kernel ${hello.kernelRelease})`);
      return { node: { spec, vm, rpc: client, kernelRelease: hello.kernelRelease }, agent: new RemoteNodeAgent(spec.name, client, hello) };
    } catch (e) {
      await vm.stop();
      throw e;
    }
  }

  /** directories of third-party plugin binaries, shared so the guest runs them unmodified at the same paths */
  private userShares(): Array<{ hostPath: string; readOnly: boolean }> {
    const paths = [this.opts.devicePlugin.argv?.[0], this.opts.cni?.path].filter((p): p is string => !!p && p.startsWith('/') && !p.startsWith('/usr/') && !p.startsWith(PROJECT_DIR));
    return [...new Set(paths.map((p) => dirname(p)))].map((hostPath) => ({ hostPath, readOnly: true }));
  }

  /** /opt/cni/bin entries of the guests: the bundled CNI (as a bundle: tsx in a TCG guest costs tens of seconds) */
  private cniPlugins(): Record<string, string> {
    const set: Record<string, string> = {};
    const shim = writeShim(join(this.workDir, 'sriov-lab-cni'), [NODE, dist('sriov-lab-cni')]);
    for (const t of BUNDLED_CNI_TYPES) set[t] = shim;
    if (this.opts.cni) for (const t of this.opts.cni.types ?? ['sriov']) set[t] = this.opts.cni.path;
    return set;
  }

  mustNode(name: string): QemuNode {
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
    await Promise.all(
      [...this.nodes.values()].map(async (n) => {
        await n.rpc.call('shutdown', {}, 10_000).catch(() => undefined);
        n.rpc.close();
        await n.vm.stop();
      }),
    );
    this.nodes.clear();
    this.cluster.close();
    if (this.workDir) rmSync(this.workDir, { recursive: true, force: true });
  }
}

class QemuClusterHandle extends StoreBackedHandle {
  readonly backend = 'qemu' as const;
  readonly nodes: readonly string[];
  constructor(private readonly qc: QemuCluster) {
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

  async devicePlugin(node: string, action: 'kill' | 'restart' | 'deleteSocket' | 'start' | 'stop'): Promise<void> {
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

export const qemuBackend: Backend & BackendRunInfo = {
  name: 'qemu',
  pluginsUnderTest: ({ devicePlugin, cni }) => pluginsUnderTest({ devicePluginArgv: devicePlugin.argv, cni }),
  async kernelInfo(): Promise<KernelInfo> {
    const a = await buildGuestArtefacts({});
    return { release: a.kernelRelease };
  },
  async available() {
    const missing = [caps.root(), caps.qemu()].filter((c) => !c.ok);
    if (missing.length) return { ok: false, reason: missing.map((c) => `${c.name}: ${c.detail}`).join('; ') };
    return { ok: true, detail: 'QEMU VMs with igb (82576) SR-IOV and virtio NICs, a real guest kernel; kubelet emulator and plugins in the guest' };
  },
  provides(req: Requirement) {
    switch (req.kind) {
      case 'root': {
        const c = caps.root();
        return c.ok ? { ok: true } : { ok: false, reason: c.detail };
      }
      case 'fuse': // a real sysfs in the guest: nothing to simulate
      case 'vfio':
      case 'vfNetlink':
      case 'nodes':
        return { ok: true };
      case 'cniPlugins': {
        const c = caps.cniPlugins();
        return c.ok ? { ok: true } : { ok: false, reason: c.detail };
      }
      case 'command':
        return existsSync(`/usr/bin/${req.name}`) || existsSync(`/usr/sbin/${req.name}`) ? { ok: true } : { ok: false, reason: `command ${req.name} not found under the guest's /usr` };
    }
  },
  async up(opts: BackendUpOptions): Promise<ClusterHandle> {
    return new QemuClusterHandle(await QemuCluster.start(opts));
  },
};
