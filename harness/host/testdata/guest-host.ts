// Shared fixture of the host backend's tests: a QEMU guest with two igb NICs that plays "the host" (PF0 has two
// VFs, VF 0 with a MAC and a VLAN; PF1 carries an address and the default route), and host-tool.ts bundled into
// the project's out/ so the guest's node can run it (a bundle starts in about a second; tsx over 9p takes tens).
import type { Test } from 'tap';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { startVm, PROJECT_DIR, type Vm } from '../../qemu/vm.ts';
import type { HostSnapshot } from '../snapshot.ts';
import type { RestoreReport } from '../host.ts';

export const journal = '/var/lib/sriov-lab/test-journal.jsonl';

export interface GuestHost {
  vm: Vm;
  pf0: string;
  pf1: string;
  /** runs host-tool.ts in the guest; stdout */
  tool(args: string[]): Promise<string>;
  snapshot(): Promise<HostSnapshot>;
  /** is there a journal with changes not restored? */
  pending(): Promise<boolean>;
  waitGone(pid: number): Promise<void>;
  /** starts a run of changes that waits to be killed; its pid and the snapshot it took after the changes */
  startWaiting(): Promise<{ pid: number; mid: HostSnapshot }>;
  /** the changes of a run are all visible in `mid` */
  assertChanged(t: Test, mid: HostSnapshot, before: HostSnapshot): void;
}

export type ToolResult = { report: RestoreReport; after: HostSnapshot };

export function guestHost(t: Test, name: string): GuestHost {
  const bundle = join(PROJECT_DIR, 'out', `host-tool-${process.pid}.mjs`);
  const env = (): Record<string, string> => ({ SL_JOURNAL: journal, SL_SNAP_PFS: `${g.pf0},${g.pf1}` });
  const g: GuestHost = {
    vm: undefined as unknown as Vm,
    pf0: '',
    pf1: '',
    tool: async (args) => (await g.vm.run(['node', bundle, ...args], { env: env(), timeoutMs: 120_000 })).stdout,
    snapshot: async () => JSON.parse(await g.tool(['snapshot'])) as HostSnapshot,
    pending: async () => (await g.vm.exec(['test', '-e', journal])).exitCode === 0,
    async waitGone(pid) {
      for (let i = 0; i < 600; i++) {
        if ((await g.vm.exec(['kill', '-0', String(pid)], { where: 'guest' })).exitCode !== 0) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`guest pid ${pid} did not exit`);
    },
    async startWaiting() {
      const log = `/tmp/host-tool-${Date.now()}.log`;
      const pid = await g.vm.spawn(['node', bundle, 'run', g.pf0, 'wait'], { env: env(), logPath: log });
      for (let i = 0; i < 1200; i++) {
        const out = (await g.vm.readFile(log).catch(() => Buffer.alloc(0))).toString();
        const m = /^changed (.*)$/m.exec(out);
        if (m) return { pid, mid: JSON.parse(m[1]) as HostSnapshot };
        if (/Error/.test(out)) throw new Error(out);
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error('the run of changes did not finish');
    },
    assertChanged(t, mid, before) {
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
    },
  };
  t.before(async () => {
    await build({ entryPoints: [join(PROJECT_DIR, 'harness/host/testdata/host-tool.ts')], bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile: bundle, logLevel: 'silent' });
    g.vm = await startVm({
      name,
      nics: [
        { kind: 'igb', mac: '02:00:00:0a:00:00' },
        { kind: 'igb', mac: '02:00:00:0b:00:00' },
      ],
    });
    g.pf0 = g.vm.nics[0].ifname;
    g.pf1 = g.vm.nics[1].ifname;
    const { pf0, pf1 } = g;
    await g.vm.run(['sh', '-e', '-c', `echo 2 > /sys/class/net/${pf0}/device/sriov_numvfs
      ip link set ${pf0} vf 0 mac 02:00:00:00:bb:01
      ip link set ${pf0} vf 0 vlan 10
      test -d /sys/class/net/${pf0}/device/virtfn0/net
      ip addr add 192.0.2.1/24 dev ${pf1}
      ip link set ${pf1} up
      ip route add default dev ${pf1}`]);
  });
  t.teardown(async () => {
    rmSync(bundle, { force: true });
    await g.vm?.stop();
  });
  return g;
}
