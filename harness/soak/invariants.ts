// The soak's invariants over one observation of the cluster. Pure: the observation is data (observe.ts gathers it),
// so a test can hand the checker a corrupted one and see it report.
import type { VfLink } from '../host/nic.ts';

/** a pod as the API shows it */
export interface ObservedPod {
  name: string;
  uid: string;
  node?: string;
  phase: string;
  deleting: boolean;
  /** PCI addresses in its network-status annotation (device-info) */
  networkDevices: string[];
}

/** one VF as the node shows it: `ip -d link show PF` (settings) and sysfs (driver, netdev) */
export interface ObservedVf {
  pf: string;
  index: number;
  pciAddr: string;
  driver?: string;
  /** the names under the VF's net/ in sysfs */
  netdevs: string[];
  /** the MAC of its netdev in the node (sysfs address), when it has one there */
  netdevMac?: string;
  settings: VfSettings;
}

/** a VF's settings as iproute2 shows them on its PF (the host backend reads them the same way) */
export type VfSettings = Omit<VfLink, 'vf'>;

export interface ObservedNode {
  name: string;
  capacity: Record<string, number>;
  allocatable: Record<string, number>;
  /** the kubelet's pod-resources API: devices per pod, and the allocatable (healthy) devices per resource */
  podResources: { pods: Array<{ namespace: string; name: string; devices: Array<{ resource: string; id: string }> }>; allocatable: Record<string, string[]> };
  /** the kubelet checkpoint's pod device entries */
  checkpoint: Array<{ podUid: string; resource: string; devices: string[] }>;
  vfs: ObservedVf[];
  /** netdev names in the node's network namespace */
  links: string[];
}

export interface Observation {
  pods: ObservedPod[];
  nodes: ObservedNode[];
}

export type InvariantName = 'deviceHeldOnce' | 'sourcesAgree' | 'allocatableHealthy' | 'vfDefaults' | 'vfNetdevInNode';

export interface Violation {
  invariant: InvariantName;
  node?: string;
  message: string;
}

/** per node and VF PCI address (`node/pciAddr`): its settings when the cluster came up */
export type VfBaseline = ReadonlyMap<string, VfSettings>;

export function baselineOf(obs: Observation): VfBaseline {
  return new Map(obs.nodes.flatMap((n) => n.vfs.map((v): [string, VfSettings] => [`${n.name}/${v.pciAddr}`, v.settings])));
}

const NODE_RESOURCES = new Set(['cpu', 'memory', 'pods', 'ephemeral-storage']);

function live(p: ObservedPod): boolean {
  return p.node !== undefined && !p.deleting && p.phase !== 'Succeeded' && p.phase !== 'Failed';
}

/** the first holder of every device, and a violation for each second one */
function holdersOnce(node: string, source: string, holders: Array<[string, string]>): Violation[] {
  const seen = new Map<string, string>();
  const out: Violation[] = [];
  for (const [device, holder] of holders) {
    const first = seen.get(device);
    if (first !== undefined && first !== holder) out.push({ invariant: 'deviceHeldOnce', node, message: `${source}: device ${device} is held by two live pods, ${first} and ${holder}` });
    else seen.set(device, holder);
  }
  return out;
}

/** VF settings a node's NIC cannot report or restore, left out of vfDefaults, with the reason (the soak prints them) */
export type UncomparedSettings = Partial<Record<keyof VfSettings, string>>;

/** how vfDefaults reads a NIC's VF settings */
export interface VfDefaultsRules {
  uncompared?: UncomparedSettings;
  /**
   * the PF shows the MAC the VF's own driver registered (igb: igbvf asks the PF for its random MAC when its netdev
   * first comes up): a free VF whose MAC is its own netdev's kept its default; the reason, printed
   */
  vfOwnMac?: string;
}

export function checkInvariants(obs: Observation, baseline: VfBaseline, rules: VfDefaultsRules = {}): Violation[] {
  const uncompared = rules.uncompared ?? {};
  const out: Violation[] = [];
  const livePods = obs.pods.filter(live);
  for (const n of obs.nodes) {
    const onNode = livePods.filter((p) => p.node === n.name);
    const byName = new Map(onNode.map((p) => [`default/${p.name}`, p]));
    const byUid = new Map(onNode.map((p) => [p.uid, p]));
    // 1. no device held by two live pods, in each of the three sources
    const pr = n.podResources.pods.filter((p) => byName.has(`${p.namespace}/${p.name}`));
    out.push(...holdersOnce(n.name, 'pod-resources', pr.flatMap((p) => p.devices.map((d): [string, string] => [d.id, p.name]))));
    const cp = n.checkpoint.filter((e) => byUid.has(e.podUid));
    out.push(...holdersOnce(n.name, 'checkpoint', cp.flatMap((e) => e.devices.map((d): [string, string] => [d, byUid.get(e.podUid)!.name]))));
    out.push(...holdersOnce(n.name, 'network-status', onNode.flatMap((p) => p.networkDevices.map((d): [string, string] => [d, p.name]))));
    // …and the three agree about each pod: what it attached was allocated to it, in the API and in the checkpoint
    for (const p of onNode) {
      const fromApi = new Set(pr.filter((x) => x.name === p.name).flatMap((x) => x.devices.map((d) => d.id)));
      const fromCheckpoint = new Set(cp.filter((e) => e.podUid === p.uid).flatMap((e) => e.devices));
      for (const d of p.networkDevices) {
        if (!fromApi.has(d)) out.push({ invariant: 'sourcesAgree', node: n.name, message: `pod ${p.name} has ${d} in its network-status, but pod-resources does not list it for the pod` });
      }
      const a = [...fromApi].sort().join(',');
      const c = [...fromCheckpoint].sort().join(',');
      if (a !== c) out.push({ invariant: 'sourcesAgree', node: n.name, message: `pod ${p.name}: pod-resources lists [${a}], the checkpoint [${c}]` });
    }
    // 2. allocatable equals the healthy devices; nothing allocated beyond capacity
    const resources = new Set([...Object.keys(n.allocatable), ...Object.keys(n.capacity), ...Object.keys(n.podResources.allocatable)].filter((r) => !NODE_RESOURCES.has(r)));
    for (const r of resources) {
      const alloc = n.allocatable[r] ?? 0;
      const cap = n.capacity[r] ?? 0;
      const healthy = n.podResources.allocatable[r]?.length ?? 0;
      if (alloc !== healthy) out.push({ invariant: 'allocatableHealthy', node: n.name, message: `${r}: Node allocatable ${alloc}, but the kubelet has ${healthy} healthy devices` });
      if (alloc > cap) out.push({ invariant: 'allocatableHealthy', node: n.name, message: `${r}: allocatable ${alloc} exceeds capacity ${cap}` });
      const held = new Set(pr.flatMap((p) => p.devices.filter((d) => d.resource === r).map((d) => d.id))).size;
      // a kubelet that restarted keeps its checkpoint's allocations but counts capacity 0 until the plugin registers
      // again (the device manager's readCheckpoint): only a registered resource is bounded by its capacity
      if (cap > 0 && held > cap) out.push({ invariant: 'allocatableHealthy', node: n.name, message: `${r}: ${held} devices allocated to live pods, capacity ${cap}` });
    }
    // 3. a VF no live pod has attached keeps its settings from boot and its netdev is in the node
    const attached = new Set(onNode.flatMap((p) => p.networkDevices));
    const links = new Set(n.links);
    const present = new Set(n.vfs.map((v) => v.pciAddr));
    for (const key of baseline.keys()) {
      const [node, pciAddr] = key.split('/');
      if (node === n.name && !present.has(pciAddr)) out.push({ invariant: 'vfNetdevInNode', node: n.name, message: `VF ${pciAddr} of the node as it came up is gone` });
    }
    // two VFs with one MAC (sriov-network-device-plugin #685): a MAC left behind meets the next one set
    const byMac = new Map<string, ObservedVf>();
    for (const vf of n.vfs) {
      const mac = vf.settings.mac.toLowerCase();
      if (mac === '00:00:00:00:00:00') continue;
      const other = byMac.get(mac);
      if (other) out.push({ invariant: 'vfDefaults', node: n.name, message: `${other.pf} vf ${other.index} (${other.pciAddr}) and ${vf.pf} vf ${vf.index} (${vf.pciAddr}) both have MAC ${mac}` });
      else byMac.set(mac, vf);
    }
    for (const vf of n.vfs) {
      if (attached.has(vf.pciAddr)) continue;
      const want = baseline.get(`${n.name}/${vf.pciAddr}`);
      if (want) {
        const ownMac = (k: keyof VfSettings) => k === 'mac' && rules.vfOwnMac !== undefined && vf.netdevMac !== undefined && vf.settings.mac.toLowerCase() === vf.netdevMac.toLowerCase();
        const diffs = (Object.keys(want) as Array<keyof VfSettings>).filter((k) => uncompared[k] === undefined && want[k] !== vf.settings[k] && !ownMac(k)).map((k) => `${k} ${String(vf.settings[k])} (was ${String(want[k])})`);
        if (diffs.length) out.push({ invariant: 'vfDefaults', node: n.name, message: `${vf.pf} vf ${vf.index} (${vf.pciAddr}) is in no pod but has ${diffs.join(', ')}` });
      }
      if (vf.driver === undefined) out.push({ invariant: 'vfNetdevInNode', node: n.name, message: `${vf.pf} vf ${vf.index} (${vf.pciAddr}) is in no pod and bound to no driver` });
      else if (vf.driver !== 'vfio-pci' && !vf.netdevs.some((d) => links.has(d)))
        out.push({ invariant: 'vfNetdevInNode', node: n.name, message: `${vf.pf} vf ${vf.index} (${vf.pciAddr}) is in no pod, but its netdev ${vf.netdevs.join(',') || '(none)'} is not in the node` });
    }
  }
  return out;
}
