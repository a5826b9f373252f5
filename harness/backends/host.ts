// The `host` backend: the node side on this machine against its real NICs, for vendors validating hardware. The PFs
// it may touch are given with `--pf NAME|PCI` (the topology's NICs map to them in order); HostSession (harness/host)
// applies the guard rails and journals every change before it is made, and restores the machine when the run ends,
// on Ctrl-C, and — after a crash — with `sriov-lab host restore`. The node agent (kubelet emulator, device plugin,
// sandboxes, CNI) runs here in a private mount namespace: /etc, /var/lib and /opt are overlays and /run a tmpfs, so
// the kubelet directories, CNI config and pod namespaces it makes never land on the machine.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { caps } from '../../sim/caps.ts';
import { getNicModel } from '../../sim/nics/catalog.ts';
import type { NodeSpec } from '../../sim/topology/topology.ts';
import type { Backend, BackendUpOptions, ClusterHandle, Requirement } from '../backend.ts';
import { HostSession } from '../host/host.ts';
import { listVfs } from '../host/nic.ts';
import { localSystem } from '../host/system.ts';
import { pluginsUnderTest } from '../plugins.ts';
import type { BackendRunInfo } from '../backend.ts';
import { LabCluster, type LabNode, type NodeProvider } from '../cluster/lab-cluster.ts';
import { LabClusterHandle } from '../cluster/handle.ts';
import { connectAgent, realKernelProvidesFault } from './agent-node.ts';
import type { NodeEvents } from '../node/node-rpc.ts';
import { NODE, agentConfig, assertBundles, dist, freePort } from '../node/agent-launch.ts';

/** the mount namespace of the node side: nothing it writes under /etc, /var/lib, /opt or /run reaches the machine */
const NODE_NS = `set -e
r=$SL_ROOT
for d in /etc /var/lib /opt; do
  k=$(echo "$d" | tr / _); mkdir -p "$r/ov/$k/upper" "$r/ov/$k/work"
  mount -t overlay sl-ov -o "lowerdir=$d,upperdir=$r/ov/$k/upper,workdir=$r/ov/$k/work" "$d"
done
mount -t tmpfs sl-run /run
mkdir -p /run/netns /var/lib/kubelet /var/lib/cni /etc/cni/net.d /etc/pcidp /opt/cni/bin
exec "$@"`;

class HostProvider implements NodeProvider {
  readonly backend = 'host' as const;
  readonly awaitDevicePlugins = true;
  private session: HostSession | null = null;
  private root = '';

  async prepare(opts: BackendUpOptions): Promise<void> {
    assertBundles();
    const pfs = opts.host?.pfs ?? [];
    if (pfs.length === 0) throw new Error('the host backend needs the PFs it may use: --pf NAME|PCI (repeat it for several, in the order of the topology\'s NICs)');
    if (opts.topology.nodes.length !== 1) throw new Error(`the host backend is one node; the topology has ${opts.topology.nodes.length}`);
    mkdirSync(opts.workDir, { recursive: true });
    this.root = mkdtempSync(join(opts.workDir, 'host-'));
    this.session = await HostSession.open({ sys: localSystem(), pfs, force: opts.host?.force, log: (l) => opts.progress?.(`host: ${l}`) });
    opts.progress?.(`host: claimed ${this.session.pfs.map((p) => `${p.ifname || '-'} (${p.pciAddr}, ${p.driver})`).join(', ')}; journal ${this.session.journalPath}`);
  }

  async startNode(spec: NodeSpec, index: number, opts: BackendUpOptions, events: NodeEvents): Promise<LabNode> {
    const session = this.session!;
    const sys = localSystem();
    // the topology's SR-IOV NICs are the claimed PFs, in order
    const sriov = spec.nics.filter((n) => (getNicModel(n.model)?.totalVfs ?? 0) > 0);
    if (sriov.length > session.pfs.length) throw new Error(`node ${spec.name} has ${sriov.length} SR-IOV NICs; --pf gave ${session.pfs.length}`);
    for (const [i, nic] of sriov.entries()) {
      const pf = session.pfs[i];
      opts.progress?.(`host: ${nic.model} ${nic.ifname} of the topology is ${pf.ifname || pf.pciAddr} (${pf.pciAddr}) here`);
      await session.setNumVfs(pf.pciAddr, nic.numVfs ?? 0);
      if (nic.vfDriver === 'vfio-pci') for (const vf of await listVfs(sys, pf.pciAddr)) await session.bindDriver(vf.pciAddr, 'vfio-pci');
    }
    const port = await freePort();
    const cfg = { ...agentConfig(spec, index, opts, this.root), port, listenHost: '127.0.0.1' };
    const cfgPath = join(this.root, `${spec.name}.agent.json`);
    writeFileSync(cfgPath, `${JSON.stringify(cfg, null, 2)}\n`);
    const logPath = join(this.root, 'node-agent.log');
    const logFd = openSync(logPath, 'a');
    // dies with us (pdeathsig), in its own mount namespace
    const child = spawn('setpriv', ['--pdeathsig', 'KILL', '--', 'unshare', '--mount', '--propagation', 'private', '--', 'sh', '-c', NODE_NS, 'sl-node', NODE, dist('sriov-lab-node-agent'), cfgPath], {
      stdio: ['ignore', logFd, logFd],
      env: { ...process.env, SL_ROOT: this.root },
    });
    closeSync(logFd);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    opts.progress?.(`${spec.name}: node agent (kubelet emulator, device plugin) on this machine, pid ${child.pid}`);
    try {
      return await connectAgent(spec, port, 60_000, events, async () => readFileSync(logPath, 'utf8'), async () => {
        const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(t);
      });
    } catch (e) {
      child.kill('SIGKILL');
      await exited;
      throw e;
    }
  }

  async finish(): Promise<void> {
    // the machine as it was: VFs home from namespaces, changes undone, each PF reconciled with its baseline
    if (this.session) {
      const r = await this.session.close();
      if (r.problems.length) throw new Error(`host restore left problems (journal ${r.journal}):\n${r.problems.join('\n')}`);
    }
    if (this.root) rmSync(this.root, { recursive: true, force: true });
  }
}

export const hostBackend: Backend & BackendRunInfo = {
  name: 'host',
  // one machine, one set of PFs: scenarios take turns
  maxJobs: 1,
  pluginsUnderTest: ({ devicePlugin, cni }) => pluginsUnderTest({ devicePluginArgv: devicePlugin.argv, cni }),
  kernelInfo: () => ({ release: release() }),
  async available() {
    const missing = [caps.root(), caps.iproute2()].filter((c) => !c.ok);
    if (missing.length) return { ok: false, reason: missing.map((c) => `${c.name}: ${c.detail}`).join('; ') };
    if (!existsSync('/sys/bus/pci/devices')) return { ok: false, reason: 'no PCI bus in /sys' };
    return { ok: true, detail: `this machine's NICs (--pf), kernel ${release()}; kubelet emulator and plugins here, in a private mount namespace` };
  },
  provides(req: Requirement) {
    switch (req.kind) {
      case 'root': {
        const c = caps.root();
        return c.ok ? { ok: true } : { ok: false, reason: c.detail };
      }
      case 'fuse': // the real sysfs
      case 'vfNetlink': // the PF driver's; a setting it refuses fails the scenario with the kernel's error
      case 'vfsPerPf': // the host NIC's; more than its sriov_totalvfs fails the topology with the kernel's error
        return { ok: true };
      case 'vfio':
        return existsSync('/sys/bus/pci/drivers/vfio-pci') || existsSync('/sys/module/vfio_pci') ? { ok: true } : { ok: false, reason: 'vfio-pci is not loaded (modprobe vfio-pci)' };
      case 'nodes':
        return req.count <= 1 ? { ok: true } : { ok: false, reason: `the host backend is one node; the scenario needs ${req.count}` };
      case 'cniPlugins': {
        const c = caps.cniPlugins();
        return c.ok ? { ok: true } : { ok: false, reason: c.detail };
      }
      case 'command':
        return existsSync(`/usr/bin/${req.name}`) || existsSync(`/usr/sbin/${req.name}`) ? { ok: true } : { ok: false, reason: `command ${req.name} not found` };
      case 'fault':
        return realKernelProvidesFault(req.fault);
    }
  },
  async up(opts: BackendUpOptions): Promise<ClusterHandle> {
    return new LabClusterHandle(await LabCluster.start(new HostProvider(), opts));
  },
};
