// The bundled SR-IOV CNI (dist/sriov-lab-cni.mjs) against the real igb driver in a QEMU guest: ADD sets the VF's
// MAC, VLAN/QoS, spoofchk and trust through the PF (netlink → igb_ndo_set_vf_*), moves the igbvf netdev into a pod
// netns; DEL puts every VF setting and the netdev back; an ADD that igb refuses fails with the kernel's error and
// leaves the VF as it was. One VM for the file (TCG boots take seconds); every kernel fact is read back with
// `ip -j -d link show`, never taken from the plugin's own word.
import t from 'tap';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { caps } from '../../sim/caps.ts';
import { startVm, PROJECT_DIR, type Vm, type VmExecResult } from './vm.ts';

const CNI_BUNDLE = join(PROJECT_DIR, 'dist', 'sriov-lab-cni.mjs');
const POD_NETNS = 'pod1';
const POD_NETNS_PATH = `/run/netns/${POD_NETNS}`;
const POD_IFNAME = 'net1';
const POD_MAC = '02:11:22:33:44:55';
const VLAN = 100;
const VLAN_QOS = 3;
// the plugin's default cache dir (plugins/cni/cache.ts DEFAULT_CACHE_DIR): tmpfs /var in the guest
const CACHE_DIR = '/var/lib/cni/sriov';
// A refused setting: the kernel applies the attributes of one `ip link set … vf 0 mac … vlan … max_tx_rate …` in order
// (do_setvfinfo: mac, vlan, rate, spoofchk, trust …) and stops at the first error, so the MAC and VLAN are already
// on the VF when igb refuses the rate; the CNI's rollback must take them back off.

interface VfInfo {
  vf: number;
  address?: string;
  vlan_list?: Array<{ vlan?: number; qos?: number; protocol?: string }>;
  rate?: { max_tx?: number; min_tx?: number };
  spoofchk?: boolean;
  trust?: boolean;
  link_state?: string;
  [k: string]: unknown;
}

interface LinkJson {
  ifindex: number;
  ifname: string;
  address?: string;
  mtu: number;
  flags: string[];
  operstate?: string;
  vfinfo_list?: VfInfo[];
  [k: string]: unknown;
}

interface CniErrorJson {
  cniVersion: string;
  code: number;
  msg: string;
  details?: string;
}

const qemu = caps.qemu();
if (!qemu.ok) {
  t.plan(0, `skipped: QEMU with igb is needed: ${qemu.detail}`);
} else {
  // a TCG boot plus ~10 cold node starts in the guest on a shared 2-core machine
  t.setTimeout(900_000);
  let vm: Vm;
  t.before(async () => {
    if (!existsSync(CNI_BUNDLE)) throw new Error(`${CNI_BUNDLE} is missing: run \`npm run build\` first`);
    vm = await startVm({ name: 'cni-igb', nics: [{ kind: 'igb', mac: '52:54:00:c1:9b:01' }] });
  });
  t.teardown(async () => {
    if (!vm) return;
    // best effort inside the guest (the VM dies anyway); the assertions on this state are in the last subtest
    await vm.exec(['/usr/sbin/ip', 'netns', 'del', POD_NETNS]).catch(() => undefined);
    await vm.stop();
  });

  const pf = () => vm.nics[0];
  const sys = (pci: string, attr: string) => `/sys/bus/pci/devices/${pci}/${attr}`;
  const ip = async (args: string[]): Promise<string> => {
    const r = await vm.exec(['/usr/sbin/ip', ...args]);
    if (r.exitCode !== 0) throw new Error(`ip ${args.join(' ')} exited ${r.exitCode}: ${r.stderr.trim()}`);
    return r.stdout;
  };
  const links = async (args: string[]): Promise<LinkJson[]> => JSON.parse(await ip(['-j', '-d', ...args])) as LinkJson[];
  const pfLink = async (): Promise<LinkJson> => (await links(['link', 'show', 'dev', pf().ifname]))[0];
  const vfInfo = async (index: number): Promise<VfInfo | undefined> => (await pfLink()).vfinfo_list?.find((v) => v.vf === index);
  /** the netdevs of a PCI device in the root netns (sysfs only lists those of the reader's netns) */
  const netdevsOf = async (pci: string): Promise<string[]> => (await vm.sh(`ls ${sys(pci, 'net')} 2>/dev/null`)).stdout.split(/\s+/).filter(Boolean);
  const numVfs = async (): Promise<string> => (await vm.readFile(sys(pf().pciAddr, 'sriov_numvfs'))).toString().trim();

  const cni = (command: 'ADD' | 'DEL' | 'CHECK', conf: Record<string, unknown>, containerId: string): Promise<VmExecResult> =>
    vm.exec(['/usr/bin/node', CNI_BUNDLE], {
      env: { CNI_COMMAND: command, CNI_CONTAINERID: containerId, CNI_NETNS: POD_NETNS_PATH, CNI_IFNAME: POD_IFNAME, CNI_PATH: '/usr/lib/cni', NODE_NO_WARNINGS: '1' },
      input: JSON.stringify(conf),
      timeoutMs: 180_000,
    });
  const diag = (r: VmExecResult) => `exit ${r.exitCode}${r.timedOut ? ' (timed out)' : ''}\nstdout: ${r.stdout.trim()}\nstderr: ${r.stderr.trim()}`;

  let vf0Pci = '';
  let vf0Name = '';
  let vf0Before: VfInfo | undefined;
  let vf1Before: VfInfo | undefined;
  let vfNetdevBefore: LinkJson | undefined;

  const netconf = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    cniVersion: '1.0.0',
    name: 'igb-net',
    type: 'sriov',
    deviceID: vf0Pci,
    vlan: VLAN,
    vlanQoS: VLAN_QOS,
    mac: POD_MAC,
    spoofchk: 'off',
    trust: 'on',
    ...extra,
  });

  /**
   * The VF's netdev as the root netns sees it, minus what legitimately changes and no CNI can put back:
   * - `ifindex`: a netns move may re-register the device under another index;
   * - `permaddr`: once the PF has set an administrative VF MAC, igbvf's reset copies the MAC the PF hands out over the
   *   mailbox into the netdev's perm_addr (kernel-private, not settable from user space; only a VF driver reload
   *   resets it), so `ip` starts to show a permaddr that differs from the (restored) address;
   * - stats (not requested, but excluded should `ip` print them).
   */
  const stableNetdev = (l: LinkJson | undefined) => {
    if (!l) return undefined;
    const { ifindex: _i, permaddr: _p, stats64: _s, stats: _t, ...rest } = l;
    return rest;
  };

  t.test('2 VFs on igbvf; VF 0 as the kernel reports it before any CNI call', async (t) => {
    await vm.writeFile(sys(pf().pciAddr, 'sriov_numvfs'), '2');
    t.equal(await numVfs(), '2', 'sriov_numvfs reads back 2');
    vf0Pci = (await vm.sh(`basename "$(readlink ${sys(pf().pciAddr, 'virtfn0')})"`)).stdout.trim();
    t.match(vf0Pci, /^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/, 'virtfn0 points at a PCI address');
    t.equal((await vm.sh(`basename "$(readlink ${sys(vf0Pci, 'driver')})"`)).stdout.trim(), 'igbvf', 'VF 0 is bound to igbvf');
    const names = await netdevsOf(vf0Pci);
    t.equal(names.length, 1, `VF 0 has one netdev (${names.join(',')})`);
    vf0Name = names[0];
    vf0Before = await vfInfo(0);
    vf1Before = await vfInfo(1);
    vfNetdevBefore = (await links(['link', 'show', 'dev', vf0Name]))[0];
    t.comment(`PF ${pf().ifname} (${pf().pciAddr}) vfinfo VF 0 before: ${JSON.stringify(vf0Before)}`);
    t.comment(`VF 0 netdev before: ${vf0Name} ${vfNetdevBefore.address} mtu ${vfNetdevBefore.mtu} flags ${vfNetdevBefore.flags.join(',')}`);
    t.ok(vf0Before, 'the PF reports VF 0 in vfinfo_list');
    // the starting point must differ from what ADD will set, or the restore would prove nothing
    t.not(vf0Before?.address, POD_MAC, 'the PF has not set the pod MAC on VF 0 yet');
    t.notOk(vf0Before?.vlan_list?.some((v) => v.vlan === VLAN), 'no VLAN 100 yet');
    t.equal(vf0Before?.spoofchk, true, 'igb default: spoofchk on');
    t.equal(vf0Before?.trust, false, 'igb default: trust off');
    t.not(vfNetdevBefore.address, POD_MAC, 'nor has the VF netdev that MAC');
    await ip(['netns', 'add', POD_NETNS]);
    t.equal((await vm.exec(['test', '-e', POD_NETNS_PATH])).exitCode, 0, `${POD_NETNS_PATH} exists`);
  });

  t.test('ADD sets vlan/qos, mac, spoofchk off and trust on through igb and moves the VF into the pod', async (t) => {
    const r = await cni('ADD', netconf(), 'ctr-igb-1');
    t.equal(r.exitCode, 0, `ADD succeeds\n${diag(r)}`);
    if (r.exitCode !== 0) return;
    const result = JSON.parse(r.stdout) as { cniVersion: string; interfaces?: Array<{ name: string; mac?: string; sandbox?: string }> };
    t.equal(result.cniVersion, '1.0.0', 'the result is in the config\'s CNI version');
    t.match(result.interfaces, [{ name: POD_IFNAME, mac: POD_MAC, sandbox: POD_NETNS_PATH }], `result: ${r.stdout.trim()}`);

    const inPod = JSON.parse((await vm.exec(['/usr/sbin/ip', '-j', '-n', POD_NETNS, 'link', 'show', 'dev', POD_IFNAME])).stdout || '[]') as LinkJson[];
    t.equal(inPod.length, 1, `${POD_IFNAME} exists in ${POD_NETNS}`);
    t.equal(inPod[0]?.address, POD_MAC, `${POD_IFNAME} has the MAC`);
    t.ok(inPod[0]?.flags.includes('UP'), `${POD_IFNAME} is up`);
    const podDriver = (await vm.sh(`/usr/sbin/ip netns exec ${POD_NETNS} sh -c 'basename "$(readlink /sys/class/net/${POD_IFNAME}/device)"'`)).stdout.trim();
    t.equal(podDriver, vf0Pci, `${POD_IFNAME} in the pod is VF 0 (${vf0Pci})`);
    t.same(await netdevsOf(vf0Pci), [], 'the VF netdev is gone from the root netns');

    const vf0 = await vfInfo(0);
    t.comment(`vfinfo VF 0 after ADD: ${JSON.stringify(vf0)}`);
    t.equal(vf0?.address, POD_MAC, 'PF reports the VF MAC');
    t.match(vf0?.vlan_list, [{ vlan: VLAN, qos: VLAN_QOS }], 'PF reports vlan 100 qos 3');
    t.equal(vf0?.spoofchk, false, 'spoofchk off');
    t.equal(vf0?.trust, true, 'trust on');
    t.same(await vfInfo(1), vf1Before, 'VF 1 is untouched');

    const entry = await vm.exec(['cat', `${CACHE_DIR}/ctr-igb-1-${POD_IFNAME}`]);
    t.equal(entry.exitCode, 0, `the cache entry is in ${CACHE_DIR}: ${entry.stderr.trim()}`);

    const check = await cni('CHECK', { ...netconf(), prevResult: result }, 'ctr-igb-1');
    t.equal(check.exitCode, 0, `CHECK agrees with the kernel\n${diag(check)}`);
  });

  t.test('DEL returns the netdev under its name and restores the VF settings exactly', async (t) => {
    const r = await cni('DEL', netconf(), 'ctr-igb-1');
    t.equal(r.exitCode, 0, `DEL succeeds\n${diag(r)}`);
    t.equal(r.stdout.trim(), '', 'DEL prints nothing');
    t.same(await netdevsOf(vf0Pci), [vf0Name], `VF 0 is back in the root netns as ${vf0Name}`);
    const podLinks = (await vm.exec(['/usr/sbin/ip', '-n', POD_NETNS, '-o', 'link', 'show'])).stdout;
    t.notMatch(podLinks, new RegExp(`\\b${POD_IFNAME}\\b`), `no ${POD_IFNAME} left in ${POD_NETNS}`);

    const vf0 = await vfInfo(0);
    t.comment(`vfinfo VF 0 after DEL: ${JSON.stringify(vf0)}`);
    // igb keeps the whole entry in its own per-VF state (mac, pf_vlan/pf_qos, spoof/trust flags, tx_rate), so
    // nothing in it has a reason to move: compared whole
    t.same(vf0, vf0Before, 'vfinfo of VF 0 equals the one before ADD');
    const netdev = (await links(['link', 'show', 'dev', vf0Name]))[0];
    t.comment(`VF 0 netdev after DEL: ${netdev.ifname} ${netdev.address} mtu ${netdev.mtu} flags ${netdev.flags.join(',')} ifindex ${vfNetdevBefore?.ifindex}→${netdev.ifindex}`);
    t.same(stableNetdev(netdev), stableNetdev(vfNetdevBefore), 'the VF netdev is as before (name, MAC, MTU, flags, state), ifindex and stats aside');
    t.equal((await vm.exec(['test', '-e', `${CACHE_DIR}/ctr-igb-1-${POD_IFNAME}`])).exitCode, 1, 'the cache entry is removed');
    t.equal((await vm.exec(['test', '-e', `${CACHE_DIR}/pci/${vf0Pci}`])).exitCode, 1, 'the device marker is removed');

    const again = await cni('DEL', netconf(), 'ctr-igb-1');
    t.equal(again.exitCode, 0, `a second DEL is a no-op\n${diag(again)}`);
    t.same(await vfInfo(0), vf0Before, 'and changes nothing');
  });

  t.test('an ADD igb refuses (max_tx_rate while the PF has no link) fails with the kernel error and rolls back', async (t) => {
    const operstate = (await pfLink()).operstate;
    t.not(operstate, 'UP', `PF ${pf().ifname} has no link (${operstate}): igb_ndo_set_vf_bw answers EINVAL`);
    // everything ADD set before, plus a rate: the VF settings go to the kernel in one message, processed in order
    // (mac, vlan, rate, spoofchk, trust), so the rate's EINVAL comes after mac and vlan were already applied
    const r = await cni('ADD', netconf({ max_tx_rate: 100 }), 'ctr-igb-2');
    t.equal(r.exitCode, 1, `ADD fails\n${diag(r)}`);
    let err: CniErrorJson | undefined;
    try {
      err = JSON.parse(r.stdout) as CniErrorJson;
    } catch {
      t.fail(`stdout is not the CNI error JSON\n${diag(r)}`);
    }
    t.comment(`CNI error: ${r.stdout.trim()}`);
    t.equal(err?.cniVersion, '1.0.0', 'the error is in the config\'s CNI version');
    t.equal(err?.code, 103, 'plugin code 103: a command failed');
    t.match(err?.msg, /max_tx_rate 100/, 'msg names the ip command');
    t.match(err?.details, /RTNETLINK answers: Invalid argument/, "details carry the kernel's error");

    t.same(await netdevsOf(vf0Pci), [vf0Name], `VF 0 is still in the root netns as ${vf0Name}`);
    const podLinks = (await vm.exec(['/usr/sbin/ip', '-n', POD_NETNS, '-o', 'link', 'show'])).stdout;
    t.notMatch(podLinks, new RegExp(`\\b${POD_IFNAME}\\b`), `no ${POD_IFNAME} in ${POD_NETNS}`);
    const vf0 = await vfInfo(0);
    t.comment(`vfinfo VF 0 after the failed ADD: ${JSON.stringify(vf0)}`);
    t.same(vf0, vf0Before, 'vfinfo of VF 0 equals the one before');
    const netdev = (await links(['link', 'show', 'dev', vf0Name]))[0];
    t.same(stableNetdev(netdev), stableNetdev(vfNetdevBefore), 'the VF netdev is as before');
    t.equal((await vm.exec(['test', '-e', `${CACHE_DIR}/ctr-igb-2-${POD_IFNAME}`])).exitCode, 1, 'no cache entry');
    t.equal((await vm.exec(['test', '-e', `${CACHE_DIR}/pci/${vf0Pci}`])).exitCode, 1, 'no device marker');

    // a runtime calls DEL after a failed ADD: nothing to undo, and it must not touch the VF
    const del = await cni('DEL', netconf({ max_tx_rate: 100 }), 'ctr-igb-2');
    t.equal(del.exitCode, 0, `DEL after the failed ADD succeeds\n${diag(del)}`);
    t.same(await vfInfo(0), vf0Before, 'and leaves VF 0 as before');
    t.same(await vfInfo(1), vf1Before, 'VF 1 was never touched');
  });

  t.test('teardown: sriov_numvfs back to 0, the VFs gone, the PF as it was', async (t) => {
    const pfBefore = await pfLink();
    await ip(['netns', 'del', POD_NETNS]);
    t.equal((await vm.exec(['test', '-e', POD_NETNS_PATH])).exitCode, 1, `${POD_NETNS_PATH} is gone`);
    await vm.writeFile(sys(pf().pciAddr, 'sriov_numvfs'), '0');
    t.equal(await numVfs(), '0', 'sriov_numvfs is 0');
    t.equal((await vm.sh(`ls ${sys(pf().pciAddr, '')} | grep -c '^virtfn' || true`)).stdout.trim(), '0', 'no virtfn links');
    t.equal((await vm.exec(['test', '-e', sys(vf0Pci, 'vendor')])).exitCode, 1, `${vf0Pci} is gone from the PCI bus`);
    const pfAfter = await pfLink();
    t.equal(pfAfter.ifname, pf().ifname, 'the PF keeps its name');
    t.equal(pfAfter.address, pfBefore.address, 'and its MAC');
    t.equal(pfAfter.address, pf().mac, 'the MAC QEMU gave it');
    t.equal((pfAfter.vfinfo_list ?? []).length, 0, `the PF lists no VFs (${JSON.stringify(pfAfter.vfinfo_list)})`);
    t.equal((await vm.sh(`basename "$(readlink ${sys(pf().pciAddr, 'driver')})"`)).stdout.trim(), 'igb', 'the PF is still on igb');
  });
}
