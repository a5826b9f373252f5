// Multus semantics (docs/reference/multus.md): the networks annotation, NetworkAttachmentDefinitions, device IDs from the
// pod-resources API, delegate CNI calls, and the network-status annotation.

export const NETWORKS_ANNOTATION = 'k8s.v1.cni.cncf.io/networks';
export const NETWORK_STATUS_ANNOTATION = 'k8s.v1.cni.cncf.io/network-status';
export const RESOURCE_NAME_ANNOTATION = 'k8s.v1.cni.cncf.io/resourceName';

export interface NetworkSelection {
  name: string;
  namespace: string;
  interface?: string;
  mac?: string;
  ips?: string[];
  cniArgs?: Record<string, unknown>;
  defaultRoute?: string[];
}

export class NetworkAnnotationError extends Error {
  constructor(
    readonly value: string,
    message: string,
  ) {
    super(`invalid ${NETWORKS_ANNOTATION} annotation "${value}": ${message}`);
    this.name = 'NetworkAnnotationError';
  }
}

const NAME_RE = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/** Both forms: "a, ns/b@eth5" and a JSON list of {name, namespace, interface, mac, ips, cni-args, default-route}. */
export function parseNetworksAnnotation(value: string, podNamespace: string): NetworkSelection[] {
  const v = value.trim();
  if (v === '') return [];
  if (v.startsWith('[')) {
    let list: unknown;
    try {
      list = JSON.parse(v);
    } catch (e) {
      throw new NetworkAnnotationError(value, `not valid JSON: ${(e as Error).message}`);
    }
    if (!Array.isArray(list)) throw new NetworkAnnotationError(value, 'expected a JSON list');
    return list.map((raw, i) => {
      const o = raw as Record<string, unknown>;
      if (typeof o?.name !== 'string' || !o.name) throw new NetworkAnnotationError(value, `element ${i} has no "name"`);
      return {
        name: o.name,
        namespace: typeof o.namespace === 'string' && o.namespace ? o.namespace : podNamespace,
        interface: typeof o.interface === 'string' && o.interface ? o.interface : undefined,
        mac: typeof o.mac === 'string' ? o.mac : undefined,
        ips: Array.isArray(o.ips) ? (o.ips as string[]) : undefined,
        cniArgs: typeof o['cni-args'] === 'object' && o['cni-args'] ? (o['cni-args'] as Record<string, unknown>) : undefined,
        defaultRoute: Array.isArray(o['default-route']) ? (o['default-route'] as string[]) : undefined,
      };
    });
  }
  return v.split(',').map((item) => {
    const s = item.trim();
    const at = s.indexOf('@');
    const ref = at >= 0 ? s.slice(0, at) : s;
    const ifname = at >= 0 ? s.slice(at + 1) : undefined;
    const parts = ref.split('/');
    if (parts.length > 2 || parts.some((p) => !NAME_RE.test(p))) throw new NetworkAnnotationError(value, `"${s}" is not [namespace/]name[@interface]`);
    if (ifname !== undefined && ifname === '') throw new NetworkAnnotationError(value, `"${s}" has an empty interface name`);
    return parts.length === 2 ? { namespace: parts[0], name: parts[1], interface: ifname } : { namespace: podNamespace, name: parts[0], interface: ifname };
  });
}

export interface CniResult {
  cniVersion?: string;
  interfaces?: Array<{ name: string; mac?: string; sandbox?: string; pciID?: string }>;
  ips?: Array<{ address: string; gateway?: string; interface?: number }>;
  dns?: Record<string, unknown>;
}

export interface NetworkStatus {
  name: string;
  interface?: string;
  ips?: string[];
  mac?: string;
  default?: boolean;
  dns: Record<string, unknown>;
  'device-info'?: { type: 'pci'; version: string; pci: { 'pci-address': string } };
}

/** One network-status entry from a delegate's result, claiming an interface only if one was put in the sandbox. */
export function networkStatusOf(name: string, ifname: string, netnsPath: string, result: CniResult, deviceId?: string, isDefault = false): NetworkStatus {
  const ifaces = result.interfaces ?? [];
  const idx = ifaces.findIndex((i) => i.sandbox === netnsPath && i.name === ifname);
  const inPod = idx >= 0 ? ifaces[idx] : ifaces.find((i) => i.sandbox === netnsPath);
  const ips = (result.ips ?? []).filter((ip) => ip.interface === undefined || ip.interface === idx || idx < 0).map((ip) => ip.address.split('/')[0]);
  const st: NetworkStatus = { name, dns: result.dns ?? {} };
  if (inPod) {
    st.interface = inPod.name;
    if (inPod.mac) st.mac = inPod.mac;
  }
  if (ips.length) st.ips = ips;
  if (isDefault) st.default = true;
  if (deviceId) st['device-info'] = { type: 'pci', version: '1.1.0', pci: { 'pci-address': deviceId } };
  return st;
}

/**
 * Device IDs for each attachment: per resource, the pod's IDs sorted, each attachment of that resource taking the
 * next one (Multus' order).
 */
export function assignDeviceIds(
  selections: Array<{ resourceName?: string }>,
  podDevices: Map<string, string[]>,
): Array<string | undefined> {
  const next = new Map<string, number>();
  return selections.map((s) => {
    if (!s.resourceName) return undefined;
    const ids = [...(podDevices.get(s.resourceName) ?? [])].sort();
    const i = next.get(s.resourceName) ?? 0;
    next.set(s.resourceName, i + 1);
    return ids[i];
  });
}

/** The delegate's config: the NAD's config with name, cniVersion and the device injected. */
export function delegateConfig(nadConfig: string, nadName: string, deviceId: string | undefined, sel: NetworkSelection): Record<string, unknown> {
  let conf: Record<string, unknown>;
  try {
    conf = JSON.parse(nadConfig) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`NetworkAttachmentDefinition ${sel.namespace}/${nadName}: spec.config is not valid JSON: ${(e as Error).message}`);
  }
  conf.name ??= nadName;
  if (deviceId) {
    const inject = (c: Record<string, unknown>) => {
      c.deviceID = deviceId;
      c.pciBusID = deviceId;
    };
    if (Array.isArray(conf.plugins)) inject((conf.plugins as Array<Record<string, unknown>>)[0]);
    else inject(conf);
  }
  const runtime: Record<string, unknown> = {};
  if (sel.mac) runtime.mac = sel.mac;
  if (sel.ips) runtime.ips = sel.ips;
  if (Object.keys(runtime).length) {
    const target = Array.isArray(conf.plugins) ? (conf.plugins as Array<Record<string, unknown>>)[0] : conf;
    target.runtimeConfig = { ...((target.runtimeConfig as object) ?? {}), ...runtime };
  }
  if (sel.cniArgs) {
    const target = Array.isArray(conf.plugins) ? (conf.plugins as Array<Record<string, unknown>>)[0] : conf;
    target.args = { ...((target.args as object) ?? {}), cni: sel.cniArgs };
  }
  return conf;
}

/** Where a node's Multus (thin plugin) finds its files, as its documentation and installer lay them out. */
export const MULTUS_NODE_PATHS = {
  /** the node's CNI config that containerd runs: Multus's, first by name */
  conf: '/etc/cni/net.d/00-multus.conf',
  /** the cluster's default network, Multus's clusterNetwork (a conflist file, as its installer passes the primary CNI's) */
  clusterNetwork: '/etc/cni/net.d/10-sriov-lab-default.conflist',
  kubeconfig: '/etc/cni/net.d/multus.d/multus.kubeconfig',
  /** Multus's cache of delegate results (cniDir), which its DEL reads */
  cacheDir: '/var/lib/cni/multus',
  logFile: '/var/lib/cni/multus/multus.log',
} as const;

/** the CNI version of the Multus config and its clusterNetwork: one every Multus v4 and the reference plugins speak */
export const MULTUS_CNI_VERSION = '0.4.0';

/**
 * The thin plugin's config (docs/configuration.md of multus-cni): type multus, the kubeconfig it reads pods and NADs
 * with, the default network as clusterNetwork; system namespaces and multusNamespace kube-system, its defaults.
 */
export function multusThinConfig(): Record<string, unknown> {
  return {
    cniVersion: MULTUS_CNI_VERSION,
    name: 'multus-cni-network',
    type: 'multus',
    kubeconfig: MULTUS_NODE_PATHS.kubeconfig,
    clusterNetwork: MULTUS_NODE_PATHS.clusterNetwork,
    cniDir: MULTUS_NODE_PATHS.cacheDir,
    binDir: '/opt/cni/bin',
    multusNamespace: 'kube-system',
    systemNamespaces: ['kube-system'],
    logFile: MULTUS_NODE_PATHS.logFile,
    logLevel: 'verbose',
  };
}
