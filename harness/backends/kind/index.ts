// The `kind` backend: the scenarios on a kind cluster — a real API server, scheduler, kubelets, Multus and the
// plugins' DaemonSets — whose node containers hold the simulated hardware. It creates the cluster from the scenario's
// topology (config.ts: one worker per topology node, registered under its name), or finds one with --reuse NAME,
// adopts each worker container as a sim node (sim/node/node.ts adoptContainer: the model's FUSE sysfs, served on this
// host, over the container's /sys; the VF netdevs in its network namespace; the sim's ip wrapper over its ip), installs
// Multus and the plugins (the bundled ones by default: their images built once per process and loaded into the cluster
// with kind load docker-image), and then runs the scenario as the cluster backend does (cluster/handle.ts). Node operations: `docker exec` into the
// node container (kubelet: systemctl there), a reboot is `docker restart`, faults go to the kernel model.
// What it created is deleted at the end and on Ctrl-C, the cluster too unless --keep.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { KubernetesObjectApi } from '@kubernetes/client-node';
import { caps } from '../../../sim/caps.ts';
import { adoptContainer, modelOptionsFor } from '../../../sim/node/node.ts';
import type { NodeSpec } from '../../../sim/topology/topology.ts';
import type { Backend, BackendRunInfo, BackendUpOptions, ClusterHandle, Fault, KubeObject, Requirement } from '../../backend.ts';
import type { MachineFault } from '../../cluster/lab-cluster.ts';
import { addExitHook } from '../../exit-hooks.ts';
import { nodeOpsHandlers } from '../../node/node-ops.ts';
import { localNodeApi } from '../../node/node-service.ts';
import type { NodeHandlers } from '../../node/node-rpc.ts';
import { ClusterBackendHandle, type ClusterHandleParts, type ClusterNode } from '../cluster/handle.ts';
import { apiCode, apiError, loadKubeConfig, ObjectCaches } from '../cluster/kube.ts';
import { modelFault, modelSysfsDump } from '../sim.ts';
import { buildImages, type ImageTarget } from '../../images/build.ts';
import { MULTUS_MANIFEST_URL, SYS_VOLUME, multusChrootDir, nodeShare, ownImages, parseManifest, pluginObjects, withNodeSys } from './config.ts';
import { KindCluster } from './cluster.ts';
import { SHARE_IN_NODE } from './share.ts';
import { KindTools, type KindToolsOptions } from './tools.ts';

export interface KindBackendOptions {
  /** where kind writes the cluster's kubeconfig (default: in the run's work directory) */
  kubeconfig?: string;
  /** run on this existing cluster (made with sriov-lab's kind config for the topology) instead of creating one */
  reuse?: string;
  /** keep the cluster the run created */
  keep?: boolean;
  tools?: KindToolsOptions;
  /** the host directory under which each cluster's node shares are (default /run/sriov-lab/kind) */
  shareRoot?: string;
  /** the Multus manifest's text (default: fetched from MULTUS_MANIFEST_URL) */
  fetchManifest?: (url: string) => Promise<string>;
}

const READY_MS = 300_000;
const NEEDS_SIM = 'use --backend sim';

/** why the kind backend refuses a fault (undefined: the kernel model does it) */
export function kindRefusesFault(kind: Fault['kind']): string | undefined {
  switch (kind) {
    case 'ipamFail':
      return "it needs the simulator's IPAM; the kind cluster's CNI runs with its own";
    case 'netnsRemove':
    case 'cniPath':
      return "it needs the simulated kubelet's sandboxes; a kind node's containerd keeps its own";
    case 'vfAttrFail': // the model's, seen by whatever sets VF attributes through the node's ip wrapper
    case 'sysfsFailWrites':
    case 'sysfsDelay':
    case 'pfLink':
    case 'vfLink':
    case 'vfUnplug':
      return undefined;
  }
}

async function fetchText(url: string): Promise<string> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`GET ${url}: ${r.status} ${r.statusText}`);
  return r.text();
}

export function kindBackend(o: KindBackendOptions = {}): Backend & BackendRunInfo & { withOptions(o: KindBackendOptions): Backend & BackendRunInfo; readonly maxJobs: 1 } {
  // the images this backend built in this process (tag + targets): each scenario's cluster loads them, built once
  const built = new Map<string, Promise<void>>();
  return {
    name: 'kind',
    // one scenario at a time: kind clusters are heavy (a few GiB each), and --reuse shares one
    maxJobs: 1,
    withOptions: (next) => kindBackend({ ...o, ...next }),
    pluginsUnderTest: (p) => [
      p.devicePlugin.argv
        ? { role: 'device-plugin', name: `the DaemonSet of ${p.devicePlugin.argv[0]}`, bundled: false }
        : { role: 'device-plugin', name: 'sriov-lab/device-plugin (deployments/sriov-lab-device-plugin-daemonset.yaml), built and loaded into the kind nodes', bundled: true },
      p.cni
        ? { role: 'cni', name: `the DaemonSet of ${p.cni.path}, through Multus`, bundled: false }
        : { role: 'cni', name: 'sriov-lab/cni as sriov and ehost-device (deployments/sriov-lab-cni-daemonset.yaml), built and loaded into the kind nodes, through Multus', bundled: true },
    ],
    async available() {
      for (const c of [caps.root(), caps.fuse(), caps.netns()]) if (!c.ok) return { ok: false, reason: `the kind backend needs ${c.name}: ${c.detail}` };
      try {
        const clusters = await new KindTools(o.tools).getClusters();
        return { ok: true, detail: `kind and docker here (${clusters.length} kind cluster(s)${o.reuse ? `; reusing ${o.reuse}` : ''}); the simulated hardware inside each node container` };
      } catch (e) {
        return { ok: false, reason: `kind get clusters: ${(e as Error).message} (the kind backend needs kind and a running Docker)` };
      }
    },
    provides(req: Requirement) {
      switch (req.kind) {
        case 'root':
        case 'fuse':
        case 'cniPlugins': // Multus and the CNI DaemonSet
        case 'command': // the node image's tools (bash, iproute2, util-linux)
          return { ok: true };
        case 'nodes':
          return { ok: true }; // one worker per topology node
        case 'vfsPerPf':
          return { ok: true }; // the kernel model's NICs, as on sim
        case 'vfNetlink':
          return { ok: true }; // `ip … vf …` in a node goes to the kernel model through the sim's ip wrapper, as on sim
        case 'vfio':
          return { ok: false, reason: "vfio: a pod's /dev/vfio devices are made by the node's containerd from real device nodes, and the model's are files" };
        case 'fault': {
          const why = kindRefusesFault(req.fault);
          return why ? { ok: false, reason: `fault ${req.fault}: ${why}` } : { ok: true };
        }
      }
    },
    up: (opts) => upKind(o, opts, built),
  };
}

/**
 * Builds sriov-lab's images with the image builder (`sriov-lab image build`, harness/images/build.ts), once per
 * process for each tag and set of targets; docker's layer cache makes a later build in another process quick.
 */
function buildOwnImages(built: Map<string, Promise<void>>, images: Array<{ image: string; target: ImageTarget }>, env: Record<string, string> | undefined, progress?: (line: string) => void): Promise<void[]> {
  const byTag = new Map<string, ImageTarget[]>();
  for (const { image, target } of images) {
    const tag = /:([^/:]+)$/.exec(image)?.[1] ?? 'latest';
    byTag.set(tag, [...(byTag.get(tag) ?? []), target]);
  }
  return Promise.all(
    [...byTag].map(([tag, targets]) => {
      const key = `${tag} ${targets.join(',')}`;
      let p = built.get(key);
      if (!p) {
        progress?.(`kind: building ${targets.map((t) => `${t}:${tag}`).join(', ')} (sriov-lab image build) for the kind nodes`);
        p = buildImages({ tag, targets, env, log: progress })
          .then(() => undefined)
          .catch((e: Error) => {
            built.delete(key);
            throw new Error(`the kind backend builds sriov-lab's images to load them into the nodes: ${e.message}`);
          });
        built.set(key, p);
      }
      return p;
    }),
  );
}

async function upKind(o: KindBackendOptions, opts: BackendUpOptions, built: Map<string, Promise<void>>): Promise<ClusterHandle> {
  const manifest = (p: { argv?: string[] } | undefined) => (p?.argv && /\.ya?ml$/.test(p.argv[0]) ? p.argv[0] : undefined);
  if (opts.devicePlugin.argv && !manifest(opts.devicePlugin)) throw new Error(`--device-plugin on kind: ${opts.devicePlugin.argv[0]} is not a manifest; a device plugin in a kind cluster runs as a DaemonSet from an image: give its manifest (FILE.yaml)`);
  if (opts.cni && !/\.ya?ml$/.test(opts.cni.path)) throw new Error(`--cni on kind: ${opts.cni.path} is not a manifest; a CNI in a kind cluster is installed by a DaemonSet from an image: give its manifest (FILE.yaml)`);
  const plugins = pluginObjects({ devicePluginConfig: opts.devicePlugin.config, devicePluginManifest: manifest(opts.devicePlugin), cniManifest: opts.cni?.path });
  const own = ownImages(plugins);
  const tools = new KindTools({ ...o.tools, progress: o.tools?.progress ?? opts.progress });
  const runId = `${process.pid.toString(36)}${randomBytes(2).toString('hex')}`;
  const name = o.reuse ?? `sriov-lab-${runId}`;
  const kubeconfig = o.kubeconfig ?? join(opts.workDir, `kind-${name}.kubeconfig`);
  const cluster = new KindCluster(tools, { name, reuse: o.reuse !== undefined, keep: o.keep === true, topology: opts.topology, workDir: opts.workDir, kubeconfig, shareRoot: join(o.shareRoot ?? '/run/sriov-lab/kind', name), progress: opts.progress });
  const log = (message: string) => opts.trace({ kind: 'log', atMs: Date.now(), source: 'harness', level: 'info', message });
  const nodes = new Map<string, ClusterNode>();
  let caches: ObjectCaches | undefined;
  let handle: ClusterBackendHandle | undefined;
  const removeHook = addExitHook({
    name: `kind backend run ${runId}`,
    async: async () => {
      if (handle) await handle.down();
      else await teardown();
    },
    timeoutMs: 180_000,
  });
  /** what is left once the handle's cleanup stopped the nodes: the watches, the cluster, the share */
  const teardown = async (): Promise<string[]> => {
    const problems: string[] = [];
    for (const [n, node] of nodes) await node.stop().catch((err: Error) => problems.push(`${n}: ${err.message}`));
    await caches?.stop();
    problems.push(...(await cluster.close()));
    removeHook();
    return problems;
  };

  /** the node's simulated hardware in its container, and its node interface (commands through docker exec) */
  const adopt = async (spec: NodeSpec, pid: number): Promise<void> => {
    const container = cluster.container(spec.name);
    const started = await adoptContainer({ name: spec.name, model: modelOptionsFor(spec, opts.seed), runId, pid, share: { host: nodeShare(cluster.o.shareRoot, spec.name), container: SHARE_IN_NODE }, log });
    const handlers = nodeOpsHandlers({ hostNs: false, nodeName: spec.name, exit: () => undefined, run: (argv, ro) => tools.dockerExec(container, argv, ro), nodeFile: (p) => `/proc/${pid}/root${p}` });
    const api = localNodeApi(handlers as NodeHandlers);
    const ctl = started.sysfs.control;
    const stop = async () => {
      nodes.delete(spec.name);
      await started.stop();
    };
    try {
      nodes.set(spec.name, {
        spec,
        api,
        hello: await api.call('hello', {}),
        baseline: [],
        fault: (f: MachineFault) => {
          const why = kindRefusesFault(f.kind);
          return why ? Promise.reject(new Error(`fault ${f.kind} on ${spec.name}: ${why} (${NEEDS_SIM})`)) : modelFault(ctl, f);
        },
        sysfsDump: () => modelSysfsDump(ctl),
        stop,
      });
    } catch (e) {
      await stop();
      throw e;
    }
    opts.progress?.(`${spec.name}: simulated hardware in kind node ${container} (PID ${pid}): sysfs over its /sys, netdevs in its network namespace`);
  };


  try {
    // the images first: a build that fails costs no cluster
    await buildOwnImages(built, own, o.tools?.env, opts.progress);
    await cluster.open();
    for (const { image } of own) {
      opts.progress?.(`kind: loading ${image} into the nodes of ${name}`);
      await tools.loadImage(image, name);
    }
    for (const spec of opts.topology.nodes) await adopt(spec, await cluster.pid(spec.name));

    const { kc } = loadKubeConfig(kubeconfig);
    const objects = KubernetesObjectApi.makeApiClient(kc);
    caches = new ObjectCaches(kc, objects, log);
    await caches.start();
    for (const spec of opts.topology.nodes) await caches.until(`node ${spec.name} Ready`, () => nodeReady(caches!.get('Node', spec.name), 0), READY_MS, opts.signal);

    const installed: KubeObject[] = [];
    const install = async (objs: KubeObject[], what: string) => {
      opts.progress?.(`kind: installing ${what}`);
      for (const obj of objs) {
        try {
          await objects.create(obj);
          installed.push(obj);
        } catch (e) {
          if (apiCode(e) !== 409) throw apiError(`create ${obj.kind} ${obj.metadata.name} (${what})`, e);
        }
      }
    };
    const multus = withNodeSys(parseManifest(await (o.fetchManifest ?? fetchText)(MULTUS_MANIFEST_URL), MULTUS_MANIFEST_URL));
    if (!multusChrootDir(multus)) {
      const warning = `kind: the Multus manifest's daemon config has no chrootDir: its delegate CNIs run in its own container, not in the node's root, and do not see the node's ip wrapper (VF settings then fail)`;
      log(warning);
      opts.progress?.(warning);
    }
    await install(multus, `Multus (${MULTUS_MANIFEST_URL})`);
    await install(plugins, 'the device plugin and CNI DaemonSets');
    for (const ds of installed.filter((x) => x.kind === 'DaemonSet')) {
      for (const spec of opts.topology.nodes) {
        await caches.until(`a pod of DaemonSet ${ds.metadata.namespace ?? 'default'}/${ds.metadata.name} running on ${spec.name}`, () => daemonPodRunning(caches!, ds, spec.name), READY_MS, opts.signal);
      }
    }
    const parts: ClusterHandleParts = { backend: 'kind', kc, objects, caches, runId, nodes, simulated: false, teardown, progress: opts.progress };
    handle = new KindHandle(parts, cluster, adopt);
    return handle;
  } catch (e) {
    const problems = await teardown();
    if (problems.length) (e as Error).message += `\ncleanup: ${problems.join('\n')}`;
    throw e;
  }
}

type PodLite = { metadata: { name: string; namespace?: string; uid?: string; deletionTimestamp?: string; ownerReferences?: Array<{ kind: string; name: string }> }; spec?: { nodeName?: string; volumes?: Array<{ name: string }> }; status?: { phase?: string } };

function daemonPodRunning(caches: ObjectCaches, ds: KubeObject, node: string, notUid?: Set<string>): boolean {
  return caches.list('Pod', ds.metadata.namespace ?? 'default').some((o) => {
    const p = o as unknown as PodLite;
    return p.spec?.nodeName === node && p.status?.phase === 'Running' && !p.metadata.deletionTimestamp && !notUid?.has(p.metadata.uid ?? '') && !!p.metadata.ownerReferences?.some((r) => r.kind === 'DaemonSet' && r.name === ds.metadata.name);
  });
}

/** the node is Ready, by a heartbeat at or after `sinceMs` (its kubelet has come back, not just a stale status) */
function nodeReady(n: KubeObject | undefined, sinceMs: number): boolean {
  const conds = (n as { status?: { conditions?: Array<{ type: string; status: string; lastHeartbeatTime?: string }> } } | undefined)?.status?.conditions ?? [];
  // the API's times are whole seconds
  return conds.some((c) => c.type === 'Ready' && c.status === 'True' && (sinceMs === 0 || Date.parse(c.lastHeartbeatTime ?? '') >= Math.floor(sinceMs / 1000) * 1000));
}

/** The cluster backend's handle, with a kind node's own kubelet restart, reboot and faults. */
class KindHandle extends ClusterBackendHandle {
  constructor(
    private readonly parts: ClusterHandleParts,
    private readonly cluster: KindCluster,
    private readonly adopt: (spec: NodeSpec, pid: number) => Promise<void>,
  ) {
    super(parts);
  }

  override async kubelet(node: string, action: 'restart' | 'stop' | 'start'): Promise<void> {
    const since = Date.now();
    await this.cluster.kubelet(node, action);
    if (action === 'stop') return;
    await this.parts.caches.until(`node ${node} Ready after kubelet ${action}`, () => nodeReady(this.parts.caches.get('Node', node), since), READY_MS);
  }

  /**
   * docker restart of the node container: its namespaces are new, so the simulated hardware is taken off first and
   * adopted again after (a fresh model, as a machine's NICs come back from a power cycle), then the pods that mount
   * the node's /sys are replaced, since they started before the model was back over it.
   */
  override async nodeReboot(node: string): Promise<void> {
    const n = this.parts.nodes.get(node);
    if (!n) throw new Error(`node "${node}" is not a node of this run (${this.nodes.join(', ')})`);
    this.parts.progress?.(`${node}: reboot: docker restart ${this.cluster.container(node)}`);
    await n.stop();
    const since = Date.now();
    await this.adopt(n.spec, await this.cluster.reboot(node));
    await this.parts.caches.until(`node ${node} Ready after its reboot`, () => nodeReady(this.parts.caches.get('Node', node), since), READY_MS);
    const stale = this.parts.caches.list('Pod').filter((o) => {
      const p = o as unknown as PodLite;
      return p.spec?.nodeName === node && !p.metadata.deletionTimestamp && (p.spec.volumes ?? []).some((v) => v.name === SYS_VOLUME);
    }) as unknown as PodLite[];
    const old = new Set(stale.map((p) => p.metadata.uid ?? ''));
    for (const p of stale) {
      await this.parts.objects.delete({ apiVersion: 'v1', kind: 'Pod', metadata: { name: p.metadata.name, namespace: p.metadata.namespace } }).catch((err: unknown) => {
        if (apiCode(err) !== 404) throw apiError(`delete pod ${p.metadata.namespace}/${p.metadata.name}`, err);
      });
    }
    for (const p of stale) {
      const owner = p.metadata.ownerReferences?.find((r) => r.kind === 'DaemonSet');
      if (!owner) continue;
      const ds = { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: owner.name, namespace: p.metadata.namespace } };
      await this.parts.caches.until(`a new pod of DaemonSet ${p.metadata.namespace}/${owner.name} running on ${node}`, () => daemonPodRunning(this.parts.caches, ds, node, old), READY_MS);
    }
  }

  override async fault(node: string, fault: Fault): Promise<void> {
    const why = kindRefusesFault(fault.kind);
    if (why) throw new Error(`fault ${fault.kind} on ${node}: ${why} (${NEEDS_SIM})`);
    const n = this.parts.nodes.get(node);
    if (!n) throw new Error(`node "${node}" is not a node of this run (${this.nodes.join(', ')})`);
    await n.fault(fault as MachineFault);
  }
}

export const kindBackendDefault = kindBackend();
