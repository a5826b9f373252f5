// The bundled plugin in sriov mode against a simulated node: VF settings seen through `ip -j link show <pf>`,
// the VF netdev in the pod, IPAM from Debian's host-local, and everything put back by DEL or by a rollback.
import t from 'tap';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ControlClient } from '../../sim/kernel/control-client.ts';
import { ADD_STEPS } from './attach.ts';
import { missingCaps, missingCniPlugins, startTestNode, type TestNode } from './test-node.ts';

const skip = missingCaps ? `simulated nodes need ${missingCaps.name}: ${missingCaps.detail}` : missingCniPlugins ? `IPAM needs ${missingCniPlugins.detail}` : false;

interface VfInfo {
  vf: number;
  address: string;
  vlan_list?: Array<{ vlan?: number; qos?: number; protocol?: string }>;
  spoofchk: boolean;
  trust: boolean;
  link_state: string;
  rate: { max_tx: number; min_tx: number };
}
interface Link {
  ifname: string;
  address: string;
  mtu: number;
  flags: string[];
  vfinfo_list?: VfInfo[];
  addr_info?: Array<{ local: string; prefixlen: number }>;
}

// I350 VFs: offset 0x80, stride 4 → 0000:01:10.0, .4, 01:11.0, .4
const vfAddr = ['0000:01:10.0', '0000:01:10.4', '0000:01:11.0', '0000:01:11.4'];

function files(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) out.push(...files(join(dir, e.name)).map((f) => `${e.name}/${f}`));
    else out.push(e.name);
  }
  return out.sort();
}

async function snapshot(tn: TestNode, vf: number, network: string) {
  const links = await tn.ipJson<Link[]>(['link', 'show']);
  const pf = links.find((l) => l.ifname === 'ens1f0')!;
  const nd = links.find((l) => l.ifname === `ens1f0v${vf}`);
  return {
    vfinfo: pf.vfinfo_list!.find((v) => v.vf === vf),
    netdev: nd ? { name: nd.ifname, mac: nd.address, mtu: nd.mtu } : null,
    cache: files(tn.node.hostPath('/var/lib/cni/sriov')),
    leases: files(tn.node.hostPath(`/var/lib/cni/networks/${network}`)).filter((f) => f !== 'lock' && !f.startsWith('last_reserved_ip')),
  };
}

function conf(version: string, o: Record<string, unknown> = {}): Record<string, unknown> {
  return { cniVersion: version, name: 'sriov-net', type: 'sriov', deviceID: vfAddr[0], ipam: { type: 'host-local', subnet: '10.56.0.0/24', routes: [{ dst: '10.57.0.0/16' }] }, ...o };
}

const settings = { vlan: 100, vlanQoS: 3, spoofchk: 'off', trust: 'on', link_state: 'enable', min_tx_rate: 10, max_tx_rate: 100, mac: '02:aa:00:00:00:01', mtu: 1400 };

t.test('sriov mode in a simulated node', { skip }, async (t) => {
  const tn = await startTestNode({ numVfs: 4 });
  t.teardown(() => tn.stop());

  t.test('kernel mode ADD / CHECK / DEL per CNI version, VF settings applied and restored', async (t) => {
    for (const version of ['0.3.1', '0.4.0', '1.0.0', '1.1.0']) {
      const pod = tn.addPod(`v${version.replace(/\./g, '')}`);
      const before = await snapshot(tn, 0, 'sriov-net');
      const c = conf(version, settings);
      const add = await tn.cni({ command: 'ADD', netns: pod, config: c, containerId: `c-${version}` });
      t.equal(add.exitCode, 0, `${version} ADD: ${add.stdout}${add.stderr}`);
      const res = add.json as { cniVersion: string; interfaces: Array<Record<string, unknown>>; ips: Array<Record<string, unknown>>; routes?: unknown[] };
      t.equal(res.cniVersion, version, 'result in the config version');
      const iface: Record<string, unknown> = { name: 'net1', mac: '02:aa:00:00:00:01', sandbox: pod };
      if (version === '1.1.0') Object.assign(iface, { mtu: 1400, pciID: vfAddr[0] });
      t.strictSame(res.interfaces, [iface], `${version} interfaces`);
      t.match(res.ips, [{ interface: 0, address: /^10\.56\.0\.\d+\/24$/, gateway: '10.56.0.1', ...(version.startsWith('0.') ? { version: '4' } : {}) }]);
      if (!version.startsWith('0.')) t.notOk('version' in res.ips[0], '1.x IPs carry no version');
      t.strictSame(res.routes, [{ dst: '10.57.0.0/16' }]);

      const pf = (await tn.ipJson<Link[]>(['link', 'show', 'dev', 'ens1f0']))[0];
      t.match(pf.vfinfo_list![0], { vf: 0, address: '02:aa:00:00:00:01', vlan_list: [{ vlan: 100, qos: 3 }], spoofchk: false, trust: true, link_state: 'enable', rate: { max_tx: 100, min_tx: 10 } }, `${version}: VF settings on the PF`);
      const inPod = (await tn.ipJson<Link[]>(['address', 'show'], pod)).find((l) => l.ifname === 'net1');
      t.match(inPod, { address: '02:aa:00:00:00:01', mtu: 1400 }, 'net1 in the pod with MAC and MTU');
      t.ok(inPod?.flags.includes('UP'), 'net1 is up');
      t.match(inPod?.addr_info, [{ local: (res.ips[0].address as string).split('/')[0], prefixlen: 24 }]);
      t.equal((await snapshot(tn, 0, 'sriov-net')).netdev, null, 'ens1f0v0 left the node namespace');
      t.same((await snapshot(tn, 0, 'sriov-net')).cache, [`c-${version}-net1`, `pci/${vfAddr[0]}`]);

      const check = await tn.cni({ command: 'CHECK', netns: pod, config: { ...c, prevResult: res }, containerId: `c-${version}` });
      if (version === '0.3.1') t.match(check.json, { code: 1, msg: /CHECK is not defined for cniVersion 0.3.1/ });
      else t.equal(check.exitCode, 0, `${version} CHECK: ${check.stdout}`);

      const del = await tn.cni({ command: 'DEL', netns: pod, config: c, containerId: `c-${version}` });
      t.equal(del.exitCode, 0, `${version} DEL: ${del.stdout}${del.stderr}`);
      t.strictSame(await snapshot(tn, 0, 'sriov-net'), before, `${version}: VF settings, netdev name/MAC/MTU, cache and lease as before ADD`);
      const again = await tn.cni({ command: 'DEL', netns: pod, config: c, containerId: `c-${version}` });
      t.equal(again.exitCode, 0, 'DEL again succeeds');
      tn.delPod(pod);
    }
  });

  t.test('CHECK really verifies: VF settings, IPs, MAC', async (t) => {
    const pod = tn.addPod('chk');
    const c = conf('1.0.0', { ...settings, deviceID: vfAddr[1] });
    const add = await tn.cni({ command: 'ADD', netns: pod, config: c, containerId: 'chk' });
    t.equal(add.exitCode, 0, add.stdout);
    const check = (cfg = c) => tn.cni({ command: 'CHECK', netns: pod, config: { ...cfg, prevResult: add.json }, containerId: 'chk' });
    t.equal((await check()).exitCode, 0);
    await tn.sh('ip link set dev ens1f0 vf 1 vlan 5 trust off');
    let r = await check();
    t.match(r.json, { code: 101, details: /vlan: want 100, have 5.*trust: want true, have false/ }, 'changed VF settings are reported');
    await tn.sh('ip link set dev ens1f0 vf 1 vlan 100 qos 3 trust on');
    t.equal((await check()).exitCode, 0, 'fixed again');
    const ip = ((add.json!.ips as Array<{ address: string }>)[0]).address;
    await tn.sh(`nsenter --net=${pod} ip address del ${ip} dev net1`);
    r = await check();
    t.match(r.json, { code: 101, details: new RegExp(`net1 lacks address ${ip.replace(/\./g, '\\.')}`) });
    await tn.sh(`nsenter --net=${pod} ip link set dev net1 address 02:bb:00:00:00:02`);
    r = await check();
    t.match(r.json, { code: 101, details: /net1 MAC is 02:bb:00:00:00:02, want 02:aa:00:00:00:01/ });
    t.equal((await tn.cni({ command: 'DEL', netns: pod, config: c, containerId: 'chk' })).exitCode, 0);
    tn.delPod(pod);
  });

  t.test('DPDK mode: VF on vfio-pci, settings and IPAM, no netns move, no kernel interface claimed', async (t) => {
    const vf = '/sys/bus/pci/devices/0000:01:10.4';
    let r = await tn.sh(`echo 0000:01:10.4 > ${vf}/driver/unbind && echo vfio-pci > ${vf}/driver_override && echo 0000:01:10.4 > /sys/bus/pci/drivers_probe && basename $(readlink ${vf}/driver)`);
    t.equal(r.stdout.trim(), 'vfio-pci', r.stderr);
    t.teardown(async () => void (await tn.sh(`echo 0000:01:10.4 > ${vf}/driver/unbind; echo > ${vf}/driver_override; echo 0000:01:10.4 > /sys/bus/pci/drivers_probe`)));
    const pod = tn.addPod('dpdk');
    const before = await snapshot(tn, 1, 'sriov-net');
    const c = conf('1.1.0', { deviceID: vfAddr[1], vlan: 20, mac: '02:dd:00:00:00:01', trust: 'on' });
    const add = await tn.cni({ command: 'ADD', netns: pod, config: c, containerId: 'dp' });
    t.equal(add.exitCode, 0, add.stdout);
    t.strictSame((add.json as { interfaces: unknown }).interfaces, [{ name: vfAddr[1], mac: '02:dd:00:00:00:01', pciID: vfAddr[1] }], 'no sandbox, not named net1');
    t.match(add.json, { ips: [{ address: /^10\.56\.0\./ }] });
    t.notOk('interface' in (add.json!.ips as object[])[0], 'the IP points at no pod interface');
    t.match((await snapshot(tn, 1, 'sriov-net')).vfinfo, { address: '02:dd:00:00:00:01', vlan_list: [{ vlan: 20 }], trust: true });
    const podLinks = await tn.ipJson<Link[]>(['link', 'show'], pod);
    t.strictSame(podLinks.map((l) => l.ifname), ['lo'], 'nothing moved into the pod');
    r = await tn.cni({ command: 'CHECK', netns: pod, config: { ...c, prevResult: add.json }, containerId: 'dp' });
    t.equal(r.exitCode, 0, r.stdout);
    for (let i = 0; i < 2; i++) {
      r = await tn.cni({ command: 'DEL', netns: pod, config: c, containerId: 'dp' });
      t.equal(r.exitCode, 0, `DEL #${i + 1}: ${r.stdout}`);
    }
    t.strictSame(await snapshot(tn, 1, 'sriov-net'), before, 'VF settings, cache and lease restored');
    tn.delPod(pod);

    // a stale allocation (netns deleted without DEL) is taken over; the oldest original settings survive
    const podA = tn.addPod('dpdk-a');
    const podB = tn.addPod('dpdk-b');
    t.equal((await tn.cni({ command: 'ADD', netns: podA, config: conf('1.0.0', { deviceID: vfAddr[1], vlan: 30 }), containerId: 'a' })).exitCode, 0);
    const refused = await tn.cni({ command: 'ADD', netns: podB, config: conf('1.0.0', { deviceID: vfAddr[1], vlan: 40 }), containerId: 'b' });
    t.match(refused.json, { code: 102, msg: /already allocated to container a \(interface net1/ }, 'a VF in a live netns is refused');
    const aCache = tn.node.hostPath('/var/lib/cni/sriov/a-net1');
    const aState = readFileSync(aCache, 'utf8');
    tn.delPod(podA);
    const takeOver = await tn.cni({ command: 'ADD', netns: podB, config: conf('1.0.0', { deviceID: vfAddr[1], vlan: 40 }), containerId: 'b' });
    t.equal(takeOver.exitCode, 0, `take-over after the old netns is gone: ${takeOver.stdout}`);
    t.match((await snapshot(tn, 1, 'sriov-net')).vfinfo, { vlan_list: [{ vlan: 40 }] });
    // sriov-cni #219: a late DEL of the old attachment, its cache entry still there (written back here, as a crash
    // in the middle of the take-over or an older plugin would leave it), must not reset the VF b holds now
    writeFileSync(aCache, aState);
    const late = await tn.cni({ command: 'DEL', netns: '', config: conf('1.0.0', { deviceID: vfAddr[1], vlan: 30 }), containerId: 'a' });
    t.equal(late.exitCode, 0, late.stdout);
    t.match((await snapshot(tn, 1, 'sriov-net')).vfinfo, { vlan_list: [{ vlan: 40 }] }, "the late DEL of a left b's VLAN alone");
    t.notOk(existsSync(aCache), "a's cache entry is gone");
    t.ok(existsSync(tn.node.hostPath(`/var/lib/cni/sriov/pci/${vfAddr[1]}`)), "b's device marker stays");
    t.equal((await tn.cni({ command: 'DEL', netns: podB, config: conf('1.0.0', { deviceID: vfAddr[1], vlan: 40 }), containerId: 'b' })).exitCode, 0);
    t.strictSame(await snapshot(tn, 1, 'sriov-net'), before, 'back to the settings from before the first pod; both leases released');
    tn.delPod(podB);
  });

  t.test('DEL after the VFs were recreated (node reboot) succeeds once and stays succeeded', async (t) => {
    // DPDK mode: in the simulator a VF netdev that dies with its pod netns cannot be torn down by sriov_numvfs
    const vf = '/sys/bus/pci/devices/0000:01:11.4';
    const bind = await tn.sh(`echo 0000:01:11.4 > ${vf}/driver/unbind && echo vfio-pci > ${vf}/driver_override && echo 0000:01:11.4 > /sys/bus/pci/drivers_probe`);
    t.equal(bind.exitCode, 0, bind.stderr);
    const pod = tn.addPod('reboot');
    const c = conf('1.0.0', { deviceID: vfAddr[3], vlan: 9 });
    t.equal((await tn.cni({ command: 'ADD', netns: pod, config: c, containerId: 'rb' })).exitCode, 0);
    // a reboot: the pod netns is gone and the VFs are created anew (fewer of them: VF 3 no longer exists)
    tn.delPod(pod);
    let r = await tn.sh('echo 0 > /sys/class/net/ens1f0/device/sriov_numvfs && echo 2 > /sys/class/net/ens1f0/device/sriov_numvfs');
    t.equal(r.exitCode, 0, r.stderr);
    for (let i = 0; i < 2; i++) {
      const d = await tn.cni({ command: 'DEL', netns: '', config: c, containerId: 'rb' });
      t.equal(d.exitCode, 0, `DEL #${i + 1}: ${d.stdout}`);
    }
    t.strictSame((await snapshot(tn, 0, 'sriov-net')).cache, []);
    r = await tn.sh('echo 0 > /sys/class/net/ens1f0/device/sriov_numvfs && echo 4 > /sys/class/net/ens1f0/device/sriov_numvfs');
    t.equal(r.exitCode, 0, r.stderr);
  });

  t.test('rollback: an IPAM failure and a failure after every ADD step leave the node as it was', async (t) => {
    const pod = tn.addPod('rb');
    const c = conf('1.0.0', { ...settings, deviceID: vfAddr[2] });
    const before = await snapshot(tn, 2, 'sriov-net');
    // a real IPAM failure: the /30 has one address, which another attachment (on VF 3) takes first
    const tiny = { type: 'host-local', ranges: [[{ subnet: '10.99.0.0/30' }]] };
    const podOther = tn.addPod('rb-other');
    const first = await tn.cni({ command: 'ADD', netns: podOther, config: conf('1.0.0', { deviceID: vfAddr[3], name: 'tiny', ipam: tiny }), containerId: 'first' });
    t.equal(first.exitCode, 0, first.stdout);
    let r = await tn.cni({ command: 'ADD', netns: pod, config: { ...c, name: 'tiny', ipam: tiny }, containerId: 'second' });
    t.match(r.json, { code: 999, msg: /IPAM plugin "host-local" ADD failed: .*no IP addresses available/ }, 'host-local ran out; its code is passed on');
    const afterFailure = await snapshot(tn, 2, 'sriov-net');
    t.strictSame({ ...afterFailure, cache: afterFailure.cache.filter((f) => !/first|01:11\.4/.test(f)) }, before, 'IPAM failure: VF back under its name, settings restored, no cache entry of its own');
    t.equal((await tn.cni({ command: 'DEL', netns: podOther, config: conf('1.0.0', { deviceID: vfAddr[3], name: 'tiny', ipam: tiny }), containerId: 'first' })).exitCode, 0);
    t.strictSame(await snapshot(tn, 2, 'tiny'), { ...before, leases: [] }, 'tiny network: lease of the first released, none taken by the failed ADD');

    r = await tn.cni({ command: 'ADD', netns: pod, config: { ...c, ipam: { type: 'no-such-ipam' } }, containerId: 'x' });
    t.match(r.json, { msg: /IPAM plugin "no-such-ipam" not found/ });
    t.strictSame(await snapshot(tn, 2, 'sriov-net'), before, 'missing IPAM plugin: rolled back');

    for (const step of ADD_STEPS) {
      r = await tn.cni({ command: 'ADD', netns: pod, config: c, containerId: `f-${step}`, env: { SRIOV_LAB_CNI_FAIL_AT: step } });
      t.match(r.json, { code: 199, msg: `injected failure after step "${step}"` });
      t.strictSame(await snapshot(tn, 2, 'sriov-net'), before, `failure after "${step}": nothing left behind`);
      t.strictSame((await tn.ipJson<Link[]>(['link', 'show'], pod)).map((l) => l.ifname), ['lo'], `failure after "${step}": pod empty`);
    }

    // a setting the PF refuses, in the one ip of ADD (listing, VF settings, move): reported as that command alone
    const ctl = new ControlClient(tn.node.hostPath('/run/sriov-lab/ctl.sock'));
    await ctl.request({ op: 'fault.failVfSet', pf: 'ens1f0', attr: 'trust', errno: 'EOPNOTSUPP', count: 1 });
    ctl.close();
    r = await tn.cni({ command: 'ADD', netns: pod, config: c, containerId: 'refused' });
    t.match(r.json, { code: 103, msg: /^command failed: ip link set dev ens1f0 vf 2 mac 02:aa:00:00:00:01 vlan 100 qos 3 spoofchk off trust on state enable min_tx_rate 10 max_tx_rate 100$/, details: 'RTNETLINK answers: Operation not supported' }, 'a refused VF setting names its command and the kernel\'s answer');
    t.strictSame(await snapshot(tn, 2, 'sriov-net'), before, 'refused VF setting: the ones applied before it put back, nothing moved');
    tn.delPod(pod);
    tn.delPod(podOther);
  });

  t.test('concurrent ADDs of the same VF: the lock lets one in, the other is refused', async (t) => {
    const p1 = tn.addPod('cc1');
    const p2 = tn.addPod('cc2');
    const c = conf('1.0.0', { deviceID: vfAddr[2], vlan: 11 });
    const [a, b] = await Promise.all([tn.cni({ command: 'ADD', netns: p1, config: c, containerId: 'cc1' }), tn.cni({ command: 'ADD', netns: p2, config: c, containerId: 'cc2' })]);
    const ok = [a, b].filter((x) => x.exitCode === 0);
    const refused = [a, b].filter((x) => x.exitCode !== 0);
    t.equal(ok.length, 1, `exactly one ADD wins: ${a.stdout} / ${b.stdout}`);
    t.match(refused[0]?.json, { code: 102, msg: /already allocated to container cc[12]/ });
    const winner = a.exitCode === 0 ? { id: 'cc1', netns: p1 } : { id: 'cc2', netns: p2 };
    t.equal((await tn.cni({ command: 'DEL', netns: winner.netns, config: c, containerId: winner.id })).exitCode, 0);
    t.strictSame((await snapshot(tn, 2, 'sriov-net')).cache, []);
    tn.delPod(p1);
    tn.delPod(p2);
  });

  t.test('an altname equal to the original name (added while in the pod) does not break DEL', async (t) => {
    const pod = tn.addPod('alt');
    const before = await snapshot(tn, 2, 'sriov-net');
    const c = conf('1.0.0', { deviceID: vfAddr[2] });
    t.equal((await tn.cni({ command: 'ADD', netns: pod, config: c, containerId: 'alt' })).exitCode, 0);
    const r = await tn.sh(`nsenter --net=${pod} ip link property add dev net1 altname ens1f0v2`);
    t.equal(r.exitCode, 0, r.stderr);
    const d = await tn.cni({ command: 'DEL', netns: pod, config: c, containerId: 'alt' });
    t.equal(d.exitCode, 0, d.stdout);
    t.strictSame(await snapshot(tn, 2, 'sriov-net'), before, 'back as ens1f0v2');
    tn.delPod(pod);
  });

  t.test('GC releases attachments the runtime no longer lists', async (t) => {
    const pod = tn.addPod('gc');
    const before = await snapshot(tn, 2, 'sriov-net');
    const c = conf('1.1.0', { deviceID: vfAddr[2], vlan: 12 });
    t.equal((await tn.cni({ command: 'ADD', netns: pod, config: c, containerId: 'gc1' })).exitCode, 0);
    let r = await tn.cni({ command: 'GC', config: { ...c, 'cni.dev/valid-attachments': [{ containerID: 'gc1', ifname: 'net1' }] } });
    t.equal(r.exitCode, 0, r.stdout);
    t.equal((await snapshot(tn, 2, 'sriov-net')).cache.length, 2, 'a valid attachment stays');
    r = await tn.cni({ command: 'GC', config: { ...c, 'cni.dev/valid-attachments': [] } });
    t.equal(r.exitCode, 0, r.stdout);
    t.strictSame(await snapshot(tn, 2, 'sriov-net'), before, 'the stale one is undone, lease included');
    r = await tn.cni({ command: 'STATUS', config: c });
    t.equal(r.exitCode, 0, `STATUS: ${r.stdout}`);
    tn.delPod(pod);
  });
  t.test('DEL after the pod netns is gone restores VF settings and MAC and releases the lease', async (t) => {
    const pod = tn.addPod('gone');
    const before = await snapshot(tn, 2, 'sriov-net');
    const c = conf('1.0.0', { ...settings, deviceID: vfAddr[2] });
    t.equal((await tn.cni({ command: 'ADD', netns: pod, config: c, containerId: 'gone' })).exitCode, 0);
    tn.delPod(pod);
    for (const netns of [pod, '']) {
      const r = await tn.cni({ command: 'DEL', netns, config: c, containerId: 'gone' });
      t.equal(r.exitCode, 0, `DEL with CNI_NETNS=${netns || '(empty)'}: ${r.stdout}`);
    }
    const after = await snapshot(tn, 2, 'sriov-net');
    t.strictSame(after.vfinfo, before.vfinfo, 'VF admin MAC, VLAN, spoofchk, trust, state, rates restored');
    t.strictSame(after.cache, [], 'cache empty');
    t.strictSame(after.leases, [], 'lease released');
    // runs last: the simulated VF netdev was a veth end and died with the netns (real hardware returns it to the host;
    // returnNetdev handles that case by renaming it back, see the host-device test)
  });

});
