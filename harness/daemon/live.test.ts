// Live re-discovery and the SR-IOV attach with `sriov-lab up` (default topology, default device-plugin config),
// end to end through the CLI as separate processes: VFs created in the node show up as intel.com/sriov_netdevice,
// a VF moved to vfio-pci moves to intel.com/sriov_dpdk without a restart; a DPDK pod gets its VF without a netns
// move and a kernel-VF pod gets it as net1, each with the VF's PCI address in its network-status; `down` leaves
// nothing behind.
import t from 'tap';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { caps } from '../../sim/caps.ts';
import { testCluster, until } from './fixtures/cli.ts';
import { KubeApi, resourceFor, resourcePath } from '../cli/kube-api.ts';
import { findLeftovers, isDaemonAlive, listNetns, readDaemonInfo, type DaemonInfo } from './state.ts';

const missing = [caps.root(), caps.fuse(), caps.netns(), caps.cniPlugins()].find((c) => !c.ok);

const NETDEV = 'intel.com/sriov_netdevice';
const DPDK = 'intel.com/sriov_dpdk';
const NETWORK_STATUS = 'k8s.v1.cni.cncf.io/network-status';
/** how long allocatable may take to follow a sysfs change before the poll gives up (a deadline, not a measurement) */
const FOLLOW_DEADLINE_MS = 5_000;

const nad = (name: string, resource: string, config: Record<string, unknown>) => `apiVersion: k8s.cni.cncf.io/v1
kind: NetworkAttachmentDefinition
metadata:
  name: ${name}
  annotations:
    k8s.v1.cni.cncf.io/resourceName: ${resource}
spec:
  config: '${JSON.stringify(config)}'
`;

const pod = (name: string, network: string, resource: string) => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  annotations:
    k8s.v1.cni.cncf.io/networks: ${network}
spec:
  containers:
    - name: app
      image: busybox
      resources:
        limits:
          ${resource}: 1
`;

interface NodeList {
  items: Array<{ metadata: { name: string }; status: { allocatable?: Record<string, string>; capacity?: Record<string, string> } }>;
}
interface PodJson {
  metadata: { annotations?: Record<string, string> };
  status?: { phase?: string };
}
interface NetworkStatus {
  name: string;
  interface?: string;
  ips?: string[];
  mac?: string;
  default?: boolean;
  'device-info'?: { type: string; pci?: { 'pci-address'?: string } };
}

/** Interface names in `ip -d a` output (`2: net1@if5: <…>` → net1). */
function ifnames(ipDA: string): string[] {
  return [...ipDA.matchAll(/^\d+: ([^:@\s]+)(?:@\S+)?:/gm)].map((m) => m[1]);
}

if (missing) {
  t.plan(0, `skipped: the simulated cluster needs ${missing.name}: ${missing.detail}`);
} else {
  const { dir, cli, paths, seen: guard } = testCluster(t, 'sl-live-');
  let info: DaemonInfo | undefined;
  let api: KubeApi | undefined;

  const parseAllocatable = (stdout: string): Record<string, string> =>
    (JSON.parse(stdout) as NodeList).items.find((n) => n.metadata.name === 'node1')?.status.allocatable ?? {};
  /** `sriov-lab get nodes -o json` as a user runs it (a CLI process) */
  const allocatable = async (): Promise<Record<string, string>> => {
    const r = await cli(['get', 'nodes', '-o', 'json']);
    if (r.code !== 0) throw new Error(`get nodes -o json exited ${r.code}: ${r.stderr}`);
    return parseAllocatable(r.stdout);
  };
  const matches = (seen: Record<string, string>, want: Record<string, string>) => Object.entries(want).every(([k, v]) => (seen[k] ?? '0') === v);

  /**
   * Polls `get nodes -o json` until node1's allocatable matches `want`, giving up FOLLOW_DEADLINE_MS after `since`.
   * The polls send the CLI's own request (`get nodes -o json`: a list of nodes) straight to the API server with the
   * CLI's client: a CLI process costs 1–4 s on a loaded 2-core machine, which would hide the latency. The change happened between the start of
   * the last poll that did not see it and the end of the first that did.
   */
  const follow = async (since: number, want: Record<string, string>) => {
    let lastMissStart = since;
    let polls = 0;
    for (;;) {
      const start = Date.now();
      api ??= await KubeApi.fromKubeconfig(paths.kubeconfig);
      const out = await api.request({ path: resourcePath(resourceFor('nodes'), '') }).then((l) => JSON.stringify(l), () => undefined);
      const end = Date.now();
      polls++;
      const seen = out ? parseAllocatable(out) : {};
      if (matches(seen, want)) return { ok: true, seen, lowMs: lastMissStart - since, highMs: end - since, polls };
      if (end - since > FOLLOW_DEADLINE_MS) return { ok: false, seen, lowMs: -1, highMs: end - since, polls };
      lastMissStart = start;
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  const getPod = async (name: string): Promise<PodJson | undefined> => {
    const r = await cli(['get', 'pod', name, '-o', 'json']);
    return r.code === 0 ? (JSON.parse(r.stdout) as PodJson) : undefined;
  };
  const running = (name: string) => until(`${name} Running`, async () => (await getPod(name))?.status?.phase === 'Running', 90_000);
  const networkStatus = async (name: string): Promise<NetworkStatus[]> => JSON.parse((await getPod(name))?.metadata.annotations?.[NETWORK_STATUS] ?? '[]') as NetworkStatus[];

  t.test('up with the default topology: VFs follow sysfs live; DPDK and kernel VF pods attached', async (t) => {
    const up = await cli(['up']);
    t.equal(up.code, 0, 'up exits 0', { stderr: up.stderr });
    info = guard.info = readDaemonInfo(paths);
    t.ok(info && isDaemonAlive(info), 'the daemon runs');

    const initial = await allocatable();
    t.equal(initial[NETDEV] ?? '0', '0', `no ${NETDEV} before VFs exist`);
    t.equal(initial[DPDK] ?? '0', '0', `no ${DPDK} before VFs exist`);

    // 4 VFs: the device plugin notices them without a restart
    const mk = await cli(['node', 'exec', 'node1', '--', 'sh', '-c', 'echo 4 > /sys/class/net/ens1f0/device/sriov_numvfs']);
    t.equal(mk.code, 0, `echo 4 > sriov_numvfs: ${mk.stderr}`);
    const created = await follow(Date.now(), { [NETDEV]: '4', [DPDK]: '0' });
    t.ok(created.ok, `${NETDEV} allocatable 4 (seen: ${JSON.stringify(created.seen)})`);
    t.comment(`4 VFs → ${NETDEV}=4 seen by get nodes -o json between ${created.lowMs} and ${created.highMs} ms after node exec returned (${created.polls} polls)`);
    t.ok(matches(await allocatable(), { [NETDEV]: '4' }), `sriov-lab get nodes -o json shows ${NETDEV} allocatable "4"`);

    const vfs = await cli(['node', 'exec', 'node1', '--', 'sh', '-c', 'for i in 0 1 2 3; do basename $(readlink /sys/class/net/ens1f0/device/virtfn$i); done']);
    const vfPci = vfs.stdout.trim().split('\n');
    t.equal(vfPci.length, 4, `four virtfn links: ${vfs.stdout}${vfs.stderr}`);
    const dpdkVf = vfPci[3];

    // one VF to vfio-pci, the way a user does it
    const bind = await cli([
      'node', 'exec', 'node1', '--', 'sh', '-c',
      `d=/sys/bus/pci/devices/${dpdkVf}; echo ${dpdkVf} > $d/driver/unbind && echo vfio-pci > $d/driver_override && echo ${dpdkVf} > /sys/bus/pci/drivers_probe && echo > $d/driver_override && basename $(readlink $d/driver)`,
    ]);
    t.equal(bind.stdout, 'vfio-pci\n', `${dpdkVf} bound to vfio-pci: ${bind.stderr}`);
    const moved = await follow(Date.now(), { [NETDEV]: '3', [DPDK]: '1' });
    t.ok(moved.ok, `${NETDEV} 3 and ${DPDK} 1 (seen: ${JSON.stringify(moved.seen)})`);
    t.comment(`VF → vfio-pci → ${NETDEV}=3, ${DPDK}=1 seen by get nodes -o json between ${moved.lowMs} and ${moved.highMs} ms after node exec returned (${moved.polls} polls)`);
    t.ok(matches(await allocatable(), { [NETDEV]: '3', [DPDK]: '1' }), `sriov-lab get nodes -o json shows ${NETDEV} "3" and ${DPDK} "1"`);

    // a DPDK pod: the VF stays in the node (no netns move), network-status names it without claiming an interface
    writeFileSync(join(dir, 'dpdk.yaml'), `${nad('sriov-dpdk', DPDK, { cniVersion: '1.0.0', type: 'sriov', vlan: 100 })}---\n${pod('dpdk-pod', 'sriov-dpdk', DPDK)}`);
    const applyDpdk = await cli(['apply', '-f', 'dpdk.yaml']);
    t.equal(applyDpdk.stdout, 'networkattachmentdefinition.k8s.cni.cncf.io/sriov-dpdk created\npod/dpdk-pod created\n', `apply the DPDK NAD and pod ${applyDpdk.stderr}`);
    await running('dpdk-pod');
    const dpdkA = await cli(['exec', 'dpdk-pod', '--', 'ip', '-d', 'a']);
    t.equal(dpdkA.code, 0, `exec dpdk-pod -- ip -d a ${dpdkA.stderr}`);
    t.ok(ifnames(dpdkA.stdout).includes('eth0'), `the DPDK pod has eth0 (${ifnames(dpdkA.stdout).join(', ')})`);
    t.notOk(ifnames(dpdkA.stdout).includes('net1'), 'and no net1: a DPDK VF is not moved into the pod');
    const dpdkEnv = await cli(['exec', 'dpdk-pod', '--', 'sh', '-c', 'echo $PCIDEVICE_INTEL_COM_SRIOV_DPDK']);
    t.equal(dpdkEnv.stdout, `${dpdkVf}\n`, 'the container env names the vfio-pci VF');
    const dpdkStatus = await networkStatus('dpdk-pod');
    const dpdkEntry = dpdkStatus.find((s) => s.name.endsWith('sriov-dpdk'));
    t.equal(dpdkEntry?.['device-info']?.pci?.['pci-address'], dpdkVf, `network-status names the VF's PCI address: ${JSON.stringify(dpdkStatus)}`);
    t.notOk(dpdkEntry && 'interface' in dpdkEntry, 'and claims no kernel interface for it');
    t.match(dpdkStatus.find((s) => s.default), { interface: 'eth0' }, 'the default network is eth0');
    const stillHome = await cli(['node', 'exec', 'node1', '--', 'sh', '-c', `basename $(readlink /sys/bus/pci/devices/${dpdkVf}/driver)`]);
    t.equal(stillHome.stdout, 'vfio-pci\n', 'the VF stays on vfio-pci in the node');

    // a kernel VF pod: the VF's netdev is net1 in the pod
    const kernelConf = { cniVersion: '1.0.0', type: 'sriov', ipam: { type: 'host-local', subnet: '10.56.217.0/24' } };
    writeFileSync(join(dir, 'kernel.yaml'), `${nad('sriov-kernel', NETDEV, kernelConf)}---\n${pod('kernel-pod', 'sriov-kernel', NETDEV)}`);
    const applyKernel = await cli(['apply', '-f', 'kernel.yaml']);
    t.equal(applyKernel.stdout, 'networkattachmentdefinition.k8s.cni.cncf.io/sriov-kernel created\npod/kernel-pod created\n', `apply the kernel VF NAD and pod ${applyKernel.stderr}`);
    await running('kernel-pod');
    const kernelA = await cli(['exec', 'kernel-pod', '--', 'ip', '-d', 'a']);
    t.equal(kernelA.code, 0, `exec kernel-pod -- ip -d a ${kernelA.stderr}`);
    t.ok(ifnames(kernelA.stdout).includes('eth0'), `the kernel VF pod has eth0 (${ifnames(kernelA.stdout).join(', ')})`);
    t.ok(ifnames(kernelA.stdout).includes('net1'), 'and net1');
    const kernelEnv = await cli(['exec', 'kernel-pod', '--', 'sh', '-c', 'echo $PCIDEVICE_INTEL_COM_SRIOV_NETDEVICE']);
    const kernelVf = kernelEnv.stdout.trim();
    t.ok(vfPci.slice(0, 3).includes(kernelVf), `the container env names a kernel VF (${kernelVf})`);
    const kernelStatus = await networkStatus('kernel-pod');
    const net1 = kernelStatus.find((s) => s.interface === 'net1');
    t.ok(net1, `network-status lists net1: ${JSON.stringify(kernelStatus)}`);
    t.equal(net1?.['device-info']?.pci?.['pci-address'], kernelVf, "with the VF's PCI address");
    t.match(net1?.ips, [/^10\.56\.217\.\d+$/], 'and its host-local address');
    t.ok(net1?.ips?.every((ip) => kernelA.stdout.includes(`inet ${ip}/24`)), 'which net1 carries in the pod');
    const gone = await cli(['node', 'exec', 'node1', '--', 'sh', '-c', `ls /sys/bus/pci/devices/${kernelVf}/net 2>/dev/null | wc -l`]);
    t.equal(gone.stdout.trim(), '0', "the VF's netdev left the node namespace");

    const down = await cli(['down']);
    t.equal(down.code, 0, `down exits 0 ${down.stderr}`);
    t.equal(down.stdout, 'simulated cluster stopped\n', 'down says so');
    t.notOk(isDaemonAlive(info!), 'the daemon is gone');
    const left = findLeftovers(info!);
    t.same(left.processes, [], 'no daemon, sysfs-server or plugin process is left');
    t.same(
      listNetns().filter((n) => info!.netns.some((o) => n.startsWith(o))),
      [],
      'no node or pod network namespace is left',
    );
    t.notOk(readFileSync('/proc/self/mounts', 'utf8').includes(info!.workDir), 'no mount under the work dir is left');
    t.notOk(existsSync(info!.workDir), 'the work dir is removed');
    t.notOk(existsSync(paths.info) || existsSync(paths.socket), 'the state files are removed');
  });
}
