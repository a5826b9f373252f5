// Test fixture and benchmark stand-in (not a feature): an in-process NodeAgent with fixed device pools that picks device
// IDs in order, with the kubelet's admission messages. The real kubelet emulator lives in sim/kubelet.
import type { AdmitResult, ContainerAllocation, NodeAgent, PodSpecLite, ResourceList } from '../kubelet/types.ts';

export class FakeAgent implements NodeAgent {
  readonly nodeName: string;
  private readonly all = new Map<string, string[]>();
  private readonly unhealthy = new Map<string, Set<string>>();
  private readonly free = new Map<string, string[]>();
  /** resources whose IDs are all distinct (always so for a count): the free list holds each ID once */
  private readonly distinct = new Set<string>();
  private readonly byPod = new Map<string, Array<{ resource: string; ids: string[] }>>();
  private readonly listeners = new Set<() => void>();
  /** every admitPod / releasePod call, for assertions */
  readonly calls: Array<{ op: 'admit' | 'release'; podUid: string; podName?: string }> = [];

  /** devices: resource → count (IDs "<resource-name>-<i>") or explicit IDs */
  constructor(nodeName: string, devices: Record<string, number | string[]> = {}) {
    this.nodeName = nodeName;
    for (const [r, d] of Object.entries(devices)) {
      const ids = typeof d === 'number' ? Array.from({ length: d }, (_, i) => `${r.split('/')[1]}-${i}`) : [...d];
      this.all.set(r, ids);
      this.free.set(r, [...ids]);
      this.unhealthy.set(r, new Set());
      if (new Set(ids).size === ids.length) this.distinct.add(r);
    }
  }

  capacity(): ResourceList {
    const out: ResourceList = {};
    for (const [r, ids] of this.all) out[r] = String(ids.length);
    return out;
  }

  allocatable(): ResourceList {
    const out: ResourceList = {};
    for (const [r, ids] of this.all) out[r] = String(ids.length - this.unhealthy.get(r)!.size);
    return out;
  }

  onResourcesChanged(cb: () => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  /** Marks devices unhealthy/healthy (allocatable changes, capacity does not), like a ListAndWatch update. */
  setUnhealthy(resource: string, ids: string[]): void {
    this.unhealthy.set(resource, new Set(ids));
    for (const cb of [...this.listeners]) cb();
  }

  async admitPod(pod: PodSpecLite): Promise<AdmitResult> {
    this.calls.push({ op: 'admit', podUid: pod.uid, podName: pod.name });
    const taken: Array<{ resource: string; ids: string[] }> = [];
    const allocations: ContainerAllocation[] = [];
    for (const c of [...pod.initContainers, ...pod.containers]) {
      for (const [resource, raw] of Object.entries(c.limits)) {
        if (!resource.includes('/')) continue;
        const n = Number(raw);
        const free = this.free.get(resource);
        const bad = this.unhealthy.get(resource);
        const usable = !free ? [] : bad!.size ? free.filter((id) => !bad!.has(id)) : free;
        let err: string | undefined;
        if (!free) err = `cannot allocate unregistered device ${resource}`;
        else if (usable.length < n) err = `requested number of devices unavailable for ${resource}. Requested: ${n}, Available: ${usable.length}`;
        if (err) {
          for (const t of taken) this.free.get(t.resource)!.push(...t.ids);
          return { admitted: false, reason: 'UnexpectedAdmissionError', message: `Allocate failed due to ${err}, which is unexpected` };
        }
        let ids: string[];
        // the first n free IDs taken out in place when that is what the filter below does: no unhealthy ID, each once
        if (usable === free && this.distinct.has(resource)) ids = free.splice(0, n);
        else {
          const picked = usable.slice(0, n);
          ids = picked;
          this.free.set(
            resource,
            free!.filter((id) => !picked.includes(id)),
          );
        }
        taken.push({ resource, ids });
        allocations.push({
          container: c.name,
          resource,
          deviceIds: ids,
          response: { envs: {}, mounts: [], devices: [], annotations: {}, cdi_devices: [] },
        });
      }
    }
    this.byPod.set(pod.uid, taken);
    return { admitted: true, allocations };
  }

  async releasePod(podUid: string): Promise<void> {
    this.calls.push({ op: 'release', podUid });
    for (const t of this.byPod.get(podUid) ?? []) this.free.get(t.resource)!.push(...t.ids);
    this.byPod.delete(podUid);
  }

  /** device IDs currently held by a pod */
  devicesOf(podUid: string): string[] {
    return (this.byPod.get(podUid) ?? []).flatMap((t) => t.ids);
  }
}
