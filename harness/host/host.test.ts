// The host backend on a real kernel: inside a QEMU guest with two igb NICs, the guest is "the host". The backend
// runs there as a real process (bundled, run by the host's node through the guest's chroot), and a full
// sysfs/netlink snapshot is compared before and after a run of changes: after a normal finish, after Ctrl-C, and
// after SIGKILL followed by `restore`.
import t, { type Test } from 'tap';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { caps } from '../../sim/caps.ts';
import { startVm, PROJECT_DIR, type Vm } from '../qemu/vm.ts';
import { vmSystem } from '../qemu/vm-system.ts';
import { snapshotHost, type HostSnapshot } from './snapshot.ts';
import type { RestoreReport } from './host.ts';

const qemu = caps.qemu();
if (!qemu.ok) {
  t.plan(0, `skipped: the host backend is tested in a QEMU guest with igb: ${qemu.detail}`);
} else {
  const bundle = join(PROJECT_DIR, 'out', `host-tool-${process.pid}.mjs`);
  const journal = '/var/lib/sriov-lab/test-journal.jsonl';
  let vm: Vm;
  let pf0: string;
  let pf1: string;
  t.before(async () => {
    await build({
      entryPoints: [join(PROJECT_DIR, 'harness/host/testdata/host-tool.ts')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      outfile: bundle,
      logLevel: 'silent',
    });
    vm = await startVm({
      name: 'host1',
      nics: [
        { kind: 'igb', mac: '02:00:00:0a:00:00' },
        { kind: 'igb', mac: '02:00:00:0b:00:00' },
      ],
    });
    pf0 = vm.nics[0].ifname;
    pf1 = vm.nics[1].ifname;
    // a machine that is already configured: PF0 has two VFs, one with settings; PF1 is the machine's uplink
    const vf0 = `/sys/class/net/${pf0}/device/virtfn0`;
    await vm.run(['sh', '-e', '-c', `echo 2 > /sys/class/net/${pf0}/device/sriov_numvfs
      ip link set ${pf0} vf 0 mac 02:00:00:00:bb:01
      ip link set ${pf0} vf 0 vlan 10
      test -d ${vf0}/net
      ip addr add 192.0.2.1/24 dev ${pf1}
      ip link set ${pf1} up
      ip route add default dev ${pf1}`]);
  });
  t.teardown(async () => {
    rmSync(bundle, { force: true });
    await vm?.stop();
  });

  const env = (): Record<string, string> => ({ SL_JOURNAL: journal, SL_SNAP_PFS: `${pf0},${pf1}` });
  const tool = async (args: string[]): Promise<string> => (await vm.run(['node', bundle, ...args], { env: env(), timeoutMs: 120_000 })).stdout;
  const snapshot = async (): Promise<HostSnapshot> => JSON.parse(await tool(['snapshot'])) as HostSnapshot;
  const pending = async (): Promise<boolean> => (await vm.exec(['test', '-e', journal])).exitCode === 0;
  const waitGone = async (pid: number): Promise<void> => {
    for (let i = 0; i < 600; i++) {
      if ((await vm.exec(['kill', '-0', String(pid)])).exitCode !== 0) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`guest pid ${pid} did not exit`);
  };
  /** starts a run of changes that waits to be killed; returns its pid and the snapshot it took after the changes */
  const startWaiting = async (): Promise<{ pid: number; mid: HostSnapshot }> => {
    const log = `/tmp/host-tool-${Date.now()}.log`;
    const pid = await vm.spawn(['node', bundle, 'run', pf0, 'wait'], { env: env(), logPath: log });
    for (let i = 0; i < 1200; i++) {
      const out = (await vm.readFile(log).catch(() => Buffer.alloc(0))).toString();
      const m = /^changed (.*)$/m.exec(out);
      if (m) return { pid, mid: JSON.parse(m[1]) as HostSnapshot };
      if (/Error/.test(out)) throw new Error(out);
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('the run of changes did not finish');
  };
  /** the changes the run makes are visible while it runs */
  const assertChanged = (t: Test, mid: HostSnapshot, before: HostSnapshot): void => {
    t.equal(mid.pfs[0].numVfs, 4, 'numvfs 2 → 4');
    t.equal(mid.pfs[0].vfs[1].driver, 'vfio-pci', 'VF 1 on vfio-pci');
    t.equal(mid.pfs[0].vfLinks[0].mac, '02:aa:00:00:00:01');
    t.equal(mid.pfs[0].vfLinks[0].vlan, 77);
    t.equal(mid.pfs[0].vfLinks[0].spoofchk, false);
    t.equal(mid.pfs[0].vfLinks[0].trust, true);
    t.equal(mid.pfs[0].vfLinks[3].vlan, 5);
    t.equal(mid.pfs[0].vfs[2].ifname, null, 'VF 2 netdev moved out');
    t.same(mid.netns, ['pod1']);
    t.notSame(mid, before);
  };
  // the state every test starts from and must end in (each test's "after" is checked against it)
  let before: HostSnapshot;

  t.test('guard rails: a PF with an address and the default route, or with a VF in use, is refused unless forced', async (t) => {
    before = await snapshot();
    t.equal(before.pfs[0].numVfs, 2);
    t.equal(before.pfs[0].vfLinks[0].vlan, 10);
    t.same(await snapshotHost(vmSystem(vm), [pf0, pf1]), before, 'the same snapshot through the agent from the host (the hardware seam)');
    const [refused, forced, free] = JSON.parse(await tool(['guard', pf1, `${pf1},force`, pf0])) as string[];
    t.match(refused, /^GuardError: refusing to touch PF/);
    t.match(refused, new RegExp(`${pf1} carries the default route \\(IPv4\\)`));
    t.match(refused, new RegExp(`${pf1} has the address 192\\.0\\.2\\.1/24`));
    t.match(refused, /--force/);
    t.equal(forced, 'ok', '--force overrides');
    t.equal(free, 'ok', 'PF0 is free');
    const vfDevs = (await vm.run(['sh', '-c', `ls /sys/class/net/${pf0}/device/virtfn0/net /sys/class/net/${pf0}/device/virtfn1/net`])).stdout.split(/\s+/).filter((l) => /^eth/.test(l));
    await vm.run(['sh', '-e', '-c', `ip link set ${vfDevs[1]} up; ip netns add busy; ip link set ${vfDevs[0]} netns busy`]);
    const [busy] = JSON.parse(await tool(['guard', pf0])) as string[];
    t.match(busy, new RegExp(`VF 0 \\(\\S+\\)'s netdev ${vfDevs[0]} is in network namespace busy`));
    t.match(busy, new RegExp(`VF 1 \\(\\S+\\)'s netdev ${vfDevs[1]} is up`));
    await vm.run(['sh', '-e', '-c', `ip -n busy link set ${vfDevs[0]} netns 1; ip netns delete busy; ip link set ${vfDevs[1]} down`]);
    t.same(await snapshot(), before, 'guard checks change nothing');
    t.notOk(await pending(), 'no journal left');
  });

  t.test('normal finish: the snapshot after equals the snapshot before', async (t) => {
    const { report, after } = JSON.parse(await tool(['run', pf0, 'close'])) as { report: RestoreReport; after: HostSnapshot };
    t.same(report.problems, []);
    t.ok(report.actions.length > 0, `restore did work: ${report.actions.length} actions`);
    t.same(after, before);
    t.notOk(await pending(), 'journal retired');
  });

  t.test('Ctrl-C: the run restores before it dies', async (t) => {
    const { pid, mid } = await startWaiting();
    assertChanged(t, mid, before);
    await vm.run(['kill', '-INT', String(pid)]);
    await waitGone(pid);
    t.same(await snapshot(), before);
    t.notOk(await pending(), 'journal retired');
  });

  t.test('SIGKILL: the journal survives and restore puts everything back', async (t) => {
    const { pid, mid } = await startWaiting();
    assertChanged(t, mid, before);
    await vm.run(['kill', '-KILL', String(pid)]);
    await waitGone(pid);
    t.ok(await pending(), 'the journal is still there');
    const { report, after } = JSON.parse(await tool(['restore'])) as { report: RestoreReport; after: HostSnapshot };
    t.same(report.problems, []);
    t.same(after, before);
    t.notOk(await pending(), 'journal retired');
    const again = JSON.parse(await tool(['restore'])) as { report: RestoreReport };
    t.same(again.report, { actions: [], problems: [], journal }, 'a second restore has nothing to do');
  });
}
