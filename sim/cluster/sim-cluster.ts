// The simulated cluster put together: per node a simulated machine (netns + FUSE sysfs), an emulated kubelet, the
// device plugin under test running unmodified inside the node (DaemonSet-like), pod sandboxes with a default network,
// and the Multus-style attach of NetworkAttachmentDefinitions through the CNI plugins inside the node.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync, existsSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { Cluster, PodStartError } from './cluster.ts';
import { Kubelet, SkewClock, PodResourcesClient, type KubeletEvent } from '../kubelet/index.ts';
import { startNode, modelOptionsFor, newRunId, type StartedNode } from '../node/node.ts';
import { ip } from '../node/mirror.ts';
import type { NodeSpec, Topology } from '../topology/topology.ts';
import type { SysfsEvent as ModelSysfsEvent } from '../kernel/types.ts';
import {
  NETWORKS_ANNOTATION,
  NETWORK_STATUS_ANNOTATION,
  RESOURCE_NAME_ANNOTATION,
  assignDeviceIds,
  delegateConfig,
  networkStatusOf,
  parseNetworksAnnotation,
  type CniResult,
  type NetworkStatus,
} from './multus.ts';

/** Trace events in the run-result contract's shape (kept structural here: sim/ does not import reports/). */
export type SimTraceEvent =
  | { kind: 'grpc'; atMs: number; node: string; direction: 'to-plugin' | 'to-kubelet'; method: string; request?: unknown; response?: unknown; stream?: 'message'; status?: { code: number; name: string; details: string } }
  | { kind: 'sysfs'; atMs: number; node: string; op: ModelSysfsEvent['op']; path: string; value?: string; errno?: string }
  | { kind: 'cni'; atMs: number; node: string; command: 'ADD' | 'DEL' | 'CHECK'; plugin: string; env: Record<string, string>; stdin: string; stdout: string; stderr?: string; exitCode: number; durationMs: number; pod?: string }
  | { kind: 'scheduler'; atMs: number; pod: string; result: 'bound' | 'unschedulable'; nodeName?: string; message?: string }
  | { kind: 'pod'; atMs: number; node?: string; pod: string; from?: string; to: string; reason?: string; message?: string }
  | { kind: 'fault'; atMs: number; node?: string; fault: string; action: 'inject' | 'clear'; target?: string; detail?: string }
  | { kind: 'resource'; atMs: number; node: string; resource: string; capacity: number; allocatable: number; allocated: number }
  | { kind: 'log'; atMs: number; node?: string; source: string; level: 'debug' | 'info' | 'warn' | 'error'; message: string };

export interface SimClusterOptions {
  topology: Topology;
  seed: number;
  workDir: string;
  /** argv of the device plugin run inside every node (unmodified); default the bundled one */
  devicePluginArgv?: string[];
  /** content of /etc/pcidp/config.json in every node; default the bundled plugin's default config */
  devicePluginConfig: unknown;
  /** CNI binaries installed in /opt/cni/bin of every node: type name → executable path on the host */
  cniPlugins: Record<string, string>;
  /** directory of reference CNI plugins (host-local, bridge, host-device, …) */
  referenceCniDir?: string;
  trace?: (e: SimTraceEvent) => void;
  progress?: (line: string) => void;
}

export interface SimNode {
  spec: NodeSpec;
  index: number;
  node: StartedNode;
  kubelet: Kubelet;
  plugin: ChildProcess | null;
  pluginLog: string[];
  kubeletLog: string[];
  sysfsSeq: number;
}

interface Sandbox {
  netns: string;
  /** as the node sees it */
  netnsPath: string;
  containerId: string;
  attachments: Array<{ type: string; conf: Record<string, unknown>; ifname: string; env: Record<string, string> }>;
  defaultEnv: Record<string, string>;
}

const DEFAULT_NETWORK = 'sriov-lab-default';

export class SimClusterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SimClusterError';
  }
}

export class SimCluster implements AsyncDisposable {
  readonly cluster: Cluster;
  readonly nodes = new Map<string, SimNode>();
  readonly clock = new SkewClock();
  private readonly sandboxes = new Map<string, Sandbox>(); // pod uid → sandbox
  private readonly opts: SimClusterOptions;
  private readonly runId = newRunId();
  private readonly unsubscribe: Array<() => void> = [];
  private sysfsPoll: NodeJS.Timeout | null = null;
  private stopped = false;
  private ipamFailures = new Map<string, { count: number; message: string }>();
  private nodeRoot: string | null = null;

  private constructor(opts: SimClusterOptions) {
    this.opts = opts;
    this.cluster = new Cluster({ seed: opts.seed });
  }

  private trace(e: SimTraceEvent): void {
    this.opts.trace?.(e);
  }

  static async start(opts: SimClusterOptions): Promise<SimCluster> {
    const sc = new SimCluster(opts);
    try {
      await sc.boot();
    } catch (e) {
      await sc.stop().catch(() => undefined);
      throw e;
    }
    return sc;
  }

  private async boot(): Promise<void> {
    const { topology } = this.opts;
    mkdirSync(this.opts.workDir, { recursive: true });
    // node roots live under a short path of their own: the kubelet dials plugin sockets by their host path, and a unix
    // socket path must stay under 108 bytes however deep the caller's work directory is
    const workDir = mkdtempSync(join(tmpdir(), 'sl-'));
    this.nodeRoot = workDir;
    this.watchStore();
    let index = 0;
    for (const spec of topology.nodes) {
      this.opts.progress?.(`starting node ${spec.name} (${spec.nics.map((n) => `${n.model} ${n.ifname}`).join(', ')})`);
      const node = await startNode({
        name: spec.name,
        runId: this.runId,
        workDir,
        model: modelOptionsFor(spec, this.opts.seed),
        log: (l) => this.trace({ kind: 'log', atMs: Date.now(), node: spec.name, source: 'harness', level: 'debug', message: l }),
      });
      const sn: SimNode = { spec, index: index++, node, kubelet: null as unknown as Kubelet, plugin: null, pluginLog: [], kubeletLog: [], sysfsSeq: 0 };
      this.nodes.set(spec.name, sn);
      this.installCni(sn);
      writeFileSync(node.hostPath('/etc/pcidp/config.json'), `${JSON.stringify(this.opts.devicePluginConfig, null, 2)}\n`);
      const kubelet = new Kubelet({
        nodeName: spec.name,
        rootDir: node.hostPath('/var/lib/kubelet'),
        clock: this.clock,
        seed: `${this.opts.seed}/${spec.name}`,
        registrationModes: spec.kubeletRegistration,
        log: {
          info: (m) => this.kubeletLog(sn, 'info', m),
          warn: (m) => this.kubeletLog(sn, 'warn', m),
          error: (m) => this.kubeletLog(sn, 'error', m),
        },
      });
      sn.kubelet = kubelet;
      this.unsubscribe.push(kubelet.onEvent((e) => this.onKubeletEvent(e)));
      // a pod the kubelet fails by itself (re-admission after a reboot) is failed in the cluster too
      this.unsubscribe.push(
        kubelet.onPodStatusChanged((st) => {
          if (st.phase === 'Failed' && st.reason) void this.cluster.podRejectedByNode(st.uid, st.reason, st.message ?? '');
        }),
      );
      await kubelet.start();
      this.cluster.addNode(kubelet, {
        cpu: spec.cpu,
        memory: spec.memory,
        pods: String(spec.pods),
        labels: { 'kubernetes.io/hostname': spec.name, 'kubernetes.io/os': 'linux', ...spec.labels },
        taints: spec.taints.map((t) => ({ key: t.key, value: t.value, effect: t.effect })),
        internalIP: `172.18.0.${sn.index + 2}`,
      });
      this.startDevicePlugin(sn);
    }
    this.cluster.onPodAdmitted(async ({ pod, nodeName }) => this.podStarted(pod, nodeName));
    this.cluster.onPodReleased(async ({ pod, nodeName }) => this.podStopped(pod, nodeName));
    this.sysfsPoll = setInterval(() => void this.pollSysfs(), 200);
    this.sysfsPoll.unref();
  }

  private kubeletLog(sn: SimNode, level: 'info' | 'warn' | 'error', message: string): void {
    sn.kubeletLog.push(`${new Date().toISOString()} ${level.toUpperCase()} ${message}`);
    if (sn.kubeletLog.length > 20_000) sn.kubeletLog.splice(0, 10_000);
    this.trace({ kind: 'log', atMs: Date.now(), node: sn.spec.name, source: 'kubelet', level, message });
  }

  /** /opt/cni/bin of a node: the reference plugins, plus the plugins under test under their type names */
  private installCni(sn: SimNode): void {
    const bin = sn.node.hostPath('/opt/cni/bin');
    const ref = this.opts.referenceCniDir ?? '/usr/lib/cni';
    if (existsSync(ref)) for (const f of readdirSync(ref)) symlinkSync(join(ref, f), join(bin, f));
    for (const [type, exe] of Object.entries(this.opts.cniPlugins)) {
      rmSync(join(bin, type), { force: true });
      symlinkSync(exe, join(bin, type));
    }
    // a faulty IPAM for fault injection: fails while the harness says so, otherwise delegates to host-local
    const faulty = join(bin, 'sriov-lab-faulty-ipam');
    writeFileSync(
      faulty,
      `#!/bin/sh\nf=/run/sriov-lab/ipam-fail\nif [ "$CNI_COMMAND" = ADD ] && [ -s "$f" ]; then n=$(head -n1 "$f"); msg=$(tail -n1 "$f"); if [ "$n" -gt 0 ]; then echo $((n-1)) > "$f.tmp"; echo "$msg" >> "$f.tmp"; mv "$f.tmp" "$f"; printf '{"cniVersion":"1.0.0","code":11,"msg":"%s"}' "$msg"; exit 1; fi; fi\nexec /opt/cni/bin/host-local "$@"\n`,
    );
    chmodSync(faulty, 0o755);
  }

  // ---- device plugin processes -------------------------------------------------------------

  startDevicePlugin(sn: SimNode): void {
    if (sn.plugin && sn.plugin.exitCode === null && sn.plugin.signalCode === null) return;
    const argv = this.opts.devicePluginArgv;
    if (!argv || argv.length === 0) throw new SimClusterError('no device plugin command');
    const child = sn.node.spawn(argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    sn.plugin = child;
    const onData = (d: Buffer) => {
      for (const line of d.toString().split('\n')) {
        if (!line) continue;
        sn.pluginLog.push(line);
        this.trace({ kind: 'log', atMs: Date.now(), node: sn.spec.name, source: 'device-plugin', level: /"level":"(error|warn)"/.exec(line)?.[1] === 'error' ? 'error' : 'info', message: line });
      }
      if (sn.pluginLog.length > 20_000) sn.pluginLog.splice(0, 10_000);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code, sig) => {
      sn.pluginLog.push(`[sriov-lab] device plugin exited (${sig ?? code})`);
    });
  }

  async stopDevicePlugin(sn: SimNode, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const p = sn.plugin;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill(signal);
      setTimeout(() => p.kill('SIGKILL'), 3000).unref();
    });
  }

  // ---- pods: sandbox, default network, attachments ------------------------------------------

  private async runCni(
    sn: SimNode,
    command: 'ADD' | 'DEL' | 'CHECK',
    conf: Record<string, unknown>,
    env: Record<string, string>,
    pod: string,
  ): Promise<CniResult> {
    const plugins = Array.isArray(conf.plugins) ? (conf.plugins as Array<Record<string, unknown>>) : [conf];
    const order = command === 'DEL' ? [...plugins].reverse() : plugins;
    let prev: CniResult | undefined;
    for (const p of order) {
      const netconf: Record<string, unknown> = Array.isArray(conf.plugins) ? { ...p, name: conf.name, cniVersion: conf.cniVersion } : { ...p };
      if (prev && command !== 'DEL') netconf.prevResult = prev;
      const type = String(netconf.type ?? '');
      if (!/^[A-Za-z0-9_.-]+$/.test(type)) throw new PodStartError('FailedCreatePodSandBox', `CNI config of ${String(conf.name)} has no valid "type"`);
      const stdin = JSON.stringify(netconf);
      const fullEnv = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', ...env, CNI_COMMAND: command, CNI_PATH: '/opt/cni/bin' };
      const r = await sn.node.exec([`/opt/cni/bin/${type}`], { input: stdin, env: fullEnv, timeoutMs: 60_000 });
      this.trace({ kind: 'cni', atMs: Date.now() - r.durationMs, node: sn.spec.name, command, plugin: type, env: fullEnv, stdin, stdout: r.stdout, stderr: r.stderr || undefined, exitCode: r.exitCode ?? -1, durationMs: r.durationMs, pod });
      if (r.exitCode !== 0) {
        let msg = r.stderr.trim() || r.stdout.trim();
        try {
          const e = JSON.parse(r.stdout) as { msg?: string; details?: string };
          msg = `${e.msg ?? ''}${e.details ? `: ${e.details}` : ''}`;
        } catch {
          /* not JSON */
        }
        throw new PodStartError('FailedCreatePodSandBox', `plugin type="${type}" name="${String(conf.name)}" failed (${command.toLowerCase()}): ${msg}`);
      }
      if (command !== 'DEL' && r.stdout.trim()) prev = JSON.parse(r.stdout) as CniResult;
    }
    return prev ?? {};
  }

  private async podStarted(pod: V1Pod, nodeName: string): Promise<{ annotations: Record<string, string>; podIP?: string }> {
    const sn = this.mustNode(nodeName);
    const uid = pod.metadata!.uid!;
    const podKey = `${pod.metadata!.namespace ?? 'default'}/${pod.metadata!.name}`;
    const short = createHash('sha256').update(uid).digest('hex').slice(0, 8);
    const netns = `${sn.node.netns}-${short}`;
    await ip(['netns', 'add', netns]);
    const sb: Sandbox = {
      netns,
      netnsPath: `/run/netns/${netns}`,
      containerId: createHash('sha256').update(`${uid}/sandbox`).digest('hex'),
      attachments: [],
      defaultEnv: {},
    };
    this.sandboxes.set(uid, sb);
    const baseEnv = {
      CNI_CONTAINERID: sb.containerId,
      CNI_NETNS: sb.netnsPath,
      CNI_ARGS: `IgnoreUnknown=true;K8S_POD_NAMESPACE=${pod.metadata!.namespace ?? 'default'};K8S_POD_NAME=${pod.metadata!.name};K8S_POD_INFRA_CONTAINER_ID=${sb.containerId};K8S_POD_UID=${uid}`,
    };
    // the cluster's default network: a bridge on the node with host-local addresses, like a kind node
    const defConf = {
      cniVersion: '1.0.0',
      name: DEFAULT_NETWORK,
      type: 'bridge',
      bridge: 'cni0',
      isGateway: true,
      ipMasq: false,
      ipam: { type: 'host-local', ranges: [[{ subnet: `10.244.${sn.index}.0/24` }]], dataDir: '/var/lib/cni/networks' },
    };
    sb.defaultEnv = { ...baseEnv, CNI_IFNAME: 'eth0' };
    const defResult = await this.runCni(sn, 'ADD', defConf, sb.defaultEnv, podKey);
    const statuses: NetworkStatus[] = [networkStatusOf(DEFAULT_NETWORK, 'eth0', sb.netnsPath, defResult, undefined, true)];
    const podIP = statuses[0].ips?.[0];

    const annotation = pod.metadata?.annotations?.[NETWORKS_ANNOTATION];
    if (annotation) {
      let sels;
      try {
        sels = parseNetworksAnnotation(annotation, pod.metadata!.namespace ?? 'default');
      } catch (e) {
        throw new PodStartError('FailedCreatePodSandBox', (e as Error).message);
      }
      const nads = sels.map((s) => {
        const nad = this.cluster.store.get('NetworkAttachmentDefinition', s.namespace, s.name);
        if (!nad) throw new PodStartError('FailedCreatePodSandBox', `cannot find a network-attachment-definition (${s.name}) in namespace (${s.namespace}): network-attachment-definitions.k8s.cni.cncf.io "${s.name}" not found`);
        return nad as unknown as { metadata?: { annotations?: Record<string, string> }; spec?: { config?: string } };
      });
      const resources = nads.map((n) => ({ resourceName: n.metadata?.annotations?.[RESOURCE_NAME_ANNOTATION] }));
      const podDevices = resources.some((r) => r.resourceName) ? await this.podDevices(sn, pod) : new Map<string, string[]>();
      const ids = assignDeviceIds(resources, podDevices);
      for (let i = 0; i < sels.length; i++) {
        const sel = sels[i];
        const ifname = sel.interface ?? `net${i + 1}`;
        const conf = delegateConfig(nads[i].spec?.config ?? '{}', sel.name, ids[i], sel);
        if (resources[i].resourceName && !ids[i]) {
          throw new PodStartError('FailedCreatePodSandBox', `no device of resource ${resources[i].resourceName} allocated to the pod for network ${sel.namespace}/${sel.name}`);
        }
        const env = { ...baseEnv, CNI_IFNAME: ifname };
        const result = await this.runCni(sn, 'ADD', conf, env, podKey);
        sb.attachments.push({ type: String(conf.type), conf, ifname, env });
        statuses.push(networkStatusOf(`${sel.namespace}/${sel.name}`, ifname, sb.netnsPath, result, ids[i]));
      }
    }
    return { annotations: { [NETWORK_STATUS_ANNOTATION]: JSON.stringify(statuses, null, 2) }, podIP };
  }

  /** device IDs of a pod per resource, from the node's pod-resources API (the checkpoint file as a fallback) */
  private async podDevices(sn: SimNode, pod: V1Pod): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    const add = (res: string, ids: string[]) => out.set(res, [...(out.get(res) ?? []), ...ids]);
    const client = new PodResourcesClient(sn.node.hostPath('/var/lib/kubelet/pod-resources/kubelet.sock'));
    try {
      const list = await client.list(5000);
      const pr = list.pod_resources.find((p) => p.name === pod.metadata!.name && p.namespace === (pod.metadata!.namespace ?? 'default'));
      for (const c of pr?.containers ?? []) for (const d of c.devices ?? []) add(d.resource_name, d.device_ids);
      return out;
    } catch {
      const file = sn.node.hostPath('/var/lib/kubelet/device-plugins/kubelet_internal_checkpoint');
      const cp = JSON.parse(readFileSync(file, 'utf8')) as { Data: { PodDeviceEntries: Array<{ PodUID: string; ResourceName: string; DeviceIDs: Record<string, string[]> | string[] }> | null } };
      for (const e of cp.Data.PodDeviceEntries ?? []) {
        if (e.PodUID !== pod.metadata!.uid) continue;
        add(e.ResourceName, Array.isArray(e.DeviceIDs) ? e.DeviceIDs : Object.values(e.DeviceIDs).flat());
      }
      return out;
    } finally {
      client.close();
    }
  }

  private async podStopped(pod: V1Pod, nodeName: string): Promise<void> {
    const sn = this.nodes.get(nodeName);
    const uid = pod.metadata!.uid!;
    const sb = this.sandboxes.get(uid);
    if (!sn || !sb) return;
    const podKey = `${pod.metadata!.namespace ?? 'default'}/${pod.metadata!.name}`;
    // DEL in reverse order with the same env as ADD; a failing DEL is logged, never blocks deletion
    for (const a of [...sb.attachments].reverse()) {
      await this.runCni(sn, 'DEL', a.conf, a.env, podKey).catch((e: Error) => this.trace({ kind: 'log', atMs: Date.now(), node: nodeName, source: 'cni', level: 'warn', message: e.message }));
    }
    await this.runCni(
      sn,
      'DEL',
      { cniVersion: '1.0.0', name: DEFAULT_NETWORK, type: 'bridge', bridge: 'cni0', isGateway: true, ipam: { type: 'host-local', ranges: [[{ subnet: `10.244.${sn.index}.0/24` }]], dataDir: '/var/lib/cni/networks' } },
      sb.defaultEnv,
      podKey,
    ).catch(() => undefined);
    await ip(['netns', 'del', sb.netns]).catch(() => undefined);
    this.sandboxes.delete(uid);
  }

  /** The pod's network namespace path on the host, for exec. */
  podNetns(namespace: string, name: string): string | undefined {
    const pod = this.cluster.store.get('Pod', namespace, name);
    const sb = pod && this.sandboxes.get(pod.metadata!.uid!);
    return sb ? `/run/netns/${sb.netns}` : undefined;
  }

  /** Runs a command in a pod: the node's mount view, the pod's network namespace, the container's device env. */
  async execInPod(namespace: string, name: string, argv: string[], opts: { input?: string; timeoutMs?: number } = {}) {
    const pod = this.cluster.store.get('Pod', namespace, name);
    if (!pod) throw new SimClusterError(`pods "${name}" not found`);
    const sb = this.sandboxes.get(pod.metadata!.uid!);
    const nodeName = pod.spec?.nodeName;
    if (!sb || !nodeName) throw new SimClusterError(`pod ${namespace}/${name} is not running (phase ${pod.status?.phase ?? 'Pending'})`);
    const sn = this.mustNode(nodeName);
    const container = pod.spec!.containers[0]?.name ?? '';
    const envs = sn.kubelet.runContainerOptions(pod.metadata!.uid!, container)?.envs ?? {};
    return sn.node.exec(['nsenter', `--net=/run/netns/${sb.netns}`, '--', ...argv], {
      input: opts.input,
      timeoutMs: opts.timeoutMs ?? 60_000,
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', HOSTNAME: name, ...envs },
    });
  }

  // ---- faults ---------------------------------------------------------------------------------

  setIpamFailure(nodeName: string, count: number, message: string): void {
    const sn = this.mustNode(nodeName);
    writeFileSync(sn.node.hostPath('/run/sriov-lab/ipam-fail'), `${count}\n${message}\n`);
    this.ipamFailures.set(nodeName, { count, message });
  }

  mustNode(name: string): SimNode {
    const sn = this.nodes.get(name);
    if (!sn) throw new SimClusterError(`no node "${name}" (nodes: ${[...this.nodes.keys()].join(', ')})`);
    return sn;
  }

  // ---- trace ---------------------------------------------------------------------------------

  private onKubeletEvent(e: KubeletEvent): void {
    if (e.kind === 'grpc') {
      this.trace({
        kind: 'grpc',
        atMs: Date.now(),
        node: e.node,
        direction: e.direction === 'out' ? 'to-plugin' : 'to-kubelet',
        method: e.method,
        request: e.request,
        response: e.response ?? e.message,
        stream: e.message !== undefined ? 'message' : undefined,
        status: e.error ? { code: 2, name: 'UNKNOWN', details: e.error } : undefined,
      });
    } else if (e.kind === 'resources') {
      const allocated = this.cluster.scheduler.requested(e.node)?.scalar.get(e.resource) ?? 0;
      this.trace({ kind: 'resource', atMs: Date.now(), node: e.node, resource: e.resource, capacity: e.capacity, allocatable: e.allocatable, allocated });
    } else if (e.kind === 'registration') {
      this.trace({ kind: 'log', atMs: Date.now(), node: e.node, source: 'kubelet', level: e.ok ? 'info' : 'warn', message: `registration of ${e.resource} (${e.mode}, ${e.endpoint}): ${e.ok ? 'ok' : e.error}` });
    } else if (e.kind === 'lifecycle') {
      this.trace({ kind: 'log', atMs: Date.now(), node: e.node, source: 'kubelet', level: 'info', message: `${e.what}${e.detail ? `: ${e.detail}` : ''}` });
    }
  }

  private watchStore(): void {
    const phases = new Map<string, string>();
    this.unsubscribe.push(
      this.cluster.store.watch('Pod', {
        added: (p) => {
          phases.set(p.metadata!.uid!, p.status?.phase ?? 'Pending');
          this.trace({ kind: 'pod', atMs: Date.now(), pod: `${p.metadata!.namespace}/${p.metadata!.name}`, to: p.status?.phase ?? 'Pending' });
        },
        modified: (p) => {
          const uid = p.metadata!.uid!;
          const to = p.status?.phase ?? 'Pending';
          const from = phases.get(uid);
          if (from !== to) {
            phases.set(uid, to);
            this.trace({ kind: 'pod', atMs: Date.now(), node: p.spec?.nodeName, pod: `${p.metadata!.namespace}/${p.metadata!.name}`, from, to, reason: p.status?.reason, message: p.status?.message });
          }
        },
        deleted: (p) => phases.delete(p.metadata!.uid!),
      }),
      this.cluster.store.watch('Event', {
        added: (ev) => {
          const pod = `${ev.involvedObject?.namespace ?? 'default'}/${ev.involvedObject?.name}`;
          if (ev.reason === 'Scheduled') this.trace({ kind: 'scheduler', atMs: Date.now(), pod, result: 'bound', nodeName: /to (\S+)$/.exec(ev.message ?? '')?.[1], message: ev.message });
          else if (ev.reason === 'FailedScheduling') this.trace({ kind: 'scheduler', atMs: Date.now(), pod, result: 'unschedulable', message: ev.message });
        },
      }),
    );
  }

  /** Pulls the sysfs servers' events into the trace. */
  async pollSysfs(): Promise<void> {
    for (const sn of this.nodes.values()) {
      try {
        const { events = [] } = await sn.node.sysfs.control.request({ op: 'events', since: sn.sysfsSeq });
        for (const e of events) {
          sn.sysfsSeq = Math.max(sn.sysfsSeq, e.seq);
          this.trace({ kind: 'sysfs', atMs: Date.now(), node: sn.spec.name, op: e.op, path: e.path, value: e.value, errno: e.errno });
        }
      } catch {
        /* the server is stopping */
      }
    }
  }

  async settle(): Promise<void> {
    await this.cluster.settle();
    await this.pollSysfs();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.sysfsPoll) clearInterval(this.sysfsPoll);
    for (const u of this.unsubscribe) u();
    for (const sn of this.nodes.values()) {
      await this.stopDevicePlugin(sn).catch(() => undefined);
      await sn.kubelet?.close().catch(() => undefined);
    }
    for (const sb of this.sandboxes.values()) await ip(['netns', 'del', sb.netns]).catch(() => undefined);
    this.sandboxes.clear();
    this.cluster.close();
    for (const sn of this.nodes.values()) await sn.node.stop();
    this.nodes.clear();
    if (this.nodeRoot) rmSync(this.nodeRoot, { recursive: true, force: true });
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}
