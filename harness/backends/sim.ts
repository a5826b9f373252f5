// The `sim` backend: a SimCluster behind the runner's ClusterHandle.
import { spawnSync } from 'node:child_process';
import { caps } from '../../sim/caps.ts';
import { SimCluster } from '../../sim/cluster/sim-cluster.ts';
import type { Attachment } from '../../reports/types.ts';
import type { Backend, BackendUpOptions, ClusterHandle, ExecResult, Fault, Requirement } from '../backend.ts';
import { bundledDevicePluginArgv, cniInstallSet, defaultDevicePluginConfig, pluginsUnderTest } from '../plugins.ts';
import type { BackendRunInfo } from '../backend.ts';
import { StoreBackedHandle, textAttachment, type CollectWhat } from './store-handle.ts';
import type { ErrnoName } from '../../sim/kernel/types.ts';
import type { DevicePluginAction } from '../scenario/types.ts';

class SimClusterHandle extends StoreBackedHandle {
  readonly backend = 'sim' as const;
  readonly nodes: readonly string[];
  constructor(private readonly sc: SimCluster) {
    super(sc.cluster);
    this.nodes = [...sc.nodes.keys()];
  }

  async exec(target: { pod: string; namespace?: string } | { node: string }, argv: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<ExecResult> {
    if ('pod' in target) return this.sc.execInPod(target.namespace ?? 'default', target.pod, argv, opts);
    const sn = this.sc.mustNode(target.node);
    const r = await sn.node.exec(argv, { input: opts.input, timeoutMs: opts.timeoutMs ?? 60_000 });
    await this.sc.pollSysfs();
    return r;
  }

  async kubelet(node: string, action: 'restart' | 'stop' | 'start'): Promise<void> {
    const k = this.sc.mustNode(node).kubelet;
    if (action === 'restart') await k.restart();
    else if (action === 'stop') await k.stop();
    else await k.start();
    await this.sc.settle();
  }

  async devicePlugin(node: string, action: DevicePluginAction): Promise<void> {
    const sn = this.sc.mustNode(node);
    if (action === 'kill') await this.sc.stopDevicePlugin(sn, 'SIGKILL');
    else if (action === 'stop') await this.sc.stopDevicePlugin(sn, 'SIGTERM');
    else if (action === 'start') this.sc.startDevicePlugin(sn);
    else if (action === 'restart') {
      await this.sc.stopDevicePlugin(sn, 'SIGTERM');
      this.sc.startDevicePlugin(sn);
    } else {
      await sn.runtime.deletePluginSockets();
    }
  }

  async nodeReboot(node: string): Promise<void> {
    await this.sc.mustNode(node).runtime.reboot();
    await this.sc.settle();
  }

  async fault(node: string, fault: Fault): Promise<void> {
    const sn = this.sc.mustNode(node);
    const ctl = sn.node.sysfs.control;
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
      case 'ipamFail':
        this.sc.setIpamFailure(node, fault.count ?? 1, fault.message ?? 'injected IPAM failure');
        break;
      default: {
        // a new Fault kind must be handled here: this stops compiling until it is
        const unknown: never = fault;
        throw new Error(`fault ${(unknown as Fault).kind} is not implemented by the sim backend`);
      }
    }
    await this.sc.pollSysfs();
  }

  async advanceClock(ms: number): Promise<void> {
    this.sc.clock.advance(ms);
    await this.sc.settle();
  }

  settle(): Promise<void> {
    return this.sc.settle();
  }

  async collect(node: string, what: CollectWhat[]): Promise<Attachment[]> {
    const sn = this.sc.mustNode(node);
    const out: Attachment[] = [];
    const text = (name: string, body: string, contentType = 'text/plain'): Attachment => textAttachment(node, name, body, contentType);
    for (const w of what) {
      try {
        if (w === 'logs') {
          out.push(text('device-plugin.log', sn.pluginLog.join('\n')));
          out.push(text('kubelet.log', sn.kubeletLog.join('\n')));
        } else if (w === 'events') {
          out.push(this.eventsAttachment(node));
        } else if (w === 'sysfs') {
          const { data } = await sn.node.sysfs.control.request({ op: 'snapshot' });
          const lines = (data as Array<{ path: string; kind: string; value?: string }>)
            .filter((e) => e.kind !== 'dir' && !e.path.startsWith('/sys/bus/pci/drivers/') && !e.path.includes('/kernel/iommu_groups/'))
            .map((e) => `${e.path}${e.kind === 'link' ? ` -> ${e.value}` : e.value !== undefined ? ` = ${e.value.trimEnd()}` : ''}`);
          out.push(text('sysfs.txt', lines.join('\n')));
        } else if (w === 'checkpoint') {
          out.push(text('kubelet_internal_checkpoint', sn.runtime.checkpointText(), 'application/json'));
        } else if (w === 'podResources') {
          out.push(text('pod-resources.json', await sn.runtime.podResourcesJson(), 'application/json'));
        }
      } catch (e) {
        out.push(text(`${w}.error.txt`, (e as Error).message));
      }
    }
    return out;
  }

  async down(): Promise<void> {
    await this.sc.stop();
  }

}

export const simBackend: Backend & BackendRunInfo = {
  name: 'sim',
  pluginsUnderTest: ({ devicePlugin, cni }) => pluginsUnderTest({ devicePluginArgv: devicePlugin.argv, cni }),
  async available() {
    const missing = [caps.root(), caps.fuse(), caps.netns(), caps.iproute2(), caps.cniPlugins()].filter((c) => !c.ok);
    if (missing.length) return { ok: false, reason: missing.map((c) => `${c.name}: ${c.detail}`).join('; ') };
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
        return { ok: true }; // simulated: vfio-pci binding and VF netlink are part of the model
      case 'cniPlugins': {
        const c = caps.cniPlugins();
        return c.ok ? { ok: true } : { ok: false, reason: c.detail };
      }
      case 'command':
        return spawnSync('sh', ['-c', `command -v ${JSON.stringify(req.name)}`]).status === 0 ? { ok: true } : { ok: false, reason: `command ${req.name} not found` };
    }
  },
  async up(opts: BackendUpOptions): Promise<ClusterHandle> {
    const sc = await SimCluster.start({
      topology: opts.topology,
      seed: opts.seed,
      workDir: opts.workDir,
      devicePluginArgv: opts.devicePlugin.argv ?? bundledDevicePluginArgv(),
      devicePluginConfig: opts.devicePlugin.config ?? defaultDevicePluginConfig(),
      cniPlugins: cniInstallSet(opts.workDir, opts.cni),
      trace: opts.trace,
      progress: opts.progress,
    });
    return new SimClusterHandle(sc);
  },
};

