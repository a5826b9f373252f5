// One observation of the cluster for the invariants: the API's pods and nodes, each node's pod-resources and
// checkpoint (as `collect` gives them to a scenario), and its VFs as an operator sees them on the node
// (`ip -j -d link show PF`, the VF's driver and net/ in sysfs, the node's links).
import type { ClusterHandle } from '../backend.ts';
import { parseVfLinks } from '../host/nic.ts';
import type { Observation, ObservedNode, ObservedPod, ObservedVf, VfSettings } from './invariants.ts';

const NETWORK_STATUS = 'k8s.v1.cni.cncf.io/network-status';

function quantities(o: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries((o ?? {}) as Record<string, string>)) if (/^\d+$/.test(String(v))) out[k] = Number(v);
  return out;
}

function networkDevices(annotation: string | undefined): string[] {
  if (!annotation) return [];
  try {
    const list = JSON.parse(annotation) as Array<{ 'device-info'?: { pci?: { 'pci-address'?: string } } }>;
    return list.map((e) => e['device-info']?.pci?.['pci-address']).filter((a): a is string => typeof a === 'string');
  } catch {
    return [];
  }
}

export function observePods(h: ClusterHandle): ObservedPod[] {
  return h.list('Pod').map((p) => {
    const spec = p.spec as { nodeName?: string } | undefined;
    const status = p.status as { phase?: string } | undefined;
    return {
      name: p.metadata.name,
      uid: String(p.metadata.uid ?? ''),
      node: spec?.nodeName,
      phase: status?.phase ?? 'Pending',
      deleting: p.metadata.deletionTimestamp !== undefined,
      networkDevices: networkDevices(p.metadata.annotations?.[NETWORK_STATUS]),
    };
  });
}

// per PF: its vfinfo, then one line per VF (index, PCI address, driver, netdevs); then the node's links, from
// /proc/net/dev (the reader's network namespace: the node's), which costs no second `ip`
const VF_SCRIPT = `for pf in "$@"; do
  echo "#PF $pf"; ip -j -d link show "$pf"; echo
  for v in /sys/class/net/$pf/device/virtfn*; do
    [ -e "$v" ] || continue
    a=$(basename "$(readlink "$v")"); d=""
    [ -e /sys/bus/pci/devices/$a/driver ] && d=$(basename "$(readlink /sys/bus/pci/devices/$a/driver)")
    m=$(cat /sys/bus/pci/devices/$a/net/*/address 2>/dev/null | head -1)
    echo "#VF $pf \${v##*virtfn} $a \${d:--} \${m:--} $(ls /sys/bus/pci/devices/$a/net 2>/dev/null | tr '\\n' ' ')"
  done
done
echo "#LINKS"; cat /proc/net/dev`;

export function parseVfReport(out: string): { vfs: ObservedVf[]; links: string[] } {
  const vfs: ObservedVf[] = [];
  const settings = new Map<string, VfSettings>();
  let links: string[] = [];
  const sections = out.split(/^#/m).filter(Boolean);
  for (const s of sections) {
    const [head, ...rest] = s.split('\n');
    const body = rest.join('\n').trim();
    const words = head.trim().split(/\s+/);
    if (words[0] === 'PF') {
      for (const { vf, ...st } of parseVfLinks(body || '[]')) settings.set(`${words[1]}/${vf}`, st);
    } else if (words[0] === 'VF') {
      const [, pf, index, pciAddr, driver, mac, ...netdevs] = words;
      const st = settings.get(`${pf}/${index}`);
      if (!st) continue;
      vfs.push({ pf, index: Number(index), pciAddr, driver: driver === '-' ? undefined : driver, ...(mac && mac !== '-' ? { netdevMac: mac } : {}), netdevs, settings: st });
    } else if (words[0] === 'LINKS') {
      links = body
        .split('\n')
        .map((l) => /^\s*([^\s:]+):/.exec(l)?.[1])
        .filter((n): n is string => n !== undefined);
    }
  }
  return { vfs, links };
}

interface PodResourcesJson {
  list?: { pod_resources?: Array<{ name: string; namespace: string; containers?: Array<{ devices?: Array<{ resource_name: string; device_ids: string[] }> }> }> };
  allocatable?: { devices?: Array<{ resource_name: string; device_ids: string[] }> };
}
interface CheckpointJson {
  Data?: { PodDeviceEntries?: Array<{ PodUID: string; ResourceName: string; DeviceIDs?: Record<string, string[]> }> };
}

function parseJson<T>(what: string, body: string | undefined): T {
  try {
    return JSON.parse(body || '{}') as T;
  } catch (e) {
    throw new Error(`cannot read the ${what}: ${(e as Error).message}`);
  }
}

export async function observeNode(h: ClusterHandle, name: string, pfs: readonly string[]): Promise<ObservedNode> {
  const node = h.get({ kind: 'Node', name });
  const status = node?.status as { capacity?: unknown; allocatable?: unknown } | undefined;
  const [attachments, report] = await Promise.all([h.collect(name, ['podResources', 'checkpoint']), h.exec({ node: name }, ['bash', '-c', VF_SCRIPT, 'soak-observe', ...pfs])]);
  const body = (suffix: string) => attachments.find((a) => a.name.endsWith(suffix))?.body;
  // no checkpoint file yet: the kubelet has not written one (no allocation since it started)
  const err = attachments.find((a) => a.name.endsWith('.error.txt') && !(a.name.endsWith('checkpoint.error.txt') && a.body.includes('ENOENT')));
  if (err) throw new Error(`collect on ${name}: ${err.body}`);
  if (report.exitCode !== 0) throw new Error(`observing the VFs of ${name} failed: ${report.stderr.trim()}`);
  const pr = parseJson<PodResourcesJson>('pod-resources', body('pod-resources.json'));
  const cp = parseJson<CheckpointJson>('checkpoint', body('kubelet_internal_checkpoint'));
  const allocatable: Record<string, string[]> = {};
  for (const d of pr.allocatable?.devices ?? []) (allocatable[d.resource_name] ??= []).push(...d.device_ids);
  return {
    name,
    capacity: quantities(status?.capacity),
    allocatable: quantities(status?.allocatable),
    podResources: {
      pods: (pr.list?.pod_resources ?? []).map((p) => ({
        namespace: p.namespace,
        name: p.name,
        devices: (p.containers ?? []).flatMap((c) => (c.devices ?? []).flatMap((d) => d.device_ids.map((id) => ({ resource: d.resource_name, id })))),
      })),
      allocatable,
    },
    checkpoint: (cp.Data?.PodDeviceEntries ?? []).map((e) => ({ podUid: e.PodUID, resource: e.ResourceName, devices: Object.values(e.DeviceIDs ?? {}).flat() })),
    ...parseVfReport(report.stdout),
  };
}

export async function observe(h: ClusterHandle, pfsByNode: ReadonlyMap<string, readonly string[]>): Promise<Observation> {
  const nodes = await Promise.all(h.nodes.map((n) => observeNode(h, n, pfsByNode.get(n) ?? [])));
  return { pods: observePods(h), nodes };
}
