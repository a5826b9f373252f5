// The `qemu` backend: one VM per topology node (QEMU's igb for SR-IOV PFs, virtio-net for virtio NICs, a real guest
// kernel), the node side — kubelet emulator, device plugin under test, pod sandboxes, CNI — running in the guest as
// the node agent (harness/node/node-agent.ts), and the cluster brain (object store, scheduler, runner) here on the
// host (harness/cluster/lab-cluster.ts), talking to each agent over node-rpc through the VM's management NIC.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { caps } from '../../sim/caps.ts';
import { getNicModel } from '../../sim/nics/catalog.ts';
import type { NodeSpec } from '../../sim/topology/topology.ts';
import type { KernelInfo } from '../../reports/types.ts';
import type { Backend, BackendUpOptions, ClusterHandle, Requirement } from '../backend.ts';
import { pluginsUnderTest } from '../plugins.ts';
import { hostOsRelease, unavailableReason } from '../setup/setup.ts';
import type { BackendRunInfo } from '../backend.ts';
import { buildGuestArtefacts, type GuestArtefacts } from '../qemu/artefacts.ts';
import { PROJECT_DIR, startVm, VmStartError } from '../qemu/vm.ts';
import { NODE, agentConfig, assertBundles, dist, freePort } from '../node/agent-launch.ts';
import { NODE_AGENT_PORT, type NodeAgentConfig, type NodeEvents } from '../node/node-rpc.ts';
import { LabCluster, type LabNode, type NodeProvider } from '../cluster/lab-cluster.ts';
import { LabClusterHandle } from '../cluster/handle.ts';
import { connectAgent, realKernelProvidesFault } from './agent-node.ts';

/** the qemu backend's nodes, for callers that assemble the cluster themselves (the soak) */
export class QemuProvider implements NodeProvider {
  readonly backend = 'qemu' as const;
  readonly awaitDevicePlugins = true;
  private workDir = '';
  private artefacts: GuestArtefacts | null = null;

  async prepare(opts: BackendUpOptions): Promise<void> {
    assertBundles();
    mkdirSync(opts.workDir, { recursive: true });
    // shared with every guest at the same path: agent configs, CNI shims
    this.workDir = mkdtempSync(join(opts.workDir, 'qemu-'));
    this.artefacts = await buildGuestArtefacts({ onProgress: opts.progress });
  }

  async startNode(spec: NodeSpec, index: number, opts: BackendUpOptions, events: NodeEvents): Promise<LabNode> {
    const { progress } = opts;
    const artefacts = this.artefacts!;
    const port = await freePort();
    const start = () =>
      startVm({
        name: `${spec.name}-${process.pid}`,
        node: spec,
        artefacts,
        shares: [{ hostPath: this.workDir }, ...this.userShares(opts)],
        mgmt: { hostForwards: [{ hostPort: port, guestPort: NODE_AGENT_PORT }] },
        onProgress: (l) => progress?.(`${spec.name}: ${l}`),
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
    let vm: Awaited<ReturnType<typeof startVm>>;
    try {
      vm = await start();
    } catch (e) {
      // QEMU exiting with 0 before the agent answered is the guest resetting during boot (panic=-1 with
      // -no-reboot): seen under TCG on a heavily loaded machine, then not again. Once more, saying so; any other
      // failure, or a second one, is the node's.
      if (!(e instanceof VmStartError) || !/QEMU exited \(code 0\)/.test(e.message)) throw e;
      progress?.(`${spec.name}: the guest reset during boot; starting it once more (console of the first try: ${e.consoleTail.split('\n').filter(Boolean).slice(-3).join(' | ')})`);
      vm = await start();
    }
    try {
      // the topology's NICs: QEMU's igb stands for every SR-IOV model (the catalog's 82576), virtio stays virtio
      for (const nic of vm.nics) {
        if (nic.model && nic.model !== 'intel-82576' && getNicModel(nic.model)?.totalVfs) {
          progress?.(`${spec.name}: ${nic.model} ${nic.topologyIfname ?? ''} is QEMU's igb (Intel 82576) in the guest: its IDs and VF layout are the 82576's`);
        }
      }
      // what a node's pods need of the kernel: veth pairs and the bridge of the default network
      await vm.run(['sh', '-c', 'modprobe veth && modprobe bridge'], { where: 'guest' });
      for (const nic of spec.nics) {
        const g = vm.nics.find((n) => n.topologyPciAddr === nic.pciAddr);
        if (!g || !nic.numVfs) continue;
        const dev = `/sys/bus/pci/devices/${g.pciAddr}`;
        await vm.writeFile(`${dev}/sriov_numvfs`, String(nic.numVfs));
        if (nic.vfDriver === 'vfio-pci') {
          // the topology's VFs that start on vfio-pci, bound the way operators do it
          await vm.run(['sh', '-c', `for v in ${dev}/virtfn*; do a=$(basename $(readlink $v)); [ -e $v/driver ] && echo $a > $v/driver/unbind; echo vfio-pci > $v/driver_override; echo $a > /sys/bus/pci/drivers_probe; echo > $v/driver_override; done`], { where: 'guest' });
        }
      }
      const cfg: NodeAgentConfig = {
        ...agentConfig(spec, index, opts, this.workDir),
        renames: vm.nics.filter((n) => n.topologyIfname).map((n) => ({ pciAddr: n.pciAddr, ifname: n.topologyIfname! })),
        predictableVfNames: spec.netdevNaming !== 'kernel',
      };
      const cfgPath = join(this.workDir, `${spec.name}.agent.json`);
      writeFileSync(cfgPath, `${JSON.stringify(cfg, null, 2)}\n`);
      progress?.(`${spec.name}: starting the node agent (kubelet emulator, device plugin) in the guest`);
      await vm.spawn([NODE, dist('sriov-lab-node-agent'), cfgPath], { logPath: '/var/log/node-agent.log' });
      const node = await connectAgent(spec, port, 120_000, events, async () => String(await vm.readFile('/var/log/node-agent.log')), () => vm.stop());
      progress?.(`${spec.name}: node agent up (guest kernel ${node.hello.kernelRelease})`);
      return node;
    } catch (e) {
      await vm.stop();
      throw e;
    }
  }

  /** directories of third-party plugin binaries, shared so the guest runs them unmodified at the same paths */
  private userShares(opts: BackendUpOptions): Array<{ hostPath: string; readOnly: boolean }> {
    const paths = [opts.devicePlugin.argv?.[0], opts.cni?.path].filter((p): p is string => !!p && p.startsWith('/') && !p.startsWith('/usr/') && !p.startsWith(PROJECT_DIR));
    return [...new Set(paths.map((p) => dirname(p)))].map((hostPath) => ({ hostPath, readOnly: true }));
  }

  async finish(): Promise<void> {
    if (this.workDir) rmSync(this.workDir, { recursive: true, force: true });
  }
}

/** sriov_totalvfs of QEMU's igb (82576) in the guest */
const IGB_TOTAL_VFS = 7;

export const qemuBackend: Backend & BackendRunInfo = {
  name: 'qemu',
  pluginsUnderTest: ({ devicePlugin, cni }) => pluginsUnderTest({ devicePluginArgv: devicePlugin.argv, cni }),
  async kernelInfo(): Promise<KernelInfo> {
    const a = await buildGuestArtefacts({});
    return { release: a.kernelRelease };
  },
  async available() {
    const missing = [caps.root(), caps.qemu()].filter((c) => !c.ok);
    // a distribution whose QEMU cannot have igb (Ubuntu 22.04) says so, rather than "not found" or "lacks igb"
    const why = (c: (typeof missing)[number]) => (c.name === 'qemu' && unavailableReason('qemu-system-x86', hostOsRelease())) || c.detail;
    if (missing.length) return { ok: false, reason: missing.map((c) => `${c.name}: ${why(c)}`).join('; ') };
    return { ok: true, detail: 'QEMU VMs with igb (82576) SR-IOV and virtio NICs, a real guest kernel; kubelet emulator and plugins in the guest' };
  },
  provides(req: Requirement) {
    switch (req.kind) {
      case 'root': {
        const c = caps.root();
        return c.ok ? { ok: true } : { ok: false, reason: c.detail };
      }
      case 'fuse': // a real sysfs in the guest: nothing to simulate
      case 'vfio':
      case 'vfNetlink':
      case 'nodes':
        return { ok: true };
      case 'cniPlugins': {
        const c = caps.cniPlugins();
        return c.ok ? { ok: true } : { ok: false, reason: c.detail };
      }
      case 'command':
        return existsSync(`/usr/bin/${req.name}`) || existsSync(`/usr/sbin/${req.name}`) ? { ok: true } : { ok: false, reason: `command ${req.name} not found under the guest's /usr` };
      case 'vfsPerPf':
        return req.count <= IGB_TOTAL_VFS ? { ok: true } : { ok: false, reason: `the topology starts a PF with ${req.count} VFs; QEMU's igb (82576), which every SR-IOV NIC of a topology becomes in the guest, has ${IGB_TOTAL_VFS}` };
      case 'fault':
        if (req.fault === 'vfLink') return { ok: false, reason: "fault vfLink: igb (82576), the SR-IOV NIC QEMU emulates, has no VF link state (`ip link set PF vf N state …`: Operation not supported)" };
        return realKernelProvidesFault(req.fault);
    }
  },
  async up(opts: BackendUpOptions): Promise<ClusterHandle> {
    return new LabClusterHandle(await LabCluster.start(new QemuProvider(), opts));
  },
};
