// The runner's ClusterHandle over the one cluster assembly (lab-cluster.ts), the same for every backend with the
// emulated control plane (sim, qemu, host): the object store and scheduler of sim/cluster answer
// apply/delete/get/list/events; node operations go through each node's NodeApi; sysfs operations are what an operator
// types on the node (`cat`, `echo VALUE > PATH`), with the errno read back from the tool's strerror text; faults and
// sysfs dumps are the provider's.
import type { Cluster } from '../../sim/cluster/cluster.ts';
import type { Attachment, BackendName } from '../../reports/types.ts';
import type { ClusterHandle, ExecResult, Fault, KubeObject, ObjectRef, SysfsResult } from '../backend.ts';
import { errnoFromMessage } from '../node/errno.ts';
import type { DevicePluginAction } from '../scenario/types.ts';
import { LabClusterError, type LabCluster } from './lab-cluster.ts';

export type CollectWhat = 'logs' | 'events' | 'sysfs' | 'checkpoint' | 'podResources';

export function kindOf(kind: string): 'Pod' | 'Node' | 'NetworkAttachmentDefinition' | 'Event' {
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

export function textAttachment(node: string, name: string, body: string, contentType = 'text/plain'): Attachment {
  return { name: `${node}/${name}`, contentType, encoding: 'text', body };
}

/** a sysfs read as an operator does it on the node (`cat PATH`), with the errno read back from cat's strerror text */
export async function sysfsReadWith(exec: (argv: string[]) => Promise<ExecResult>, path: string): Promise<SysfsResult> {
  const r = await exec(['cat', path]);
  if (r.exitCode === 0) return { ok: true, value: r.stdout };
  return { ok: false, errno: errnoFromMessage(r.stderr), message: r.stderr.trim() };
}

/**
 * A sysfs write as an operator does it, `echo VALUE > PATH` (a trailing newline, so an empty value still writes); the
 * errno comes back from the kernel (or the FUSE sysfs) through the shell's message.
 */
export async function sysfsWriteWith(exec: (argv: string[]) => Promise<ExecResult>, path: string, value: string): Promise<SysfsResult> {
  const r = await exec(['bash', '-c', 'printf "%s\\n" "$1" > "$2"', 'sysfs-write', value, path]);
  if (r.exitCode === 0) return { ok: true };
  return { ok: false, errno: errnoFromMessage(r.stderr), message: r.stderr.trim() };
}

/** events as a catch collector shows them: type, reason, object and message, one a line */
export function eventsText(events: KubeObject[]): string {
  return events
    .map((o) => {
      const e = o as { type?: string; reason?: string; message?: string; involvedObject?: { kind?: string; name?: string } };
      return `${e.type ?? ''}\t${e.reason ?? ''}\t${e.involvedObject?.kind}/${e.involvedObject?.name}\t${e.message ?? ''}`;
    })
    .join('\n');
}

export class LabClusterHandle implements ClusterHandle {
  readonly backend: BackendName;
  readonly nodes: readonly string[];
  private readonly cluster: Cluster;
  constructor(private readonly lc: LabCluster) {
    this.backend = lc.backend;
    this.cluster = lc.cluster;
    this.nodes = lc.nodeNames();
  }

  settle(): Promise<void> {
    return this.lc.settle();
  }

  nextChange(): Promise<void> {
    return this.cluster.store.nextChange();
  }

  async exec(target: { pod: string; namespace?: string } | { node: string }, argv: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<ExecResult> {
    if ('pod' in target) {
      const ns = target.namespace ?? 'default';
      const pod = this.cluster.store.get('Pod', ns, target.pod);
      if (!pod) throw new LabClusterError(`pods "${target.pod}" not found`);
      if (!pod.spec?.nodeName) throw new LabClusterError(`pod ${ns}/${target.pod} is not running (phase ${pod.status?.phase ?? 'Pending'})`);
      return this.lc.labNode(pod.spec.nodeName).api.call('execInPod', { pod, argv, input: opts.input, timeoutMs: opts.timeoutMs });
    }
    const n = this.lc.labNode(target.node);
    const r = await n.api.call('exec', { argv, input: opts.input, timeoutMs: opts.timeoutMs });
    await n.sync?.();
    return r;
  }

  async kubelet(node: string, action: 'restart' | 'stop' | 'start'): Promise<void> {
    await this.lc.labNode(node).api.call('kubelet', { action });
    await this.settle();
  }

  async devicePlugin(node: string, action: DevicePluginAction): Promise<void> {
    await this.lc.labNode(node).api.call('devicePlugin', { action });
  }

  async nodeReboot(node: string): Promise<void> {
    // the node's software reboots (plugin killed, kubelet back with an empty device manager); the machine stays up,
    // so VFs keep their state as after a reboot with the same sriov_numvfs configuration
    await this.lc.labNode(node).api.call('reboot', {});
    await this.settle();
  }

  async fault(node: string, fault: Fault): Promise<void> {
    const n = this.lc.labNode(node);
    // the runtime's own fault is the same everywhere; the machine's are the provider's
    if (fault.kind === 'ipamFail') await n.api.call('setIpamFailure', { count: fault.count ?? 1, message: fault.message ?? 'injected IPAM failure' });
    else if (fault.kind === 'netnsRemove') await n.api.call('removePodNetns', { namespace: fault.namespace ?? 'default', name: fault.pod });
    else if (fault.kind === 'cniPath') await n.api.call('setCniPath', { up: fault.up });
    else await n.fault(fault);
    await n.sync?.();
  }

  async advanceClock(ms: number): Promise<void> {
    await Promise.all(this.lc.allNodes().map((n) => n.api.call('advanceClock', { ms })));
    // the pod workers' back-off is the control plane's part of the kubelets
    this.lc.clock.advance(ms);
    await this.settle();
  }

  async collect(node: string, what: CollectWhat[]): Promise<Attachment[]> {
    const n = this.lc.labNode(node);
    const r = await n.api.call('collect', { what });
    const out: Attachment[] = [];
    const text = (name: string, body: string, contentType = 'text/plain') => out.push(textAttachment(node, name, body, contentType));
    for (const w of what) {
      try {
        if (r.errors[w] !== undefined) text(`${w}.error.txt`, r.errors[w]);
        else if (w === 'logs') {
          text('device-plugin.log', r.pluginLog ?? '');
          text('kubelet.log', r.kubeletLog ?? '');
        } else if (w === 'events') out.push(this.eventsAttachment(node));
        else if (w === 'sysfs') text('sysfs.txt', await n.sysfsDump());
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

  async down(): Promise<void> {
    await this.lc.stop();
  }

  async apply(objects: KubeObject[]): Promise<void> {
    for (const o of objects) this.cluster.apply(o as never);
    await this.settle();
  }

  async delete(ref: ObjectRef, opts: { waitMs?: number; wait?: boolean } = {}): Promise<void> {
    const kind = kindOf(ref.kind);
    const ns = ref.namespace ?? 'default';
    if (kind === 'Pod') {
      if (opts.wait === false) {
        await this.cluster.deletePod(ns, ref.name, { wait: false });
        return;
      }
      await this.waitForDeletion(this.cluster.deletePod(ns, ref.name), `pod ${ns}/${ref.name}`, opts.waitMs);
    } else if (kind === 'NetworkAttachmentDefinition') this.cluster.store.delete(kind, ns, ref.name);
    else throw new Error(`delete of ${ref.kind} is not supported`);
    await this.settle();
  }

  private async waitForDeletion(done: Promise<void>, what: string, waitMs: number | undefined): Promise<void> {
    if (waitMs === undefined) return done;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new LabClusterError(`${what} is still there after ${waitMs}ms (its deletion goes on)`)), waitMs);
    });
    try {
      await Promise.race([done, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  get(ref: ObjectRef): KubeObject | undefined {
    const kind = kindOf(ref.kind);
    const o = this.cluster.store.get(kind, kind === 'Node' ? '' : (ref.namespace ?? 'default'), ref.name);
    return o ? toJson(o) : undefined;
  }

  list(kind: string, namespace?: string): KubeObject[] {
    return this.cluster.store.list(kindOf(kind), namespace).map(toJson);
  }

  events(ref?: ObjectRef): KubeObject[] {
    if (!ref) return this.cluster.store.list('Event').map(toJson);
    return this.cluster.eventsFor(kindOf(ref.kind), ref.namespace ?? 'default', ref.name).map(toJson);
  }

  sysfsRead(node: string, path: string): Promise<SysfsResult> {
    return sysfsReadWith((argv) => this.exec({ node }, argv), path);
  }

  sysfsWrite(node: string, path: string, value: string): Promise<SysfsResult> {
    return sysfsWriteWith((argv) => this.exec({ node }, argv), path, value);
  }

  /** the cluster's events as a text attachment */
  private eventsAttachment(node: string): Attachment {
    return textAttachment(node, 'events.txt', eventsText(this.cluster.store.list('Event') as unknown as KubeObject[]));
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.down();
  }
}
