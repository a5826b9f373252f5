// The node side of the node interface, whatever carries it: the node-rpc methods served by one NodeRuntime (kubelet
// emulator, device plugin under test, sandboxes, CNI). The node agent serves these handlers over TCP (node-agent.ts);
// a simulated node calls the very same handlers in the harness's process (localNodeApi). Either way the cluster sees
// one NodeApi, and the runtime's kubelet events, pod status and resources go out as the node's notifications.
import type { NadLite, NodeRuntime } from '../../sim/cluster/node-runtime.ts';
import type { SkewClock } from '../../sim/kubelet/index.ts';
import type { ExecOptions, ExecOutcome } from '../../sim/node/exec.ts';
import type { Method, Methods, NodeApi, NodeEvents, NodeHandlers, Resources } from './node-rpc.ts';

export interface NodeServiceOptions {
  runtime: NodeRuntime;
  /** the clock the runtime's kubelet was made with (advanceClock moves it) */
  clock: SkewClock;
  kernelRelease: string;
  /** a command on the node's machine (the `exec` method) */
  exec(argv: string[], opts: ExecOptions): Promise<ExecOutcome>;
  /** where the node's notifications go */
  notify: NodeEvents;
  /** the `shutdown` method: the agent exits; a simulated node has nothing to do (the provider stops it) */
  shutdown?(): void;
}

export interface NodeService {
  handlers: NodeHandlers;
  /** starts the runtime (kubelet, CNI install), then the node's own device plugin if it has one, as a node boots */
  start(): Promise<void>;
}

/** a long poll (containerLog, execRead) waits at most this long: well inside a node-rpc call's timeout */
const MAX_WAIT_MS = 30_000;

export function nodeService(o: NodeServiceOptions): NodeService {
  const { runtime, clock, notify } = o;
  const k = runtime.kubelet;
  const resources = (): Resources => ({ capacity: k.capacity(), allocatable: k.allocatable() });
  k.onResourcesChanged(() => notify({ event: 'resources', data: resources() }));
  k.onEvent((e) => notify({ event: 'kubelet', data: e }));
  k.onPodStatusChanged((s) => notify({ event: 'podStatus', data: s }));
  runtime.onContainers((r) => notify({ event: 'containers', data: r }));
  let registered = false;
  k.onEvent((e) => {
    if (e.kind === 'registration' && e.ok) registered = true;
  });

  const handlers: NodeHandlers = {
    hello: async () => ({ nodeName: runtime.nodeName, kernelRelease: o.kernelRelease, ...resources() }),
    admitPod: ({ pod }) => k.admitPod(pod),
    releasePod: async ({ uid }) => {
      await k.releasePod(uid);
      return null;
    },
    podStarted: ({ pod, nads, configMaps }) =>
      runtime.podStarted(
        pod,
        (ns, name): NadLite | undefined => nads[`${ns}/${name}`],
        (ns, name) => configMaps?.[`${ns}/${name}`],
      ),
    stopContainers: async ({ pod, gracePeriodSeconds }) => {
      await runtime.stopContainers(pod, gracePeriodSeconds);
      return null;
    },
    podStopped: async ({ pod }) => {
      await runtime.podStopped(pod);
      return null;
    },
    removePodNetns: async ({ namespace, name }) => ({ netns: await runtime.removePodNetns(namespace, name) }),
    setCniPath: async ({ up }) => {
      runtime.setCniPath(up);
      return null;
    },
    gcSandboxes: async () => ({ left: await runtime.gcSandboxes() }),
    podLeftovers: () => runtime.podLeftovers(),
    exec: ({ argv, input, timeoutMs }) => o.exec(argv, { input, timeoutMs: timeoutMs ?? 60_000 }),
    execInPod: async ({ pod, argv, input, timeoutMs }) => {
      if (!runtime.podNetns(pod.metadata?.uid ?? '')) throw new Error(`pod ${pod.metadata?.namespace ?? 'default'}/${pod.metadata?.name} is not running (phase ${pod.status?.phase ?? 'Pending'})`);
      return runtime.execInPod(pod, argv, { input, timeoutMs });
    },
    containerLog: ({ uid, container, previous, offset, tailLines, waitMs }) => runtime.readLog(uid, container, { previous, offset, tailLines, waitMs: Math.min(waitMs ?? 0, MAX_WAIT_MS) }),
    execStart: async ({ pod, container, argv, stdin, tty }) => ({ id: runtime.execStart(pod, container, argv, { stdin, tty }) }),
    execInput: async ({ id, data, close }) => {
      runtime.execInput(id, data, close ?? false);
      return null;
    },
    execRead: ({ id, waitMs }) => runtime.execRead(id, Math.min(waitMs, MAX_WAIT_MS)),
    execKill: async ({ id }) => {
      runtime.execKill(id);
      return null;
    },
    kubelet: async ({ action }) => {
      if (action === 'restart') await k.restart();
      else if (action === 'stop') await k.stop();
      else await k.start();
      return null;
    },
    devicePlugin: async ({ action }) => {
      switch (action) {
        case 'kill':
          await runtime.stopDevicePlugin('SIGKILL');
          break;
        case 'stop':
          await runtime.stopDevicePlugin('SIGTERM');
          break;
        case 'start':
          runtime.startDevicePlugin();
          break;
        case 'restart':
          await runtime.stopDevicePlugin('SIGTERM');
          runtime.startDevicePlugin();
          break;
        case 'deleteSocket':
          await runtime.deletePluginSockets();
          break;
        default: {
          const unknown: never = action;
          throw new Error(`unknown device plugin action ${String(unknown)}`);
        }
      }
      return { pid: runtime.plugin?.pid };
    },
    reboot: async () => {
      await runtime.reboot();
      return null;
    },
    setIpamFailure: async ({ count, message }) => {
      runtime.setIpamFailure(count, message);
      return null;
    },
    advanceClock: async ({ ms }) => {
      clock.advance(ms);
      // what fell due runs to its end before the call returns (a sandbox GC run: its CNI DELs)
      await runtime.gcIdle();
      return null;
    },
    collect: async ({ what }) => {
      const out: Methods['collect']['result'] = { errors: {} };
      for (const w of what) {
        try {
          if (w === 'logs') {
            out.pluginLog = runtime.pluginLog.join('\n');
            out.kubeletLog = runtime.kubeletLog.join('\n');
          } else if (w === 'checkpoint') out.checkpoint = runtime.checkpointText();
          else if (w === 'podResources') out.podResources = await runtime.podResourcesJson();
        } catch (e) {
          out.errors[w] = (e as Error).message;
        }
      }
      return out;
    },
    devicePluginReady: async ({ aliveMs, timeoutMs }) => {
      const t0 = Date.now();
      // a plugin that is yet to start (a DaemonSet's pod not running yet) is waited for too
      const waiting = () => runtime.pluginStartedAtMs === 0 || (runtime.pluginRunning() && Date.now() - runtime.pluginStartedAtMs < aliveMs);
      while (!registered && Date.now() - t0 < timeoutMs && waiting()) await new Promise((r) => setTimeout(r, 100));
      return { registered, running: runtime.pluginRunning(), waitedMs: Date.now() - t0 };
    },
    shutdown: async () => {
      o.shutdown?.();
      return null;
    },
  };

  return {
    handlers,
    async start() {
      await runtime.start();
      if (runtime.ownDevicePlugin) runtime.startDevicePlugin();
    },
  };
}

/** The node interface served in this process: a call is the handler's call, with no wire between. */
export function localNodeApi(handlers: NodeHandlers): NodeApi {
  return {
    call<M extends Method>(method: M, params: Methods[M]['params']): Promise<Methods[M]['result']> {
      const h = handlers[method] as (p: Methods[M]['params']) => Promise<Methods[M]['result']>;
      return h(params);
    },
    close() {},
  };
}
