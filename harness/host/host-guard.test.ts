// The host backend on a real kernel, part 1: guard rails, the hardware seam, and a normal finish. Inside a QEMU
// guest with two igb NICs the guest is "the host"; the backend runs there as a real process and a full
// sysfs/netlink snapshot is compared before and after. (Part 2, host-restore.test.ts: Ctrl-C and SIGKILL.)
import t from 'tap';
import { caps } from '../../sim/caps.ts';
import { vmSystem } from '../qemu/vm-system.ts';
import { snapshotHost, type HostSnapshot } from './snapshot.ts';
import { guestHost, type ToolResult } from './testdata/guest-host.ts';

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
}
