// 200 ADD/DEL cycles of the bundled plugin over the 4 VFs of a simulated node, with failures injected at random ADD
// steps (SRIOV_LAB_CNI_FAIL_AT), random VF settings (vlan, mac, spoofchk, trust), MTU, CNI version and host-local
// IPAM, up to 4 attachments alive at once. Deterministic from a fixed seed (printed; SRIOV_LAB_CYCLES_SEED
// overrides it to reproduce another run). Afterwards the node must look exactly as before: every VF netdev back
// under its original name, ifindex, MAC, MTU and admin state, the PF's VF table as before, no cache entry, no lock,
// no lease.
import { mulberry32 as prng } from '../../sim/prng.ts';
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../sim/paths.ts';
import { ADD_STEPS } from './attach.ts';
import { missingCaps, missingCniPlugins, pluginBundle, startTestNode, type TestNode } from './test-node.ts';

const skip = missingCaps ? `simulated nodes need ${missingCaps.name}: ${missingCaps.detail}` : missingCniPlugins ? `IPAM needs ${missingCniPlugins.detail}` : false;

const CYCLES = 200;
const SEED = Number(process.env.SRIOV_LAB_CYCLES_SEED ?? 0x5f1a7e);
const NETWORK = 'cycles-net';
const PF = 'ens1f0';
// I350 VFs: offset 0x80, stride 4
const VF_PCI = ['0000:01:10.0', '0000:01:10.4', '0000:01:11.0', '0000:01:11.4'];

// a safety net in place of the per-file 300 s of package.json: 200 sequential cycles run ~1 s each on an idle
// 2-core machine (each CNI call starts node, host-local and the node's ip wrapper) and several times that under load
t.setTimeout(30 * 60_000);

interface VfInfo {
  vf: number;
  [k: string]: unknown;
}
interface Link {
  ifindex: number;
  ifname: string;
  address: string;
  mtu: number;
  flags: string[];
  vfinfo_list?: VfInfo[];
  addr_info?: Array<{ local: string; prefixlen: number }>;
}

/** The bundle to run: dist/ when it is at least as new as the plugin's sources, else one built from them. */
async function bundlePath(): Promise<{ path: string; note: string }> {
  const dist = join(projectRoot(), 'dist/sriov-lab-cni.mjs');
  const srcDir = join(projectRoot(), 'plugins/cni');
  const newestSrc = Math.max(...readdirSync(srcDir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts')).map((f) => statSync(join(srcDir, f)).mtimeMs));
  if (existsSync(dist) && statSync(dist).mtimeMs >= newestSrc) return { path: dist, note: 'dist/sriov-lab-cni.mjs' };
  return { path: await pluginBundle(), note: 'a bundle of the current sources (dist/sriov-lab-cni.mjs is missing or older than plugins/cni: run `npm run build`)' };
}

/** The kernel's view of a network namespace, read on the host (fast: no ip wrapper, no FUSE). */
function kernelLinks(netnsName: string): Link[] {
  const r = spawnSync('ip', ['-n', netnsName, '-j', 'address', 'show'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip -n ${netnsName} address show: ${r.stderr}`);
  return JSON.parse(r.stdout || '[]') as Link[];
}

interface NodeSnapshot {
  /** per VF PCI address: its netdev in the node namespace */
  netdevs: Record<string, { name: string; ifindex: number; mac: string; mtu: number; up: boolean } | null>;
  /** the PF's VF table as `ip -j -d link show <pf>` reports it */
  vfinfo: VfInfo[];
}

async function snapshot(tn: TestNode): Promise<NodeSnapshot> {
  // the VF → netdev mapping comes from the node's sysfs, so a VF returned under another VF's name is caught
  const r = await tn.sh(VF_PCI.map((p) => `echo "${p} $(ls /sys/bus/pci/devices/${p}/net 2>/dev/null | tr '\\n' ' ')"`).join('; '));
  if (r.exitCode !== 0) throw new Error(`reading VF netdevs: ${r.stderr}`);
  const byName = new Map(kernelLinks(tn.node.netns).map((l) => [l.ifname, l]));
  const netdevs: NodeSnapshot['netdevs'] = {};
  for (const line of r.stdout.trim().split('\n')) {
    const [pci, ...names] = line.trim().split(/\s+/);
    const l = names.length === 1 ? byName.get(names[0]) : undefined;
    netdevs[pci] = l ? { name: l.ifname, ifindex: l.ifindex, mac: l.address, mtu: l.mtu, up: l.flags.includes('UP') } : names.length ? { name: names.join(','), ifindex: -1, mac: '?', mtu: -1, up: false } : null;
  }
  const pf = (await tn.ipJson<Link[]>(['-d', 'link', 'show', 'dev', PF]))[0];
  return { netdevs, vfinfo: pf?.vfinfo_list ?? [] };
}

function files(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) out.push(...files(join(dir, e.name)).map((f) => `${e.name}/${f}`));
    else out.push(e.name);
  }
  return out.sort();
}

const leaseFiles = (tn: TestNode) => files(tn.node.hostPath(`/var/lib/cni/networks/${NETWORK}`)).filter((f) => /^[0-9a-f.:]+$/.test(f) && f.includes('.'));

interface Attachment {
  cycle: number;
  vf: number;
  pod: string;
  podName: string;
  containerId: string;
  ifname: string;
  config: Record<string, unknown>;
  ip?: string;
}

t.test(`${CYCLES} ADD/DEL cycles over 4 VFs with injected failures leave the node as it was`, { skip }, async (t) => {
  const bundle = await bundlePath();
  const tn = await startTestNode({ numVfs: 4 });
  t.teardown(() => tn.stop());
  t.comment(`seed ${SEED} (set SRIOV_LAB_CYCLES_SEED to replay another); plugin: ${bundle.note}`);

  const cni = async (command: 'ADD' | 'DEL', a: Attachment, failAt?: string) => {
    const env: Record<string, string> = {
      PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      CNI_COMMAND: command,
      CNI_CONTAINERID: a.containerId,
      CNI_IFNAME: a.ifname,
      CNI_NETNS: a.pod,
      CNI_PATH: '/usr/lib/cni',
      CNI_ARGS: '',
      ...(failAt ? { SRIOV_LAB_CNI_FAIL_AT: failAt } : {}),
    };
    const r = await tn.node.exec([process.execPath, bundle.path], { input: JSON.stringify(a.config), env, timeoutMs: 60_000 });
    let json: Record<string, unknown> | undefined;
    try {
      json = r.stdout.trim() ? (JSON.parse(r.stdout) as Record<string, unknown>) : undefined;
    } catch {
      json = undefined;
    }
    return { ...r, json };
  };

  // non-default original settings on two VFs, so "restored" cannot mean "reset to defaults"
  const pre = await tn.sh(`ip link set dev ${PF} vf 2 vlan 7 qos 2 spoofchk off && ip link set dev ${PF} vf 3 mac 02:00:5e:00:00:33 trust on`);
  t.equal(pre.exitCode, 0, `original VF settings: ${pre.stderr}`);
  const before = await snapshot(tn);
  for (const p of VF_PCI) t.ok(before.netdevs[p], `VF ${p} has a netdev before the cycles (${before.netdevs[p]?.name})`);
  t.equal(before.vfinfo.length, 4, 'the PF lists 4 VFs');

  const rand = prng(SEED);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const hex = () => Math.floor(rand() * 256).toString(16).padStart(2, '0');
  const live: Attachment[] = [];
  const injected = new Map<string, number>();
  let adds = 0;
  let succeeded = 0;
  let problems = 0;
  const addMs: number[] = [];
  const delMs: number[] = [];
  // one failure is enough to know, and a flood of asserts helps no one: stop at the first few
  const check = (ok: boolean, msg: string, extra?: unknown) => {
    if (ok) return;
    problems++;
    if (problems <= 10) t.fail(msg, extra === undefined ? {} : { found: extra });
  };

  const del = async (a: Attachment, why: string) => {
    const r = await cni('DEL', a);
    delMs.push(r.durationMs);
    check(r.exitCode === 0, `cycle ${a.cycle}: DEL (${why}) of VF ${a.vf} exits 0`, r.stdout + r.stderr);
    const home = kernelLinks(tn.node.netns).find((l) => l.ifname === before.netdevs[VF_PCI[a.vf]]!.name);
    const want = before.netdevs[VF_PCI[a.vf]]!;
    check(!!home && home.ifindex === want.ifindex && home.address === want.mac && home.mtu === want.mtu, `cycle ${a.cycle}: after DEL ${want.name} is back in the node with ifindex, MAC and MTU`, home);
    check(kernelLinks(a.podName).every((l) => l.ifname === 'lo'), `cycle ${a.cycle}: pod ${a.podName} is empty after DEL`);
    if (a.ip) check(!leaseFiles(tn).includes(a.ip), `cycle ${a.cycle}: lease ${a.ip} released`);
    tn.delPod(a.pod);
  };

  const t0 = Date.now();
  for (let step = 0; adds < CYCLES || live.length; step++) {
    const free = [0, 1, 2, 3].filter((v) => !live.some((a) => a.vf === v));
    const doAdd = adds < CYCLES && free.length > 0 && (live.length === 0 || rand() < 0.55);
    if (!doAdd) {
      const a = live.splice(Math.floor(rand() * live.length), 1)[0];
      await del(a, 'pod deleted');
      continue;
    }
    const cycle = ++adds;
    const vf = pick(free);
    const podName = `c${cycle}`;
    const pod = tn.addPod(podName);
    const nsName = pod.replace('/run/netns/', '');
    const settings: Record<string, unknown> = {};
    if (rand() < 0.6) settings.vlan = 1 + Math.floor(rand() * 4094);
    if (settings.vlan !== undefined && rand() < 0.4) settings.vlanQoS = Math.floor(rand() * 8);
    if (rand() < 0.6) settings.mac = `02:${hex()}:${hex()}:${hex()}:${hex()}:${hex()}`;
    if (rand() < 0.5) settings.spoofchk = pick(['on', 'off']);
    if (rand() < 0.5) settings.trust = pick(['on', 'off']);
    if (rand() < 0.3) settings.mtu = pick([1280, 1400, 1450, 9000]);
    const withIpam = rand() < 0.85;
    const config: Record<string, unknown> = {
      cniVersion: pick(['0.4.0', '1.0.0', '1.1.0']),
      name: NETWORK,
      type: 'sriov',
      deviceID: VF_PCI[vf],
      ...settings,
      ...(withIpam ? { ipam: { type: 'host-local', ranges: [[{ subnet: '10.77.0.0/24' }]] } } : {}),
    };
    // a failure injected after a random step in ~45 % of the ADDs (after two steps at once now and then)
    let failAt: string | undefined;
    if (rand() < 0.45) failAt = rand() < 0.15 ? `${pick(ADD_STEPS)},${pick(ADD_STEPS)}` : pick(ADD_STEPS);
    const a: Attachment = { cycle, vf, pod, podName: nsName, containerId: `cyc-${cycle}-${hex()}${hex()}`, ifname: pick(['net1', 'net2', 'sriov0']), config };

    const r = await cni('ADD', a, failAt);
    addMs.push(r.durationMs);
    if (failAt) {
      const first = ADD_STEPS.find((s) => failAt!.split(',').includes(s))!;
      injected.set(first, (injected.get(first) ?? 0) + 1);
      check(r.exitCode !== 0 && r.json?.code === 199 && r.json?.msg === `injected failure after step "${first}"`, `cycle ${cycle}: ADD with a failure after "${first}" fails with code 199`, r.stdout + r.stderr);
      const home = kernelLinks(tn.node.netns).find((l) => l.ifname === before.netdevs[VF_PCI[vf]]!.name);
      check(home?.ifindex === before.netdevs[VF_PCI[vf]]!.ifindex, `cycle ${cycle}: after the failed ADD the VF netdev is back in the node`, home);
      check(!files(tn.node.hostPath('/var/lib/cni/sriov')).some((f) => f.startsWith(a.containerId) || f === `pci/${VF_PCI[vf]}`), `cycle ${cycle}: no cache entry after the failed ADD`);
      // the runtime calls DEL after a failed ADD
      await del(a, `after the failure at "${first}"`);
      continue;
    }
    check(r.exitCode === 0, `cycle ${cycle}: ADD of VF ${vf} succeeds`, r.stdout + r.stderr);
    if (r.exitCode !== 0) {
      await del(a, 'after a failed ADD');
      continue;
    }
    succeeded++;
    const res = r.json as { interfaces?: Array<{ name: string; mac?: string }>; ips?: Array<{ address: string }> };
    const inPod = kernelLinks(nsName).find((l) => l.ifname === a.ifname);
    check(!!inPod && inPod.flags.includes('UP'), `cycle ${cycle}: ${a.ifname} is up in the pod`, inPod);
    if (settings.mac) check(inPod?.address === settings.mac, `cycle ${cycle}: ${a.ifname} has MAC ${settings.mac}`, inPod?.address);
    check(inPod?.mtu === (settings.mtu ?? before.netdevs[VF_PCI[vf]]!.mtu), `cycle ${cycle}: ${a.ifname} MTU`, inPod?.mtu);
    if (withIpam) {
      const ip = res.ips?.[0]?.address.split('/')[0];
      a.ip = ip;
      check(!!ip && (inPod?.addr_info ?? []).some((x) => x.local === ip), `cycle ${cycle}: ${a.ifname} carries the IPAM address ${ip}`, inPod?.addr_info);
      const lease = ip ? tn.node.hostPath(`/var/lib/cni/networks/${NETWORK}/${ip}`) : '';
      check(!!ip && existsSync(lease) && readFileSync(lease, 'utf8').startsWith(a.containerId), `cycle ${cycle}: host-local holds ${ip} for ${a.containerId}`);
    }
    live.push(a);
    if (cycle % 50 === 0) t.comment(`${cycle} cycles, ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
  const wallS = (Date.now() - t0) / 1000;
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
  t.comment(`${CYCLES} cycles (${succeeded} ADDs succeeded, ${CYCLES - succeeded} failed on purpose) in ${wallS.toFixed(1)} s; median ADD ${median(addMs)} ms, DEL ${median(delMs)} ms`);
  t.comment(`failures injected after: ${ADD_STEPS.map((s) => `${s} ×${injected.get(s) ?? 0}`).join(', ')}`);

  t.equal(problems, 0, 'every ADD, DEL and per-cycle check went as expected');
  t.equal(adds, CYCLES, `${CYCLES} ADD/DEL cycles ran`);
  t.ok(succeeded >= CYCLES / 3, `a good share of the ADDs succeeded (${succeeded})`);
  for (const s of ADD_STEPS) t.ok((injected.get(s) ?? 0) > 0, `a failure was injected after step "${s}"`);

  const after = await snapshot(tn);
  t.strictSame(after.netdevs, before.netdevs, 'every VF netdev back in the node namespace with its original name, ifindex, MAC, MTU and admin state');
  t.strictSame(after.vfinfo, before.vfinfo, `the VF table of ${PF} (ip -j -d link show) as before`);
  t.strictSame(files(tn.node.hostPath('/var/lib/cni/sriov')), [], 'no files under /var/lib/cni/sriov');
  t.strictSame(leaseFiles(tn), [], `no leases under /var/lib/cni/networks/${NETWORK}`);
  const unix = await tn.sh('cat /proc/net/unix');
  t.equal(unix.exitCode, 0, `reading /proc/net/unix in the node: ${unix.stderr}`);
  t.strictSame(unix.stdout.split('\n').filter((l) => l.includes('@sriov-lab-cni/')), [], 'no lock socket bound in the node');
});
