// The node agent's node-operations mode (`sriov-lab-node-agent --stdio [--node NAME] [--host-ns]`), for a node whose kubelet,
// device plugin and CNI are the cluster's own (the `cluster` and `kind` backends): it runs in a privileged,
// hostNetwork, hostPID pod of the agent DaemonSet and serves the node-rpc methods a real node can answer — exec on the
// node, collect (kubelet log, device-manager checkpoint, pod-resources), kubelet restart — over its stdin/stdout, which
// the backend reaches through the pod's exec WebSocket. The methods of the emulated kubelet (admitPod, podStarted,
// advanceClock, …) are answered with an error naming them.
//
// With --host-ns a command runs in the host's namespaces (nsenter into PID 1, which hostPID makes the node's init), so
// it finds the node's own tools, /sys and systemd, as `kubectl debug node` does; without it (a simulated node, whose
// pod containers already run in the node's view) it runs in the agent's container.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { PodResourcesClient } from '../../sim/kubelet/grpc.ts';
import { execWith, spawnLocal, type ExecOutcome } from '../../sim/node/exec.ts';
import { answerNodeRpc, type Methods, type NodeHandlers } from './node-rpc.ts';

export const CHECKPOINT_PATH = '/var/lib/kubelet/device-plugins/kubelet_internal_checkpoint';
export const POD_RESOURCES_SOCKET = '/var/lib/kubelet/pod-resources/kubelet.sock';
const NSENTER = ['nsenter', '--target', '1', '--mount', '--uts', '--ipc', '--net', '--pid', '--'];
const ENV = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/root' };

export interface NodeOpsOptions {
  /** run commands in the host's namespaces (a real node), not in the agent's container (a simulated one) */
  hostNs: boolean;
  nodeName: string;
  /** the agent's exit (shutdown, or its stdin closed) */
  exit: () => void;
  /**
   * runs a command on the node instead (a kind node: `docker exec` into its container, from the host); files are then
   * read with `cat` through it and the pod-resources socket is found with `nodeFile`
   */
  run?: (argv: string[], opts: { input?: string; timeoutMs?: number }) => Promise<ExecOutcome>;
  /** where a node path is on the machine the handlers run on (default: the path itself) */
  nodeFile?: (path: string) => string;
}

export function nodeOpsHandlers(o: NodeOpsOptions): Partial<NodeHandlers> {
  const onHost = (argv: string[]) => (o.hostNs ? [...NSENTER, ...argv] : argv);
  const run = (argv: string[], opts: { input?: string; timeoutMs?: number } = {}) => (o.run ? o.run(argv, opts) : execWith(spawnLocal, onHost(argv), { ...opts, env: ENV }));
  const readNodeFile = async (path: string): Promise<string> => {
    if (!o.run) return readFileSync(path, 'utf8');
    const r = await run(['cat', path], { timeoutMs: 30_000 });
    if (r.exitCode !== 0) throw new Error(r.stderr.trim() || `cat ${path}: exit code ${r.exitCode}`);
    return r.stdout;
  };
  const needsHost = (what: string) => {
    if (!o.hostNs && !o.run) throw new Error(`${what} needs the node's own systemd: this node's kubelet is not a service the agent can reach (a simulated node: use sriov-lab restart kubelet)`);
  };
  return {
    hello: async () => ({ nodeName: o.nodeName, kernelRelease: readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim(), capacity: {}, allocatable: {} }),
    exec: ({ argv, input, timeoutMs }) => run(argv, { input, timeoutMs }),
    kubelet: async ({ action }) => {
      needsHost(`kubelet ${action}`);
      const r = await run(['systemctl', action, 'kubelet'], { timeoutMs: 60_000 });
      if (r.exitCode !== 0) throw new Error(`systemctl ${action} kubelet: ${r.stderr.trim() || `exit code ${r.exitCode}`}`);
      return null;
    },
    collect: async ({ what }) => {
      const out: Methods['collect']['result'] = { errors: {} };
      for (const w of what) {
        try {
          if (w === 'logs') {
            needsHost('the kubelet log');
            const r = await run(['journalctl', '--unit', 'kubelet', '--lines', '2000', '--no-pager', '--output', 'short-iso'], { timeoutMs: 30_000 });
            if (r.exitCode !== 0) throw new Error(`journalctl --unit kubelet: ${r.stderr.trim()}`);
            out.kubeletLog = r.stdout;
          } else if (w === 'checkpoint') out.checkpoint = await readNodeFile(CHECKPOINT_PATH);
          else if (w === 'podResources') {
            const c = new PodResourcesClient(o.nodeFile ? o.nodeFile(POD_RESOURCES_SOCKET) : POD_RESOURCES_SOCKET);
            try {
              const [list, allocatable] = await Promise.all([c.list(5000), c.getAllocatableResources(5000)]);
              out.podResources = JSON.stringify({ list, allocatable }, null, 2);
            } finally {
              c.close();
            }
          }
        } catch (e) {
          out.errors[w] = (e as Error).message;
        }
      }
      return out;
    },
    shutdown: async () => {
      setImmediate(o.exit);
      return null;
    },
  };
}

/** Serves node operations on stdin/stdout until stdin closes or `shutdown`; diagnostics go to stderr. */
export function serveNodeOpsOnStdio(args: string[]): void {
  const at = args.indexOf('--node');
  const nodeName = (at >= 0 ? args[at + 1] : undefined) || process.env.NODE_NAME || hostname();
  const exit = () => process.exit(0);
  const handlers = nodeOpsHandlers({ hostNs: args.includes('--host-ns'), nodeName, exit });
  answerNodeRpc(process.stdin, (line) => void process.stdout.write(line), handlers, 'not served on a node of a real cluster (its kubelet is the cluster\'s):');
  process.stdin.on('end', exit);
  process.stderr.write(`${new Date().toISOString()} node-agent ${nodeName}: serving node operations on stdio${args.includes('--host-ns') ? ' in the host namespaces' : ''}\n`);
}
