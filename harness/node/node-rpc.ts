// The wire between the cluster brain on the host and a node agent in a guest (or any machine): JSON lines over TCP.
// A request `{id, method, params}` gets one reply `{id, result}` or `{id, error: {name, message, reason?}}`; the agent
// also pushes notifications `{event, data}` (resources changed, kubelet events, pod status, trace events), written to
// the same stream in the order they happened, so a reply never overtakes the events that preceded it.
import { connect, type Server, type Socket } from 'node:net';
import { onLines } from '../../sim/lines.ts';
import type { V1Pod } from '@kubernetes/client-node';
import type { AdmitResult, PodSpecLite, ResourceList } from '../../sim/kubelet/types.ts';
import type { KubeletEvent, PodStatusLite } from '../../sim/kubelet/index.ts';
import type { NadLite, NodeRuntimeEvent, PodLeftovers } from '../../sim/cluster/node-runtime.ts';
import type { ExecOutcome } from '../../sim/node/exec.ts';
import type { LogRead, PodContainersReport } from '../../sim/cluster/containers.ts';
import type { ExecRead } from '../../sim/cluster/exec-sessions.ts';
import type { ConfigMapLite } from '../../sim/cluster/volumes.ts';
import type { DevicePluginAction } from '../scenario/types.ts';

export const NODE_AGENT_PORT = 7411;

export interface Resources {
  capacity: ResourceList;
  allocatable: ResourceList;
}

export interface NodeAgentConfig {
  nodeName: string;
  index: number;
  seed: string;
  port: number;
  /** listen address (default 0.0.0.0: QEMU's user network connects to the guest's address) */
  listenHost?: string;
  registrationModes?: Array<'kubelet.sock' | 'plugins_registry'>;
  devicePluginArgv: string[];
  devicePluginConfig: unknown;
  cniPlugins: Record<string, string>;
  /** netdev names the topology gives: rename the guest's PFs (by PCI address) and name VFs `<pf>v<N>` like udev */
  renames: Array<{ pciAddr: string; ifname: string }>;
  predictableVfNames: boolean;
}

export interface Methods {
  hello: { params: Record<string, never>; result: Resources & { nodeName: string; kernelRelease: string } };
  admitPod: { params: { pod: PodSpecLite }; result: AdmitResult };
  releasePod: { params: { uid: string }; result: null };
  /** nads: the NADs its networks annotation may name; configMaps: those its volumes name (namespace/name) */
  podStarted: { params: { pod: V1Pod; nads: Record<string, NadLite>; configMaps?: Record<string, ConfigMapLite> }; result: { annotations: Record<string, string>; podIP?: string } };
  /** the pod's containers stop: SIGTERM, SIGKILL after the grace period (the first step of a pod going) */
  stopContainers: { params: { pod: V1Pod; gracePeriodSeconds: number }; result: null };
  /** the sandbox torn down (CNI DEL); a failing DEL is logged and left to the sandbox GC */
  podStopped: { params: { pod: V1Pod }; result: null };
  /** removes the pod's sandbox network namespace under it (a fault); returns its name */
  removePodNetns: { params: { namespace: string; name: string }; result: { netns: string } };
  /** the CNI plugins' directory goes away (up: false) or comes back */
  setCniPath: { params: { up: boolean }; result: null };
  /** one run of the sandbox GC now; how many failed teardowns are left */
  gcSandboxes: { params: Record<string, never>; result: { left: number } };
  /** what the node still holds for pods it has no sandbox for: netns, IPAM leases, mounts, processes (the soak's leak check) */
  podLeftovers: { params: Record<string, never>; result: PodLeftovers };
  exec: { params: { argv: string[]; input?: string; timeoutMs?: number }; result: ExecOutcome };
  execInPod: { params: { pod: V1Pod; argv: string[]; input?: string; timeoutMs?: number }; result: ExecOutcome };
  /** a container's log from offset (bytes of the instance) or its last tailLines lines; waits up to waitMs for more */
  containerLog: { params: { uid: string; container: string; previous?: boolean; offset?: number; tailLines?: number; waitMs?: number }; result: LogRead };
  /** an interactive command in a pod's container, driven by execInput/execRead (a long poll) and ended by execKill */
  execStart: { params: { pod: V1Pod; container: string; argv: string[]; stdin: boolean; tty: boolean }; result: { id: string } };
  execInput: { params: { id: string; data?: string; close?: boolean }; result: null };
  execRead: { params: { id: string; waitMs: number }; result: ExecRead };
  execKill: { params: { id: string }; result: null };
  kubelet: { params: { action: 'restart' | 'stop' | 'start' }; result: null };
  devicePlugin: { params: { action: DevicePluginAction }; result: { pid?: number } };
  reboot: { params: Record<string, never>; result: null };
  setIpamFailure: { params: { count: number; message: string }; result: null };
  advanceClock: { params: { ms: number }; result: null };
  collect: { params: { what: string[] }; result: { pluginLog?: string; kubeletLog?: string; checkpoint?: string; podResources?: string; errors: Record<string, string> } };
  /** waits until the device plugin registered, or ran aliveMs without registering (nothing to serve), or exited */
  devicePluginReady: { params: { aliveMs: number; timeoutMs: number }; result: { registered: boolean; running: boolean; waitedMs: number } };
  shutdown: { params: Record<string, never>; result: null };
}
export type Method = keyof Methods;

export interface Notifications {
  resources: Resources;
  kubelet: KubeletEvent;
  podStatus: PodStatusLite;
  runtime: NodeRuntimeEvent;
  /** a pod's containers changed: all of them, as they are now */
  containers: PodContainersReport;
}
export type NotificationName = keyof Notifications;
/** one notification of a node, as its receiver gets it */
export type NodeNotification = { [N in NotificationName]: { event: N; data: Notifications[N] } }[NotificationName];
/** where a node's notifications go, in the order they happened; given before the node starts, so none is missed */
export type NodeEvents = (n: NodeNotification) => void;

/**
 * The node interface: what the cluster asks of a node (node-rpc's methods). A node agent serves it over TCP
 * (NodeRpcClient here); a simulated node serves the same handlers in this process (node-service.ts).
 */
export interface NodeApi {
  call<M extends Method>(method: M, params: Methods[M]['params'], timeoutMs?: number): Promise<Methods[M]['result']>;
  close(): void;
}

export type Request = { id: number; method: Method; params: unknown };
export type Reply = { id: number; result?: unknown; error?: RpcErrorBody };
export type Notification = { event: NotificationName; data: unknown };
export interface RpcErrorBody {
  name: string;
  message: string;
  /** PodStartError's reason */
  reason?: string;
}

export class NodeRpcError extends Error {
  constructor(
    readonly node: string,
    readonly method: string,
    readonly remote: RpcErrorBody,
  ) {
    super(remote.message);
    this.name = remote.name || 'NodeRpcError';
  }
}

/** The stream's JSON messages, one per line. */
function onMessages(sock: Pick<RpcStream, 'setEncoding' | 'on'>, cb: (msg: unknown) => void): void {
  onLines(sock, (line) => {
    if (line.trim()) cb(JSON.parse(line));
  });
}

export type NodeHandlers = { [M in Method]: (params: Methods[M]['params']) => Promise<Methods[M]['result']> };

/** A byte stream node-rpc runs over: a TCP socket, or a command's stdin/stdout (an exec session into a pod). */
export interface RpcStream {
  setEncoding(e: BufferEncoding): unknown;
  on(ev: 'data', cb: (d: string) => void): unknown;
  on(ev: 'close', cb: () => void): unknown;
  on(ev: 'error', cb: (e: Error) => void): unknown;
  write(s: string): unknown;
  destroy(): unknown;
  readonly destroyed: boolean;
}

/**
 * Answers the requests that arrive on `input` with `write`; a method without a handler gets an error naming it and
 * `unsupported` (the node-operations agent serves only some methods).
 */
export function answerNodeRpc(input: Pick<RpcStream, 'setEncoding' | 'on'>, write: (line: string) => void, handlers: Partial<NodeHandlers>, unsupported = 'unknown method'): void {
  onMessages(input, (msg) => {
    const req = msg as Request;
    const h = handlers[req.method] as ((p: unknown) => Promise<unknown>) | undefined;
    const reply = (r: Reply) => write(`${JSON.stringify(r)}\n`);
    if (!h) return reply({ id: req.id, error: { name: 'NodeRpcError', message: `${unsupported} ${String(req.method)}` } });
    h(req.params).then(
      (result) => reply({ id: req.id, result: result ?? null }),
      (e: Error & { reason?: string }) => reply({ id: req.id, error: { name: e.name, message: e.message, reason: e.reason } }),
    );
  });
}

/** Serves one client at a time on `server` (the cluster brain); notifications go to the connected client. */
export function serveNodeRpc(server: Server, handlers: NodeHandlers): { notify: NodeEvents } {
  let client: Socket | null = null;
  server.on('connection', (sock) => {
    client?.destroy();
    client = sock;
    sock.on('error', () => undefined);
    sock.on('close', () => {
      if (client === sock) client = null;
    });
    answerNodeRpc(sock, (line) => {
      if (!sock.destroyed) sock.write(line);
    }, handlers);
  });
  return {
    notify(n) {
      if (client && !client.destroyed) client.write(`${JSON.stringify(n)}\n`);
    },
  };
}

/** The host side: calls and notifications of one node agent. */
export class NodeRpcClient implements NodeApi {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; method: string }>();
  private closed = false;

  /** a client over any stream to an agent (connect() makes one over TCP) */
  constructor(
    readonly node: string,
    private readonly sock: RpcStream,
    events: NodeEvents,
  ) {
    onMessages(sock, (msg) => {
      const m = msg as Reply & Notification;
      if (m.event) {
        events(m as NodeNotification);
        return;
      }
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.error) p.reject(new NodeRpcError(node, p.method, m.error));
      else p.resolve(m.result);
    });
    const fail = () => {
      this.closed = true;
      for (const p of this.pending.values()) p.reject(new Error(`node agent of ${node}: connection closed during ${p.method}`));
      this.pending.clear();
    };
    sock.on('close', fail);
    sock.on('error', () => undefined);
  }

  /**
   * Connects to 127.0.0.1:port and waits for the agent's hello, retrying until deadline (the guest boots). The agent's
   * notifications go to `events` from the first byte on.
   */
  static async connect(node: string, port: number, timeoutMs: number, events: NodeEvents): Promise<{ client: NodeRpcClient; hello: Methods['hello']['result'] }> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      const sock = await new Promise<Socket | null>((resolve) => {
        const s = connect({ host: '127.0.0.1', port });
        s.once('connect', () => resolve(s));
        s.once('error', (e) => {
          last = e.message;
          resolve(null);
        });
      });
      if (sock) {
        const client = new NodeRpcClient(node, sock, events);
        try {
          // QEMU's user network accepts before the guest listens; a hello that gets no answer soon is retried
          const hello = await client.call('hello', {}, 3000);
          return { client, hello };
        } catch (e) {
          last = (e as Error).message;
          sock.destroy();
        }
      }
      await new Promise((r) => setTimeout(r, 300));
    }
    throw new Error(`node agent of ${node} did not answer on 127.0.0.1:${port} within ${timeoutMs} ms (${last})`);
  }

  call<M extends Method>(method: M, params: Methods[M]['params'], timeoutMs = 120_000): Promise<Methods[M]['result']> {
    if (this.closed) return Promise.reject(new Error(`node agent of ${this.node}: connection closed`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        if (this.pending.delete(id)) reject(new Error(`node agent of ${this.node}: ${method} got no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      timer.unref();
      this.pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v as Methods[M]['result']);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
        method,
      });
      this.sock.write(`${JSON.stringify({ id, method, params })}\n`);
    });
  }

  close(): void {
    this.closed = true;
    this.sock.destroy();
  }
}
