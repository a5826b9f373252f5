// The host backend on a real kernel, part 1: guard rails, the hardware seam, and a normal finish. Inside a QEMU
// guest with two igb NICs the guest is "the host"; the backend runs there as a real process and a full
// sysfs/netlink snapshot is compared before and after. (Part 2, host-restore.test.ts: Ctrl-C and SIGKILL.)
import t from 'tap';
import { caps } from '../../sim/caps.ts';
import { vmSystem } from '../qemu/vm-system.ts';
import { snapshotHost, type HostSnapshot } from './snapshot.ts';
import { guestHost, type ToolResult } from './testdata/guest-host.ts';
import { PROJECT_DIR } from '../qemu/vm.ts';

const qemu = caps.qemu();
if (!qemu.ok) {
  t.plan(0, `skipped: the host backend is tested in a QEMU guest with igb: ${qemu.detail}`);
} else {
  const g = guestHost(t, 'host-guard');
  let before: HostSnapshot;

  t.test('guard rails: a PF with an address and the default route, or with a VF in use, is refused unless forced', async (t) => {
    const { vm, pf0, pf1 } = g;
    before = await g.snapshot();
    t.equal(before.pfs[0].numVfs, 2);
    t.equal(before.pfs[0].vfLinks[0].vlan, 10);
    t.same(await snapshotHost(vmSystem(vm), [pf0, pf1]), before, 'the same snapshot through the agent from the host (the hardware seam)');
    const [refused, forced, free] = JSON.parse(await g.tool(['guard', pf1, `${pf1},force`, pf0])) as string[];
    t.match(refused, /^GuardError: refusing to touch PF/);
    t.match(refused, new RegExp(`${pf1} carries the default route \\(IPv4\\)`));
    t.match(refused, new RegExp(`${pf1} has the address 192\\.0\\.2\\.1/24`));
    t.match(refused, /--force/);
    t.equal(forced, 'ok', '--force overrides');
    t.equal(free, 'ok', 'PF0 is free');
    const vfDevs = (await vm.run(['sh', '-c', `ls /sys/class/net/${pf0}/device/virtfn0/net /sys/class/net/${pf0}/device/virtfn1/net`])).stdout.split(/\s+/).filter((l) => /^eth/.test(l));
    await vm.run(['sh', '-e', '-c', `ip link set ${vfDevs[1]} up; ip netns add busy; ip link set ${vfDevs[0]} netns busy`]);
    const [busy] = JSON.parse(await g.tool(['guard', pf0])) as string[];
    t.match(busy, new RegExp(`VF 0 \\(\\S+\\)'s netdev ${vfDevs[0]} is in network namespace busy`));
    t.match(busy, new RegExp(`VF 1 \\(\\S+\\)'s netdev ${vfDevs[1]} is up`));
    await vm.run(['sh', '-e', '-c', `ip -n busy link set ${vfDevs[0]} netns 1; ip netns delete busy; ip link set ${vfDevs[1]} down`]);
    t.same(await g.snapshot(), before, 'guard checks change nothing');
    t.notOk(await g.pending(), 'no journal left');
  });

  t.test('normal finish: the snapshot after equals the snapshot before', async (t) => {
    const { report, after } = JSON.parse(await g.tool(['run', g.pf0, 'close'])) as ToolResult;
    t.same(report.problems, []);
    t.ok(report.actions.length > 0, `restore did work: ${report.actions.length} actions`);
    t.same(after, before);
    t.notOk(await g.pending(), 'journal retired');
  });

  t.test('sriov-lab run --backend host --pf PF0: a scenario on the real PF, then the machine as before', async (t) => {
    // the whole CLI runs in the guest against its igb: kubelet emulator and bundled plugins beside it, in their own
    // mount namespace; the pod takes a real VF with a VLAN and a MAC through the bundled CNI (VF 0 starts with MAC and
    // VLAN 10 of its own); the run ends with the host restore
    const out = `/tmp/host-run-${process.pid}.json`;
    // a vendor's PF is up with its link (the plugin's health follows the PF's carrier); the run must leave it so.
    // VF 0 is re-probed first: igbvf takes the MAC the PF set when it probes with the PF up, and until then its netdev
    // keeps one it made up — which nothing can put back once the PF has set one (the pod's use resets the VF). The
    // probe ends asynchronously (the VF asks the PF over the mailbox), so the MAC is waited for. On a slow TCG guest the
    // VF's reset can time out before the PF answers, and igbvf then makes a MAC up ("PF still in reset state"): such a
    // probe is retried, up to 5 times, and the guest's kernel log is shown if none took the PF's MAC
    const probe = await g.vm.exec(['sh', '-e', '-c', `ip link set ${g.pf0} up; vf0=$(basename $(readlink /sys/class/net/${g.pf0}/device/virtfn0))
      for attempt in 1 2 3 4 5; do
        echo $vf0 > /sys/bus/pci/drivers/igbvf/unbind; echo $vf0 > /sys/bus/pci/drivers/igbvf/bind
        for i in $(seq 30); do test "$(cat /sys/class/net/${g.pf0}/device/virtfn0/net/*/address 2>/dev/null)" = 02:00:00:00:bb:01 && exit 0; sleep 0.1; done
      done; dmesg | tail -n 30; exit 1`]);
    if (!t.equal(probe.exitCode, 0, `VF 0 took the PF's MAC after its re-probe\n${probe.stdout}${probe.stderr}`)) return;
    const beforeRun = await g.snapshot();
    const nodeFiles = async () => (await g.vm.exec(['sh', '-c', 'find /run/netns /var/lib/kubelet /var/lib/cni /etc/cni /opt/cni /etc/pcidp 2>/dev/null | sort'])).stdout;
    const filesBefore = await nodeFiles();
    const r = await g.vm.exec(['node', `${PROJECT_DIR}/dist/sriov-lab.mjs`, 'run', `${PROJECT_DIR}/harness/host/testdata/host-run.yaml`, '--backend', 'host', '--pf', g.pf0, '--seed', '5', '--json', out], { timeoutMs: 600_000, cwd: PROJECT_DIR });
    t.equal(r.exitCode, 0, `the scenario passed on the guest's igb\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`);
    const run = JSON.parse((await g.vm.readFile(out)).toString()) as { run: { backend: string; kernel: { release: string } }; scenarios: Array<{ status: string; attachments: Array<{ name: string; body: string }>; trace: Array<{ kind: string; plugin?: string; command?: string; exitCode?: number; method?: string }> }> };
    if (run.scenarios[0].status !== 'passed') for (const a of run.scenarios[0].attachments) t.comment(`${a.name}:\n${a.body.slice(-2500)}`);
    t.equal(run.run.backend, 'host');
    t.match(run.run.kernel.release, /-amd64$/, 'the guest kernel');
    t.equal(run.scenarios[0].status, 'passed');
    t.ok(run.scenarios[0].trace.some((e) => e.kind === 'grpc' && e.method?.endsWith('/Allocate')), 'Allocate over real gRPC');
    t.ok(run.scenarios[0].trace.some((e) => e.kind === 'cni' && e.command === 'ADD' && e.exitCode === 0), 'the CNI attached a real VF');
    t.match(r.stderr, new RegExp(`host: claimed ${g.pf0}`), 'the claim is reported');
    t.same(await g.snapshot(), beforeRun, 'sysfs and netlink as before the run');
    t.equal(await nodeFiles(), filesBefore, 'no pod namespace, kubelet or CNI file, plugin config left on the machine');
    t.equal((await g.vm.exec(['test', '-e', '/var/lib/sriov-lab/host-journal.jsonl'])).exitCode, 1, 'the journal is retired');
  });
}
