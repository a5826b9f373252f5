// The background cluster: one simulated cluster (the cluster assembly with simulated nodes, harness/cluster) held by a
// long-lived process, with its Kubernetes API server (which get/describe/apply/delete talk to) and a JSON-lines control
// socket for what the API does not serve yet (status, shutdown, node component logs and restarts, exec targets).
// `sriov-lab up` starts it (main.ts), `sriov-lab down` (or SIGTERM) stops it.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TraceEvent } from '../../sim/trace.ts';
import { LabCluster } from '../cluster/lab-cluster.ts';
import { SimNodeProvider, type SimLabNode } from '../backends/sim.ts';
import { LIGHTWEIGHT_ANNOTATION } from '../backends/light.ts';
import { StoreError } from '../../sim/cluster/store.ts';
import { kubectlError } from '../cli/kubectl-errors.ts';
import { defaultTopology, loadTopology, type Topology } from '../../sim/topology/topology.ts';
import { BUNDLED_DEVICE_PLUGIN_DAEMONSET, bundledDevicePluginArgv, bundledDevicePluginDaemonSet, bundledExecutables, cniInstallSet, defaultDevicePluginConfig } from '../plugins.ts';
import { resourceOfKind } from '../../sim/apiserver/resources.ts';
import type { CommandOutput, DaemonPhase, DaemonRequest, DaemonResponse, DaemonStatus, ExecTarget, LogsResult } from './protocol.ts';
import { removeStateFiles, writeDaemonInfo, type DaemonInfo, type DaemonPaths } from './state.ts';

/** What `up` decided, handed to the daemon as options.json. */
export interface DaemonOptions {
  /** absolute; the default topology when absent */
  topologyFile?: string;
  seed: number;
  /** argv of a user-given device plugin, which each node starts itself; the bundled one as a DaemonSet when absent */
  devicePluginArgv?: string[];
  /** `up --bare`: no device plugin at all (one comes from a DaemonSet the user creates) */
  bare?: boolean;
  /** absolute path of a JSON file for /etc/pcidp/config.json; the bundled plugin's default when absent */
  devicePluginConfigFile?: string;
  /** absolute path of a CNI binary installed as /opt/cni/bin/sriov */
  cniPath?: string;
  /** absolute path of a Multus thin-plugin binary: each node's CNI, in place of the emulated attach (`up --multus`) */
  multusPath?: string;
  /** how long to wait for device plugin resources before reporting ready anyway */
  readyTimeoutMs: number;
}

/** What kubectl prints for an error, and its exit code. */
export function errorOutput(e: unknown): CommandOutput {
  return { stdout: '', stderr: `${kubectlError(e)}\n`, exitCode: 1 };
}

function nodeNotFound(name: string): StoreError {
  return new StoreError('NotFound', 'Node', '', name, `nodes ${JSON.stringify(name)} not found`);
}

/** how long a device plugin may run without registering before `up` says so */
const EARLY_NOTICE_MS = 8000;

export class ClusterDaemon {
  private phase: DaemonPhase = 'starting';
  private readonly progressLines: string[] = [];
  private readonly warnings: string[] = [];
  private error: string | undefined;
  private sc: LabCluster<SimLabNode> | undefined;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private stopping: Promise<void> | undefined;
  private booting: Promise<void> | undefined;
  private topology: Topology | undefined;
  private exitCode = 0;
  private resolveStopped: (code: number) => void = () => undefined;
  /** resolves with the exit code once stop() has finished (the process should exit then) */
  readonly whenStopped = new Promise<number>((r) => (this.resolveStopped = r));

  constructor(
    private readonly paths: DaemonPaths,
    private readonly info: DaemonInfo,
    private readonly options: DaemonOptions,
    private readonly log: (line: string) => void,
  ) {}

  private progress(line: string): void {
    this.progressLines.push(line);
    this.log(line);
  }

  /** Listens on the control socket, then boots the cluster. Resolves when the cluster is ready or failed. */
  async run(): Promise<void> {
    await this.listen();
    try {
      this.topology = this.options.topologyFile ? loadTopology(this.options.topologyFile) : defaultTopology();
      const bare = this.options.bare === true;
      // the bundled plugin runs as a DaemonSet's pods, a user's plugin as each node's own process
      const daemonSet = !bare && !this.options.devicePluginArgv;
      const devicePluginArgv = bare || daemonSet ? [] : this.options.devicePluginArgv!;
      const devicePluginConfig = this.options.devicePluginConfigFile ? (JSON.parse(readFileSync(this.options.devicePluginConfigFile, 'utf8')) as unknown) : defaultDevicePluginConfig();
      const cniPlugins = cniInstallSet(join(this.info.workDir, 'bin'), this.options.cniPath ? { path: this.options.cniPath } : undefined);
      this.progress(`topology ${this.topology.name}: ${this.topology.nodes.length} node(s); seed ${this.options.seed}`);
      this.progress(
        `device plugin: ${bare ? 'none (--bare)' : daemonSet ? `the bundled one, as DaemonSet kube-system/${BUNDLED_DEVICE_PLUGIN_DAEMONSET} (${bundledDevicePluginArgv().join(' ')})` : devicePluginArgv.join(' ')}`,
      );
      this.progress(`CNI plugins under test: ${Object.keys(cniPlugins).length ? Object.entries(cniPlugins).map(([t, p]) => `${t} → ${p}`).join(', ') : 'none (reference plugins only)'}`);
      const multus = this.options.multusPath;
      this.progress(multus ? `pod networks: Multus (${multus}), each node's CNI, through the Kubernetes API` : 'pod networks: the default network and the emulated Multus attach');
      this.booting = LabCluster.start(new SimNodeProvider({ devicePluginArgv, devicePluginConfig, cniPlugins, bundled: bundledExecutables(cniPlugins), ...(multus ? { multusBinary: multus } : {}) }), {
        ...(multus ? { multus } : {}),
        topology: this.topology,
        seed: this.options.seed,
        workDir: join(this.info.workDir, 'nodes'),
        devicePlugin: { argv: this.options.devicePluginArgv },
        trace: (e) => this.onTrace(e),
        progress: (l) => this.progress(l),
      }).then((sc) => {
        this.sc = sc;
      });
      await this.booting;
      const sc = this.sc!;
      this.info.netns = [...sc.nodes.values()].flatMap((sn) => [sn.node.netns, sn.node.fabricNetns]);
      writeDaemonInfo(this.paths, this.info);
      if (this.stopping) return;
      const api = await sc.serveApi({ log: (l) => this.log(l) });
      // the credentials are the cluster admin's: readable by the user who started the cluster only
      writeFileSync(this.paths.kubeconfig, api.kubeconfig(), { mode: 0o600 });
      chmodSync(this.paths.kubeconfig, 0o600);
      this.info.apiServer = api.url;
      writeDaemonInfo(this.paths, this.info);
      this.progress(`Kubernetes API on ${api.url}; kubeconfig ${this.paths.kubeconfig} (context sriov-lab)`);
      if (this.stopping) return;
      if (daemonSet) api.registry.create({ r: resourceOfKind('DaemonSet'), namespace: 'kube-system' }, bundledDevicePluginDaemonSet(), { fieldValidation: 'Strict', warnings: [] });
      if (!bare) await this.waitForResources();
      if (this.stopping) return;
      this.phase = 'ready';
      this.progress('cluster ready');
    } catch (e) {
      if (this.stopping) return;
      this.error = (e as Error).message;
      this.phase = 'failed';
      this.log(`start-up failed: ${(e as Error).stack ?? this.error}`);
      this.exitCode = 1;
      void this.stop();
    }
  }

  private onTrace(e: TraceEvent): void {
    if (e.kind === 'pod') this.log(`pod ${e.pod}${e.node ? ` on ${e.node}` : ''}: ${e.from ?? '-'} → ${e.to}${e.reason ? ` (${e.reason}${e.message ? `: ${e.message}` : ''})` : ''}`);
    else if (e.kind === 'scheduler' && e.result === 'unschedulable') this.log(`scheduler: ${e.pod}: ${e.message}`);
    else if (e.kind === 'log' && (e.level === 'warn' || e.level === 'error') && e.source !== 'device-plugin') this.log(`${e.node ?? ''} ${e.source} ${e.level}: ${e.message}`);
  }

  /** Ready once every node shows a device plugin resource; after the timeout, ready with a warning. */
  private async waitForResources(): Promise<void> {
    const sc = this.sc!;
    const t0 = Date.now();
    let lastReport = t0;
    /** nodes given up on: their plugin exited without registering */
    const gaveUp = new Set<string>();
    const missing = () =>
      [...sc.nodes.keys()].filter((n) => !gaveUp.has(n) && !Object.keys(sc.cluster.store.get('Node', '', n)?.status?.allocatable ?? {}).some((k) => k.includes('/')));
    this.progress('waiting for the device plugin to register its resources');
    // said early, not after the whole timeout: a plugin that has run a while and registered nothing (no devices match
    // its config?), or one that exited
    for (const [name, n] of sc.nodes) {
      n.api.call('devicePluginReady', { aliveMs: EARLY_NOTICE_MS, timeoutMs: this.options.readyTimeoutMs }, this.options.readyTimeoutMs + 10_000).then(
        (r) => {
          if (r.registered || this.stopping || !missing().includes(name)) return;
          const logs = `see \`sriov-lab logs device-plugin --node ${name}\``;
          if (!r.running) {
            const w = `the device plugin on ${name} exited without registering a resource; ${logs}`;
            this.warnings.push(w);
            this.progress(`warning: ${w}`);
            gaveUp.add(name);
          } else this.progress(`node ${name}: the device plugin has run ${Math.round(r.waitedMs / 1000)}s and registered no resource yet (no device matches its config?); ${logs}; waiting up to ${Math.round(this.options.readyTimeoutMs / 1000)}s`);
        },
        () => undefined,
      );
    }
    for (;;) {
      const m = missing();
      if (m.length === 0) {
        for (const n of sc.nodes.keys()) this.progress(`node ${n}: ${this.resourceSummary(n)}`);
        return;
      }
      if (this.stopping) return;
      const waitedMs = Date.now() - t0;
      if (waitedMs >= this.options.readyTimeoutMs) {
        for (const n of m) {
          const w = `no device plugin resources on ${n} after ${this.options.readyTimeoutMs}ms; see \`sriov-lab logs device-plugin --node ${n}\``;
          this.warnings.push(w);
          this.progress(`warning: ${w}`);
        }
        return;
      }
      if (Date.now() - lastReport >= 5000) {
        lastReport = Date.now();
        this.progress(`still waiting for device plugin resources on ${m.join(', ')} (${Math.round(waitedMs / 1000)}s)`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  private resourceSummary(node: string): string {
    const alloc = this.sc?.cluster.store.get('Node', '', node)?.status?.allocatable ?? {};
    const ext = Object.keys(alloc)
      .filter((k) => k.includes('/'))
      .sort();
    return ext.length ? ext.map((k) => `${k}=${alloc[k]}`).join(', ') : 'no device plugin resources';
  }

  // ---- control socket --------------------------------------------------------------------

  private listen(): Promise<void> {
    rmSync(this.paths.socket, { force: true });
    const server = createServer((sock) => this.serve(sock));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.paths.socket, () => {
        server.off('error', reject);
        chmodSync(this.paths.socket, 0o600);
        resolve();
      });
    });
  }

  private serve(sock: Socket): void {
    this.sockets.add(sock);
    sock.on('close', () => this.sockets.delete(sock));
    sock.on('error', () => undefined);
    sock.setEncoding('utf8');
    let buf = '';
    let chain = Promise.resolve();
    sock.on('data', (d: string) => {
      buf += d;
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (!line.trim()) continue;
        chain = chain.then(async () => {
          const resp = await this.answer(line);
          if (!sock.destroyed) sock.write(`${JSON.stringify(resp)}\n`);
        });
      }
    });
  }

  private async answer(line: string): Promise<DaemonResponse> {
    let req: DaemonRequest;
    try {
      req = JSON.parse(line) as DaemonRequest;
    } catch (e) {
      return { ok: false, error: { name: 'ProtocolError', message: `malformed request: ${(e as Error).message}` } };
    }
    try {
      return { ok: true, result: await this.handle(req) };
    } catch (e) {
      // the message is what kubectl would print (`Error from server (NotFound): …`, `error: …`)
      return { ok: false, error: { name: (e as Error).name ?? 'Error', message: errorOutput(e).stderr.trimEnd() } };
    }
  }

  private cluster(): LabCluster<SimLabNode> {
    if (this.phase === 'stopping') throw new Error('the simulated cluster is stopping');
    if (this.phase === 'failed') throw new Error(`the simulated cluster failed to start: ${this.error}`);
    if (!this.sc) throw new Error('the simulated cluster is still starting; `sriov-lab up` waits for it');
    return this.sc;
  }

  private node(name: string): SimLabNode {
    const sc = this.cluster();
    const sn = sc.nodes.get(name);
    if (sn) return sn;
    // a lightweight node has no machine, logs or processes: say so rather than "not found"
    if (sc.lightNodes.has(name)) sc.mustNode(name);
    throw nodeNotFound(name);
  }

  private async handle(req: DaemonRequest): Promise<unknown> {
    switch (req.op) {
      case 'status':
        return this.status();
      case 'shutdown':
        this.log('shutdown requested over the control socket');
        setImmediate(() => void this.stop());
        return { stopping: true };
      case 'logs':
        return this.logs(req.source, req.node, req.tail, req.since);
      case 'exec-target':
        return this.execTarget(req.pod, req.namespace ?? 'default', req.container);
      case 'node-target':
        return { argv: this.node(req.node).node.enterArgv(), env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/root' } } satisfies ExecTarget;
      case 'restart':
        return this.renderAsync(() => this.restart(req.component, req.node));
      default:
        throw new Error(`unknown request "${(req as { op?: string }).op}"`);
    }
  }

  private async renderAsync(f: () => Promise<CommandOutput>): Promise<CommandOutput> {
    try {
      return await f();
    } catch (e) {
      return errorOutput(e);
    }
  }

  status(): DaemonStatus {
    const store = this.sc?.cluster.store;
    return {
      phase: this.phase,
      pid: process.pid,
      stateDir: this.paths.stateDir,
      workDir: this.info.workDir,
      log: this.paths.log,
      seed: this.options.seed,
      topology: this.options.topologyFile ?? '<default topology>',
      progress: [...this.progressLines],
      warnings: [...this.warnings],
      error: this.error,
      apiServer: this.info.apiServer,
      kubeconfig: this.info.apiServer ? this.paths.kubeconfig : undefined,
      nodes: store
        ? store.list('Node').map((n) => ({
            name: n.metadata!.name!,
            allocatable: { ...(n.status?.allocatable ?? {}) },
            ...(n.metadata?.annotations?.[LIGHTWEIGHT_ANNOTATION] ? { lightweight: true } : {}),
          }))
        : [],
    };
  }

  private logs(source: 'device-plugin' | 'kubelet', nodeName: string, tail: number | undefined, since: number | undefined): LogsResult {
    const sn = this.node(nodeName);
    const lines = source === 'device-plugin' ? sn.runtime.pluginLog : sn.runtime.kubeletLog;
    let from = since ?? 0;
    // the buffers drop their oldest 10,000 lines past 20,000: a follower's position moves with them
    if (from > lines.length) from = Math.max(0, from - 10_000);
    let out = lines.slice(from);
    if (tail !== undefined && tail >= 0) out = tail === 0 ? [] : out.slice(-tail);
    return { lines: out, next: lines.length };
  }

  private execTarget(podName: string, namespace: string, container: string | undefined): ExecTarget {
    const sc = this.cluster();
    const pod = sc.cluster.store.mustGet('Pod', namespace, podName);
    const names = (pod.spec?.containers ?? []).map((c) => c.name);
    const c = container ?? names[0];
    if (!names.includes(c)) throw new Error(`container ${c} is not valid for pod ${podName}`);
    const phase = pod.status?.phase ?? 'Pending';
    if (phase === 'Succeeded' || phase === 'Failed') throw new Error(`cannot exec into a container in a completed pod; current phase is ${phase}`);
    const nodeName = pod.spec?.nodeName;
    const netns = nodeName ? sc.nodes.get(nodeName)?.runtime.podNetns(pod.metadata!.uid!) : undefined;
    if (!netns || !nodeName) throw new Error(`pod ${podName} is not running yet (phase ${phase}); see \`sriov-lab describe pod ${podName}${namespace === 'default' ? '' : ` -n ${namespace}`}\``);
    const sn = this.node(nodeName);
    const envs = sn.runtime.kubelet.runContainerOptions(pod.metadata!.uid!, c)?.envs ?? {};
    return {
      argv: [...sn.node.enterArgv(), 'nsenter', `--net=${netns}`, '--'],
      env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', HOSTNAME: podName, HOME: '/root', ...envs },
    };
  }

  private async restart(component: 'kubelet' | 'device-plugin', nodeName: string): Promise<CommandOutput> {
    const sc = this.cluster();
    // only the node interface is needed: a lightweight node restarts its kubelet and plugin view too
    const sn = sc.nodes.has(nodeName) || !sc.lightNodes.has(nodeName) ? this.node(nodeName) : sc.labNode(nodeName);
    if (component === 'kubelet') {
      this.log(`restarting the kubelet on ${nodeName}`);
      await sn.api.call('kubelet', { action: 'restart' });
      await sc.settle().catch((e: Error) => this.log(`after the kubelet restart on ${nodeName}: ${e.message}`));
      return { stdout: `kubelet on ${nodeName} restarted (sockets wiped, checkpoint restored)\n`, stderr: '', exitCode: 0 };
    }
    this.log(`restarting the device plugin on ${nodeName}`);
    const { pid } = await sn.api.call('devicePlugin', { action: 'restart' });
    return { stdout: `device plugin on ${nodeName} restarted (pid ${pid ?? '?'})\n`, stderr: '', exitCode: 0 };
  }

  // ---- shutdown ----------------------------------------------------------------------------

  /** Stops the cluster (every netns, mount, process), closes the socket, removes the state files. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      const wasPhase = this.phase;
      this.phase = 'stopping';
      this.log(`stopping (was ${wasPhase})`);
      // a start-up still in flight owns its nodes until LabCluster.start returns (it cleans up itself if it fails)
      if (this.booting && !this.sc) {
        this.progress('waiting for the start-up in progress to finish before stopping');
        await this.booting.catch(() => undefined);
      }
      try {
        await this.sc?.stop();
      } catch (e) {
        this.log(`stopping the cluster: ${(e as Error).stack ?? e}`);
        this.exitCode = 1;
      }
      for (const s of this.sockets) s.destroy();
      await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
      rmSync(this.info.workDir, { recursive: true, force: true });
      removeStateFiles(this.paths);
      this.log('stopped');
      this.resolveStopped(this.exitCode);
    })();
    return this.stopping;
  }

}

/** A fresh work dir for the nodes (under the temp dir: a node's /run is private, so nothing may live under /run). */
export function newWorkDir(): string {
  return mkdtempSync(join(tmpdir(), 'sriov-lab-cluster-'));
}
