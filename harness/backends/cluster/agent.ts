// The node-agent DaemonSet the `cluster` backend deploys for a run, in a namespace of its own
// (`sriov-lab-agent-<run>`): privileged, hostNetwork, hostPID, the node's /sys, /dev and /var/lib/kubelet mounted. Its
// container only waits; each node's agent (harness/node/node-ops.ts) is started in it through the exec WebSocket and
// speaks node-rpc on that exec's stdin/stdout.
import type { KubeConfig } from '@kubernetes/client-node';
import type { KubeObject } from '../../backend.ts';
import { NODE, dist } from '../../node/agent-launch.ts';
import { NodeRpcClient, type Methods, type NodeEvents } from '../../node/node-rpc.ts';
import { podExecStream } from './kube.ts';
import { SRIOV_LAB_IMAGES } from '../../../sim/cluster/images.ts';

export const AGENT_NAME = 'sriov-lab-node-agent';
export const AGENT_CONTAINER = 'agent';
/** the label every object of a run carries, with the run's id */
export const RUN_LABEL = 'sriov-lab.dev/run';
/**
 * The agent image on a real cluster (`sriov-lab image build`, Dockerfile target node-agent): node at
 * /usr/local/bin/node, the agent bundle at /opt/sriov-lab, nsenter and sleep (docs/backends.md). A simulated node runs
 * no image: the container runs with the node's programs, the project's own.
 */
export const AGENT_IMAGE = `${SRIOV_LAB_IMAGES['node-agent']}:latest`;
export const IMAGE_NODE = '/usr/local/bin/node';
export const IMAGE_AGENT_BUNDLE = '/opt/sriov-lab/sriov-lab-node-agent.mjs';

export const agentNamespace = (runId: string): string => `sriov-lab-agent-${runId}`;

/** The Namespace and DaemonSet of a run's agents, on the given nodes only. */
export function agentManifests(runId: string, nodes: string[], image = AGENT_IMAGE): KubeObject[] {
  const namespace = agentNamespace(runId);
  const labels = { app: AGENT_NAME, [RUN_LABEL]: runId };
  const hostPath = (name: string, path: string) => ({ name, hostPath: { path } });
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace, labels: { [RUN_LABEL]: runId } } },
    {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: AGENT_NAME, namespace, labels },
      spec: {
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            hostNetwork: true,
            hostPID: true,
            terminationGracePeriodSeconds: 1,
            // the nodes of the scenario's topology, whatever their taints
            tolerations: [{ operator: 'Exists' }],
            affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: nodes }] }] } } },
            containers: [
              {
                name: AGENT_CONTAINER,
                image,
                command: ['sleep', 'infinity'],
                securityContext: { privileged: true },
                volumeMounts: [
                  { name: 'sys', mountPath: '/sys' },
                  { name: 'dev', mountPath: '/dev' },
                  { name: 'kubelet', mountPath: '/var/lib/kubelet' },
                ],
              },
            ],
            volumes: [hostPath('sys', '/sys'), hostPath('dev', '/dev'), hostPath('kubelet', '/var/lib/kubelet')],
          },
        },
      },
    },
  ];
}

/**
 * The argv that starts a node's agent in its pod: on a simulated node the project's bundle with this machine's node
 * (the pod sees them), commands in the container's view; on a real node the image's, commands in the host's namespaces.
 */
export function agentArgv(node: string, simulated: boolean): string[] {
  return simulated ? [NODE, dist('sriov-lab-node-agent'), '--stdio', '--node', node] : [IMAGE_NODE, IMAGE_AGENT_BUNDLE, '--stdio', '--node', node, '--host-ns'];
}

/** Starts the agent in a pod through exec and waits for its hello; the error carries what the agent said on stderr. */
export async function startAgentSession(kc: KubeConfig, pod: { namespace: string; name: string; node: string }, simulated: boolean, events: NodeEvents): Promise<{ client: NodeRpcClient; hello: Methods['hello']['result']; stderr: () => string }> {
  let stderr = '';
  const stream = await podExecStream(kc, { namespace: pod.namespace, pod: pod.name, container: AGENT_CONTAINER }, agentArgv(pod.node, simulated), (s) => {
    stderr = (stderr + s).slice(-16_384);
  });
  const client = new NodeRpcClient(pod.node, stream, events);
  try {
    const hello = await client.call('hello', {}, 30_000);
    return { client, hello, stderr: () => stderr };
  } catch (e) {
    client.close();
    throw new Error(`the node agent in pod ${pod.namespace}/${pod.name} (node ${pod.node}) did not answer: ${(e as Error).message}${stderr ? `\n--- its stderr ---\n${stderr.trim()}` : ''}`);
  }
}
