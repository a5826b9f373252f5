// The `sim` backend: the cluster assembly (harness/cluster/lab-cluster.ts) with simulated nodes — per node a
// simulated machine (netns + FUSE sysfs, sim/node), and in this process the node service over a NodeRuntime (emulated
// kubelet, the device plugin under test running unmodified inside the node, pod sandboxes, the Multus-style attach
// through the CNI plugins inside the node), reached through the same node interface a node agent serves.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { caps } from '../../sim/caps.ts';
import type { BundledExecutables } from '../../sim/cluster/images.ts';
import { NodeRuntime, type NodeApiAccess } from '../../sim/cluster/node-runtime.ts';
import { entryCommand } from '../../sim/paths.ts';
import { vfNetlinkHint } from '../../sim/netns/vf-netlink.ts';
import { SkewClock } from '../../sim/kubelet/index.ts';
import { startNode, modelOptionsFor, newRunId, type StartedNode } from '../../sim/node/node.ts';
import { prestartSysfsServer } from '../../sim/kernel/server-process.ts';
import type { NodeSpec } from '../../sim/topology/topology.ts';
import type { ErrnoName } from '../../sim/kernel/types.ts';
import type { Backend, BackendUpOptions, ClusterHandle, Requirement } from '../backend.ts';
import { bundledDevicePluginArgv, bundledExecutables, cniInstallSet, defaultDevicePluginConfig, pluginsUnderTest } from '../plugins.ts';
import type { BackendRunInfo } from '../backend.ts';
import { LabCluster, type LabNode, type NodeProvider } from '../cluster/lab-cluster.ts';
import { LabClusterHandle } from '../cluster/handle.ts';
import type { NodeEvents } from '../node/node-rpc.ts';
import { formatSysfsDump, type SysfsEntry } from './sysfs-dump.ts';
import type { ControlClient } from '../../sim/kernel/control-client.ts';
import type { MachineFault } from '../cluster/lab-cluster.ts';
import { localNodeApi, nodeService } from '../node/node-service.ts';
import { timed } from '../../sim/phases.ts';

/** A simulated node: the node interface, and in-process access to its machine and runtime (the daemon's exec, logs). */
export interface SimLabNode extends LabNode {
  readonly node: StartedNode;
  readonly runtime: NodeRuntime;
}

export interface SimProviderOptions {
  /** argv of the device plugin run inside every node (unmodified); empty: none (`up --bare`, or a DaemonSet's) */
  devicePluginArgv: string[];
  /** what the bundled plugins' images run in a pod (sim/cluster/images.ts) */
  bundled?: BundledExecutables;
  /** content of /etc/pcidp/config.json in every node */
  devicePluginConfig: unknown;
  /** CNI binaries installed in /opt/cni/bin of every node: type name → executable path on the host */
  cniPlugins: Record<string, string>;
  /** directory of reference CNI plugins (host-local, bridge, host-device, …) */
  referenceCniDir?: string;
  /** a Multus thin-plugin binary, each node's CNI (`--multus`) */
  multusBinary?: string;
}

/** how often a node's sysfs server events are pulled into the trace between steps */
const SYSFS_POLL_MS = 200;

export class SimNodeProvider implements NodeProvider<SimLabNode> {
  readonly backend = 'sim' as const;
  readonly awaitDevicePlugins = false;
  private readonly runId = newRunId();
  private nodeRoot: string | null = null;

  constructor(private readonly o: SimProviderOptions) {}

  prepare(opts: BackendUpOptions): Promise<void> {
    mkdirSync(opts.workDir, { recursive: true });
    // node roots live under a short path of their own: the kubelet dials plugin sockets by their host path, and a unix
    // socket path must stay under 108 bytes however deep the caller's work directory is
    this.nodeRoot = mkdtempSync(join(tmpdir(), 'sl-'));
    return Promise.resolve();
  }

  startNode(spec: NodeSpec, index: number, opts: BackendUpOptions, events: NodeEvents): Promise<SimLabNode> {
    // the nodes of a cluster start at once (LabCluster joins them in topology order); each has its own namespaces,
    // mount and sysfs, and the shared sysfs server serves their adds concurrently
    return this.start(spec, index, opts, events);
  }

  private async start(spec: NodeSpec, index: number, opts: BackendUpOptions, events: NodeEvents): Promise<SimLabNode> {
    opts.progress?.(`starting node ${spec.name} (${spec.nics.map((n) => `${n.model} ${n.ifname}`).join(', ')})`);
    const node = await timed('node machine start (netns, sysfs, mount namespace)', spec.name, () => startNode({
      name: spec.name,
      runId: this.runId,
      workDir: this.nodeRoot!,
      model: modelOptionsFor(spec, opts.seed),
      log: (l) => opts.trace({ kind: 'log', atMs: Date.now(), node: spec.name, source: 'harness', level: 'debug', message: l }),
    }));
    let runtime: NodeRuntime | undefined;
    let poll: NodeJS.Timeout | undefined;
    try {
      const clock = new SkewClock();
      runtime = new NodeRuntime({
        nodeName: spec.name,
        index,
        machine: { hostPath: (p) => node.hostPath(p), spawn: (a, o) => node.spawn(a, o), exec: (a, o) => node.exec(a, o), netnsPrefix: node.netns },
        clock,
        seed: `${opts.seed}/${spec.name}`,
        registrationModes: spec.kubeletRegistration,
        devicePluginArgv: this.o.devicePluginArgv,
        devicePluginConfig: this.o.devicePluginConfig,
        cniPlugins: this.o.cniPlugins,
        referenceCniDir: this.o.referenceCniDir,
        bundled: this.o.bundled,
        multusBinary: this.o.multusBinary,
        explainCniFailure: vfNetlinkHint,
        event: (e) => events({ event: 'runtime', data: e }),
      });
      const service = nodeService({ runtime, clock, kernelRelease: 'sim', exec: (argv, o) => node.exec(argv, o), notify: events });
      await timed('node service start (runtime start + plugin spawn)', spec.name, () => service.start());
      const api = localNodeApi(service.handlers);
      const ctl = node.sysfs.control;
      let sysfsSeq = 0;
      /** the sysfs server's events into the trace */
      const sync = async () => {
        try {
          const { events: evs = [] } = await ctl.request({ op: 'events', since: sysfsSeq });
          for (const e of evs) {
            sysfsSeq = Math.max(sysfsSeq, e.seq);
            opts.trace({ kind: 'sysfs', atMs: Date.now(), node: spec.name, op: e.op, path: e.path, value: e.value, errno: e.errno });
          }
        } catch {
          /* the server is stopping */
        }
      };
      poll = setInterval(() => void sync(), SYSFS_POLL_MS);
      poll.unref();
      const rt = runtime;
      return {
        spec,
        api,
        hello: await api.call('hello', {}),
        node,
        runtime: rt,
        sync,
        fault: (fault) => modelFault(ctl, fault),
        sysfsDump: () => modelSysfsDump(ctl),
        async stop() {
          clearInterval(poll);
          await timed('node stop: runtime', spec.name, () => rt.stop());
          await timed('node stop: machine', spec.name, () => node.stop());
        },
      };
    } catch (e) {
      clearInterval(poll);
      await runtime?.stop().catch(() => undefined);
      await node.stop().catch(() => undefined);
      throw e;
    }
  }

  connectApi(node: SimLabNode, access: Omit<NodeApiAccess, 'relayArgv'>): Promise<void> {
    return node.runtime.connectApi({ ...access, relayArgv: entryCommand('api-relay', 'sim/apiserver/relay.ts') });
  }

  async finish(): Promise<void> {
    if (this.nodeRoot) await rm(this.nodeRoot, { recursive: true, force: true });
  }
}

/** The simulated nodes' plugins for a run: the ones under test, or the bundled ones. */
export function simProviderOptions(opts: BackendUpOptions): SimProviderOptions {
  const cniPlugins = cniInstallSet(opts.workDir, opts.cni);
  return {
    devicePluginArgv: opts.devicePlugin.argv ?? bundledDevicePluginArgv(),
    devicePluginConfig: opts.devicePlugin.config ?? defaultDevicePluginConfig(),
    cniPlugins,
    bundled: bundledExecutables(cniPlugins),
    ...(opts.multus ? { multusBinary: opts.multus } : {}),
  };
}

export const simBackend: Backend & BackendRunInfo = {
  name: 'sim',
  pluginsUnderTest: ({ devicePlugin, cni }) => pluginsUnderTest({ devicePluginArgv: devicePlugin.argv, cni }),
  async available() {
    const missing = [caps.root(), caps.fuse(), caps.netns(), caps.iproute2(), caps.cniPlugins()].filter((c) => !c.ok);
    if (missing.length) return { ok: false, reason: missing.map((c) => `${c.name}: ${c.detail}`).join('; ') };
    // a run asks once before its scenarios: the shared sysfs server process starts meanwhile, not in the first up
    prestartSysfsServer();
    return { ok: true, detail: 'FUSE sysfs, network namespaces, emulated kubelet and scheduler' };
  },
  provides(req: Requirement) {
    switch (req.kind) {
      case 'root':
      case 'fuse': {
        const c = req.kind === 'root' ? caps.root() : caps.fuse();
        return c.ok ? { ok: true } : { ok: false, reason: c.detail };
      }
      case 'vfio':
      case 'vfNetlink':
      case 'nodes':
      case 'vfsPerPf': // the catalog's models; a count above a model's total VFs fails the topology with its reason
        return { ok: true }; // simulated: vfio-pci binding and VF netlink are part of the model
      case 'cniPlugins': {
        const c = caps.cniPlugins();
        return c.ok ? { ok: true } : { ok: false, reason: c.detail };
      }
      case 'command':
        return spawnSync('sh', ['-c', `command -v ${JSON.stringify(req.name)}`]).status === 0 ? { ok: true } : { ok: false, reason: `command ${req.name} not found` };
      case 'fault': // the simulated kernel injects every fault
        return { ok: true };
    }
  },
  async up(opts: BackendUpOptions): Promise<ClusterHandle> {
    return new LabClusterHandle(await LabCluster.start(new SimNodeProvider(simProviderOptions(opts)), opts));
  },
};

/** A machine fault injected into a node's kernel model through its sysfs server's control socket (sim and kind). */
export async function modelFault(ctl: ControlClient, fault: MachineFault): Promise<void> {
  switch (fault.kind) {
    case 'sysfsFailWrites':
      await ctl.request({ op: 'fault.failWrites', path: fault.path, errno: fault.errno as ErrnoName, count: fault.count ?? 1 });
      break;
    case 'sysfsDelay':
      await ctl.request({ op: 'fault.delay', path: fault.path, delayMs: fault.delayMs, count: fault.count ?? 1 });
      break;
    case 'pfLink':
      await ctl.request({ op: 'link.set', ifname: fault.pf, up: fault.up });
      break;
    case 'vfLink': {
      const { vfs = [] } = await ctl.request({ op: 'vf.list', pf: fault.pf });
      const targets = fault.vf === undefined ? vfs : vfs.filter((v) => v.index === fault.vf);
      if (targets.length === 0) throw new Error(`${fault.pf} has no VF ${fault.vf ?? ''}`);
      for (const v of targets) await ctl.request({ op: 'link.set', ifname: v.pciAddr, up: fault.up });
      break;
    }
    case 'vfUnplug':
      await ctl.request({ op: 'vf.unplug', pciAddr: fault.pciAddr });
      break;
    case 'vfAttrFail':
      await ctl.request({ op: 'fault.failVfSet', pf: fault.pf, attr: fault.attr, errno: fault.errno as ErrnoName, count: fault.count ?? 1 });
      break;
    default: {
      // a new Fault kind must be handled here: this stops compiling until it is
      const unknown: never = fault;
      throw new Error(`fault ${(unknown as { kind: string }).kind} is not implemented on the kernel model`);
    }
  }
}

/** the sysfs dump of a node's kernel model, from its sysfs server */
export async function modelSysfsDump(ctl: ControlClient): Promise<string> {
  const { data } = await ctl.request({ op: 'snapshot' });
  return formatSysfsDump(data as SysfsEntry[]);
}
