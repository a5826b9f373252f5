// Lightweight nodes (a topology node with `lightweight: true`), for clusters of hundreds or thousands of nodes: per
// node the kernel model (sim/kernel, in this process, no FUSE server), the kubelet emulator in memory (its device
// manager: health, allocation, preferred allocation, the grace period; no sockets or checkpoint file) and the bundled
// device plugin's view of the model's devices (its pools, Allocate responses and preferred allocation, called in
// process instead of over gRPC). No network namespace, FUSE sysfs, CNI, device-plugin process or containers: pods get
// their devices and become Running without networking. Every backend with the emulated control plane can add them
// (harness/cluster/lab-cluster.ts starts them beside its provider's nodes).
import { SysfsModel, type PciDevice } from '../../sim/kernel/model.ts';
import { modelOptionsFor } from '../../sim/node/node.ts';
import { Kubelet, SkewClock, type InProcessPluginHandle } from '../../sim/kubelet/index.ts';
import type { DeviceEndpoint } from '../../sim/kubelet/device-manager.ts';
import type { NodeSpec } from '../../sim/topology/topology.ts';
import type { Device } from '../../api/deviceplugin/v1beta1/types.ts';
import { buildContainerResponse, buildPools, parseConfig, preferredAllocation, DEVICE_PLUGIN_OPTIONS } from '../../plugins/device-plugin/index.ts';
import type { HostDevice, PluginConfig, ResourceConfig } from '../../plugins/device-plugin/index.ts';
import type { Fault } from '../backend.ts';
import type { LabNode } from '../cluster/lab-cluster.ts';
import type { Methods, NodeEvents, NodeHandlers, Resources } from '../node/node-rpc.ts';
import { localNodeApi } from '../node/node-service.ts';
import { formatSysfsDump } from './sysfs-dump.ts';

/** what `describe node` and the report say of a lightweight node */
export const LIGHTWEIGHT_ANNOTATION = 'sriov-lab.dev/lightweight';
export const LIGHTWEIGHT_NOTE = 'lightweight: no network namespace, no CNI';

export class LightNodeError extends Error {
  constructor(
    readonly node: string,
    readonly operation: string,
  ) {
    super(`node ${node} is lightweight (no network namespace, no CNI, no processes): ${operation} needs a full node (drop lightweight: true from its topology entry)`);
    this.name = 'LightNodeError';
  }
}

/** The device plugin's HostDevice of a model device, as its sysfs discovery would read it. */
export function hostDeviceOf(d: PciDevice): HostDevice {
  const pf = d.physfn;
  return {
    pciAddr: d.pciAddr,
    vendor: d.vendor,
    device: d.device,
    baseClass: d.classCode.slice(0, 2),
    driver: d.driver ?? '',
    isVf: pf !== null,
    pfAddr: pf?.pciAddr ?? null,
    pfName: pf?.netdev?.name ?? null,
    vfIndex: d.vfIndex,
    sriovPf: d.pf !== null,
    numaNode: d.numaNode,
    iommuGroup: String(d.iommuGroup),
    vfioNoiommu: false,
    netdevs: d.netdev?.present ? [d.netdev.name] : [],
    virtio: d.virtioIndex !== null,
    linkType: d.netdev ? 'ether' : null,
    isRdma: false,
    acpiIndex: null,
  };
}

/** NIC functions the plugin discovers: every NIC device except a PF with VFs enabled (discovery skips those). */
function discover(model: SysfsModel): HostDevice[] {
  const out: HostDevice[] = [];
  for (const d of model.devices.values()) {
    if (d.nic === null || (d.pf !== null && d.pf.numVfs > 0)) continue;
    out.push(hostDeviceOf(d));
  }
  return out;
}

/** health as the plugin's `link` check sees it in the model: the VF's own link and its PF's carrier */
function healthy(model: SysfsModel, addr: string): boolean {
  const d = model.devices.get(addr);
  if (!d) return false;
  if (!d.linkUp) return false;
  return !d.physfn || d.physfn.linkUp;
}

/** one resource of the plugin: its pool, and the endpoint the kubelet's device manager calls */
class LightResource {
  readonly known = new Map<string, HostDevice>();
  handle: InProcessPluginHandle | null = null;
  readonly endpoint: DeviceEndpoint;

  constructor(
    readonly res: ResourceConfig,
    private readonly model: SysfsModel,
  ) {
    const needVhostNet = res.selectors.some((s) => s.needVhostNet === true);
    this.endpoint = {
      resource: res.fullName,
      allocate: async (req) => ({
        container_responses: req.container_requests.map((c) => {
          const devs = c.devices_ids.map((id) => {
            const d = this.known.get(id);
            if (!d) throw new Error(`device "${id}" is not in the pool of ${res.fullName}`);
            if (!healthy(this.model, id)) throw new Error(`device "${id}" of ${res.fullName} is unhealthy`);
            return d;
          });
          return buildContainerResponse(res, devs, { paths: { devVfioRoot: '/dev/vfio', devRoot: '/dev' }, needVhostNet });
        }),
      }),
      getPreferredAllocation: async (req) => ({
        container_responses: req.container_requests.map((c) => ({
          deviceIDs: preferredAllocation({ available: c.available_deviceIDs, mustInclude: c.must_include_deviceIDs, size: c.allocation_size }, this.known, res.allocationPolicy),
        })),
      }),
      preStartContainer: async () => ({}),
    };
  }

  setPool(devs: HostDevice[]): void {
    this.known.clear();
    for (const d of devs) this.known.set(d.pciAddr, d);
  }

  /** the ListAndWatch list */
  devices(): Device[] {
    return [...this.known.values()].map((d) => ({
      ID: d.pciAddr,
      health: healthy(this.model, d.pciAddr) ? 'Healthy' : 'Unhealthy',
      topology: !this.res.excludeTopology && d.numaNode >= 0 ? { nodes: [{ ID: d.numaNode }] } : null,
    }));
  }
}

export interface LightNode extends LabNode {
  readonly lightweight: true;
  readonly model: SysfsModel;
  readonly kubelet: Kubelet;
}

export interface LightNodeOptions {
  seed: number;
  /** the device plugin config (upstream format); its pools are the node's resources */
  devicePluginConfig: unknown;
}

/** Starts lightweight nodes: everything in this process, synchronous but for the kubelet's start. */
export class LightNodeProvider {
  private readonly config: PluginConfig;

  constructor(private readonly o: LightNodeOptions) {
    this.config = parseConfig(o.devicePluginConfig);
  }

  async startNode(spec: NodeSpec, events: NodeEvents): Promise<LightNode> {
    const name = spec.name;
    const model = new SysfsModel({ ...modelOptionsFor(spec, this.o.seed), maxEvents: 1000 });
    const clock = new SkewClock();
    const kubelet = new Kubelet({ nodeName: name, rootDir: '/var/lib/kubelet', clock, seed: `${this.o.seed}/${name}`, inMemory: true, registrationModes: spec.kubeletRegistration });
    const resources = this.config.resources.map((r) => new LightResource(r, model));
    let pluginRunning = true;
    const rediscover = () => {
      const pools = buildPools(this.config, discover(model), { vhostNetAvailable: false });
      for (const r of resources) r.setPool(pools.get(r.res.fullName) ?? []);
    };
    const connect = () => {
      if (!pluginRunning || !kubelet.running) return;
      // the plugin serves a resource only when its pool is not empty
      for (const r of resources) if (r.known.size > 0) r.handle = kubelet.connectInProcessPlugin(r.endpoint, DEVICE_PLUGIN_OPTIONS, r.devices());
    };
    const disconnect = () => {
      for (const r of resources) {
        r.handle?.disconnect();
        r.handle = null;
      }
    };
    /** a change in the model: the plugin's next ListAndWatch (pool and health) */
    const changed = () => {
      rediscover();
      for (const r of resources) {
        if (r.handle) r.handle.update(r.devices());
        else if (pluginRunning && kubelet.running && r.known.size > 0) r.handle = kubelet.connectInProcessPlugin(r.endpoint, DEVICE_PLUGIN_OPTIONS, r.devices());
      }
    };
    const startKubelet = (how: 'start' | 'restart' | 'reboot') => kubelet[how]({ beforeReadmit: async () => connect() });

    const res = (): Resources => ({ capacity: kubelet.capacity(), allocatable: kubelet.allocatable() });
    kubelet.onResourcesChanged(() => events({ event: 'resources', data: res() }));
    kubelet.onEvent((e) => events({ event: 'kubelet', data: e }));
    kubelet.onPodStatusChanged((s) => events({ event: 'podStatus', data: s }));
    rediscover();
    await startKubelet('start');

    const refuse = (operation: string) => async (): Promise<never> => {
      throw new LightNodeError(name, operation);
    };
    const handlers: NodeHandlers = {
      hello: async () => ({ nodeName: name, kernelRelease: 'sim (lightweight)', ...res() }),
      admitPod: ({ pod }) => kubelet.admitPod(pod),
      releasePod: async ({ uid }) => {
        await kubelet.releasePod(uid);
        return null;
      },
      // no sandbox, no CNI: the pod runs without networking
      podStarted: async () => ({ annotations: {} }),
      podStopped: async () => null,
      // no containers and no sandbox: nothing to stop, no namespace to remove, no CNI directory
      stopContainers: async () => null,
      removePodNetns: refuse('removing a pod network namespace (pods there have none)'),
      setCniPath: refuse('the CNI path (there is no CNI)'),
      gcSandboxes: async () => ({ left: 0 }),
      podLeftovers: async () => ({ netns: [], ipamLeases: [], mounts: [], processes: [] }),
      exec: refuse('a command on the node'),
      execInPod: refuse('a command in a pod'),
      containerLog: refuse('a container log'),
      execStart: refuse('kubectl exec'),
      execInput: refuse('kubectl exec'),
      execRead: refuse('kubectl exec'),
      execKill: refuse('kubectl exec'),
      kubelet: async ({ action }) => {
        if (action === 'stop') await kubelet.stop();
        else await startKubelet(action);
        return null;
      },
      devicePlugin: async ({ action }) => {
        if (action === 'kill' || action === 'stop' || action === 'restart' || action === 'deleteSocket') {
          disconnect();
          pluginRunning = false;
        }
        // the bundled plugin registers again when its socket is deleted; a restart is a kill and a start
        if (action === 'start' || action === 'restart' || action === 'deleteSocket') {
          pluginRunning = true;
          rediscover();
          connect();
        }
        return {};
      },
      reboot: async () => {
        await startKubelet('reboot');
        return null;
      },
      setIpamFailure: refuse('an IPAM failure (there is no CNI)'),
      advanceClock: async ({ ms }) => {
        clock.advance(ms);
        return null;
      },
      collect: async ({ what }) => {
        const out: Methods['collect']['result'] = { errors: {} };
        for (const w of what) out.errors[w] = new LightNodeError(name, `collecting ${w}`).message;
        return out;
      },
      devicePluginReady: async () => ({ registered: resources.some((r) => r.handle !== null), running: pluginRunning, waitedMs: 0 }),
      shutdown: async () => null,
    };
    const api = localNodeApi(handlers);
    return {
      lightweight: true,
      spec,
      api,
      hello: await api.call('hello', {}),
      model,
      kubelet,
      async fault(fault: Exclude<Fault, { kind: 'ipamFail' }>) {
        switch (fault.kind) {
          case 'pfLink':
            model.setLink(fault.pf, fault.up);
            break;
          case 'vfLink': {
            const vfs = model.listVfs(fault.pf);
            const targets = fault.vf === undefined ? vfs : vfs.filter((v) => v.index === fault.vf);
            if (targets.length === 0) throw new Error(`${fault.pf} has no VF ${fault.vf ?? ''}`);
            for (const v of targets) model.setLink(v.pciAddr, fault.up);
            break;
          }
          case 'vfUnplug':
            model.unplug(fault.pciAddr);
            break;
          case 'sysfsFailWrites':
          case 'sysfsDelay':
            throw new LightNodeError(name, `the ${fault.kind} fault (nothing writes its sysfs)`);
          case 'vfAttrFail':
          case 'netnsRemove':
          case 'cniPath':
            throw new LightNodeError(name, `the ${fault.kind} fault (no CNI and no pod network namespaces there)`);
          default: {
            const unknown: never = fault;
            throw new Error(`fault ${(unknown as { kind: string }).kind} is not implemented for lightweight nodes`);
          }
        }
        changed();
      },
      async sysfsDump() {
        return formatSysfsDump(model.walk());
      },
      async stop() {
        disconnect();
        await kubelet.close();
      },
    };
  }
}
