// The `cluster` backend: the scenarios on an existing Kubernetes cluster (`--kubeconfig FILE`, else $KUBECONFIG, else
// ~/.kube/config) — its real API server, scheduler, kubelets, device plugin DaemonSets and CNI — with node operations
// through a node-agent DaemonSet the run deploys in a namespace of its own and removes afterwards (agent.ts). The
// scenario's topology is what the cluster must have: its nodes by name, their NICs by PCI address and netdev name;
// each SR-IOV PF starts the scenario with the topology's VF count and gets its own back at the end.
import { randomBytes } from 'node:crypto';
import { KubernetesObjectApi } from '@kubernetes/client-node';
import type { Backend, BackendRunInfo, BackendUpOptions, ClusterHandle, KubeObject, Requirement } from '../../backend.ts';
import { addExitHook } from '../../exit-hooks.ts';
import { agentNode, realKernelProvidesFault } from '../agent-node.ts';
import { AGENT_NAME, RUN_LABEL, agentManifests, agentNamespace, startAgentSession } from './agent.ts';
import { ClusterBackendHandle, checkNodeNics, clusterRefusesFault, setNumVfs, type ClusterNode } from './handle.ts';
import { apiCode, apiError, loadKubeConfig, ObjectCaches } from './kube.ts';

export interface ClusterBackendOptions {
  /** the kubeconfig file; default $KUBECONFIG, then ~/.kube/config */
  kubeconfig?: string;
}

const AGENT_READY_MS = 180_000;
/** how long available() waits for the API server's node list */
const AVAILABLE_MS = 20_000;

interface NodeLite {
  metadata: { name: string };
  status?: { nodeInfo?: { containerRuntimeVersion?: string; kubeletVersion?: string } };
}

/** a node whose runtime is sriov-lab's simulator (`up`): its pods run in the node's view, its kubelet is emulated */
const isSimulated = (n: NodeLite): boolean => (n.status?.nodeInfo?.containerRuntimeVersion ?? '').startsWith('sim://');

export function clusterBackend(o: ClusterBackendOptions = {}): Backend & BackendRunInfo & { withOptions(o: ClusterBackendOptions): Backend & BackendRunInfo; readonly maxJobs: 1 } {
  /** the cluster's nodes as available() saw them, for `provides` */
  let seen: { nodes: string[]; server: string } | undefined;
  return {
    name: 'cluster',
    // one scenario at a time (run --jobs): they share the cluster's nodes, PFs and the default namespace
    maxJobs: 1,
    withOptions: (next) => clusterBackend({ ...o, ...next }),
    pluginsUnderTest: () => [
      { role: 'device-plugin', name: "the cluster's device plugin DaemonSet", bundled: false },
      { role: 'cni', name: "the cluster's CNI", bundled: false },
    ],
    async available() {
      try {
        const { kc, source } = loadKubeConfig(o.kubeconfig);
        const objects = KubernetesObjectApi.makeApiClient(kc);
        const server = kc.getCurrentCluster()?.server;
        let timer: NodeJS.Timeout | undefined;
        const list = await Promise.race([
          objects.list('v1', 'Node').catch((e: unknown) => {
            throw apiError(`list nodes of ${server}`, e);
          }),
          new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`list nodes of ${server}: no answer within ${AVAILABLE_MS} ms`)), AVAILABLE_MS))),
        ]).finally(() => clearTimeout(timer));
        const nodes = list.items.map((n) => n.metadata?.name ?? '');
        seen = { nodes, server: kc.getCurrentCluster()?.server ?? '' };
        const kinds = [...new Set((list.items as NodeLite[]).map((n) => (isSimulated(n) ? 'simulated' : (n.status?.nodeInfo?.kubeletVersion ?? 'kubelet'))))];
        return { ok: true, detail: `the cluster at ${seen.server} (${source}): ${nodes.length} node(s) ${nodes.join(', ')}, ${kinds.join(', ')}; node operations through a node-agent DaemonSet` };
      } catch (e) {
        return { ok: false, reason: (e as Error).message };
      }
    },
    provides(req: Requirement) {
      switch (req.kind) {
        case 'root': // the node agent is a privileged pod
        case 'fuse': // the node's sysfs is the cluster's own: nothing to simulate
        case 'vfNetlink': // the PF driver's; a setting it refuses fails the scenario with the kernel's error
        case 'vfio': // the node's; a bind to vfio-pci on a node without it fails with the kernel's error
        case 'cniPlugins': // the cluster's CNI and Multus
        case 'vfsPerPf': // the nodes' NICs; more than one has fails with the kernel's error
          return { ok: true };
        case 'nodes':
          return !seen || seen.nodes.length >= req.count ? { ok: true } : { ok: false, reason: `the cluster at ${seen.server} has ${seen.nodes.length} node(s); the scenario needs ${req.count}` };
        case 'command':
          // run on the node by the agent: a missing command fails the scenario's exec with the shell's message
          return { ok: true };
        case 'fault': {
          const why = clusterRefusesFault(req.fault);
          return why ? { ok: false, reason: `fault ${req.fault}: ${why}` } : realKernelProvidesFault(req.fault);
        }
      }
    },
    async up(opts: BackendUpOptions): Promise<ClusterHandle> {
      const { kc } = loadKubeConfig(o.kubeconfig);
      const objects = KubernetesObjectApi.makeApiClient(kc);
      const runId = `${process.pid.toString(36)}${randomBytes(3).toString('hex')}`;
      const namespace = agentNamespace(runId);
      const log = (message: string) => opts.trace({ kind: 'log', atMs: Date.now(), source: 'harness', level: 'info', message });
      const caches = new ObjectCaches(kc, objects, log);
      const nodes = new Map<string, ClusterNode>();
      let nsCreated = false;
      const deleteNamespace = async (): Promise<string[]> => {
        if (!nsCreated) return [];
        try {
          await objects.delete({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
        } catch (e) {
          if (apiCode(e) !== 404) return [apiError(`delete namespace ${namespace}`, e).message];
        }
        // gone, with its DaemonSet and pods, before the next scenario starts
        const deadline = Date.now() + AGENT_READY_MS;
        for (;;) {
          try {
            await objects.read({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
          } catch (e) {
            if (apiCode(e) === 404) return [];
            return [apiError(`read namespace ${namespace}`, e).message];
          }
          if (Date.now() > deadline) return [`namespace ${namespace} is still there after ${AGENT_READY_MS} ms`];
          await new Promise((r) => setTimeout(r, 250));
        }
      };
      // Ctrl-C, SIGTERM, a closed terminal: the run's cleanup (the handle's down once there is one) before the process
      // dies of the signal
      let handle: ClusterBackendHandle | undefined;
      const removeHook = addExitHook({
        name: `cluster backend run ${runId}`,
        async: async () => {
          if (handle) await handle.down();
          else await teardown();
        },
        timeoutMs: 120_000,
      });
      const teardown = async (): Promise<string[]> => {
        const problems = await deleteNamespace();
        await caches.stop();
        removeHook();
        return problems;
      };
      try {
        opts.progress?.(`cluster: ${kc.getCurrentCluster()?.server}: watching pods, nodes, events and NADs`);
        await caches.start();
        const all = caches.list('Node') as unknown as NodeLite[];
        const missing = opts.topology.nodes.filter((n) => !all.some((c) => c.metadata.name === n.name));
        if (missing.length) throw new Error(`the cluster has no node ${missing.map((n) => n.name).join(', ')} of the scenario's topology (its nodes: ${all.map((n) => n.metadata.name).join(', ') || 'none'})`);
        const names = opts.topology.nodes.map((n) => n.name);
        const simulated = all.filter((n) => names.includes(n.metadata.name)).every(isSimulated);

        opts.progress?.(`cluster: deploying the node agents (DaemonSet ${namespace}/${AGENT_NAME}) on ${names.join(', ')}`);
        for (const m of agentManifests(runId, names)) {
          await objects.create(m).catch((e: unknown) => {
            throw apiError(`create ${m.kind} ${m.metadata.name}`, e);
          });
          if (m.kind === 'Namespace') nsCreated = true;
        }
        const agentPod = (node: string) =>
          caches.list('Pod', namespace).find((p) => {
            const pod = p as { spec?: { nodeName?: string }; status?: { phase?: string }; metadata: { labels?: Record<string, string>; deletionTimestamp?: string } };
            return pod.spec?.nodeName === node && pod.metadata.labels?.[RUN_LABEL] === runId && pod.status?.phase === 'Running' && !pod.metadata.deletionTimestamp;
          });
        for (const spec of opts.topology.nodes) {
          const pod = await caches.until(`the node agent's pod running on ${spec.name}`, () => agentPod(spec.name), AGENT_READY_MS, opts.signal);
          const session = await startAgentSession(kc, { namespace, name: pod.metadata.name, node: spec.name }, simulated, () => undefined);
          const node = agentNode(spec, session.client, session.hello, async () => undefined);
          const pfs = await checkNodeNics(node, spec, opts.topology.name ?? 'of the scenario').catch(async (e: Error) => {
            await node.stop();
            throw e;
          });
          nodes.set(spec.name, { ...node, baseline: pfs.map(({ pciAddr, numVfs }) => ({ pciAddr, numVfs })) });
          // the topology's VF count, as the scenario expects to start
          for (const pf of pfs) if (pf.want !== undefined && pf.want !== pf.numVfs) await setNumVfs(node, pf.pciAddr, pf.want);
          opts.progress?.(`${spec.name}: node agent up in pod ${namespace}/${pod.metadata.name} (kernel ${session.hello.kernelRelease})`);
        }
        handle = new ClusterBackendHandle({ backend: 'cluster', kc, objects, caches, runId, nodes, simulated, teardown, progress: opts.progress });
        return handle;
      } catch (e) {
        for (const n of nodes.values()) {
          for (const b of n.baseline) await setNumVfs(n, b.pciAddr, b.numVfs).catch(() => undefined);
          await n.stop().catch(() => undefined);
        }
        const problems = await teardown();
        if (problems.length) (e as Error).message += `\ncleanup: ${problems.join('\n')}`;
        throw e;
      }
    },
  };
}

export const clusterBackendDefault = clusterBackend();
export type { KubeObject };
