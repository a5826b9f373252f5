// The node side of a lab cluster, whatever the machine: the emulated kubelet, the device plugin under test running
// unmodified (DaemonSet-like), pod sandboxes with the cluster's default network, and the Multus-style attach of
// NetworkAttachmentDefinitions through the CNI plugins of the node. The machine is a simulated node (sim backend), a
// QEMU guest (qemu backend: this runs inside the guest) or a real host (host backend); it is reached through
// `NodeMachine`. The control plane (object store, scheduler) is elsewhere: it calls `kubelet` (a NodeAgent),
// `podStarted` and `podStopped`.
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { PodStartError } from './cluster.ts';
import { ContainerRuntime, type LogRead, type PodContainersReport } from './containers.ts';
import { ExecSessions, type ExecRead } from './exec-sessions.ts';
import { bundledArgv, imageRole, VIRTDP_CONFIG, VIRTDP_CONFIG_PATH, type BundledExecutables } from './images.ts';
import { Kubelet, PodResourcesClient, type Clock, type RegistrationMode, type TimerHandle } from '../kubelet/index.ts';
import { ip } from '../node/mirror.ts';
import type { ExecOptions, ExecOutcome } from '../node/exec.ts';
import {
  MULTUS_CNI_VERSION,
  MULTUS_NODE_PATHS,
  multusThinConfig,
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
import type { CniEvent, LogEvent } from '../trace.ts';
import { containerBinds, mountPrefix, setUpPodVolumes, tearDownPodVolumes, type ConfigMapLite, type VolumeBind } from './volumes.ts';
import { phaseStart, timed } from '../phases.ts';

/** The machine a node runtime drives: where paths are, how a process is started in the node. */
export interface NodeMachine {
  /** a node path (/var/lib/kubelet, /opt/cni/bin, /etc/pcidp, /run/…) as this process reaches it */
  hostPath(nodePath: string): string;
  spawn(argv: string[], opts?: SpawnOptions): ChildProcess;
  exec(argv: string[], opts?: ExecOptions): Promise<ExecOutcome>;
  /** prefix of pod network namespaces (/run/netns/<prefix>-<hash>), unique on the machine */
  readonly netnsPrefix: string;
}

/** The default network's bridge (the bridge CNI makes it with the first pod; it stays with the node). */
export const DEFAULT_BRIDGE = 'cni0';

/** What a node still holds for pods it has no sandbox for (NodeRuntime.podLeftovers), one description each. */
export interface PodLeftovers {
  netns: string[];
  ipamLeases: string[];
  mounts: string[];
  processes: string[];
}

/** What the runtime reports: CNI calls and log lines, as trace events of its node. */
export type NodeRuntimeEvent = (CniEvent | LogEvent) & { node: string };

export interface NodeRuntimeOptions {
  nodeName: string;
  /** index of the node in the cluster: the default network's subnet is 10.244.<index>.0/24 */
  index: number;
  machine: NodeMachine;
  clock: Clock;
  /** device picking of the kubelet derives from it */
  seed: string;
  registrationModes?: RegistrationMode[];
  /** argv of the device plugin run inside the node (unmodified) */
  devicePluginArgv: string[];
  /** content of /etc/pcidp/config.json */
  devicePluginConfig: unknown;
  /** CNI executables installed in /opt/cni/bin: type name → path as the node sees it */
  cniPlugins: Record<string, string>;
  /** directory of reference CNI plugins (host-local, bridge, host-device, …), as the node sees it; linked too */
  referenceCniDir?: string;
  /** where the reference plugins are from this process, when it differs (to list them) */
  referenceCniDirHere?: string;
  /** the kubelet's /var/lib/kubelet as plugins inside the node see it (default /var/lib/kubelet) */
  nodeKubeletDir?: string;
  /** a note added to a failed CNI call's message, when it explains it (the simulator: VF netlink only through ip) */
  explainCniFailure?: (message: string) => string | undefined;
  event?: (e: NodeRuntimeEvent) => void;
  /** the first restart back-off of a container (the kubelet's 10 s) */
  restartBackoffMs?: number;
  /** the bundled executables, which the bundled plugins' images run (sim/cluster/images.ts) */
  bundled?: BundledExecutables;
  /**
   * a Multus thin-plugin binary, as this process reaches it (`--multus PATH`): installed as /opt/cni/bin/multus, and
   * every sandbox's network is then the node's CNI config (/etc/cni/net.d, Multus's first) run as containerd runs it,
   * in place of the default network + the emulated attach. Its config needs the API: see connectApi.
   */
  multusBinary?: string;
}

/** Where a node reaches the cluster's API server: a relay in the node's namespace to the server's unix socket. */
export interface NodeApiAccess {
  /** the server's port; the relay listens on 127.0.0.1:<port> inside the node, so the server's own URL holds there */
  port: number;
  /** the server's unix socket, as the node sees it */
  socketPath: string;
  /** a kubeconfig for https://127.0.0.1:<port> with the cluster CA and a client's credentials */
  kubeconfig: string;
  /** argv of the relay (sim/apiserver/relay.ts), to which port and socket path are appended */
  relayArgv: string[];
}

interface Sandbox {
  /** namespace/name of the pod */
  podKey: string;
  /** empty for a hostNetwork pod: it runs in the node's namespace */
  netns: string;
  /** as the node sees it */
  netnsPath: string;
  /** the netns was removed under the sandbox (a fault): DEL gets an empty CNI_NETNS, as containerd passes then */
  netnsGone: boolean;
  /** containerd gives every sandbox attempt a new ID; CNI_CONTAINERID */
  containerId: string;
  /** every network whose ADD was run (the failed one included: its DEL runs too) */
  attachments: Array<{ type: string; conf: Record<string, unknown>; ifname: string; env: Record<string, string> }>;
  defaultEnv: Record<string, string>;
  /** each container's volumeMounts as bind mounts (sim/cluster/volumes.ts) */
  binds: Map<string, VolumeBind[]>;
  defaultAdded: boolean;
}

/** A NetworkAttachmentDefinition as far as the attach needs it. */
export interface NadLite {
  metadata?: { annotations?: Record<string, string> };
  spec?: { config?: string };
}

export const DEFAULT_NETWORK = 'sriov-lab-default';
const LOG_LIMIT = 20_000;
/** the kubelet's container/sandbox garbage collection runs every minute (kubelet.go ContainerGCPeriod) */
export const SANDBOX_GC_PERIOD_MS = 60_000;
/** where /opt/cni/bin goes while the CNI path is down (the cniPath fault) */
const CNI_BIN_DOWN = '/opt/cni/bin.unavailable';
/** containers still running when the node stops get this long after SIGTERM */
const STOP_GRACE_MS = 2000;

export class NodeRuntime {
  readonly kubelet: Kubelet;
  plugin: ChildProcess | null = null;
  /** when the device plugin last started (ms since the epoch; 0: never) */
  pluginStartedAtMs = 0;
  /** the uid of the pod whose container is the node's device plugin (a DaemonSet's), while it runs */
  private pluginPod: string | undefined;
  readonly pluginLog: string[] = [];
  readonly kubeletLog: string[] = [];
  private readonly sandboxes = new Map<string, Sandbox>(); // pod uid → sandbox
  /** sandboxes whose teardown failed: the sandbox GC tries again every SANDBOX_GC_PERIOD_MS */
  private dead: Sandbox[] = [];
  /** sandbox attempts per pod uid (each gets a new sandbox ID) */
  private readonly attempts = new Map<string, number>();
  private gcTimer: TimerHandle | undefined;
  private gcRunning: Promise<void> | undefined;
  private readonly opts: NodeRuntimeOptions;
  readonly containers: ContainerRuntime;
  private readonly execs: ExecSessions;
  private readonly containerListeners = new Set<(r: PodContainersReport) => void>();
  private started = false;
  /** the default network's bridge was there before this runtime (a real host's own cni0 is left alone) */
  private bridgeWasThere = true;
  /** the relay to the API server inside the node (connectApi), while it runs */
  private relay: ChildProcess | undefined;

  constructor(opts: NodeRuntimeOptions) {
    this.opts = opts;
    const m = opts.machine;
    this.containers = new ContainerRuntime({
      spawn: (a, o) => m.spawn(a, o),
      report: (r) => {
        for (const l of this.containerListeners) l(r);
      },
      backoffMs: opts.restartBackoffMs,
      spawned: (pod, c, proc) => {
        const role = imageRole(c.image);
        if (this.opts.bundled && (role === 'device-plugin' || role === 'virt-device-plugin')) {
          this.pluginPod = pod.uid;
          this.watchPlugin(proc);
        }
      },
    });
    this.execs = new ExecSessions((a, o) => m.spawn(a, o));
    this.kubelet = new Kubelet({
      nodeName: opts.nodeName,
      rootDir: m.hostPath('/var/lib/kubelet'),
      nodeKubeletDir: opts.nodeKubeletDir,
      clock: opts.clock,
      seed: opts.seed,
      registrationModes: opts.registrationModes,
      log: {
        info: (msg) => this.logKubelet('info', msg),
        warn: (msg) => this.logKubelet('warn', msg),
        error: (msg) => this.logKubelet('error', msg),
      },
    });
  }

  get nodeName(): string {
    return this.opts.nodeName;
  }

  private emit(e: NodeRuntimeEvent): void {
    this.opts.event?.(e);
  }

  private logKubelet(level: 'info' | 'warn' | 'error', message: string): void {
    this.kubeletLog.push(`${new Date().toISOString()} ${level.toUpperCase()} ${message}`);
    if (this.kubeletLog.length > LOG_LIMIT) this.kubeletLog.splice(0, LOG_LIMIT / 2);
    this.emit({ kind: 'log', atMs: Date.now(), node: this.opts.nodeName, source: 'kubelet', level, message });
  }

  /** Installs CNI plugins and the device plugin's config, starts the kubelet (then call startDevicePlugin). */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const node = this.opts.nodeName;
    const endFiles = phaseStart('runtime: CNI binaries + plugin config', node);
    this.installCni();
    const cfg = this.opts.machine.hostPath('/etc/pcidp/config.json');
    mkdirSync(dirname(cfg), { recursive: true });
    writeFileSync(cfg, `${JSON.stringify(this.opts.devicePluginConfig, null, 2)}\n`);
    mkdirSync(this.opts.machine.hostPath('/run/sriov-lab'), { recursive: true });
    writeFileSync(this.opts.machine.hostPath(VIRTDP_CONFIG_PATH), `${JSON.stringify(VIRTDP_CONFIG, null, 2)}\n`);
    endFiles();
    this.bridgeWasThere = await timed('runtime: is cni0 there (ip link show)', node, async () => (await this.opts.machine.exec(['ip', 'link', 'show', 'dev', DEFAULT_BRIDGE])).exitCode === 0);
    await timed('runtime: kubelet emulator start', node, () => this.kubelet.start());
    this.scheduleGc();
  }

  private scheduleGc(): void {
    this.gcTimer = this.opts.clock.setTimeout(() => {
      this.gcTimer = undefined;
      void this.gcSandboxes().finally(() => {
        if (this.started) this.scheduleGc();
      });
    }, SANDBOX_GC_PERIOD_MS);
  }

  /**
   * The sandbox GC (kuberuntime_gc.go evictSandboxes → RemovePodSandbox, which in containerd stops the sandbox and
   * so tears its network down again): every sandbox whose teardown failed gets its CNI DEL again; one that succeeds
   * loses its netns and is gone. Resolves with how many are still left.
   */
  async gcSandboxes(): Promise<number> {
    if (!this.gcRunning) {
      this.gcRunning = (async () => {
        for (const sb of [...this.dead]) {
          this.logKubelet('info', `sandbox GC: removing sandbox ${sb.containerId.slice(0, 13)} of pod ${sb.podKey} again`);
          await this.teardownSandbox(sb);
        }
      })().finally(() => {
        this.gcRunning = undefined;
      });
    }
    await this.gcRunning;
    return this.dead.length;
  }

  /** /opt/cni/bin of the node: the reference plugins, plus the plugins under test under their type names */
  private installCni(): void {
    const bin = this.opts.machine.hostPath('/opt/cni/bin');
    mkdirSync(bin, { recursive: true });
    const ref = this.opts.referenceCniDir ?? '/usr/lib/cni';
    const refHere = this.opts.referenceCniDirHere ?? ref;
    if (existsSync(refHere)) {
      for (const f of readdirSync(refHere)) {
        rmSync(join(bin, f), { force: true });
        symlinkSync(join(ref, f), join(bin, f));
      }
    }
    for (const [type, exe] of Object.entries(this.opts.cniPlugins)) {
      rmSync(join(bin, type), { force: true });
      symlinkSync(exe, join(bin, type));
    }
    if (this.opts.multusBinary) {
      // copied in, as Multus's own installer does: the node sees its /opt/cni/bin, not necessarily the given path
      rmSync(join(bin, 'multus'), { force: true });
      copyFileSync(this.opts.multusBinary, join(bin, 'multus'));
      chmodSync(join(bin, 'multus'), 0o755);
    }
    // a faulty IPAM for fault injection: fails while the harness says so, otherwise delegates to host-local
    const faulty = join(bin, 'sriov-lab-faulty-ipam');
    writeFileSync(
      faulty,
      `#!/bin/sh\nf=/run/sriov-lab/ipam-fail\nif [ "$CNI_COMMAND" = ADD ] && [ -s "$f" ]; then n=$(head -n1 "$f"); msg=$(tail -n1 "$f"); if [ "$n" -gt 0 ]; then echo $((n-1)) > "$f.tmp"; echo "$msg" >> "$f.tmp"; mv "$f.tmp" "$f"; printf '{"cniVersion":"1.0.0","code":11,"msg":"%s"}' "$msg"; exit 1; fi; fi\nexec /opt/cni/bin/host-local "$@"\n`,
    );
    chmodSync(faulty, 0o755);
  }

  // ---- the device plugin process ----------------------------------------------------------

  pluginRunning(): boolean {
    const p = this.plugin;
    return !!p && p.exitCode === null && p.signalCode === null;
  }

  /** the node starts a device plugin of its own (not `up --bare`, nor a DaemonSet's) */
  get ownDevicePlugin(): boolean {
    return this.opts.devicePluginArgv.length > 0;
  }

  /** Starts the node's own device plugin; a DaemonSet pod's plugin is its container's, which restarts by itself. */
  startDevicePlugin(): void {
    if (this.pluginRunning() || this.pluginPod) return;
    const argv = this.opts.devicePluginArgv;
    if (argv.length === 0) throw new Error('no device plugin command');
    this.watchPlugin(this.opts.machine.spawn(argv, { stdio: ['ignore', 'pipe', 'pipe'] }));
  }

  /** the node's device plugin process: its output is the plugin log (and trace), its exit is noted there */
  private watchPlugin(child: ChildProcess): void {
    this.plugin = child;
    this.pluginStartedAtMs = Date.now();
    let endFirstOutput: (() => void) | undefined = phaseStart('device plugin: spawn → first output', this.opts.nodeName);
    const onData = (d: Buffer) => {
      endFirstOutput?.();
      endFirstOutput = undefined;
      for (const line of d.toString().split('\n')) {
        if (!line) continue;
        this.pluginLog.push(line);
        const level = /"level":"(error|warn)"/.exec(line)?.[1] === 'error' ? 'error' : 'info';
        this.emit({ kind: 'log', atMs: Date.now(), node: this.opts.nodeName, source: 'device-plugin', level, message: line });
      }
      if (this.pluginLog.length > LOG_LIMIT) this.pluginLog.splice(0, LOG_LIMIT / 2);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('error', (e) => this.pluginLog.push(`[sriov-lab] device plugin could not start: ${e.message}`));
    child.once('exit', (code, sig) => {
      this.pluginLog.push(`[sriov-lab] device plugin exited (${sig ?? code})`);
    });
  }

  async stopDevicePlugin(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const p = this.plugin;
    if (!p || !this.pluginRunning()) return;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill(signal);
      setTimeout(() => p.kill('SIGKILL'), 3000).unref();
    });
  }

  /** Deletes the plugin's own socket(s) while everything runs (docs/reference/upstream-scenarios.md#bugs-reported-upstream: upstream never re-registers). */
  async deletePluginSockets(): Promise<void> {
    const r = await this.opts.machine.exec(['sh', '-c', 'cd /var/lib/kubelet/device-plugins && for s in *.sock; do [ "$s" = kubelet.sock ] || rm -f "$s"; done; cd /var/lib/kubelet/plugins_registry 2>/dev/null && rm -f *.sock; true']);
    if (r.exitCode !== 0) throw new Error(`deleting plugin sockets failed: ${r.stderr}`);
  }

  /** The node reboots: its plugin dies with it, the kubelet comes back with an empty device manager. */
  async reboot(): Promise<void> {
    await this.stopDevicePlugin('SIGKILL');
    await this.kubelet.reboot();
  }

  // ---- pods: sandbox, default network, attachments ----------------------------------------

  private async runCni(command: 'ADD' | 'DEL' | 'CHECK', conf: Record<string, unknown>, env: Record<string, string>, pod: string): Promise<CniResult> {
    const plugins = Array.isArray(conf.plugins) ? (conf.plugins as Array<Record<string, unknown>>) : [conf];
    const order = command === 'DEL' ? [...plugins].reverse() : plugins;
    let prev: CniResult | undefined;
    for (const p of order) {
      const netconf: Record<string, unknown> = Array.isArray(conf.plugins) ? { ...p, name: conf.name, cniVersion: conf.cniVersion } : { ...p };
      if (prev && command !== 'DEL') netconf.prevResult = prev;
      const type = String(netconf.type ?? '');
      if (!/^[A-Za-z0-9_.-]+$/.test(type)) throw new PodStartError('FailedCreatePodSandBox', `CNI config of ${String(conf.name)} has no valid "type"`);
      // libcni AddNetworkList/DelNetworkList word the failure of a plugin this way, FindInPath's included
      const verb = command === 'DEL' ? 'delete' : command.toLowerCase();
      const failed = (msg: string) => new PodStartError('FailedCreatePodSandBox', `plugin type="${type}" name="${String(conf.name)}" failed (${verb}): ${msg}`);
      if (!this.cniPluginPresent(type)) throw failed(`failed to find plugin "${type}" in path [/opt/cni/bin]`);
      const stdin = JSON.stringify(netconf);
      const fullEnv = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', ...env, CNI_COMMAND: command, CNI_PATH: '/opt/cni/bin' };
      const r = await this.opts.machine.exec([`/opt/cni/bin/${type}`], { input: stdin, env: fullEnv, timeoutMs: 60_000 });
      this.emit({ kind: 'cni', atMs: Date.now() - r.durationMs, node: this.opts.nodeName, command, plugin: type, env: fullEnv, stdin, stdout: r.stdout, stderr: r.stderr || undefined, exitCode: r.exitCode ?? -1, durationMs: r.durationMs, pod });
      if (r.exitCode !== 0) {
        let msg = r.stderr.trim() || r.stdout.trim();
        try {
          const e = JSON.parse(r.stdout) as { msg?: string; details?: string };
          msg = `${e.msg ?? ''}${e.details ? `: ${e.details}` : ''}`;
        } catch {
          /* not JSON */
        }
        const note = this.opts.explainCniFailure?.(msg);
        throw failed(`${msg}${note ? ` (${note})` : ''}`);
      }
      if (command !== 'DEL' && r.stdout.trim()) prev = JSON.parse(r.stdout) as CniResult;
    }
    return prev ?? {};
  }

  /** the plugin's executable is in /opt/cni/bin (a link counts, wherever it points) */
  private cniPluginPresent(type: string): boolean {
    try {
      lstatSync(this.opts.machine.hostPath(`/opt/cni/bin/${type}`));
      return true;
    } catch {
      return false;
    }
  }

  /**
   * The CNI path goes down (the directory of plugins is moved away, as when the node's CNI installer or Multus's
   * binary is gone: every call fails with libcni's "failed to find plugin") or comes back.
   */
  setCniPath(up: boolean): void {
    const bin = this.opts.machine.hostPath('/opt/cni/bin');
    const aside = this.opts.machine.hostPath(CNI_BIN_DOWN);
    if (!up && existsSync(bin)) {
      rmSync(aside, { recursive: true, force: true });
      renameSync(bin, aside);
    } else if (up && existsSync(aside)) {
      rmSync(bin, { recursive: true, force: true });
      renameSync(aside, bin);
    }
  }

  private defaultNetwork(cniVersion = '1.0.0'): Record<string, unknown> {
    return {
      cniVersion,
      name: DEFAULT_NETWORK,
      type: 'bridge',
      bridge: DEFAULT_BRIDGE,
      isGateway: true,
      ipMasq: false,
      ipam: { type: 'host-local', ranges: [[{ subnet: `10.244.${this.opts.index}.0/24` }]], dataDir: '/var/lib/cni/networks' },
    };
  }

  /** Multus is the node's CNI (`--multus`) */
  get multus(): boolean {
    return !!this.opts.multusBinary;
  }

  /**
   * The node reaches the cluster's API server: a relay inside the node (127.0.0.1:<port> → the server's unix socket),
   * the kubeconfig under /etc/cni/net.d/multus.d/, and with Multus its config and clusterNetwork. Resolves once the
   * relay listens. The relay stops with the runtime (and by itself when this process is gone).
   */
  async connectApi(a: NodeApiAccess): Promise<void> {
    const put = (nodePath: string, text: string, mode = 0o644) => {
      const here = this.opts.machine.hostPath(nodePath);
      mkdirSync(dirname(here), { recursive: true });
      writeFileSync(here, text, { mode });
      chmodSync(here, mode);
    };
    put(MULTUS_NODE_PATHS.kubeconfig, a.kubeconfig, 0o600);
    if (this.multus) {
      mkdirSync(this.opts.machine.hostPath(MULTUS_NODE_PATHS.cacheDir), { recursive: true });
      const { name, cniVersion, ...plugin } = this.defaultNetwork(MULTUS_CNI_VERSION);
      put(MULTUS_NODE_PATHS.clusterNetwork, `${JSON.stringify({ cniVersion, name, plugins: [plugin] }, null, 2)}\n`);
      put(MULTUS_NODE_PATHS.conf, `${JSON.stringify(multusThinConfig(), null, 2)}\n`);
    }
    if (this.relay && this.relay.exitCode === null && this.relay.signalCode === null) return;
    const relay = this.opts.machine.spawn([...a.relayArgv, String(a.port), a.socketPath], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.relay = relay;
    let err = '';
    relay.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
    await new Promise<void>((resolve, reject) => {
      let out = '';
      relay.stdout!.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        if (out.includes('READY\n')) resolve();
      });
      relay.once('error', reject);
      relay.once('exit', (code, sig) => reject(new Error(`node ${this.opts.nodeName}: the API relay exited (${sig ?? code}) before listening on 127.0.0.1:${a.port}: ${err.trim()}`)));
    });
    relay.once('exit', (code, sig) => {
      // not stopped by stopRelay: say so, every Multus call fails from now on
      if (this.relay === relay) this.logKubelet('error', `the API relay exited (${sig ?? code}): ${err.trim()}`);
    });
  }

  private async stopRelay(): Promise<void> {
    const r = this.relay;
    this.relay = undefined;
    if (!r || r.exitCode !== null || r.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      r.once('exit', () => resolve());
      r.stdin?.end();
      r.kill('SIGTERM');
      setTimeout(() => r.kill('SIGKILL'), 2000).unref();
    });
  }

  /**
   * The node's CNI config as containerd loads it (libcni ConfFiles): the first .conf, .conflist or .json file of
   * /etc/cni/net.d by name.
   */
  private confDirNetwork(): Record<string, unknown> {
    const dir = this.opts.machine.hostPath('/etc/cni/net.d');
    const files = existsSync(dir) ? readdirSync(dir).filter((f) => /\.(conf|conflist|json)$/.test(f)).sort() : [];
    if (!files.length) throw new PodStartError('FailedCreatePodSandBox', 'cni plugin not initialized: no network config found in /etc/cni/net.d');
    const file = `/etc/cni/net.d/${files[0]}`;
    try {
      return JSON.parse(readFileSync(join(dir, files[0]), 'utf8')) as Record<string, unknown>;
    } catch (e) {
      throw new PodStartError('FailedCreatePodSandBox', `cni config ${file}: ${(e as Error).message}`);
    }
  }

  /**
   * The pod was admitted: its sandbox netns, eth0 on the default network, then one CNI ADD per network of its
   * networks annotation (device IDs from the pod-resources API). Throws PodStartError (the pod fails with its reason).
   */
  async podStarted(
    pod: V1Pod,
    nad: (namespace: string, name: string) => NadLite | undefined,
    configMap: (namespace: string, name: string) => ConfigMapLite | undefined = () => undefined,
  ): Promise<{ annotations: Record<string, string>; podIP?: string }> {
    const uid = pod.metadata!.uid!;
    const podKey = `${pod.metadata!.namespace ?? 'default'}/${pod.metadata!.name}`;
    // the volumes first, as the kubelet mounts them before it makes the sandbox
    const binds = await this.podVolumes(pod, configMap);
    if (pod.spec?.hostNetwork) {
      // no sandbox network: the pod's containers run in the node's namespace, as with a real kubelet no CNI is called
      this.sandboxes.set(uid, { podKey, netns: '', netnsPath: '', netnsGone: false, containerId: '', attachments: [], defaultEnv: {}, defaultAdded: false, binds });
      this.startContainers(pod);
      return { annotations: {} };
    }
    const attempt = this.attempts.get(uid) ?? 0;
    this.attempts.set(uid, attempt + 1);
    const containerId = createHash('sha256').update(`${uid}/sandbox/${attempt}`).digest('hex');
    const netns = `${this.opts.machine.netnsPrefix}-${containerId.slice(0, 8)}`;
    await ip(['netns', 'add', netns]);
    const sb: Sandbox = {
      podKey,
      netns,
      netnsPath: `/run/netns/${netns}`,
      netnsGone: false,
      containerId,
      attachments: [],
      defaultEnv: {},
      binds,
      defaultAdded: false,
    };
    this.sandboxes.set(uid, sb);
    try {
      return await this.setupNetwork(pod, sb, nad);
    } catch (e) {
      // containerd RunPodSandbox: a failed network setup is torn down (CNI DEL of every network) and its netns
      // removed; what cannot be torn down stays for the sandbox GC
      this.sandboxes.delete(uid);
      await this.teardownSandbox(sb);
      throw new PodStartError('FailedCreatePodSandBox', `rpc error: code = Unknown desc = failed to setup network for sandbox "${containerId}": ${(e as Error).message}`);
    }
  }

  /** eth0 on the default network, then one CNI ADD per network of the pod's networks annotation; then its containers */
  private async setupNetwork(pod: V1Pod, sb: Sandbox, nad: (namespace: string, name: string) => NadLite | undefined): Promise<{ annotations: Record<string, string>; podIP?: string }> {
    const uid = pod.metadata!.uid!;
    const podKey = sb.podKey;
    const baseEnv = {
      CNI_CONTAINERID: sb.containerId,
      CNI_NETNS: sb.netnsPath,
      CNI_ARGS: `IgnoreUnknown=true;K8S_POD_NAMESPACE=${pod.metadata!.namespace ?? 'default'};K8S_POD_NAME=${pod.metadata!.name};K8S_POD_INFRA_CONTAINER_ID=${sb.containerId};K8S_POD_UID=${uid}`,
    };
    if (this.multus) {
      // the node's CNI (Multus) does all: the default network, the pod's networks, the network-status annotation
      const conf = this.confDirNetwork();
      const env = { ...baseEnv, CNI_IFNAME: 'eth0' };
      sb.attachments.push({ type: String(conf.type), conf, ifname: 'eth0', env });
      const result = await this.runCni('ADD', conf, env, podKey);
      this.startContainers(pod);
      return { annotations: {}, podIP: result.ips?.[0]?.address.split('/')[0] };
    }
    // the cluster's default network: a bridge on the node with host-local addresses, like a kind node
    sb.defaultEnv = { ...baseEnv, CNI_IFNAME: 'eth0' };
    sb.defaultAdded = true;
    const defResult = await this.runCni('ADD', this.defaultNetwork(), sb.defaultEnv, podKey);
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
        const n = nad(s.namespace, s.name);
        if (!n) throw new PodStartError('FailedCreatePodSandBox', `cannot find a network-attachment-definition (${s.name}) in namespace (${s.namespace}): network-attachment-definitions.k8s.cni.cncf.io "${s.name}" not found`);
        return n;
      });
      const resources = nads.map((n) => ({ resourceName: n.metadata?.annotations?.[RESOURCE_NAME_ANNOTATION] }));
      const podDevices = resources.some((r) => r.resourceName) ? await this.podDevices(pod) : new Map<string, string[]>();
      const ids = assignDeviceIds(resources, podDevices);
      for (let i = 0; i < sels.length; i++) {
        const sel = sels[i];
        const ifname = sel.interface ?? `net${i + 1}`;
        const conf = delegateConfig(nads[i].spec?.config ?? '{}', sel.name, ids[i], sel);
        if (resources[i].resourceName && !ids[i]) {
          throw new PodStartError('FailedCreatePodSandBox', `no device of resource ${resources[i].resourceName} allocated to the pod for network ${sel.namespace}/${sel.name}`);
        }
        const env = { ...baseEnv, CNI_IFNAME: ifname };
        sb.attachments.push({ type: String(conf.type), conf, ifname, env });
        const result = await this.runCni('ADD', conf, env, podKey);
        statuses.push(networkStatusOf(`${sel.namespace}/${sel.name}`, ifname, sb.netnsPath, result, ids[i]));
      }
    }
    this.startContainers(pod);
    return { annotations: { [NETWORK_STATUS_ANNOTATION]: JSON.stringify(statuses, null, 2) }, podIP };
  }

  /**
   * the argv prefix that puts a process into a pod's network namespace (none for hostNetwork) and, for a container,
   * a mount namespace with its volumes
   */
  private enterPod(sb: Sandbox, container?: string): string[] {
    const net = sb.netns ? ['nsenter', `--net=/run/netns/${sb.netns}`, '--'] : [];
    return [...net, ...mountPrefix(container ? (sb.binds.get(container) ?? []) : [])];
  }

  private get kubeletDirHere(): string {
    return this.opts.machine.hostPath('/var/lib/kubelet');
  }

  /** The pod's volumes set up on the node; each container's mounts of them. Throws PodStartError (FailedMount). */
  private async podVolumes(pod: V1Pod, configMap: (namespace: string, name: string) => ConfigMapLite | undefined): Promise<Map<string, VolumeBind[]>> {
    const binds = new Map<string, VolumeBind[]>();
    if (!pod.spec?.volumes?.length && !pod.spec?.containers.some((c) => c.volumeMounts?.length)) return binds;
    try {
      const host = {
        kubeletDirHere: this.kubeletDirHere,
        kubeletDirNode: this.opts.nodeKubeletDir ?? '/var/lib/kubelet',
        execInNode: (script: string) => this.opts.machine.exec(['sh', '-c', script], { timeoutMs: 30_000 }),
      };
      const volumes = await setUpPodVolumes(pod, host, configMap);
      for (const c of pod.spec?.containers ?? []) binds.set(c.name, containerBinds(c, volumes));
      return binds;
    } catch (e) {
      // nothing of a pod that does not start stays on the node
      tearDownPodVolumes(pod.metadata!.uid!, this.kubeletDirHere);
      throw e instanceof PodStartError ? e : new PodStartError('CreateContainerConfigError', (e as Error).message);
    }
  }

  /**
   * A sandbox's network teardown (containerd StopPodSandbox → teardownPodNetwork): CNI DEL of every network in
   * reverse order, each tried even when one before it failed; the netns is removed only when all succeeded (as
   * containerd removes it only then). A failure is logged and the sandbox kept for the sandbox GC. True when done.
   */
  private async teardownSandbox(sb: Sandbox): Promise<boolean> {
    // containerd passes an empty netns path once the namespace is closed
    const netnsEnv = { CNI_NETNS: sb.netnsGone ? '' : sb.netnsPath };
    const errors: string[] = [];
    for (const a of [...sb.attachments].reverse()) {
      await this.runCni('DEL', a.conf, { ...a.env, ...netnsEnv }, sb.podKey).catch((e: Error) => errors.push(e.message));
    }
    if (sb.defaultAdded) await this.runCni('DEL', this.defaultNetwork(), { ...sb.defaultEnv, ...netnsEnv }, sb.podKey).catch((e: Error) => errors.push(e.message));
    if (errors.length) {
      this.logKubelet('error', `StopPodSandbox of pod ${sb.podKey}: failed to destroy network for sandbox "${sb.containerId}": ${errors.join('; ')}`);
      if (!this.dead.includes(sb)) this.dead.push(sb);
      return false;
    }
    if (!sb.netnsGone) await ip(['netns', 'del', sb.netns]).catch(() => undefined);
    this.dead = this.dead.filter((x) => x !== sb);
    return true;
  }

  /** resolves when no sandbox GC run is going on */
  async gcIdle(): Promise<void> {
    await this.gcRunning?.catch(() => undefined);
  }

  /** sandboxes whose teardown failed and that the GC still holds (pod namespace/name and sandbox ID) */
  deadSandboxes(): Array<{ pod: string; containerId: string; netns: string }> {
    return this.dead.map((sb) => ({ pod: sb.podKey, containerId: sb.containerId, netns: sb.netns }));
  }

  /**
   * What the node holds for pods without a sandbox here (a sandbox whose teardown failed and that the GC still holds
   * counts as one: its pod is gone): network namespaces of this runtime's prefix, host-local IPAM leases (a lease
   * file's first line is the container ID it was given to), mounts under the kubelet's pods directory, and container
   * processes alive after their pod stopped. The same on every machine: read where the runtime runs, as the node sees it.
   */
  async podLeftovers(): Promise<PodLeftovers> {
    const live = [...this.sandboxes.entries()];
    const liveNetns = new Set(live.map(([, sb]) => sb.netns).filter(Boolean));
    const liveIds = new Set(live.map(([, sb]) => sb.containerId).filter(Boolean));
    const liveUids = new Set(live.map(([uid]) => uid));
    const prefix = `${this.opts.machine.netnsPrefix}-`;
    const mine = (n: string) => n.startsWith(prefix) && /^[0-9a-f]{8}$/.test(n.slice(prefix.length));
    const netns = (await ip(['netns', 'list']))
      .split('\n')
      .map((l) => l.split(' ')[0])
      .filter((n) => mine(n) && !liveNetns.has(n))
      .map((n) => `network namespace ${n}`);
    const ipamLeases: string[] = [];
    const leasesDir = this.opts.machine.hostPath('/var/lib/cni/networks');
    for (const net of existsSync(leasesDir) ? readdirSync(leasesDir) : []) {
      const dir = join(leasesDir, net);
      if (!lstatSync(dir).isDirectory()) continue;
      for (const f of readdirSync(dir).filter((x) => /^[0-9a-f.:]+$/.test(x))) {
        let owner = '';
        try {
          owner = readFileSync(join(dir, f), 'utf8').split('\n')[0].trim();
        } catch {
          continue; // released between the listing and the read
        }
        if (!liveIds.has(owner)) ipamLeases.push(`IPAM lease ${net}/${f} (container ${owner.slice(0, 12) || '?'})`);
      }
    }
    const podsDir = `${this.kubeletDirHere}/pods/`;
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[4] ?? '')
      .filter((m) => m.startsWith(podsDir) && !liveUids.has(m.slice(podsDir.length).split('/')[0]))
      .map((m) => `mount ${m}`);
    const processes = this.containers.strayProcesses().map((p) => `process ${p.pid} of container ${p.container} of pod ${p.pod}`);
    return { netns, ipamLeases, mounts, processes };
  }

  /**
   * Removes a pod's network namespace under it (the pause container gone before DEL: sriov-cni #126): its physical
   * netdevs return to the node, and DEL later gets an empty CNI_NETNS. The pod's newest sandbox, live or awaiting
   * the GC. Its containers' processes, if any, keep the namespace itself alive, as in the kernel.
   */
  async removePodNetns(namespace: string, name: string): Promise<string> {
    const key = `${namespace}/${name}`;
    const sb = [...this.sandboxes.values()].reverse().find((x) => x.podKey === key && x.netns) ?? [...this.dead].reverse().find((x) => x.podKey === key);
    if (!sb || sb.netnsGone) throw new Error(`pod ${key} has no sandbox network namespace on node ${this.opts.nodeName}`);
    // the kernel destroys a namespace after its last reference went, asynchronously; eth0's peer on the node goes
    // in the same cleanup as the rest of its devices, so its going says the VFs are back in the node
    const eth0 = (JSON.parse((await ip(['-n', sb.netns, '-j', 'link', 'show', 'dev', 'eth0']).catch(() => '[]')) || '[]') as Array<{ link_index?: number }>)[0];
    // a physical netdev (a VF) outlives the namespace: the kernel moves it to the initial one under the name it has
    // (dev<N> when that is taken), down. The simulator's VF netdevs are veths, which would die with it instead, so
    // the pod's device attachments are moved out first, as the kernel would
    let n = 0;
    for (const a of sb.attachments) {
      if (typeof a.conf.deviceID !== 'string') continue;
      const move = (name?: string) =>
        this.opts.machine.exec(['sh', '-c', `ip -n "$1" link set dev "$2" netns /proc/$$/ns/net${name ? ' name "$3"' : ''}`, 'netns-remove', sb.netns, a.ifname, name ?? '']);
      let r = await move();
      while (r.exitCode !== 0 && /File exists/.test(r.stderr) && n < 100) r = await move(`dev${n++}`);
    }
    await ip(['netns', 'del', sb.netns]);
    sb.netnsGone = true;
    if (eth0?.link_index !== undefined) {
      for (let i = 0; i < 100; i++) {
        const r = await this.opts.machine.exec(['ip', '-j', 'link', 'show']);
        const links = r.exitCode === 0 ? (JSON.parse(r.stdout || '[]') as Array<{ ifindex: number }>) : [];
        if (!links.some((l) => l.ifindex === eth0.link_index)) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    return sb.netns;
  }

  /** a container's environment: the pod's name as HOSTNAME, its env values, the device plugin's envs */
  private containerEnv(pod: V1Pod, c: V1Container | undefined): NodeJS.ProcessEnv {
    const own = Object.fromEntries((c?.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]));
    const devices = c ? (this.kubelet.runContainerOptions(pod.metadata!.uid!, c.name)?.envs ?? {}) : {};
    return { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', HOSTNAME: pod.metadata!.name!, ...own, ...devices };
  }

  /** every change of a pod's containers (started, exited, restarted); returns the unsubscriber */
  onContainers(cb: (r: PodContainersReport) => void): () => void {
    this.containerListeners.add(cb);
    return () => this.containerListeners.delete(cb);
  }

  private startContainers(pod: V1Pod): void {
    const sb = this.sandboxes.get(pod.metadata!.uid!)!;
    this.containers.startPod(pod, (c) => this.enterPod(sb, c.name), (c) => this.containerEnv(pod, c), (c) => bundledArgv(c, this.opts.bundled));
  }

  /** a pod's container log (see ContainerRuntime.readLog) */
  readLog(podUid: string, container: string, o: { previous?: boolean; offset?: number; tailLines?: number; waitMs?: number }): Promise<LogRead> {
    return this.containers.readLog(podUid, container, o);
  }

  /** Starts an interactive command in a pod's container: the pod's namespace, the container's environment. */
  execStart(pod: V1Pod, container: string, argv: string[], o: { stdin: boolean; tty: boolean }): string {
    const sb = this.sandboxes.get(pod.metadata!.uid!);
    if (!sb) throw new Error(`pod ${pod.metadata!.namespace ?? 'default'}/${pod.metadata!.name} is not running (phase ${pod.status?.phase ?? 'Pending'})`);
    const c = pod.spec?.containers.find((x) => x.name === container);
    if (!c) throw new Error(`container ${container} is not valid for pod ${pod.metadata!.name}`);
    return this.execs.start({ enter: this.enterPod(sb, c.name), argv, env: this.containerEnv(pod, c), stdin: o.stdin, tty: o.tty });
  }

  execInput(id: string, data: string | undefined, close: boolean): void {
    this.execs.input(id, data, close);
  }

  execRead(id: string, waitMs: number): Promise<ExecRead> {
    return this.execs.read(id, waitMs);
  }

  execKill(id: string): void {
    this.execs.kill(id);
  }

  /** device IDs of a pod per resource, from the node's pod-resources API (the checkpoint file as a fallback) */
  private async podDevices(pod: V1Pod): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    const add = (res: string, ids: string[]) => out.set(res, [...(out.get(res) ?? []), ...ids]);
    const client = new PodResourcesClient(this.opts.machine.hostPath('/var/lib/kubelet/pod-resources/kubelet.sock'));
    try {
      const list = await client.list(5000);
      const pr = list.pod_resources.find((p) => p.name === pod.metadata!.name && p.namespace === (pod.metadata!.namespace ?? 'default'));
      for (const c of pr?.containers ?? []) for (const d of c.devices ?? []) add(d.resource_name, d.device_ids);
      return out;
    } catch {
      const cp = JSON.parse(this.checkpointText()) as { Data: { PodDeviceEntries: Array<{ PodUID: string; ResourceName: string; DeviceIDs: Record<string, string[]> | string[] }> | null } };
      for (const e of cp.Data.PodDeviceEntries ?? []) {
        if (e.PodUID !== pod.metadata!.uid) continue;
        add(e.ResourceName, Array.isArray(e.DeviceIDs) ? e.DeviceIDs : Object.values(e.DeviceIDs).flat());
      }
      return out;
    } finally {
      client.close();
    }
  }

  /** The pod is going: its containers get SIGTERM, and SIGKILL after the grace period (killPod). */
  async stopContainers(pod: V1Pod, gracePeriodSeconds: number): Promise<void> {
    const uid = pod.metadata!.uid!;
    await this.containers.stopPod(uid, gracePeriodSeconds * 1000);
    if (this.pluginPod === uid) this.pluginPod = undefined;
  }

  /**
   * The pod is gone (its devices already free): its containers stopped if they were not, then the sandbox torn
   * down. A failing DEL is logged and never blocks; the sandbox GC retries it.
   */
  async podStopped(pod: V1Pod): Promise<void> {
    const uid = pod.metadata!.uid!;
    const sb = this.sandboxes.get(uid);
    this.attempts.delete(uid);
    if (!sb) return;
    await this.stopContainers(pod, pod.metadata?.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30);
    tearDownPodVolumes(uid, this.kubeletDirHere);
    this.sandboxes.delete(uid);
    if (!sb.netns) return;
    await this.teardownSandbox(sb);
  }

  /** The pod's network namespace path (/run/netns/…), while it has a sandbox. */
  podNetns(podUid: string): string | undefined {
    const sb = this.sandboxes.get(podUid);
    if (!sb) return undefined;
    // a hostNetwork pod: entering "its" namespace from inside the node enters the node's own
    return sb.netns ? `/run/netns/${sb.netns}` : '/proc/self/ns/net';
  }

  /** Runs a command in a pod: the node's mount view, the pod's network namespace, the container's device env. */
  async execInPod(pod: V1Pod, argv: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<ExecOutcome> {
    const sb = this.sandboxes.get(pod.metadata!.uid!);
    if (!sb) throw new Error(`pod ${pod.metadata!.namespace ?? 'default'}/${pod.metadata!.name} is not running (phase ${pod.status?.phase ?? 'Pending'})`);
    return this.opts.machine.exec([...this.enterPod(sb, pod.spec!.containers[0]?.name), ...argv], {
      input: opts.input,
      timeoutMs: opts.timeoutMs ?? 60_000,
      env: this.containerEnv(pod, pod.spec!.containers[0]),
    });
  }

  /** The next `count` IPAM ADDs of pods fail with `message` (the faulty IPAM in /opt/cni/bin). */
  setIpamFailure(count: number, message: string): void {
    writeFileSync(this.opts.machine.hostPath('/run/sriov-lab/ipam-fail'), `${count}\n${message}\n`);
  }

  checkpointText(): string {
    return readFileSync(this.opts.machine.hostPath('/var/lib/kubelet/device-plugins/kubelet_internal_checkpoint'), 'utf8');
  }

  /** the pod-resources API's List and GetAllocatableResources, as a JSON document */
  async podResourcesJson(): Promise<string> {
    const c = new PodResourcesClient(this.opts.machine.hostPath('/var/lib/kubelet/pod-resources/kubelet.sock'));
    try {
      const [list, alloc] = await Promise.all([c.list(5000), c.getAllocatableResources(5000)]);
      return JSON.stringify({ list, allocatable: alloc }, null, 2);
    } finally {
      c.close();
    }
  }

  /** Stops the plugin and the kubelet, removes the pod namespaces. */
  async stop(): Promise<void> {
    const node = this.opts.nodeName;
    this.execs.killAll();
    await timed('runtime stop: containers', node, () => this.containers.stopAll(STOP_GRACE_MS).catch(() => undefined));
    await this.stopRelay();
    await timed('runtime stop: device plugin (SIGTERM → exit)', node, () => this.stopDevicePlugin().catch(() => undefined));
    await timed('runtime stop: kubelet emulator', node, () => this.kubelet.close().catch(() => undefined));
    this.started = false;
    if (this.gcTimer) this.opts.clock.clearTimeout(this.gcTimer);
    this.gcTimer = undefined;
    await this.gcRunning?.catch(() => undefined);
    this.setCniPath(true);
    for (const uid of this.sandboxes.keys()) tearDownPodVolumes(uid, this.kubeletDirHere);
    const endNetns = phaseStart('runtime stop: pod netns + cni0', node);
    // one ip for them all (-force: one that is gone already does not stop the rest)
    const left = [...this.sandboxes.values(), ...this.dead].filter((sb) => sb.netns && !sb.netnsGone).map((sb) => `netns del ${sb.netns}\n`);
    if (left.length) await ip(['-force', '-batch', '-'], { stdin: left.join('') }).catch(() => undefined);
    this.sandboxes.clear();
    this.dead = [];
    // the default network's bridge, made by the first pod's bridge CNI, goes with the node side
    if (!this.bridgeWasThere) await this.opts.machine.exec(['ip', 'link', 'del', 'dev', DEFAULT_BRIDGE]);
    endNetns();
  }
}
