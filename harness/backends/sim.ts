// The `sim` backend: a SimCluster behind the runner's ClusterHandle.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { caps } from '../../sim/caps.ts';
import { SimCluster, type SimTraceEvent } from '../../sim/cluster/sim-cluster.ts';
import { PodResourcesClient } from '../../sim/kubelet/index.ts';
import type { Attachment, TraceEvent, JsonValue } from '../../reports/types.ts';
import type { Backend, BackendUpOptions, ClusterHandle, ExecResult, Fault, KubeObject, ObjectRef, Requirement, SysfsResult } from '../backend.ts';
import { bundledDevicePluginArgv, cniInstallSet, defaultDevicePluginConfig, pluginsUnderTest } from '../plugins.ts';
import type { BackendRunInfo } from '../runner/runner.ts';
import type { ErrnoName } from '../../sim/kernel/types.ts';

function kindOf(kind: string): 'Pod' | 'Node' | 'NetworkAttachmentDefinition' | 'Event' {
  const k = kind.toLowerCase();
  if (['pod', 'pods', 'po'].includes(k)) return 'Pod';
  if (['node', 'nodes', 'no'].includes(k)) return 'Node';
  if (['networkattachmentdefinition', 'net-attach-def', 'network-attachment-definitions', 'networkattachmentdefinitions'].includes(k)) return 'NetworkAttachmentDefinition';
  if (['event', 'events', 'ev'].includes(k)) return 'Event';
  throw new Error(`unsupported kind "${kind}" (Pod, Node, NetworkAttachmentDefinition, Event)`);
}

function toJson<T>(o: T): KubeObject {
  return JSON.parse(JSON.stringify(o)) as KubeObject;
}

class SimClusterHandle implements ClusterHandle {
  readonly backend = 'sim' as const;
  readonly nodes: readonly string[];
  constructor(private readonly sc: SimCluster) {
    this.nodes = [...sc.nodes.keys()];
  }

  async apply(objects: KubeObject[]): Promise<void> {
    for (const o of objects) this.sc.cluster.apply(o as never);
    await this.sc.settle();
  }

  async delete(ref: ObjectRef): Promise<void> {
    const kind = kindOf(ref.kind);
    const ns = ref.namespace ?? 'default';
    if (kind === 'Pod') await this.sc.cluster.deletePod(ns, ref.name);
    else if (kind === 'NetworkAttachmentDefinition') this.sc.cluster.store.delete(kind, ns, ref.name);
    else throw new Error(`delete of ${ref.kind} is not supported`);
    await this.sc.settle();
  }

  get(ref: ObjectRef): KubeObject | undefined {
    const kind = kindOf(ref.kind);
    const o = this.sc.cluster.store.get(kind, kind === 'Node' ? '' : (ref.namespace ?? 'default'), ref.name);
    return o ? toJson(o) : undefined;
  }

  list(kind: string, namespace?: string): KubeObject[] {
    return this.sc.cluster.store.list(kindOf(kind), namespace).map(toJson);
  }

  events(ref?: ObjectRef): KubeObject[] {
    if (!ref) return this.sc.cluster.store.list('Event').map(toJson);
    return this.sc.cluster.eventsFor(kindOf(ref.kind), ref.namespace ?? 'default', ref.name).map(toJson);
  }

  async exec(target: { pod: string; namespace?: string } | { node: string }, argv: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<ExecResult> {
    if ('pod' in target) return this.sc.execInPod(target.namespace ?? 'default', target.pod, argv, opts);
    const sn = this.sc.mustNode(target.node);
    const r = await sn.node.exec(argv, { input: opts.input, timeoutMs: opts.timeoutMs ?? 60_000 });
    await this.sc.pollSysfs();
    return r;
  }

  async sysfsRead(node: string, path: string): Promise<SysfsResult> {
    const r = await this.exec({ node }, ['cat', path]);
    if (r.exitCode === 0) return { ok: true, value: r.stdout };
    return { ok: false, errno: errnoFromMessage(r.stderr), message: r.stderr.trim() };
  }

  async sysfsWrite(node: string, path: string, value: string): Promise<SysfsResult> {
    // `echo VALUE > PATH`, as an operator does it (a trailing newline, so an empty value still writes); the errno
    // comes back through the FUSE sysfs
    const r = await this.exec({ node }, ['bash', '-c', 'printf "%s\\n" "$1" > "$2"', 'sysfs-write', value, path]);
    if (r.exitCode === 0) return { ok: true };
    return { ok: false, errno: errnoFromMessage(r.stderr), message: r.stderr.trim() };
  }

  async kubelet(node: string, action: 'restart' | 'stop' | 'start'): Promise<void> {
    const k = this.sc.mustNode(node).kubelet;
    if (action === 'restart') await k.restart();
    else if (action === 'stop') await k.stop();
    else await k.start();
    await this.sc.settle();
  }

  async devicePlugin(node: string, action: 'kill' | 'restart' | 'deleteSocket' | 'start' | 'stop'): Promise<void> {
    const sn = this.sc.mustNode(node);
    if (action === 'kill') await this.sc.stopDevicePlugin(sn, 'SIGKILL');
    else if (action === 'stop') await this.sc.stopDevicePlugin(sn, 'SIGTERM');
    else if (action === 'start') this.sc.startDevicePlugin(sn);
    else if (action === 'restart') {
      await this.sc.stopDevicePlugin(sn, 'SIGTERM');
      this.sc.startDevicePlugin(sn);
    } else {
      // delete the plugin's own socket(s) while everything runs (REFERENCE §10: upstream never re-registers)
      const r = await sn.node.exec(['bash', '-c', 'cd /var/lib/kubelet/device-plugins && for s in *.sock; do [ "$s" = kubelet.sock ] || rm -f "$s"; done; cd /var/lib/kubelet/plugins_registry 2>/dev/null && rm -f *.sock; true']);
      if (r.exitCode !== 0) throw new Error(`deleting plugin sockets failed: ${r.stderr}`);
    }
  }

  async nodeReboot(node: string): Promise<void> {
    const sn = this.sc.mustNode(node);
    await this.sc.stopDevicePlugin(sn, 'SIGKILL');
    await sn.kubelet.reboot();
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

  async collect(node: string, what: Array<'logs' | 'events' | 'sysfs' | 'checkpoint' | 'podResources'>): Promise<Attachment[]> {
    const sn = this.sc.mustNode(node);
    const out: Attachment[] = [];
    const text = (name: string, body: string, contentType = 'text/plain'): Attachment => ({ name: `${node}/${name}`, contentType, encoding: 'text', body });
    for (const w of what) {
      try {
        if (w === 'logs') {
          out.push(text('device-plugin.log', sn.pluginLog.join('\n')));
          out.push(text('kubelet.log', sn.kubeletLog.join('\n')));
        } else if (w === 'events') {
          const evs = this.sc.cluster.store.list('Event').map((e) => `${e.type ?? ''}\t${e.reason ?? ''}\t${e.involvedObject?.kind}/${e.involvedObject?.name}\t${e.message ?? ''}`);
          out.push(text('events.txt', evs.join('\n')));
        } else if (w === 'sysfs') {
          const { data } = await sn.node.sysfs.control.request({ op: 'snapshot' });
          const lines = (data as Array<{ path: string; kind: string; value?: string }>)
            .filter((e) => e.kind !== 'dir' && !e.path.startsWith('/sys/bus/pci/drivers/') && !e.path.includes('/kernel/iommu_groups/'))
            .map((e) => `${e.path}${e.kind === 'link' ? ` -> ${e.value}` : e.value !== undefined ? ` = ${e.value.trimEnd()}` : ''}`);
          out.push(text('sysfs.txt', lines.join('\n')));
        } else if (w === 'checkpoint') {
          out.push(text('kubelet_internal_checkpoint', readFileSync(sn.node.hostPath('/var/lib/kubelet/device-plugins/kubelet_internal_checkpoint'), 'utf8'), 'application/json'));
        } else if (w === 'podResources') {
          const c = new PodResourcesClient(sn.node.hostPath('/var/lib/kubelet/pod-resources/kubelet.sock'));
          try {
            const [list, alloc] = await Promise.all([c.list(5000), c.getAllocatableResources(5000)]);
            out.push(text('pod-resources.json', JSON.stringify({ list, allocatable: alloc }, null, 2), 'application/json'));
          } finally {
            c.close();
          }
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

  [Symbol.asyncDispose](): Promise<void> {
    return this.down();
  }
}

const STRERROR: Record<string, string> = {
  'Device or resource busy': 'EBUSY',
  'No such device': 'ENODEV',
  'No such file or directory': 'ENOENT',
  'Invalid argument': 'EINVAL',
  'Numerical result out of range': 'ERANGE',
  'Permission denied': 'EACCES',
  'Input/output error': 'EIO',
  'File exists': 'EEXIST',
  'Operation not permitted': 'EPERM',
  'Is a directory': 'EISDIR',
  'Operation not supported': 'EOPNOTSUPP',
};

export function errnoFromMessage(stderr: string): string {
  for (const [msg, errno] of Object.entries(STRERROR)) if (stderr.includes(msg)) return errno;
  return 'EIO';
}

export function toTraceEvent(e: SimTraceEvent): TraceEvent {
  return e as unknown as TraceEvent & { request?: JsonValue };
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
      trace: (e) => opts.trace(toTraceEvent(e)),
      progress: opts.progress,
    });
    return new SimClusterHandle(sc);
  },
};

