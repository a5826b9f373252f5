// What every backend with the emulated control plane (sim, qemu, host) shares behind the ClusterHandle: the object
// store and scheduler of sim/cluster answer apply/delete/get/list/events, and sysfs operations are what an operator
// types on the node (`cat`, `echo VALUE > PATH`), with the errno read back from the tool's strerror text.
import type { Cluster } from '../../sim/cluster/cluster.ts';
import type { Attachment, BackendName } from '../../reports/types.ts';
import type { ClusterHandle, ExecResult, Fault, KubeObject, ObjectRef, SysfsResult } from '../backend.ts';
import { errnoFromMessage } from '../node/errno.ts';
import type { DevicePluginAction } from '../scenario/types.ts';

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

export abstract class StoreBackedHandle implements ClusterHandle {
  abstract readonly backend: BackendName;
  abstract readonly nodes: readonly string[];
  constructor(protected readonly cluster: Cluster) {}

  abstract settle(): Promise<void>;
  abstract exec(target: { pod: string; namespace?: string } | { node: string }, argv: string[], opts?: { input?: string; timeoutMs?: number }): Promise<ExecResult>;
  abstract kubelet(node: string, action: 'restart' | 'stop' | 'start'): Promise<void>;
  abstract devicePlugin(node: string, action: DevicePluginAction): Promise<void>;
  abstract nodeReboot(node: string): Promise<void>;
  abstract fault(node: string, fault: Fault): Promise<void>;
  abstract advanceClock(ms: number): Promise<void>;
  abstract collect(node: string, what: CollectWhat[]): Promise<Attachment[]>;
  abstract down(): Promise<void>;

  async apply(objects: KubeObject[]): Promise<void> {
    for (const o of objects) this.cluster.apply(o as never);
    await this.settle();
  }

  async delete(ref: ObjectRef): Promise<void> {
    const kind = kindOf(ref.kind);
    const ns = ref.namespace ?? 'default';
    if (kind === 'Pod') await this.cluster.deletePod(ns, ref.name);
    else if (kind === 'NetworkAttachmentDefinition') this.cluster.store.delete(kind, ns, ref.name);
    else throw new Error(`delete of ${ref.kind} is not supported`);
    await this.settle();
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

  async sysfsRead(node: string, path: string): Promise<SysfsResult> {
    const r = await this.exec({ node }, ['cat', path]);
    if (r.exitCode === 0) return { ok: true, value: r.stdout };
    return { ok: false, errno: errnoFromMessage(r.stderr), message: r.stderr.trim() };
  }

  async sysfsWrite(node: string, path: string, value: string): Promise<SysfsResult> {
    // `echo VALUE > PATH`, as an operator does it (a trailing newline, so an empty value still writes); the errno
    // comes back from the kernel (or the FUSE sysfs)
    const r = await this.exec({ node }, ['bash', '-c', 'printf "%s\\n" "$1" > "$2"', 'sysfs-write', value, path]);
    if (r.exitCode === 0) return { ok: true };
    return { ok: false, errno: errnoFromMessage(r.stderr), message: r.stderr.trim() };
  }

  /** the cluster's events as a text attachment */
  protected eventsAttachment(node: string): Attachment {
    const evs = this.cluster.store.list('Event').map((e) => `${e.type ?? ''}\t${e.reason ?? ''}\t${e.involvedObject?.kind}/${e.involvedObject?.name}\t${e.message ?? ''}`);
    return textAttachment(node, 'events.txt', evs.join('\n'));
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.down();
  }
}
