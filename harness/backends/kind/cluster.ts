// A kind cluster's life in one run, in kind and docker command lines (tools.ts): made for the topology or found
// (--reuse), its worker containers matched to the topology's nodes by their share mounts, a node's kubelet restarted
// (systemctl in the container) or the node rebooted (docker restart), and at the end deleted if the run made it
// (unless --keep). A failure part-way undoes what was done before it is thrown.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Topology } from '../../../sim/topology/topology.ts';
import { kindConfig, nodeShare } from './config.ts';
import { SHARE_IN_NODE, makeShared, unmakeShared } from './share.ts';
import type { KindTools } from './tools.ts';

export interface KindClusterOptions {
  /** the cluster's name: the one to reuse, or the one to create */
  name: string;
  reuse: boolean;
  keep: boolean;
  topology: Topology;
  /** where the generated config goes */
  workDir: string;
  /** where kind writes (or the run writes, on reuse) the kubeconfig */
  kubeconfig: string;
  /** this cluster's share directory on the host (each node's under it) */
  shareRoot: string;
  progress?: (line: string) => void;
}

export class KindCluster {
  private created = false;
  private shared = false;
  /** topology node → its node container */
  readonly containers = new Map<string, string>();

  constructor(
    private readonly tools: KindTools,
    readonly o: KindClusterOptions,
  ) {}

  /** Creates or finds the cluster and matches its workers to the topology's nodes; on failure, closes what it opened. */
  async open(): Promise<void> {
    const { name, topology } = this.o;
    try {
      for (const n of topology.nodes) mkdirSync(nodeShare(this.o.shareRoot, n.name), { recursive: true });
      makeShared(this.o.shareRoot);
      this.shared = true;
      if (this.o.reuse) {
        const clusters = await this.tools.getClusters();
        if (!clusters.includes(name)) throw new Error(`--reuse ${name}: kind has no cluster ${name} (kind get clusters: ${clusters.join(', ') || 'none'})`);
        writeFileSync(this.o.kubeconfig, await this.tools.getKubeconfig(name), { mode: 0o600 });
      } else {
        const config = join(this.o.workDir, `kind-${name}.yaml`);
        writeFileSync(config, kindConfig(topology, this.o.shareRoot));
        this.o.progress?.(`kind: creating cluster ${name} (${topology.nodes.length} worker(s): ${topology.nodes.map((n) => n.name).join(', ')}); this takes a minute or more`);
        // from here on a half-made cluster is deleted as well
        this.created = true;
        await this.tools.createCluster(name, config, this.o.kubeconfig);
      }
      // each worker's share mount names its topology node
      for (const c of await this.tools.getNodes(name)) {
        const share = (await this.tools.containerMounts(c)).find((m) => m.Destination === SHARE_IN_NODE);
        if (share && share.Source === nodeShare(this.o.shareRoot, basename(share.Source))) this.containers.set(basename(share.Source), c);
      }
      const missing = topology.nodes.filter((n) => !this.containers.has(n.name));
      if (missing.length) {
        throw new Error(
          `kind cluster ${name} has no worker for node(s) ${missing.map((n) => n.name).join(', ')} of the topology (a worker mounts ${nodeShare(this.o.shareRoot, '<node>')} at ${SHARE_IN_NODE}; a cluster for --reuse is one a run made with --keep, for the same topology)`,
        );
      }
    } catch (e) {
      const problems = await this.close();
      if (problems.length) (e as Error).message += `\ncleanup: ${problems.join('\n')}`;
      throw e;
    }
  }

  container(node: string): string {
    const c = this.containers.get(node);
    if (!c) throw new Error(`node "${node}" is not a node of kind cluster ${this.o.name} (${[...this.containers.keys()].join(', ')})`);
    return c;
  }

  /** the PID of a node container's init on this host (its namespaces are the node's) */
  async pid(node: string): Promise<number> {
    const c = this.container(node);
    const pid = await this.tools.containerPid(c);
    if (pid <= 0) throw new Error(`kind node container ${c} is not running`);
    return pid;
  }

  /** `docker exec NODE systemctl ACTION kubelet` */
  async kubelet(node: string, action: 'restart' | 'stop' | 'start'): Promise<void> {
    const c = this.container(node);
    const r = await this.tools.dockerExec(c, ['systemctl', action, 'kubelet'], { timeoutMs: 60_000 });
    if (r.exitCode !== 0) throw new Error(`kubelet ${action} on ${node}: docker exec ${c} systemctl ${action} kubelet: ${r.stderr.trim() || `exit code ${r.exitCode}`}`);
  }

  /** `docker restart NODE`, then the new PID of its init */
  async reboot(node: string): Promise<number> {
    await this.tools.dockerRestart(this.container(node));
    return this.pid(node);
  }

  /** Deletes the cluster if this run made it (unless keep), and then its share; what failed comes back. */
  async close(): Promise<string[]> {
    const problems: string[] = [];
    const deleting = this.created && !this.o.keep;
    if (deleting) {
      this.o.progress?.(`kind: deleting cluster ${this.o.name}`);
      await this.tools.deleteCluster(this.o.name, this.o.kubeconfig).catch((e: Error) => problems.push(e.message));
    } else if (this.created) this.o.progress?.(`kind: keeping cluster ${this.o.name} (--keep); delete it with: kind delete cluster --name ${this.o.name}`);
    this.created = false;
    // a cluster that stays keeps its share mounted: its containers' mounts are slaves of this one, and a new mount at
    // the same path would not reach them (a later --reuse serves the nodes' sysfs under it again)
    if (this.shared && (deleting || !this.containers.size)) {
      try {
        unmakeShared(this.o.shareRoot);
        rmSync(this.o.shareRoot, { recursive: true, force: true });
      } catch (e) {
        problems.push((e as Error).message);
      }
      this.shared = false;
    }
    return problems;
  }
}
