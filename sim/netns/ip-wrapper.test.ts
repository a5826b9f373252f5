// The ip wrapper end to end: bundled as the node installs it, run inside a namespace whose veth "ens1f0" stands
// in for a PF, talking to the sysfs server's control socket over a kernel model with an I350 PF of that name. Its
// output is compared with the real iproute2's.
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { caps } from '../caps.ts';
import type { Server } from 'node:net';
import { serveControl } from '../kernel/control-server.ts';
import { SysfsModel, defaultVfAttrs } from '../kernel/model.ts';
import type { ControlRequest, VfAttrs } from '../kernel/types.ts';
import { renderVfText } from './vf-netlink.ts';
import { ipShimScript } from './ip-shim.ts';
import { chmodSync, writeFileSync } from 'node:fs';

function runAsync(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ stdout: string; stderr: string; status: number | null }> {
  return new Promise((resolve, reject) => {
    const c = spawn(file, args, { env, stdio: ['ignore', 'pipe', 'pipe'], timeout: 20000 });
    let stdout = '';
    let stderr = '';
    c.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    c.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    c.on('error', reject);
    c.on('close', (status) => resolve({ stdout, stderr, status }));
  });
}

const netns = caps.netns();
const skip = !netns.ok ? `needs network namespaces: ${netns.detail}` : !caps.iproute2().ok ? caps.iproute2().detail : false;

t.test('ip wrapper in a namespace', { skip }, async (t) => {
  const dir = t.testdir({});
  const bundle = join(dir, 'ip-wrapper.mjs');
  await build({
    entryPoints: [fileURLToPath(new URL('./ip-wrapper.ts', import.meta.url))],
    outfile: bundle, bundle: true, platform: 'node', target: 'node20', format: 'esm', logLevel: 'warning',
  });
  const realIp = spawnSync('sh', ['-c', 'command -v ip'], { encoding: 'utf8' }).stdout.trim();
  const ns = `ipwrap-${process.pid}`;
  const ipOk = (...args: string[]) => {
    const r = spawnSync('ip', args, { encoding: 'utf8' });
    t.equal(r.status, 0, `ip ${args.join(' ')} ${r.stderr}`);
  };
  ipOk('netns', 'add', ns);
  t.teardown(() => void spawnSync('ip', ['netns', 'del', ns]));
  ipOk('-n', ns, 'link', 'add', 'ens1f0', 'type', 'veth', 'peer', 'name', 'p0');
  ipOk('-n', ns, 'link', 'property', 'add', 'dev', 'ens1f0', 'altname', 'pfalt0');
  ipOk('-n', ns, 'addr', 'add', '10.9.0.1/24', 'dev', 'ens1f0');
  ipOk('-n', ns, 'link', 'set', 'ens1f0', 'up');

  const sock = join(dir, 'ctl.sock');
  // ens2f0 exists in the model but not in the namespace: the wrapper must not invent it
  const model = new SysfsModel({
    nics: [
      { model: 'intel-i350', pciAddr: '0000:01:00.0', ifname: 'ens1f0', numVfs: 4 },
      { model: 'intel-i350', pciAddr: '0000:02:00.0', ifname: 'ens2f0', numVfs: 1 },
    ],
  });
  const requests: ControlRequest[] = [];
  const server: Server = await serveControl(model, sock, { onRequest: (req) => void requests.push(req) });
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  /** the VF attributes of ens1f0 as the model holds them */
  const vfsOf = (): VfAttrs[] => model.listVfs('ens1f0').map(({ index: _index, pciAddr: _pciAddr, ...attrs }) => attrs);

  // the control server lives in this process: the wrapper must run asynchronously or nobody answers it
  const wrap = (args: string, ctl = sock) =>
    runAsync('ip', ['netns', 'exec', ns, process.execPath, bundle, ...args.split(' ').filter(Boolean)], {
      ...process.env, SRIOV_LAB_CTL: ctl, SRIOV_LAB_REAL_IP: realIp,
    });
  const real = (args: string) => spawnSync('ip', ['-n', ns, ...args.split(' ').filter(Boolean)], { encoding: 'utf8' });
  const same = async (args: string) => {
    const w = await wrap(args);
    const r = real(args);
    t.same([w.stdout, w.stderr, w.status], [r.stdout, r.stderr, r.status], `ip ${args}: exactly as the real ip`);
  };

  await t.test('setting VF attributes changes the model, in kernel order', async (t) => {
    requests.length = 0;
    const r = await wrap('link set ens1f0 vf 0 vlan 100 mac 02:00:00:00:00:01');
    t.same([r.stderr, r.status], ['', 0]);
    t.same(requests, [
      { op: 'pf.list' },
      { op: 'vf.set', pf: 'ens1f0', vf: 0, attrs: { mac: '02:00:00:00:00:01' } },
      { op: 'vf.set', pf: 'ens1f0', vf: 0, attrs: { vlan: 100, qos: 0, vlanProto: '802.1Q' } },
    ]);
    t.same(vfsOf()[0], { ...defaultVfAttrs(), mac: '02:00:00:00:00:01', vlan: 100 });
  });

  await t.test('ip -d link show lists the VFs where iproute2 would', async (t) => {
    const w = await wrap('-d link show ens1f0');
    t.equal(w.status, 0, w.stderr);
    const lines = w.stdout.split('\n');
    const at = lines.indexOf('    vf 0     link/ether 02:00:00:00:00:01 brd ff:ff:ff:ff:ff:ff, vlan 100, spoof checking on, link-state auto, trust off');
    t.ok(at > 0, 'vf 0 as iproute2 prints it');
    t.same(lines.slice(at + 1, at + 4), [1, 2, 3].map((index) => renderVfText({ ...defaultVfAttrs(), index })));
    t.equal(lines[at + 4], '    altname pfalt0');
    t.same(lines.filter((l) => !l.startsWith('    vf ')), real('-d link show ens1f0').stdout.split('\n'), 'the rest is the real output');
    t.equal((await wrap('link show ens1f0')).stdout.split('\n').filter((l) => l.startsWith('    vf ')).length, 4, 'link show without -d lists them too');
    const st = (await wrap('-s link show ens1f0')).stdout.split('\n');
    const vf3 = st.findIndex((l) => l.startsWith('    vf 3 '));
    t.same(st.slice(vf3 + 1, vf3 + 3), ['    RX: bytes  packets  mcast   bcast   dropped ', `    ${'0'.padEnd(11)}${'0'.padEnd(9)}${'0'.padEnd(8)}${'0'.padEnd(8)}${'0'.padEnd(8)}`], 'ip -s adds VF counters');
  });

  await t.test('ip -j -d link show has vfinfo_list', async (t) => {
    const w = await wrap('-j -d link show ens1f0');
    t.equal(w.status, 0, w.stderr);
    const [pf] = JSON.parse(w.stdout) as Array<{ vfinfo_list: Array<Record<string, unknown>> } & Record<string, unknown>>;
    t.equal(pf.vfinfo_list.length, 4);
    t.same(pf.vfinfo_list[0], {
      vf: 0, link_type: 'ether', address: '02:00:00:00:00:01', broadcast: 'ff:ff:ff:ff:ff:ff', vlan_list: [{ vlan: 100 }],
      rate: { max_tx: 0, min_tx: 0 }, spoofchk: true, link_state: 'auto', trust: false,
    });
    const p = await wrap('-j -p link show ens1f0');
    t.match(p.stdout, /\n {8}"vfinfo_list": \[ \{\n {16}"vf": 0,/, 'pretty layout');
  });

  await t.test('ip -d addr lists VFs; plain ip addr and other links are untouched', async (t) => {
    const w = await wrap('-d a');
    const lines = w.stdout.split('\n');
    const vf0 = lines.findIndex((l) => l.startsWith('    vf 0 '));
    const inet = lines.findIndex((l) => l.startsWith('    inet 10.9.0.1/24'));
    t.ok(vf0 > 0 && inet > vf0, 'VF lines before the addresses');
    t.notOk(w.stdout.includes('ens2f0'), 'a PF of another namespace is not invented');
    await same('a');
    await same('link show p0');
    await same('-br link');
    await same('-j link show p0');
    await same('route show');
    await same('link show nonexistent');
    await same('-n nonexistent link');
  });

  await t.test('errors are iproute2’s', async (t) => {
    let r = await wrap('link set ens1f0 vf 9 trust on');
    t.same([r.stderr, r.status], ['RTNETLINK answers: Invalid argument\n', 2], 'no such VF: EINVAL from the model');
    r = await wrap('link set ens1f0 vf -1 trust on');
    t.same([r.stderr, r.status], ['RTNETLINK answers: Invalid argument\n', 2]);
    r = await wrap('link set ens1f0 vf 0 vlan 100 qos 9');
    t.same([r.stderr, r.status], ['RTNETLINK answers: Invalid argument\n', 2], 'qos out of range');
    r = await wrap('link set ens1f0 vf 3 query_rss on');
    t.same([r.stderr, r.status], ['RTNETLINK answers: Operation not supported\n', 2]);
    await same('link set ens1f0 vf 0 spoofchk maybe');
    await same('link set ens1f0 vf x mac 02:00:00:00:00:01');
    await same('link set ens1f0 vf 0 mac 02:00:00:00:01');
    requests.length = 0;
    await same('link set p0 vf 0 trust on');
    t.same(requests, [{ op: 'pf.list' }], 'a link that is not a PF goes to the real ip (EOPNOTSUPP)');
  });

  await t.test('rates: one-sided changes use the current rates, as iproute2 fetches them', async (t) => {
    t.equal((await wrap('link set ens1f0 vf 1 max_tx_rate 100')).status, 0);
    const r = await wrap('link set ens1f0 vf 1 min_tx_rate 200');
    t.same([r.stderr, r.status], ['Invalid min_tx_rate 200 - must be <= max_tx_rate 100\n', 1]);
    t.equal((await wrap('link set ens1f0 vf 1 min_tx_rate 20')).status, 0);
    t.same([vfsOf()[1].minTxRate, vfsOf()[1].maxTxRate], [20, 100]);
    t.equal((await wrap('link set ens1f0 vf 1 rate 300')).status, 0, 'legacy rate');
    t.same([vfsOf()[1].minTxRate, vfsOf()[1].maxTxRate], [20, 300]);
    t.match((await wrap('link show ens1f0')).stdout, /vf 1 .*, tx rate 300 \(Mbps\), max_tx_rate 300Mbps, min_tx_rate 20Mbps,/);
  });

  await t.test('other link attributes go to the real link, VF attributes to the model', async (t) => {
    const r = await wrap('link set ens1f0 mtu 1400 vf 2 trust on state disable');
    t.same([r.stderr, r.status], ['', 0]);
    t.equal((JSON.parse(real('-j link show ens1f0').stdout) as Array<{ mtu: number }>)[0].mtu, 1400);
    t.same([vfsOf()[2].trust, vfsOf()[2].linkState], [true, 'disable']);
    const bad = await wrap('link set ens1f0 mtu 99999999 vf 2 trust off');
    t.not(bad.status, 0, 'a failing link change fails the command');
    t.equal(vfsOf()[2].trust, true, 'and the VF part is not applied');
  });

  await t.test('through the sh shim a node installs as ip', async (t) => {
    const shim = join(dir, 'ip');
    writeFileSync(shim, ipShimScript({ nodePath: process.execPath, wrapperPath: bundle, realIpPath: realIp }));
    chmodSync(shim, 0o755);
    const viaShim = (args: string) =>
      runAsync('ip', ['netns', 'exec', ns, shim, ...args.split(' ')], { ...process.env, SRIOV_LAB_CTL: sock });
    let r = await viaShim('link set ens1f0 vf 3 mac 02:00:00:00:00:04');
    t.same([r.stderr, r.status], ['', 0]);
    r = await viaShim('-f inet -d link show ens1f0');
    t.match(r.stdout, /\n {4}vf 3 {5}link\/ether 02:00:00:00:00:04 /);
    r = await viaShim('route show');
    t.same([r.stdout, r.status], [real('route show').stdout, 0], 'other objects go straight to the real ip');
  });

  await t.test('a pod netns half added or half deleted is no "Peer netns reference is invalid" on a PF', async (t) => {
    // in a mount namespace of its own with a /run/netns of its own, so nobody else's ip sees the broken entry: a PF
    // whose veth peer is in another netns (as a node's is, in its fabric), and an entry of /run/netns that is a plain
    // file, as a pod's netns is between its creation and its bind mount, or its unmount and its removal
    const script = (ipCmd: string) => `set -e; mount -t tmpfs sl-ipwrap /run/netns
      ip netns add node; ip netns add fabric
      ip -n node link add ens1f0 type veth peer name p0 netns fabric
      touch /run/netns/cni-half-made
      ip netns exec node ${ipCmd} link show dev ens1f0`;
    const realRun = spawnSync('unshare', ['-m', 'sh', '-c', script(realIp)], { encoding: 'utf8' });
    t.equal(realRun.status, 0, realRun.stderr);
    t.match(realRun.stderr, /^Error: Peer netns reference is invalid\.$/m, 'the real ip prints the kernel\'s error and succeeds');
    const w = await runAsync('unshare', ['-m', 'sh', '-c', script(`${process.execPath} ${bundle}`)], { ...process.env, SRIOV_LAB_CTL: sock, SRIOV_LAB_REAL_IP: realIp });
    t.equal(w.status, 0, w.stderr);
    t.equal(w.stderr, '', 'the wrapper drops it: a real PF has no peer netns to name');
    t.match(w.stdout, /^\d+: ens1f0@if\d+: [\s\S]*link-netns fabric\n[\s\S]* {4}vf 0 /, 'and shows the link with its VFs');
  });

  await t.test('a batch: each line as a single command, as it arrives; the failing line named; -force goes on', async (t) => {
    /** the wrapper with `args`, fed `first` at once and `rest` once the first output line has come */
    const batch = (args: string, first: string, rest: string, env: NodeJS.ProcessEnv = {}) =>
      new Promise<{ lines: string[]; stderr: string; status: number | null; firstOut: string }>((resolve, reject) => {
        const c = spawn('ip', ['netns', 'exec', ns, process.execPath, bundle, ...args.split(' ')], {
          env: { ...process.env, SRIOV_LAB_CTL: sock, SRIOV_LAB_REAL_IP: realIp, ...env },
          stdio: ['pipe', 'pipe', 'pipe'],
          timeout: 20000,
        });
        let out = '';
        let stderr = '';
        let firstOut = '';
        c.stdout.setEncoding('utf8').on('data', (d: string) => {
          out += d;
          if (!firstOut && out.includes('\n')) {
            // the rest only now: the first command's output came before the batch ended
            firstOut = out.slice(0, out.indexOf('\n'));
            c.stdin.end(rest);
          }
        });
        c.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
        c.on('error', reject);
        c.on('close', (status) => resolve({ lines: out.split('\n').filter(Boolean), stderr, status, firstOut }));
        c.stdin.write(first);
      });
    type Link = { ifname: string; vfinfo_list?: Array<{ vf: number; vlan_list?: Array<{ vlan?: number }>; trust?: boolean }> };
    const vf1 = (line: string) => (JSON.parse(line) as Link[])[0].vfinfo_list?.find((v) => v.vf === 1);
    let r = await batch('-j -batch -', 'link show dev ens1f0\n', 'link set dev ens1f0 vf 1 vlan 33 trust on\nlink show dev ens1f0\nlink set dev nosuch up\nlink show dev ens1f0\n');
    t.equal(r.status, 1, 'a failed line fails the batch');
    t.equal(r.lines.length, 2, 'the line after the failing one is not run');
    t.same([vf1(r.firstOut)?.vlan_list, vf1(r.firstOut)?.trust], [[{}], false], 'the listing shows the VFs before');
    t.same([vf1(r.lines[1])?.vlan_list, vf1(r.lines[1])?.trust], [[{ vlan: 33 }], true], 'the VF command changed the model');
    t.match(r.stderr, /^Cannot find device "nosuch"\nCommand failed -:4\n$/, 'the real ip\'s error, then the line as iproute2 names it');
    model.failVfSet('ens1f0', 'trust', 'EOPNOTSUPP');
    r = await batch('-force -j -batch -', 'link show dev lo\n', 'link set dev ens1f0 vf 1 trust off\nlink show dev lo\n');
    t.equal(r.status, 1);
    t.equal(r.lines.length, 2, '-force runs the lines after a failing one');
    t.equal(r.stderr, 'RTNETLINK answers: Operation not supported\nCommand failed -:2\n', 'a refused VF setting is reported as the kernel would');
    // the shim hands over the first line it read to decide (SRIOV_LAB_IP_BATCH_FIRST)
    r = await batch('-j -batch -', 'link show dev ens1f0\n', '', { SRIOV_LAB_IP_BATCH_FIRST: 'link set dev ens1f0 vf 2 vlan 7' });
    t.equal(r.status, 0, r.stderr);
    t.equal(vf1(r.firstOut) !== undefined, true);
    t.same((JSON.parse(r.firstOut) as Link[])[0].vfinfo_list?.find((v) => v.vf === 2)?.vlan_list, [{ vlan: 7 }], 'the handed-over line runs first');
  });

  await t.test('without a control socket the real ip answers (this kernel has no SR-IOV)', async (t) => {
    const none = join(dir, 'none.sock');
    const w = await wrap('-d link show ens1f0', none);
    t.equal(w.status, 0);
    t.equal(w.stdout, real('-d link show ens1f0').stdout);
    t.match(w.stderr, /VF info unavailable/);
    const s = await wrap('link set ens1f0 vf 0 trust on', none);
    t.equal(s.status, 2);
    t.match(s.stderr, /control socket .* unavailable[\s\S]*RTNETLINK answers: Operation not supported/);
  });
});
